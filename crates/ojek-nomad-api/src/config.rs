//! Where the Nomad agent is and how to talk to it.

use std::path::PathBuf;
use std::time::Duration;

/// How to reach a Nomad agent: the equivalent of `NOMAD_ADDR`, `NOMAD_TOKEN`, `NOMAD_REGION`,
/// `NOMAD_NAMESPACE`, `NOMAD_CACERT`, `NOMAD_CLIENT_CERT` and `NOMAD_CLIENT_KEY`.
#[derive(Debug, Clone)]
pub struct NomadConfig {
    /// Base address, e.g. `https://nomad.example.com:4646` (no `/v1`).
    pub address: String,
    /// ACL token sent as `X-Nomad-Token`; `None` when ACLs are disabled.
    pub token: Option<String>,
    /// Region sent as `?region=` on every request; `None` lets the agent use its own.
    pub region: Option<String>,
    /// Namespace sent as `?namespace=` on every request; `None` means Nomad's `default`.
    pub namespace: Option<String>,
    /// PEM file of the CA that signed the agent's certificate (`NOMAD_CACERT`).
    pub ca_cert: Option<PathBuf>,
    /// PEM file of the client certificate for mutual TLS (`NOMAD_CLIENT_CERT`).
    pub client_cert: Option<PathBuf>,
    /// PEM file of the client certificate's private key (`NOMAD_CLIENT_KEY`).
    pub client_key: Option<PathBuf>,
    /// Timeout of each request, connection included.
    pub timeout: Duration,
}

impl NomadConfig {
    /// A configuration for `address` with no token, region, namespace or TLS files, and a
    /// 30-second timeout.
    pub fn new(address: impl Into<String>) -> Self {
        NomadConfig {
            address: address.into(),
            token: None,
            region: None,
            namespace: None,
            ca_cert: None,
            client_cert: None,
            client_key: None,
            timeout: Duration::from_secs(30),
        }
    }
}
