//! The control plane's side of a log node (`ojek up --logs-node URL`): reads the control plane
//! has authorised go to the node's internal API with the node token, within bounded times, and
//! the answers come back as the local store's would. A node that cannot be reached is a 503,
//! one that does not answer in time a 504, any other failure a 502, each with the reason.
//! Live tail relays the node's event stream as it comes.
//!
//! It must not decide access (the reading handlers did) and never logs the token.

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use ojek_logstore::index::Page;
use serde::de::DeserializeOwned;
use tokio_stream::wrappers::ReceiverStream;

use super::backend::{LogRead, TAIL_KEEP_ALIVE};
use super::node::{
    HistogramAnswer, INTERNAL_PREFIX, NODE_TOKEN_VAR, NodeRead, NodeToken, SearchAnswer, TopAnswer,
};
use crate::error::{ApiError, ApiResult};

/// How long connecting to the node may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a search, histogram or top-values answer may take.
const READ_TIMEOUT: Duration = Duration::from_secs(30);
/// A live tail with nothing from the node (not even a keep-alive) this long is ended.
const TAIL_IDLE: Duration = Duration::from_secs(TAIL_KEEP_ALIVE.as_secs() * 3);

/// A log node, as its control plane reaches it.
#[derive(Debug)]
pub struct LogNode {
    /// Its base URL, without a trailing `/`.
    url: String,
    token: NodeToken,
    /// Reads: bounded from connect to the last byte.
    http: reqwest::Client,
    /// Live tail: bounded connect, then open as long as the node keeps it alive.
    tail_http: reqwest::Client,
}

impl LogNode {
    /// A node at `url` (`http://host:port` or `https://…`), reached with `token`.
    pub fn new(url: &str, token: NodeToken) -> anyhow::Result<LogNode> {
        let parsed = reqwest::Url::parse(url)
            .map_err(|e| anyhow::anyhow!("--logs-node: `{url}` is not a URL ({e})"))?;
        anyhow::ensure!(
            matches!(parsed.scheme(), "http" | "https") && parsed.host().is_some(),
            "--logs-node: `{url}` is not an http:// or https:// URL of a log node (`ojek ingest`)"
        );
        anyhow::ensure!(
            parsed.username().is_empty() && parsed.password().is_none(),
            "--logs-node: put no credentials in the URL; the node token comes from {NODE_TOKEN_VAR}"
        );
        let build = |timeout: Option<Duration>| {
            let builder = reqwest::Client::builder().connect_timeout(CONNECT_TIMEOUT);
            match timeout {
                Some(t) => builder.timeout(t),
                None => builder,
            }
            .build()
        };
        Ok(LogNode {
            url: url.trim_end_matches('/').to_string(),
            token,
            http: build(Some(READ_TIMEOUT))?,
            tail_http: build(None)?,
        })
    }

    /// The node's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Whether the node answers and takes the token; the reason when it does not.
    pub async fn check(&self) -> Result<(), String> {
        let resp = self
            .http
            .get(self.endpoint("health"))
            .bearer_auth(self.token.secret())
            .send()
            .await
            .map_err(|e| self.failure(&e).message)?;
        match self.refusal(resp).await {
            Ok(_) => Ok(()),
            Err(e) => Err(e.message),
        }
    }

    /// `search` on the node.
    pub async fn search(&self, read: &LogRead, limit: usize, cursor: Option<u64>) -> ApiResult<Page> {
        let mut body = NodeRead::of(read);
        body.limit = Some(limit);
        body.cursor = cursor;
        let answer: SearchAnswer = self.ask("search", &body).await?;
        Ok(Page {
            records: answer.records,
            next_cursor: answer.next_cursor,
        })
    }

    /// `histogram` on the node.
    pub async fn histogram(&self, read: &LogRead, buckets: usize) -> ApiResult<Vec<(i64, u64)>> {
        let mut body = NodeRead::of(read);
        body.buckets = Some(buckets);
        let answer: HistogramAnswer = self.ask("histogram", &body).await?;
        Ok(answer.buckets)
    }

    /// `top` on the node.
    pub async fn top_values(&self, read: &LogRead, field: &str, n: usize) -> ApiResult<Vec<(String, u64)>> {
        let mut body = NodeRead::of(read);
        body.field = Some(field.to_string());
        body.n = Some(n);
        let answer: TopAnswer = self.ask("top", &body).await?;
        Ok(answer.values)
    }

    /// The node's live tail, relayed: the answer starts once the node has subscribed, so a
    /// record written after this returns is in the stream.
    pub async fn tail(&self, read: &LogRead) -> ApiResult<Response> {
        let sent = self
            .tail_http
            .post(self.endpoint("tail"))
            .bearer_auth(self.token.secret())
            .json(&NodeRead::of(read))
            .send();
        let resp = tokio::time::timeout(READ_TIMEOUT, sent)
            .await
            .map_err(|_| self.timeout())?
            .map_err(|e| self.failure(&e))?;
        let mut resp = self.refusal(resp).await?;
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(16);
        let url = self.url.clone();
        tokio::spawn(async move {
            loop {
                let chunk = tokio::select! {
                    // The reader went away: stop reading from the node (dropping the response
                    // closes the node's stream).
                    () = tx.closed() => return,
                    chunk = tokio::time::timeout(TAIL_IDLE, resp.chunk()) => chunk,
                };
                let chunk = match chunk {
                    Ok(Ok(Some(bytes))) => Ok(bytes),
                    Ok(Ok(None)) => return,
                    Ok(Err(e)) => Err(std::io::Error::other(format!(
                        "the log node {url} cut the live tail: {e}"
                    ))),
                    Err(_) => Err(std::io::Error::other(format!(
                        "the log node {url} sent nothing for {} s",
                        TAIL_IDLE.as_secs()
                    ))),
                };
                let failed = chunk.is_err();
                if let Err(e) = &chunk {
                    tracing::warn!("live tail from the log node ended: {e}");
                }
                if tx.send(chunk).await.is_err() || failed {
                    return;
                }
            }
        });
        let mut out = Response::new(Body::from_stream(ReceiverStream::new(rx)));
        let headers = out.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/event-stream"),
        );
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        Ok(out)
    }

    fn endpoint(&self, name: &str) -> String {
        format!("{}{INTERNAL_PREFIX}/{name}", self.url)
    }

    /// Posts `body` to an internal endpoint and reads its JSON answer.
    async fn ask<T: DeserializeOwned>(&self, name: &str, body: &NodeRead) -> ApiResult<T> {
        let resp = self
            .http
            .post(self.endpoint(name))
            .bearer_auth(self.token.secret())
            .json(body)
            .send()
            .await
            .map_err(|e| self.failure(&e))?;
        let resp = self.refusal(resp).await?;
        resp.json().await.map_err(|e| {
            if e.is_timeout() {
                self.timeout()
            } else {
                self.upstream(format!(
                    "the log node {} sent an answer this server cannot read: {e}",
                    self.url
                ))
            }
        })
    }

    /// The response when it is a success; otherwise why not, as this server's error.
    async fn refusal(&self, resp: reqwest::Response) -> ApiResult<reqwest::Response> {
        let status = resp.status();
        if status.is_success() {
            return Ok(resp);
        }
        let reason = resp
            .json::<serde_json::Value>()
            .await
            .ok()
            .and_then(|b| b["error"].as_str().map(str::to_string))
            .unwrap_or_else(|| status.to_string());
        Err(match status {
            StatusCode::UNAUTHORIZED => self.upstream(format!(
                "the log node {} refused this server's node token: {NODE_TOKEN_VAR} must be the same on both",
                self.url
            )),
            StatusCode::SERVICE_UNAVAILABLE => {
                let mut e = ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "logs_node_unavailable",
                    format!("the log node {} is unavailable: {reason}", self.url),
                );
                e.retry_after = Some(5);
                e
            }
            _ => self.upstream(format!("the log node {} answered {status}: {reason}", self.url)),
        })
    }

    /// A request that got no answer: 504 when it took too long, else 503 (unreachable).
    fn failure(&self, e: &reqwest::Error) -> ApiError {
        if e.is_timeout() {
            return self.timeout();
        }
        // The innermost cause says what happened (connection refused, no such host, …).
        let mut cause: &dyn std::error::Error = e;
        while let Some(next) = cause.source() {
            cause = next;
        }
        tracing::warn!(node = %self.url, "log node unreachable: {cause}");
        let mut err = ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "logs_node_unreachable",
            format!(
                "the log node {} cannot be reached ({cause}); try again shortly",
                self.url
            ),
        );
        err.retry_after = Some(5);
        err
    }

    fn timeout(&self) -> ApiError {
        tracing::warn!(node = %self.url, "log node did not answer in time");
        ApiError::new(
            StatusCode::GATEWAY_TIMEOUT,
            "logs_node_timeout",
            format!(
                "the log node {} did not answer within {} s",
                self.url,
                READ_TIMEOUT.as_secs()
            ),
        )
    }

    fn upstream(&self, message: String) -> ApiError {
        tracing::warn!(node = %self.url, "log node error: {message}");
        ApiError::new(StatusCode::BAD_GATEWAY, "logs_node_error", message)
    }
}
