//! From the platform file's cluster settings (`environments.<env>.kubernetes.cluster`,
//! `environments.<env>.nomad.cluster`) to the connection settings [`kube`](crate::kube) and
//! [`nomad`](crate::nomad) deploy with. Shared by the CLI (paths relative to the platform
//! file) and the server (paths relative to its data directory).
//!
//! Reads only what the settings name by reference: the Nomad ACL token from an environment
//! variable or a file. It does not connect to anything.

use std::path::{Path, PathBuf};

use ojek_core::spec::platform::{self as pf, Platform, TargetKind, TokenSource};

use crate::kube::{ClusterConfig, ClusterSource};
use crate::nomad::NomadCluster;

/// Where paths written in the platform file are resolved, and how to name the file in errors.
#[derive(Debug, Clone)]
pub struct PathBase {
    /// Relative paths are relative to this directory.
    pub dir: PathBuf,
    /// What `~/` stands for; `None` makes `~/` paths an error.
    pub home: Option<PathBuf>,
    /// The platform file as errors name it (`./platform.yaml`, `the stored platform file`).
    pub origin: String,
}

impl PathBase {
    /// Paths relative to `dir`, `~/` the `HOME` of this process.
    pub fn new(dir: impl Into<PathBuf>, origin: impl Into<String>) -> PathBase {
        PathBase {
            dir: dir.into(),
            home: std::env::var_os("HOME")
                .filter(|h| !h.is_empty())
                .map(PathBuf::from),
            origin: origin.into(),
        }
    }

    /// A path as written in the platform file, resolved.
    pub fn resolve(&self, written: &str) -> Result<PathBuf, ClusterSettingsError> {
        pf::resolve_path(written, &self.dir, self.home.as_deref()).map_err(|e| {
            ClusterSettingsError::Invalid {
                message: format!("{}: {e}", self.origin),
            }
        })
    }
}

/// Why an environment's cluster cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClusterSettingsError {
    /// The environment is not in the platform file.
    #[error("the platform file has no environment {env}")]
    NoEnvironment {
        /// Environment name.
        env: String,
    },
    /// The environment's target section has no `cluster`.
    #[error(
        "environment {env} has no {target}.cluster in the platform file {origin}\n  hint: add `cluster: {example}` under \
         environments.{env}.{target} (see docs/platform.md, Clusters)"
    )]
    NoCluster {
        /// Environment name.
        env: String,
        /// `kubernetes` or `nomad`.
        target: &'static str,
        /// The platform file.
        origin: String,
        /// An example setting.
        example: &'static str,
    },
    /// A path cannot be resolved, or the token cannot be read.
    #[error("{message}")]
    Invalid {
        /// What is wrong and where.
        message: String,
    },
}

fn environment<'a>(platform: &'a Platform, env: &str) -> Result<&'a pf::Environment, ClusterSettingsError> {
    platform
        .environments
        .get(env)
        .ok_or_else(|| ClusterSettingsError::NoEnvironment { env: env.to_string() })
}

fn no_cluster(env: &str, target: TargetKind, base: &PathBase, example: &'static str) -> ClusterSettingsError {
    ClusterSettingsError::NoCluster {
        env: env.to_string(),
        target: target.as_str(),
        origin: base.origin.clone(),
        example,
    }
}

/// The Kubernetes cluster of environment `env`, named `<env> (<context>)`.
pub fn kube_cluster(
    platform: &Platform,
    env: &str,
    base: &PathBase,
) -> Result<ClusterConfig, ClusterSettingsError> {
    let cluster = environment(platform, env)?
        .kubernetes
        .as_ref()
        .and_then(|k| k.cluster.as_ref())
        .ok_or_else(|| {
            no_cluster(
                env,
                TargetKind::Kubernetes,
                base,
                "{kubeconfig: ~/.kube/config, context: NAME}",
            )
        })?;
    let source = match cluster {
        pf::KubernetesCluster::Kubeconfig(k) => ClusterSource::Kubeconfig {
            path: base.resolve(&k.kubeconfig)?,
            context: k.context.clone(),
        },
        pf::KubernetesCluster::InCluster(_) => ClusterSource::InCluster,
    };
    Ok(ClusterConfig {
        name: format!("{env} ({})", cluster.describe()),
        source,
    })
}

/// The Nomad cluster of environment `env`: address, namespace, region (the setting's, else
/// the profile's), TLS files, and the ACL token read from the variable or file it names.
pub fn nomad_cluster(
    platform: &Platform,
    env: &str,
    base: &PathBase,
) -> Result<NomadCluster, ClusterSettingsError> {
    let section = environment(platform, env)?.nomad.as_ref();
    let settings = section.and_then(|n| n.cluster.as_ref()).ok_or_else(|| {
        no_cluster(
            env,
            TargetKind::Nomad,
            base,
            "{address: https://nomad.example.com:4646, token: {env: NOMAD_TOKEN}}",
        )
    })?;
    let mut cluster = NomadCluster::new(settings.address.clone());
    cluster.region = settings.region.clone().or_else(|| {
        let profile = section.map(|n| n.profile.as_str())?;
        platform
            .profiles
            .get(profile)?
            .nomad
            .as_ref()
            .map(|n| n.region.clone())
    });
    cluster.namespace = settings.namespace.clone();
    let field = format!("environments.{env}.nomad.cluster.token");
    let invalid = |message: String| ClusterSettingsError::Invalid { message };
    cluster.token = match &settings.token {
        None => None,
        Some(TokenSource::Env(e)) => {
            let value = std::env::var(&e.env).ok().filter(|v| !v.trim().is_empty());
            let value = value.ok_or_else(|| {
                invalid(format!(
                    "environment variable {} is not set (or empty): {field} in {} reads the Nomad ACL token from it",
                    e.env, base.origin
                ))
            })?;
            Some(value.trim().to_string())
        }
        Some(TokenSource::File(f)) => Some(read_token(&base.resolve(&f.file)?, &field, base)?),
    };
    if let Some(tls) = &settings.tls {
        let file = |p: &Option<String>| p.as_deref().map(|p| base.resolve(p)).transpose();
        cluster.ca_cert = file(&tls.ca_file)?;
        cluster.client_cert = file(&tls.cert_file)?;
        cluster.client_key = file(&tls.key_file)?;
    }
    Ok(cluster)
}

fn read_token(path: &Path, field: &str, base: &PathBase) -> Result<String, ClusterSettingsError> {
    let text = std::fs::read_to_string(path).map_err(|e| ClusterSettingsError::Invalid {
        message: format!(
            "cannot read the Nomad ACL token from {} ({field} in {}): {e}",
            path.display(),
            base.origin
        ),
    })?;
    let token = text.trim();
    if token.is_empty() {
        return Err(ClusterSettingsError::Invalid {
            message: format!(
                "{} is empty ({field} reads the Nomad ACL token from it)",
                path.display()
            ),
        });
    }
    Ok(token.to_string())
}
