//! Where the controller learns about apps and saves promotions: the ojek server's API
//! ([`ApiSource`]), or anything else implementing [`AppSource`] (tests use an in-memory one).

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;

use ojek_experiments::plan::PromoteRequest;
use ojek_spec::FileReader;
use ojek_spec::load::{LoadedApp, LoadedPlatform, load_app, load_platform};
use serde_json::{Value, json};

/// A boxed future (the trait is used as `dyn`).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The app as the ojek server has it, and the platform file.
pub struct AppView {
    /// The newest revision, loaded; None when the server has no such app.
    pub app: Option<LoadedApp>,
    /// Its number.
    pub revision: Option<u64>,
    /// The revision the environment last deployed successfully, if any.
    pub deployed_revision: Option<u64>,
    /// The platform file.
    pub platform: LoadedPlatform,
}

/// A failure to reach or use the source; the controller retries.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The server could not be reached or answered with an error.
    #[error("ojek server: {0}")]
    Server(String),
    /// The server refused the promotion (the app moved on, or the overrides are invalid).
    #[error("promotion refused: {0}")]
    Refused(String),
}

/// Apps, the platform file, and promotions.
pub trait AppSource: Send + Sync {
    /// The app and the platform file.
    fn app<'a>(&'a self, app: &'a str, env: &'a str) -> BoxFuture<'a, Result<AppView, SourceError>>;
    /// Saves a promotion as a new revision; returns its number.
    fn promote<'a>(
        &'a self,
        app: &'a str,
        req: &'a PromoteRequest,
    ) -> BoxFuture<'a, Result<u64, SourceError>>;
}

/// Reads `fromFile` content from a stored revision's files.
pub struct MapReader<'a>(pub &'a BTreeMap<String, String>);

impl FileReader for MapReader<'_> {
    fn read(&self, _manifest: &str, relative: &str) -> Result<String, String> {
        self.0
            .get(relative)
            .cloned()
            .ok_or_else(|| format!("`{relative}` is not among the revision's files"))
    }
}

/// The ojek server's JSON API, with a team-scoped token.
pub struct ApiSource {
    base: String,
    token: String,
    http: reqwest::Client,
}

impl ApiSource {
    /// A source for the server at `base` (`https://ojek.example.com`).
    pub fn new(base: &str, token: &str) -> Result<Self, SourceError> {
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .map_err(|e| SourceError::Server(e.to_string()))?;
        Ok(ApiSource {
            base: base.trim_end_matches('/').to_string(),
            token: token.to_string(),
            http,
        })
    }

    async fn get(&self, path: &str) -> Result<Option<Value>, SourceError> {
        let resp = self
            .http
            .get(format!("{}/api{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .map_err(|e| SourceError::Server(e.to_string()))?;
        if resp.status() == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let status = resp.status();
        let body: Value = resp
            .json()
            .await
            .map_err(|e| SourceError::Server(e.to_string()))?;
        if !status.is_success() {
            return Err(SourceError::Server(format!("GET {path}: {status}: {body}")));
        }
        Ok(Some(body))
    }
}

fn text<'v>(v: &'v Value, pointer: &str) -> Result<&'v str, SourceError> {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .ok_or_else(|| SourceError::Server(format!("answer without {pointer}")))
}

impl AppSource for ApiSource {
    fn app<'a>(&'a self, app: &'a str, env: &'a str) -> BoxFuture<'a, Result<AppView, SourceError>> {
        Box::pin(async move {
            let platform = self
                .get("/platform")
                .await?
                .ok_or_else(|| SourceError::Server("no platform file".into()))?;
            let platform = load_platform("platform.yaml", text(&platform, "/content")?)
                .map_err(|d| SourceError::Server(format!("the platform file does not load: {d}")))?;
            let Some(shown) = self.get(&format!("/apps/{app}")).await? else {
                return Ok(AppView {
                    app: None,
                    revision: None,
                    deployed_revision: None,
                    platform,
                });
            };
            let files: BTreeMap<String, String> = shown
                .pointer("/revision/files")
                .cloned()
                .and_then(|f| serde_json::from_value(f).ok())
                .unwrap_or_default();
            let manifest = text(&shown, "/revision/manifest")?;
            let loaded = load_app(&format!("{app}.yaml"), manifest, &MapReader(&files))
                .map_err(|d| SourceError::Server(format!("the app's newest revision does not load: {d}")))?;
            let revision = shown
                .pointer("/revision/number")
                .and_then(Value::as_u64)
                .ok_or_else(|| SourceError::Server("answer without a revision number".into()))?;
            let status = self
                .get(&format!("/apps/{app}/status"))
                .await?
                .unwrap_or(Value::Null);
            let deployed_revision = status
                .get("environments")
                .and_then(Value::as_array)
                .and_then(|envs| {
                    envs.iter()
                        .find(|e| e.get("environment").and_then(Value::as_str) == Some(env))
                })
                .and_then(|e| e.pointer("/lastSucceeded/revision"))
                .and_then(Value::as_u64);
            Ok(AppView {
                app: Some(loaded),
                revision: Some(revision),
                deployed_revision,
                platform,
            })
        })
    }

    fn promote<'a>(
        &'a self,
        app: &'a str,
        req: &'a PromoteRequest,
    ) -> BoxFuture<'a, Result<u64, SourceError>> {
        Box::pin(async move {
            let body = json!({
                "environment": req.environment,
                "process": req.process,
                "overrides": req.overrides,
                "baseRevision": req.base_revision,
                "experiment": req.experiment,
                "variant": req.variant,
            });
            let resp = self
                .http
                .post(format!("{}/api/apps/{app}/promote", self.base))
                .bearer_auth(&self.token)
                .json(&body)
                .send()
                .await
                .map_err(|e| SourceError::Server(e.to_string()))?;
            let status = resp.status();
            let answer: Value = resp.json().await.unwrap_or(Value::Null);
            if status.is_success() {
                return answer
                    .get("revision")
                    .and_then(Value::as_u64)
                    .ok_or_else(|| SourceError::Server("promotion answer without a revision".into()));
            }
            if status.is_client_error() {
                return Err(SourceError::Refused(format!("{status}: {answer}")));
            }
            Err(SourceError::Server(format!("{status}: {answer}")))
        })
    }
}
