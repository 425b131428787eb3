//! The HTTP client: one method per Nomad endpoint ojek uses.

use reqwest::{Method, StatusCode, Url};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::types::{
    AllocationStub, Deployment, DeregisterResponse, JobListStub, JobVersions, PlanResponse, RegisterResponse,
};
use crate::{NomadConfig, NomadError, Result};

/// A client of one Nomad agent (or cluster address), for one region and namespace.
///
/// ```no_run
/// # async fn example() -> Result<(), ojek_nomad_api::NomadError> {
/// use ojek_nomad_api::{NomadClient, NomadConfig};
/// let client = NomadClient::new(NomadConfig::new("http://127.0.0.1:4646"))?;
/// let job = serde_json::json!({"Job": {"ID": "web", "Type": "service", "TaskGroups": []}});
/// let plan = client.plan(&job, true).await?;
/// client.register(&job, Some(plan.job_modify_index), false).await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct NomadClient {
    http: reqwest::Client,
    base: Url,
    config: NomadConfig,
}

impl NomadClient {
    /// A client for `config`. Fails when the address is not a URL or a TLS file cannot be
    /// read or parsed; does not contact Nomad.
    pub fn new(config: NomadConfig) -> Result<Self> {
        let base = Url::parse(&config.address).map_err(|e| NomadError::Config {
            message: format!("address {:?} is not a URL: {e}", config.address),
        })?;
        if base.cannot_be_a_base() {
            return Err(NomadError::Config {
                message: format!("address {:?} cannot have paths", config.address),
            });
        }
        let mut builder = reqwest::Client::builder()
            .timeout(config.timeout)
            .use_rustls_tls();
        if let Some(path) = &config.ca_cert {
            let pem = read_pem(path)?;
            let cert = reqwest::Certificate::from_pem(&pem).map_err(|e| NomadError::Config {
                message: format!("CA certificate {}: {e}", path.display()),
            })?;
            builder = builder.add_root_certificate(cert);
        }
        match (&config.client_cert, &config.client_key) {
            (Some(cert), Some(key)) => {
                let mut pem = read_pem(cert)?;
                pem.push(b'\n');
                pem.extend(read_pem(key)?);
                let identity = reqwest::Identity::from_pem(&pem).map_err(|e| NomadError::Config {
                    message: format!(
                        "client certificate {} / key {}: {e}",
                        cert.display(),
                        key.display()
                    ),
                })?;
                builder = builder.identity(identity);
            }
            (None, None) => {}
            _ => {
                return Err(NomadError::Config {
                    message: "a client certificate needs both the certificate and the key".into(),
                });
            }
        }
        let http = builder.build().map_err(|e| NomadError::Config {
            message: format!("HTTP client: {e}"),
        })?;
        Ok(NomadClient { http, base, config })
    }

    /// The configuration this client was made from.
    pub fn config(&self) -> &NomadConfig {
        &self.config
    }

    /// Dry-runs the scheduler for `job` (`POST /v1/job/{id}/plan`): what would change
    /// (`diff`: with the structural diff) and whether the allocations can be placed.
    pub async fn plan(&self, job: &Value, diff: bool) -> Result<PlanResponse> {
        let job = unwrap_job(job);
        let id = job_id(job)?;
        let body = json!({"Job": job, "Diff": diff});
        self.send(Method::POST, &["job", id, "plan"], &[], Some(body))
            .await
    }

    /// Registers `job` (`POST /v1/jobs`). With `enforce_index`, Nomad only accepts it if the
    /// job's modify index is still that one (0: the job must not exist), otherwise
    /// [`NomadError::Conflict`]. `preserve_counts` keeps the running groups' counts (what
    /// the autoscaler set) instead of the job's.
    pub async fn register(
        &self,
        job: &Value,
        enforce_index: Option<u64>,
        preserve_counts: bool,
    ) -> Result<RegisterResponse> {
        let job = unwrap_job(job);
        job_id(job)?;
        let mut body = json!({"Job": job, "PreserveCounts": preserve_counts});
        if let Some(index) = enforce_index {
            body["EnforceIndex"] = json!(true);
            body["JobModifyIndex"] = json!(index);
        }
        self.send(Method::POST, &["jobs"], &[], Some(body)).await
    }

    /// The registered job (`GET /v1/job/{id}`), `None` when there is none.
    pub async fn job(&self, id: &str) -> Result<Option<Value>> {
        not_found_as_none(self.send(Method::GET, &["job", id], &[], None).await)
    }

    /// Jobs whose ID starts with `prefix` (`GET /v1/jobs?prefix=`).
    pub async fn jobs(&self, prefix: &str) -> Result<Vec<JobListStub>> {
        self.send(Method::GET, &["jobs"], &[("prefix", prefix)], None)
            .await
    }

    /// Every retained version of the job, newest first (`GET /v1/job/{id}/versions`).
    pub async fn versions(&self, id: &str) -> Result<JobVersions> {
        self.send(Method::GET, &["job", id, "versions"], &[], None).await
    }

    /// The job's most recent deployment (`GET /v1/job/{id}/deployment`), `None` when it has
    /// none (batch and periodic jobs never have one).
    pub async fn latest_deployment(&self, job_id: &str) -> Result<Option<Deployment>> {
        let found: Option<Option<Deployment>> = not_found_as_none(
            self.send(Method::GET, &["job", job_id, "deployment"], &[], None)
                .await,
        )?;
        Ok(found.flatten())
    }

    /// A deployment by ID (`GET /v1/deployment/{id}`).
    pub async fn deployment(&self, id: &str) -> Result<Deployment> {
        self.send(Method::GET, &["deployment", id], &[], None).await
    }

    /// The job's allocations with their task states (`GET /v1/job/{id}/allocations`).
    pub async fn allocations(&self, job_id: &str) -> Result<Vec<AllocationStub>> {
        let found: Option<Vec<AllocationStub>> = not_found_as_none(
            self.send(Method::GET, &["job", job_id, "allocations"], &[], None)
                .await,
        )?;
        Ok(found.unwrap_or_default())
    }

    /// Registers an earlier version of the job again as a new version
    /// (`POST /v1/job/{id}/revert`). With `enforce_prior_version`, only if the current
    /// version is still that one, otherwise [`NomadError::Conflict`].
    pub async fn revert(
        &self,
        job_id: &str,
        version: u64,
        enforce_prior_version: Option<u64>,
    ) -> Result<RegisterResponse> {
        let mut body = json!({"JobID": job_id, "JobVersion": version});
        if let Some(prior) = enforce_prior_version {
            body["EnforcePriorVersion"] = json!(prior);
        }
        self.send(Method::POST, &["job", job_id, "revert"], &[], Some(body))
            .await
    }

    /// Stops the job (`DELETE /v1/job/{id}`); `purge` also removes it and its history.
    pub async fn deregister(&self, job_id: &str, purge: bool) -> Result<DeregisterResponse> {
        let purge = if purge { "true" } else { "false" };
        self.send(Method::DELETE, &["job", job_id], &[("purge", purge)], None)
            .await
    }

    /// `/v1/{segments…}` with the configured region and namespace and `query`.
    fn url(&self, segments: &[&str], query: &[(&str, &str)]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().push("v1").extend(segments);
        }
        {
            let mut pairs = url.query_pairs_mut();
            if let Some(region) = &self.config.region {
                pairs.append_pair("region", region);
            }
            if let Some(namespace) = &self.config.namespace {
                pairs.append_pair("namespace", namespace);
            }
            for (k, v) in query {
                pairs.append_pair(k, v);
            }
        }
        if url.query() == Some("") {
            url.set_query(None);
        }
        url
    }

    async fn send<T: DeserializeOwned>(
        &self,
        method: Method,
        segments: &[&str],
        query: &[(&str, &str)],
        body: Option<Value>,
    ) -> Result<T> {
        let url = self.url(segments, query);
        let what = format!("{method} {}", url.path());
        let mut request = self.http.request(method, url);
        if let Some(token) = &self.config.token {
            request = request.header("X-Nomad-Token", token);
        }
        if let Some(body) = &body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(|e| self.unreachable(&e))?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(|e| self.unreachable(&e))?;
        if status != StatusCode::OK {
            return Err(NomadError::from_status(
                status.as_u16(),
                String::from_utf8_lossy(&bytes).into_owned(),
            ));
        }
        serde_json::from_slice(&bytes).map_err(|source| NomadError::Decode { what, source })
    }

    fn unreachable(&self, error: &reqwest::Error) -> NomadError {
        let mut cause = error.to_string();
        let mut source = std::error::Error::source(error);
        while let Some(s) = source {
            cause.push_str(": ");
            cause.push_str(&s.to_string());
            source = s.source();
        }
        NomadError::Unreachable {
            address: self.config.address.clone(),
            cause,
        }
    }
}

/// The job object, whether given as ojek renders it (`{"Job": {…}}`) or bare.
fn unwrap_job(job: &Value) -> &Value {
    match job.as_object() {
        Some(map) if map.len() == 1 && map.contains_key("Job") => &map["Job"],
        _ => job,
    }
}

fn job_id(job: &Value) -> Result<&str> {
    job.get("ID")
        .and_then(Value::as_str)
        .filter(|id| !id.is_empty())
        .ok_or_else(|| NomadError::Config {
            message: "the job has no ID".into(),
        })
}

fn not_found_as_none<T>(result: Result<T>) -> Result<Option<T>> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(NomadError::NotFound { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

fn read_pem(path: &std::path::Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| NomadError::Config {
        message: format!("cannot read {}: {e}", path.display()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(address: &str, region: Option<&str>, namespace: Option<&str>) -> NomadClient {
        let mut config = NomadConfig::new(address);
        config.region = region.map(String::from);
        config.namespace = namespace.map(String::from);
        NomadClient::new(config).expect("client")
    }

    #[test]
    fn urls_carry_region_namespace_and_escape_ids() {
        let c = client("https://nomad.example:4646/", Some("jkt"), Some("fulfilment"));
        assert_eq!(
            c.url(&["job", "a b/c", "plan"], &[]).as_str(),
            "https://nomad.example:4646/v1/job/a%20b%2Fc/plan?region=jkt&namespace=fulfilment"
        );
        let c = client("http://127.0.0.1:4646", None, None);
        assert_eq!(c.url(&["jobs"], &[]).as_str(), "http://127.0.0.1:4646/v1/jobs");
        assert_eq!(
            c.url(&["jobs"], &[("prefix", "web")]).as_str(),
            "http://127.0.0.1:4646/v1/jobs?prefix=web"
        );
    }

    #[test]
    fn bad_configuration_is_reported() {
        let e = NomadClient::new(NomadConfig::new("not a url")).expect_err("bad address");
        assert!(e.to_string().contains("is not a URL"), "{e}");
        let mut config = NomadConfig::new("https://nomad:4646");
        config.ca_cert = Some("/nonexistent/ca.pem".into());
        let e = NomadClient::new(config).expect_err("missing CA");
        assert!(e.to_string().contains("/nonexistent/ca.pem"), "{e}");
        let mut config = NomadConfig::new("https://nomad:4646");
        config.client_cert = Some("/tmp/cert.pem".into());
        assert!(NomadClient::new(config).is_err());
    }

    #[test]
    fn jobs_are_accepted_wrapped_or_bare() {
        let wrapped = json!({"Job": {"ID": "web"}});
        assert_eq!(job_id(unwrap_job(&wrapped)).expect("id"), "web");
        let bare = json!({"ID": "web", "Type": "service"});
        assert_eq!(job_id(unwrap_job(&bare)).expect("id"), "web");
        assert!(job_id(&json!({"Name": "x"})).is_err());
    }
}
