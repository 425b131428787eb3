//! Where an environment deploys to: `environments.<env>.kubernetes.cluster` and
//! `environments.<env>.nomad.cluster`. Rendering never needs these; `ojek plan` and
//! `ojek apply` do.
//!
//! Secrets are only referenced (an environment variable or a file), never written in the
//! platform file: the types have no field a token could be written into, and the schema
//! refuses unknown fields.

use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The Kubernetes cluster an environment deploys to: a kubeconfig context, or the cluster
/// ojek runs in.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum KubernetesCluster {
    /// A context of a kubeconfig file.
    Kubeconfig(KubeconfigCluster),
    /// The cluster ojek runs in, with its pod's service account.
    InCluster(InCluster),
}

/// A context of a kubeconfig file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct KubeconfigCluster {
    /// The kubeconfig file. `~/` is the home directory; a relative path is relative to the
    /// platform file's directory.
    pub kubeconfig: String,
    /// The context to use; the file's `current-context` when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
}

/// The cluster ojek runs in (`inCluster: true`): the API server and service-account token
/// Kubernetes mounts into ojek's pod.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct InCluster {
    /// Always `true`.
    #[schemars(extend("const" = true))]
    pub in_cluster: bool,
}

impl KubernetesCluster {
    /// How the cluster is named in messages and deployment records: the context, `in-cluster`,
    /// or `current context` when the kubeconfig's current context is used.
    pub fn describe(&self) -> String {
        match self {
            KubernetesCluster::Kubeconfig(k) => match &k.context {
                Some(c) => c.clone(),
                None => format!("current context of {}", k.kubeconfig),
            },
            KubernetesCluster::InCluster(_) => "in-cluster".to_string(),
        }
    }
}

/// The Nomad cluster an environment deploys to.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NomadCluster {
    /// The HTTP API address of a Nomad agent: `https://nomad.example.com:4646` (no `/v1`).
    pub address: String,
    /// Region requests go to; the environment's Nomad profile's region when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Namespace for jobs that do not name one (and for rollbacks); the rendered job's
    /// namespace when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Where the ACL token is read from when deploying: `{env: NOMAD_TOKEN}` or
    /// `{file: PATH}`. Never the token itself. No token when unset (ACLs disabled).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<TokenSource>,
    /// TLS files, when the agent serves HTTPS with a private CA or wants client certificates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<NomadTls>,
}

/// Where a secret token is read from at deploy time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum TokenSource {
    /// An environment variable of the process running ojek.
    Env(TokenFromEnv),
    /// A file (its content, surrounding whitespace removed).
    File(TokenFromFile),
}

/// A token in an environment variable.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TokenFromEnv {
    /// The variable's name, e.g. `NOMAD_TOKEN`.
    pub env: String,
}

/// A token in a file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TokenFromFile {
    /// The file. `~/` is the home directory; a relative path is relative to the platform
    /// file's directory.
    pub file: String,
}

/// TLS files for a Nomad agent serving HTTPS.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NomadTls {
    /// PEM file of the CA that signed the agent's certificate; the system's roots when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<String>,
    /// PEM file of a client certificate, for agents that verify clients (`verify_https_client`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_file: Option<String>,
    /// PEM file of the client certificate's private key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_file: Option<String>,
}

/// Where a path written in the platform file points: `~` and `~/…` are under `home`, an
/// absolute path is itself, and a relative path is relative to `platform_dir` (the platform
/// file's directory). Errors when the path needs a home directory and there is none, or
/// uses `~user`, which ojek does not expand.
pub fn resolve_path(written: &str, platform_dir: &Path, home: Option<&Path>) -> Result<PathBuf, String> {
    if let Some(rest) = written.strip_prefix('~') {
        let rest = match rest.strip_prefix('/') {
            Some(r) => r,
            None if rest.is_empty() => "",
            None => {
                return Err(format!(
                    "`{written}`: only `~/` (the home directory) is expanded, not `~user/`"
                ));
            }
        };
        let home =
            home.ok_or_else(|| format!("`{written}`: the home directory is not known (HOME is unset)"))?;
        return Ok(if rest.is_empty() {
            home.to_path_buf()
        } else {
            home.join(rest)
        });
    }
    let path = Path::new(written);
    Ok(if path.is_absolute() {
        path.to_path_buf()
    } else {
        platform_dir.join(path)
    })
}

/// Whether `name` can be an environment variable's name (letters, digits, `_`, not starting
/// with a digit).
pub fn is_env_var_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_expand_home_and_follow_the_platform_file() {
        let dir = Path::new("/etc/ojek");
        let home = Some(Path::new("/home/ana"));
        assert_eq!(
            resolve_path("~/.kube/config", dir, home),
            Ok(PathBuf::from("/home/ana/.kube/config"))
        );
        assert_eq!(resolve_path("~", dir, home), Ok(PathBuf::from("/home/ana")));
        assert_eq!(
            resolve_path("kube/staging.yaml", dir, home),
            Ok(PathBuf::from("/etc/ojek/kube/staging.yaml"))
        );
        assert_eq!(
            resolve_path("/var/run/config", dir, home),
            Ok(PathBuf::from("/var/run/config"))
        );
        let err = resolve_path("~/.kube/config", dir, None).expect_err("no home");
        assert!(err.contains("HOME"), "{err}");
        let err = resolve_path("~ana/.kube/config", dir, home).expect_err("~user");
        assert!(err.contains("~user"), "{err}");
    }

    #[test]
    fn environment_variable_names() {
        assert!(is_env_var_name("NOMAD_TOKEN"));
        assert!(is_env_var_name("_x1"));
        assert!(!is_env_var_name("1X"));
        assert!(!is_env_var_name("s3cret-token"));
        assert!(!is_env_var_name(""));
    }

    #[test]
    fn describe_names_the_context() {
        let c = KubernetesCluster::Kubeconfig(KubeconfigCluster {
            kubeconfig: "~/.kube/config".into(),
            context: Some("kops-staging".into()),
        });
        assert_eq!(c.describe(), "kops-staging");
        let c = KubernetesCluster::InCluster(InCluster { in_cluster: true });
        assert_eq!(c.describe(), "in-cluster");
    }
}
