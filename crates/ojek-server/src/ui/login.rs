//! Sign in and out.

use std::net::SocketAddr;

use axum::Form;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use ojek_store::Actor;
use serde::Deserialize;

use super::{bare_page, error_page};
use crate::auth::{SESSION_COOKIE, SESSION_TTL, cookie, now_ms, random_secret, secret_hash, verify_password};
use crate::state::AppState;

/// Where to go after signing in: only local paths.
fn safe_next(next: Option<&str>) -> String {
    // A local absolute path of URL-safe characters only: no `//host`, no backslashes, and no
    // whitespace or control characters (browsers drop tabs and newlines inside URLs, which
    // would turn `/\t/evil.example` into `//evil.example`).
    let ok = |n: &str| {
        n.starts_with('/')
            && !n.starts_with("//")
            && n.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"/-._~?=&%+:@!$'()*,;".contains(&b))
    };
    match next {
        Some(n) if ok(n) => n.to_string(),
        _ => "/apps".to_string(),
    }
}

/// Query of the login page.
#[derive(Deserialize, Default)]
pub struct LoginQuery {
    next: Option<String>,
}

fn login_page(next: &str, username: &str, error: Option<&str>) -> maud::Markup {
    bare_page(
        "Sign in",
        html! {
            main.login {
                form.card #login-form method="post" action="/login" {
                    h1 { span.logo aria-hidden="true" { "oj" } "Sign in to ojek" }
                    @if let Some(e) = error { p.alert.error role="alert" { (e) } }
                    input type="hidden" name="next" value=(next);
                    label { "User name" input #username name="username" autocomplete="username" required autofocus value=(username); }
                    label { "Password" input #password type="password" name="password" autocomplete="current-password" required; }
                    button.btn.primary #login type="submit" { "Sign in" }
                }
            }
        },
    )
}

/// `GET /login`.
pub async fn form(Query(q): Query<LoginQuery>) -> maud::Markup {
    login_page(&safe_next(q.next.as_deref()), "", None)
}

/// The login form.
#[derive(Deserialize)]
pub struct LoginForm {
    username: String,
    password: String,
    #[serde(default)]
    next: Option<String>,
}

/// `POST /login`: checks the password (rate-limited per address and user), creates a session.
pub async fn submit(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Form(f): Form<LoginForm>,
) -> Response {
    let next = safe_next(f.next.as_deref());
    let ip = peer.ip();
    let username = f.username.trim().to_string();
    if let Err(wait) = state.limiter.attempt(ip, &username) {
        let mut resp = (
            StatusCode::TOO_MANY_REQUESTS,
            login_page(
                &next,
                &username,
                Some(&format!(
                    "Too many failed sign-ins. Try again in {} minute(s).",
                    wait.div_ceil(60)
                )),
            ),
        )
            .into_response();
        if let Ok(v) = HeaderValue::from_str(&wait.to_string()) {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return resp;
    }
    let user = match state.store.user_by_name(&username).await {
        Ok(u) => u,
        Err(e) => return store_error(e),
    };
    // Verify against a dummy hash when the user does not exist, so timing does not tell.
    let (user, hash) = match user {
        Some((u, h)) => (Some(u), h),
        None => (None, DUMMY_HASH.to_string()),
    };
    let ok = verify_password(f.password, hash).await && user.is_some();
    let Some(user) = user.filter(|_| ok) else {
        let actor = Actor {
            user_id: None,
            name: username.chars().take(64).collect(),
            via: format!("ui {ip}"),
        };
        if let Err(e) = state
            .store
            .record(&actor, "login.failed", None, None, "sign-in")
            .await
        {
            return store_error(e);
        }
        return (
            StatusCode::UNAUTHORIZED,
            login_page(&next, &username, Some("Wrong user name or password.")),
        )
            .into_response();
    };
    state.limiter.succeeded(ip, &username);
    let token = random_secret();
    let csrf = random_secret();
    let expires = now_ms() + SESSION_TTL.as_millis() as i64;
    if let Err(e) = state
        .store
        .create_session(&secret_hash(&token), user.id, &csrf, expires)
        .await
    {
        return store_error(e);
    }
    let actor = Actor {
        user_id: Some(user.id),
        name: user.username.clone(),
        via: format!("ui {ip}"),
    };
    if let Err(e) = state.store.record(&actor, "login", None, None, "sign-in").await {
        return store_error(e);
    }
    let mut resp = Redirect::to(&next).into_response();
    if let Ok(v) = session_cookie(&state, &token, SESSION_TTL.as_secs()) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    resp
}

/// The `Set-Cookie` value of the session cookie; `max_age` 0 (with an empty value) clears it.
fn session_cookie(
    state: &AppState,
    value: &str,
    max_age: u64,
) -> Result<HeaderValue, header::InvalidHeaderValue> {
    let secure = if state.config.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}"
    ))
}

/// An argon2id hash of a random password, verified when the user does not exist.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$0nJ0zC5yDHJpSMzDLzHjhsqmmnSS4mQIQt3VzfD6l0c";

/// `POST /logout`: ends the session.
pub async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(token) = cookie(&headers, SESSION_COOKIE) {
        let hash = secret_hash(token);
        if let Ok(Some(s)) = state.store.session(&hash, now_ms()).await
            && let Ok(Some(u)) = state.store.user(s.user_id).await
        {
            let actor = Actor {
                user_id: Some(u.id),
                name: u.username,
                via: "ui".into(),
            };
            let _ = state.store.record(&actor, "logout", None, None, "sign-out").await;
        }
        if let Err(e) = state.store.delete_session(&hash).await {
            return store_error(e);
        }
    }
    let mut resp = Redirect::to("/login").into_response();
    if let Ok(v) = session_cookie(&state, "", 0) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    resp
}

/// A store error as a page (503 when the database is down).
pub fn store_error(e: ojek_store::StoreError) -> Response {
    let api = crate::error::ApiError::from(e);
    error_page(api.status, &api.message)
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_is_a_local_path_or_the_apps_list() {
        assert_eq!(safe_next(Some("/apps/payments?x=1")), "/apps/payments?x=1");
        for bad in [
            "//evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "/\\evil.example",
            "https://evil.example",
            "evil",
            "/ space",
        ] {
            assert_eq!(safe_next(Some(bad)), "/apps", "{bad:?}");
        }
        assert_eq!(safe_next(None), "/apps");
    }
}
