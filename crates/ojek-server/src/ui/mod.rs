//! The web UI: server-rendered HTML (maud) with one small vendored script (`static/app.js`)
//! for the editor's live preview, form tab and explain panel; no build step. Every page works
//! without the script except the live parts of the editor.
//!
//! Pages call the API layer's functions (`api::apps`, `api::render`, `api::admin`) rather than
//! the HTTP API, so both enforce the same rules. The Content-Security-Policy forbids inline
//! scripts and styles: page data for the script goes in `data-*` attributes.

use axum::Router;
use axum::extract::{FromRequest, FromRequestParts, OptionalFromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::{DOCTYPE, Markup, html};

use ojek_store::{AppSummary, Role};

use crate::api::apps::readable_app;
use crate::auth::{Principal, authenticate};
use crate::error::ApiError;
use crate::state::AppState;

mod apps;
mod audit;
mod deploy;
mod editor;
mod experiments;
mod form_api;
mod history;
mod log_settings;
mod login;
mod logs;
mod platform;
mod settings;
mod view;

pub use view::{code_block, diff_view, time_ago, utc};

/// UI routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/",
            get(|headers: HeaderMap| async move {
                // Elasticsearch clients probe `/` before shipping.
                if crate::logs::ingest::wants_elastic(&headers) {
                    crate::logs::ingest::elastic_root()
                } else {
                    Redirect::to("/apps").into_response()
                }
            }),
        )
        .route("/login", get(login::form).post(login::submit))
        .route("/logout", post(login::logout))
        .route("/apps", get(apps::list))
        .route("/apps/new", get(editor::new_app).post(editor::create))
        .route("/apps/{app}", get(editor::show).post(editor::save))
        .route("/apps/{app}/history", get(history::history))
        .route("/apps/{app}/revisions/{number}", get(history::revision))
        .route("/apps/{app}/deploy", get(deploy::overview).post(deploy::deploy))
        .route("/apps/{app}/deploy/plan", get(deploy::plan))
        .route("/apps/{app}/deploy/live", get(deploy::live))
        .route("/apps/{app}/rollback", post(deploy::rollback))
        .route("/apps/{app}/deployments/{id}", get(deploy::deployment))
        .route("/apps/{app}/experiments", get(experiments::page_handler))
        .route("/audit", get(audit::audit))
        .route("/logs", get(logs::logs_page))
        .route("/platform", get(platform::show).post(platform::save))
        .route("/settings", get(settings::page))
        .route("/settings/tokens", post(settings::create_token))
        .route("/settings/tokens/{id}/revoke", post(settings::revoke_token))
        .route("/settings/teams", post(settings::create_team))
        .route("/settings/teams/{team}/members", post(settings::add_member))
        .route(
            "/settings/teams/{team}/members/{user}",
            post(settings::set_member),
        )
        .route(
            "/settings/teams/{team}/members/{user}/remove",
            post(settings::remove_member),
        )
        .route("/settings/users", post(settings::create_user))
        .route("/settings/logs", get(log_settings::show))
        .route(
            "/settings/logs/{team}/settings",
            post(log_settings::save_settings),
        )
        .route("/settings/logs/{team}/secrets", post(log_settings::create_secret))
        .route(
            "/settings/logs/{team}/secrets/{id}/rotate",
            post(log_settings::rotate_secret),
        )
        .route(
            "/settings/logs/{team}/secrets/{id}/revoke",
            post(log_settings::revoke_secret),
        )
        .route("/ui/form/from-yaml", post(form_api::from_yaml))
        .route("/ui/form/apply", post(form_api::apply))
        .route("/static/{file}", get(static_file))
}

/// The signed-in user of a page request. Without a session the request is redirected to
/// `/login?next=<path>`; when the store fails, the error page (503 when the database is down).
pub struct SignedIn(pub Principal);

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        match <Principal as OptionalFromRequestParts<AppState>>::from_request_parts(parts, state).await {
            Ok(Some(p)) => Ok(SignedIn(p)),
            Ok(None) => Err(login_redirect(&parts.uri)),
            Err(e) => Err(error_page(e.status, &e.message)),
        }
    }
}

/// An `application/x-www-form-urlencoded` body; a malformed one gives the 400 page.
pub struct PageForm<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> FromRequest<S> for PageForm<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Form::<T>::from_request(req, state).await {
            Ok(axum::Form(v)) => Ok(PageForm(v)),
            // 400 for a malformed form, 413 for one over the body limit.
            Err(e) => Err(error_page(
                e.status(),
                &format!(
                    "The form could not be read ({}). Go back, reload the page and try again.",
                    e.body_text()
                ),
            )),
        }
    }
}

/// A redirect to the login page that comes back to `uri` afterwards.
fn login_redirect(uri: &Uri) -> Response {
    let next = uri.path_and_query().map(|pq| pq.as_str()).unwrap_or("/apps");
    let query = serde_urlencoded::to_string([("next", next)]).unwrap_or_default();
    Redirect::to(&format!("/login?{query}")).into_response()
}

/// Static assets, embedded in the binary.
async fn static_file(axum::extract::Path(file): axum::extract::Path<String>) -> Response {
    let (body, ct): (&'static str, &str) = match file.as_str() {
        "app.js" => (
            include_str!("../../static/app.js"),
            "text/javascript; charset=utf-8",
        ),
        "style.css" => (include_str!("../../static/style.css"), "text/css; charset=utf-8"),
        _ => return error_page(StatusCode::NOT_FOUND, "There is no such file."),
    };
    (
        [(header::CONTENT_TYPE, ct), (header::CACHE_CONTROL, "no-cache")],
        body,
    )
        .into_response()
}

/// The document around every page: title, styles and the script.
fn document(title: &str, csrf: Option<&str>, page: &str, refresh: Option<u32>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                @if let Some(csrf) = csrf { meta name="csrf-token" content=(csrf); }
                @if let Some(seconds) = refresh { meta http-equiv="refresh" content=(seconds); }
                title { (title) " · ojek" }
                link rel="stylesheet" href="/static/style.css";
                script src="/static/app.js" defer {}
            }
            body data-page=(page) { (body) }
        }
    }
}

/// A bare page (no navigation): sign-in and error pages for signed-out users.
pub fn bare_page(title: &str, body: Markup) -> Markup {
    document(title, None, "bare", None, html! { div.bare { (body) } })
}

/// The section of the navigation a page belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Nav {
    /// Apps list, editor, history.
    Apps,
    /// The audit log.
    Audit,
    /// Logs.
    Logs,
    /// The platform file and clusters.
    Platform,
    /// Teams, tokens, users.
    Settings,
    /// None of them (error pages).
    None,
}

/// A page of a signed-in user: top bar with navigation and the user menu, then `body`.
pub fn page(p: &Principal, title: &str, nav: Nav, page_id: &str, body: Markup) -> Markup {
    page_with(p, title, nav, page_id, None, body)
}

/// [`page`] that the browser reloads every `seconds` (a running deployment).
pub fn page_refreshing(
    p: &Principal,
    title: &str,
    nav: Nav,
    page_id: &str,
    seconds: u32,
    body: Markup,
) -> Markup {
    page_with(p, title, nav, page_id, Some(seconds), body)
}

fn page_with(
    p: &Principal,
    title: &str,
    nav: Nav,
    page_id: &str,
    refresh: Option<u32>,
    body: Markup,
) -> Markup {
    let link = |href: &str, label: &str, this: Nav| {
        html! {
            @if nav == this { a href=(href) aria-current="page" { (label) } }
            @else { a href=(href) { (label) } }
        }
    };
    let csrf = p.csrf();
    document(
        title,
        Some(csrf),
        page_id,
        refresh,
        html! {
            a.skip-link href="#main" { "Skip to content" }
            header.topbar {
                a.brand href="/apps" aria-label="ojek home" { span.brand-mark { "oj" } span.brand-name { "ojek" } }
                nav.mainnav aria-label="Main" {
                    (link("/apps", "Apps", Nav::Apps))
                    (link("/logs", "Logs", Nav::Logs))
                    (link("/audit", "Audit", Nav::Audit))
                    (link("/platform", "Platform", Nav::Platform))
                    (link("/settings", "Settings", Nav::Settings))
                }
                div.usermenu {
                    span.user-name title=(p.user.username) { (p.user.display_name) }
                    @if p.user.is_admin { span.badge.admin { "platform admin" } }
                    form.signout method="post" action="/logout" {
                        input type="hidden" name="csrf" value=(csrf);
                        button.btn.small #signout type="submit" { "Sign out" }
                    }
                }
            }
            main #main tabindex="-1" { (body) }
        },
    )
}

/// An error page with a status (bare, for callers without a signed-in user).
pub fn error_page(status: StatusCode, message: &str) -> Response {
    (status, bare_page(title_of(status), error_body(status, message))).into_response()
}

/// An error page with the navigation of a signed-in user.
pub fn error_page_for(p: &Principal, status: StatusCode, message: &str) -> Response {
    let mut resp = (
        status,
        page(
            p,
            title_of(status),
            Nav::None,
            "error",
            error_body(status, message),
        ),
    )
        .into_response();
    if status == StatusCode::SERVICE_UNAVAILABLE {
        resp.headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from_static("5"));
    }
    resp
}

/// An API error as a page: 404 for apps the user may not see, 503 when the database is down.
pub fn api_error_page(p: &Principal, e: ApiError) -> Response {
    error_page_for(p, e.status, &e.message)
}

/// An app the user may read with at least `role`, or the page to show instead: 404 (with a
/// message that does not tell whether it exists in another team), 403, or 503.
pub async fn app_or_page(
    state: &AppState,
    p: &Principal,
    name: &str,
    role: Role,
) -> Result<AppSummary, Response> {
    match readable_app(state, p, name, role).await {
        Ok(a) => Ok(a),
        Err(e) if e.status == StatusCode::NOT_FOUND => Err(error_page_for(
            p,
            StatusCode::NOT_FOUND,
            &format!(
                "There is no app “{name}” that you can see. It may not exist, or it may belong to a team you are not in: ask that team's admin for access."
            ),
        )),
        Err(e) => Err(api_error_page(p, e)),
    }
}

fn title_of(status: StatusCode) -> &'static str {
    match status {
        StatusCode::NOT_FOUND => "Not found",
        StatusCode::FORBIDDEN => "Not allowed",
        StatusCode::SERVICE_UNAVAILABLE => "Service unavailable",
        s => s.canonical_reason().unwrap_or("Error"),
    }
}

fn error_body(status: StatusCode, message: &str) -> Markup {
    let lead = match status {
        StatusCode::NOT_FOUND => "Page not found",
        StatusCode::FORBIDDEN => "You cannot do this",
        StatusCode::SERVICE_UNAVAILABLE => "ojek cannot reach its database",
        StatusCode::UNAUTHORIZED => "Sign in again",
        s if s.is_server_error() => "Something went wrong on our side",
        _ => "This request cannot be completed",
    };
    html! {
        section.error-page #error-page aria-labelledby="error-title" {
            p.error-code { (status.as_u16()) }
            h1 #error-title { (lead) }
            p.error-message #error-message { (sentence(message)) }
            @if status == StatusCode::SERVICE_UNAVAILABLE {
                p.muted { "Nothing was changed. Try again in a few seconds; if it lasts, ask a platform admin to check the database." }
            }
            p.error-actions { a.btn href="/apps" { "Back to apps" } }
        }
    }
}

/// A message as a sentence: API messages start in lower case.
fn sentence(message: &str) -> String {
    let mut chars = message.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The 404 page for unknown URLs (with the navigation when the user is signed in).
pub async fn not_found(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let message = "There is no page at this address. Check the link, or start from the list of apps.";
    match authenticate(&state, &headers).await {
        Ok(Some(p)) => error_page_for(&p, StatusCode::NOT_FOUND, message),
        _ => error_page(StatusCode::NOT_FOUND, message),
    }
}

/// The value of a `?notice=` style message key, as a sentence (only known keys are shown so a
/// link cannot put arbitrary text on a page).
fn notice_text(key: &str) -> Option<&'static str> {
    Some(match key {
        "token-revoked" => "Token revoked.",
        "member-added" => "Member added.",
        "member-changed" => "Role changed.",
        "member-removed" => "Member removed.",
        "team-created" => "Team created.",
        "user-created" => "User created.",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body(resp: Response) -> String {
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap_or_default();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    #[tokio::test]
    async fn database_down_is_a_503_page_that_says_so() {
        let e = ApiError::from(ojek_store::StoreError::Unavailable("connection refused".into()));
        let resp = error_page(e.status, &e.message);
        assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
        let html = body(resp).await;
        assert!(html.contains("ojek cannot reach its database"));
        assert!(html.contains("The database is unavailable, nothing was changed"));
        assert!(html.contains("Nothing was changed. Try again in a few seconds"));
    }

    #[tokio::test]
    async fn error_messages_are_escaped() {
        let html = body(error_page(StatusCode::NOT_FOUND, "no app `<b>x</b>`")).await;
        assert!(html.contains("No app `&lt;b&gt;x&lt;/b&gt;`"));
        assert!(!html.contains("<b>x"));
    }

    #[test]
    fn login_redirect_keeps_the_path_and_query() {
        let resp = login_redirect(&"/apps?q=a%20b&team=x".parse().unwrap_or_default());
        let to = resp.headers()[header::LOCATION]
            .to_str()
            .unwrap_or_default()
            .to_string();
        assert_eq!(to, "/login?next=%2Fapps%3Fq%3Da%2520b%26team%3Dx");
    }
}
