//! The ojek control plane: a JSON API (described in OpenAPI) and a server-rendered web UI over
//! the store (`ojek-store`) and the pure renderer (`ojek-core`).
//!
//! `ojek up` calls [`start`]; tests call it too, on port 0. `ojek ingest` calls
//! [`logs::node::start`]: the log pipeline alone.

use std::net::SocketAddr;

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use tower_http::set_header::SetResponseHeaderLayer;

pub mod api;
pub mod auth;
pub mod bootstrap;
pub mod demo_clusters;
pub mod demo_experiment;
pub mod deploy;
pub mod error;
pub mod form;
pub mod logs;
pub mod openapi;
pub mod state;
pub mod ui;

pub use state::{AppState, Config};

use crate::auth::{CSRF_HEADER, SESSION_COOKIE, cookie, is_unsafe, same_secret, secret_hash};
use crate::error::ApiError;

/// The whole application: API, UI, static files, middleware.
pub fn router(state: AppState) -> Router {
    let limit = state.config.max_body_bytes;
    // Shippers' endpoints: producer secrets, no session, so outside the CSRF layer. With a log
    // node, shippers must send to it instead: the same routes answer 421 saying so.
    let ingest = match state.logs_node {
        Some(_) => logs::ingest::routes().route_layer(middleware::from_fn(logs_on_the_node)),
        None => logs::ingest::routes(),
    };
    let app = Router::new()
        .nest("/api", api::routes().fallback(api_not_found))
        .merge(ui::routes())
        .route("/healthz", axum::routing::get(healthz))
        .fallback(ui::not_found)
        .layer(middleware::from_fn_with_state(state.clone(), csrf_guard))
        .layer(DefaultBodyLimit::max(limit))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                 object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
            ),
        ));
    Router::new().merge(ingest).merge(app).with_state(state)
}

async fn api_not_found(
    axum::extract::OriginalUri(uri): axum::extract::OriginalUri,
    req: Request,
) -> ApiError {
    // `req.uri()` lost the `/api` prefix in the nested router: name the URL that was asked for.
    ApiError::not_found(format!("no API endpoint {} {}", req.method(), uri.path()))
}

/// The ingest endpoints of a control plane whose logs are on a log node (`--logs-node`): the
/// request goes no further.
async fn logs_on_the_node(_: Request, _: Next) -> ApiError {
    ApiError::new(
        StatusCode::MISDIRECTED_REQUEST,
        "logs_on_node",
        "this server does not take logs: its logs are kept by a log node (`ojek ingest`); \
         send them to the node's address instead",
    )
}

/// `GET /healthz`: 200 when the database answers, 503 otherwise.
pub(crate) async fn healthz(State(state): State<AppState>) -> Response {
    match state.store.ping().await {
        Ok(()) => (StatusCode::OK, "ok\n").into_response(),
        Err(e) => ApiError::from(e).into_response(),
    }
}

/// Requests that change state with a session cookie must carry the session's CSRF token, in
/// the `X-CSRF-Token` header (scripts) or a `csrf` form field (HTML forms), and must not come
/// from another origin. Bearer-token requests are not affected (browsers never add them; any
/// other `Authorization` scheme is refused by authentication).
async fn csrf_guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if !is_unsafe(req.method()) || auth::bearer(req.headers()).is_some() {
        return next.run(req).await;
    }
    // Requests from another origin never change state (sign-in included). Browsers send
    // `Origin` on cross-origin posts (`null` from sandboxed frames and some redirects);
    // `Referer` is the fallback when it is missing.
    let host = req.headers().get(header::HOST).and_then(|v| v.to_str().ok());
    let origin = req
        .headers()
        .get(header::ORIGIN)
        .or_else(|| req.headers().get(header::REFERER))
        .and_then(|v| v.to_str().ok());
    if let Some(origin) = origin
        && !same_origin(origin, host)
    {
        return ApiError::forbidden("cross-origin request refused").into_response();
    }
    let Some(token) = cookie(req.headers(), SESSION_COOKIE).map(str::to_owned) else {
        return next.run(req).await;
    };
    // Signing in needs no CSRF token (there is no session yet; a stale cookie must not lock
    // the user out).
    if req.uri().path() == "/login" {
        return next.run(req).await;
    }
    let session = match state.store.session(&secret_hash(&token), auth::now_ms()).await {
        Ok(Some(s)) => s,
        Ok(None) => return next.run(req).await, // expired: handlers answer 401 / redirect
        Err(e) => return ApiError::from(e).into_response(),
    };
    if let Some(h) = req.headers().get(CSRF_HEADER).and_then(|v| v.to_str().ok()) {
        if same_secret(h, &session.csrf) {
            return next.run(req).await;
        }
        return ApiError::forbidden("invalid CSRF token; reload the page").into_response();
    }
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return ApiError::forbidden("missing CSRF token (X-CSRF-Token header)").into_response();
    }
    let (parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, state.config.max_body_bytes).await {
        Ok(b) => b,
        Err(_) => {
            return ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                "the request body is larger than this server accepts",
            )
            .into_response();
        }
    };
    let ok = form_urlencoded_field(&bytes, "csrf").is_some_and(|v| same_secret(&v, &session.csrf));
    if !ok {
        return ui::error_page(
            StatusCode::FORBIDDEN,
            "This form has expired. Go back, reload the page and try again.",
        );
    }
    next.run(Request::from_parts(parts, Body::from(bytes))).await
}

/// True if `origin` (an `Origin` value or a `Referer` URL) names this server's host.
fn same_origin(origin: &str, host: Option<&str>) -> bool {
    let Some((_, rest)) = origin.split_once("://") else {
        return false; // `null`, or not a URL
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    host.is_some_and(|h| h.eq_ignore_ascii_case(authority))
}

/// One field of an `application/x-www-form-urlencoded` body.
pub fn form_urlencoded_field(body: &[u8], name: &str) -> Option<String> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body).ok()?;
    pairs.into_iter().find(|(k, _)| k == name).map(|(_, v)| v)
}

/// A running server.
pub struct Server {
    /// The address it listens on.
    pub addr: SocketAddr,
    /// The state (store and configuration).
    pub state: AppState,
    handle: tokio::task::JoinHandle<std::io::Result<()>>,
    /// `--demo`: the simulated clusters, alive as long as the server.
    pub demo_clusters: Option<demo_clusters::DemoClusters>,
}

impl Server {
    /// Waits until the server stops (it does not on its own).
    pub async fn wait(self) -> anyhow::Result<()> {
        self.handle.await??;
        Ok(())
    }
    /// Stops serving.
    pub fn stop(&self) {
        self.handle.abort();
    }
}

/// Opens the store (migrating it), creates the first admin and the platform file on first
/// start, loads the demo when asked, and serves on `config.listen`.
pub async fn start(config: Config) -> anyhow::Result<Server> {
    let state = bootstrap::prepare(config).await?;
    if let Some(logs) = state.logs.clone() {
        logs::retention::spawn(state.clone());
        if state.config.demo {
            logs::demo::spawn(logs);
        }
    }
    if let Some(node) = state.logs_node.clone() {
        // Say at once when the node is not there or the token differs; reads answer 503 or
        // 502 with the reason until it is fixed.
        tokio::spawn(async move {
            match node.check().await {
                Ok(()) => tracing::info!(node = %node.url(), "logs are read from the log node"),
                Err(e) => tracing::warn!(node = %node.url(), "the log node is not ready: {e}"),
            }
        });
    }
    let demo_clusters = if state.config.demo {
        demo_clusters::start(&state.store, &state.config.data_dir).await?
    } else {
        None
    };
    serve(state.clone(), router(state), demo_clusters).await
}

/// Serves `app` on `state.config.listen`.
pub(crate) async fn serve(
    state: AppState,
    app: Router,
    demo_clusters: Option<demo_clusters::DemoClusters>,
) -> anyhow::Result<Server> {
    let listener = tokio::net::TcpListener::bind(state.config.listen).await?;
    let addr = listener.local_addr()?;
    let app = app.into_make_service_with_connect_info::<SocketAddr>();
    let handle = tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(Server {
        addr,
        state,
        handle,
        demo_clusters,
    })
}

#[cfg(test)]
mod tests {
    use super::same_origin;

    #[test]
    fn same_origin_compares_the_authority() {
        assert!(same_origin("http://127.0.0.1:8080", Some("127.0.0.1:8080")));
        assert!(same_origin(
            "https://ojek.example/apps/x?y=1",
            Some("ojek.example")
        ));
        assert!(!same_origin("null", Some("ojek.example")));
        assert!(!same_origin("https://evil.example", Some("ojek.example")));
        assert!(!same_origin(
            "https://ojek.example.evil.example",
            Some("ojek.example")
        ));
        assert!(!same_origin("https://ojek.example", None));
    }
}
