//! Which Nomad cluster to deploy to, and the API clients made from it.

use std::path::PathBuf;
use std::time::Duration;

use ojek_nomad_api::{NomadClient, NomadConfig};

use super::{NomadDeployError, Result};

/// How to reach a Nomad cluster: address, ACL token, region, namespace and TLS files.
///
/// Jobs carry their own `Namespace` and `Region` (the renderer sets them); `namespace` and
/// `region` here apply to jobs that do not, and to [`rollback`](super::rollback).
#[derive(Debug, Clone)]
pub struct NomadCluster {
    /// Base address, e.g. `https://nomad.example.com:4646` (no `/v1`).
    pub address: String,
    /// ACL token (`X-Nomad-Token`); `None` when ACLs are disabled.
    pub token: Option<String>,
    /// Region; `None` lets the agent use its own.
    pub region: Option<String>,
    /// Namespace; `None` means Nomad's `default`.
    pub namespace: Option<String>,
    /// PEM file of the CA that signed the agent's certificate.
    pub ca_cert: Option<PathBuf>,
    /// PEM file of the client certificate, for mutual TLS.
    pub client_cert: Option<PathBuf>,
    /// PEM file of the client certificate's key.
    pub client_key: Option<PathBuf>,
    /// Timeout of each request.
    pub request_timeout: Duration,
}

impl NomadCluster {
    /// A cluster at `address` with no token, region, namespace or TLS files, and 30-second
    /// requests.
    pub fn new(address: impl Into<String>) -> Self {
        NomadCluster {
            address: address.into(),
            token: None,
            region: None,
            namespace: None,
            ca_cert: None,
            client_cert: None,
            client_key: None,
            request_timeout: Duration::from_secs(30),
        }
    }

    /// The cluster the `nomad` CLI would use: `NOMAD_ADDR` (`None` when unset), `NOMAD_TOKEN`,
    /// `NOMAD_REGION`, `NOMAD_NAMESPACE`, `NOMAD_CACERT`, `NOMAD_CLIENT_CERT`,
    /// `NOMAD_CLIENT_KEY`. Empty variables count as unset.
    pub fn from_env() -> Option<Self> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let mut cluster = NomadCluster::new(var("NOMAD_ADDR")?);
        cluster.token = var("NOMAD_TOKEN");
        cluster.region = var("NOMAD_REGION");
        cluster.namespace = var("NOMAD_NAMESPACE");
        cluster.ca_cert = var("NOMAD_CACERT").map(PathBuf::from);
        cluster.client_cert = var("NOMAD_CLIENT_CERT").map(PathBuf::from);
        cluster.client_key = var("NOMAD_CLIENT_KEY").map(PathBuf::from);
        Some(cluster)
    }

    /// A client for the cluster's own namespace and region.
    pub fn client(&self) -> Result<NomadClient> {
        self.client_for(None, None)
    }

    /// A client for `namespace` and `region` when given, else the cluster's.
    pub(crate) fn client_for(&self, namespace: Option<&str>, region: Option<&str>) -> Result<NomadClient> {
        let config = NomadConfig {
            address: self.address.clone(),
            token: self.token.clone(),
            region: region.map(String::from).or_else(|| self.region.clone()),
            namespace: namespace.map(String::from).or_else(|| self.namespace.clone()),
            ca_cert: self.ca_cert.clone(),
            client_cert: self.client_cert.clone(),
            client_key: self.client_key.clone(),
            timeout: self.request_timeout,
        };
        NomadClient::new(config).map_err(|e| NomadDeployError::Config {
            address: self.address.clone(),
            message: e.to_string(),
        })
    }
}
