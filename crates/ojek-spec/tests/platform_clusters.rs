//! Clusters in the platform file (`environments.<env>.kubernetes.cluster`,
//! `environments.<env>.nomad.cluster`): the example's clusters load, and every mistake is
//! reported at its line and column, a token written into the file without echoing it.

use std::path::{Path, PathBuf};

use ojek_spec::Diagnostic;
use ojek_spec::load::load_platform;
use ojek_spec::platform::{KubernetesCluster, TokenSource};

fn example() -> String {
    let path: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/platform.yaml");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The example with the first `from` replaced by `to`.
fn with(from: &str, to: &str) -> String {
    let text = example();
    assert!(text.contains(from), "the example has no `{from}`");
    text.replacen(from, to, 1)
}

fn position_of(text: &str, needle: &str) -> (u32, u32) {
    let offset = text
        .find(needle)
        .unwrap_or_else(|| panic!("no `{needle}` in the text"));
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    (line as u32, column as u32)
}

fn at(d: &Diagnostic) -> (u32, u32) {
    let loc = d.location.as_ref().unwrap_or_else(|| panic!("no location: {d}"));
    (loc.line, loc.column)
}

fn single_error(text: &str) -> Diagnostic {
    let diags = load_platform("platform.yaml", text).expect_err("invalid");
    let errs: Vec<Diagnostic> = diags.errors().cloned().collect();
    assert_eq!(errs.len(), 1, "expected one error, got:\n{diags}");
    errs.into_iter().next().expect("one")
}

const NOMAD_CLUSTER: &str = "        token: {env: NOMAD_TOKEN}";

#[test]
fn the_example_clusters_load() {
    let platform = load_platform("platform.yaml", &example())
        .unwrap_or_else(|d| panic!("{d}"))
        .platform;
    let kube = |env: &str| {
        platform.environments[env]
            .kubernetes
            .as_ref()
            .and_then(|k| k.cluster.clone())
    };
    match kube("staging") {
        Some(KubernetesCluster::Kubeconfig(k)) => {
            assert_eq!(
                (k.kubeconfig.as_str(), k.context.as_deref()),
                ("~/.kube/config", Some("kops-staging"))
            );
        }
        other => panic!("staging: {other:?}"),
    }
    assert_eq!(
        kube("production").map(|c| c.describe()).as_deref(),
        Some("gke-production")
    );
    assert_eq!(kube("production-dc"), None, "rendered for, not deployed to");
    assert_eq!(
        platform.environments["staging"]
            .nomad
            .as_ref()
            .and_then(|n| n.cluster.as_ref()),
        None
    );
    let nomad = platform.environments["production-dc"]
        .nomad
        .as_ref()
        .and_then(|n| n.cluster.clone())
        .expect("production-dc nomad cluster");
    assert_eq!(nomad.address, "https://nomad.dc.gojek.io:4646");
    assert!(matches!(&nomad.token, Some(TokenSource::Env(e)) if e.env == "NOMAD_TOKEN"));
    assert_eq!((nomad.region, nomad.namespace, nomad.tls), (None, None, None));
}

#[test]
fn in_cluster_and_a_full_nomad_cluster_load() {
    let text = with(
        "        kubeconfig: ~/.kube/config\n        context: kops-staging\n",
        "        inCluster: true\n",
    )
    .replacen(
        NOMAD_CLUSTER,
        "        region: jkt\n        namespace: payments\n        token: {file: secrets/nomad-token}\n        \
         tls: {caFile: ~/nomad/ca.pem, certFile: cli.pem, keyFile: cli-key.pem}",
        1,
    );
    let platform = load_platform("platform.yaml", &text)
        .unwrap_or_else(|d| panic!("{d}"))
        .platform;
    let staging = platform.environments["staging"].kubernetes.as_ref().expect("k8s");
    assert_eq!(
        staging
            .cluster
            .as_ref()
            .map(KubernetesCluster::describe)
            .as_deref(),
        Some("in-cluster")
    );
    let nomad = platform.environments["production-dc"]
        .nomad
        .as_ref()
        .and_then(|n| n.cluster.clone())
        .expect("nomad cluster");
    assert_eq!(nomad.region.as_deref(), Some("jkt"));
    assert!(matches!(&nomad.token, Some(TokenSource::File(f)) if f.file == "secrets/nomad-token"));
    let tls = nomad.tls.expect("tls");
    assert_eq!(tls.ca_file.as_deref(), Some("~/nomad/ca.pem"));
    assert_eq!(tls.key_file.as_deref(), Some("cli-key.pem"));
}

#[test]
fn a_token_written_in_the_file_is_refused_without_echoing_it() {
    let text = with(NOMAD_CLUSTER, "        token: \"s3cret-0f1e2d\"");
    let d = single_error(&text);
    assert_eq!(at(&d), position_of(&text, "\"s3cret"), "{d}");
    assert_eq!(
        d.path.as_deref(),
        Some("environments.production-dc.nomad.cluster.token")
    );
    assert_eq!(d.message, "a token cannot be written in the platform file");
    let hint = d.hint.clone().unwrap_or_default();
    assert!(hint.contains("token: {env: NOMAD_TOKEN}"), "{hint}");
    assert!(hint.contains("token: {file: "), "{hint}");
    assert!(!d.to_string().contains("s3cret"), "the token is echoed: {d}");
}

#[test]
fn a_token_under_another_field_name_is_an_unknown_field() {
    let text = with(NOMAD_CLUSTER, "        token: {value: s3cret}");
    let d = single_error(&text);
    assert_eq!(at(&d), position_of(&text, "value: s3cret"), "{d}");
    assert_eq!(d.message, "unknown field `value`");
    assert!(
        d.hint
            .as_deref()
            .unwrap_or_default()
            .contains("{env: NOMAD_TOKEN}"),
        "{d}"
    );

    let text = with(NOMAD_CLUSTER, "        tokenFrom: {env: NOMAD_TOKEN}");
    let d = single_error(&text);
    assert_eq!(at(&d), position_of(&text, "tokenFrom"), "{d}");
    assert_eq!(d.hint.as_deref(), Some("did you mean `token`?"));
}

#[test]
fn a_token_variable_must_be_a_variable_name() {
    let text = with(NOMAD_CLUSTER, "        token: {env: nomad-token-0f1e2d}");
    let d = single_error(&text);
    assert_eq!(at(&d), position_of(&text, "nomad-token-0f1e2d"), "{d}");
    assert_eq!(d.message, "not an environment variable name");
    assert!(!d.to_string().contains("0f1e2d"), "{d}");
}

#[test]
fn a_misspelt_context_gets_a_did_you_mean() {
    let text = with("context: kops-staging", "contxt: kops-staging");
    let d = single_error(&text);
    assert_eq!(at(&d), position_of(&text, "contxt"), "{d}");
    assert_eq!(d.message, "unknown field `contxt`");
    assert_eq!(d.hint.as_deref(), Some("did you mean `context`?"));
}

#[test]
fn in_cluster_must_be_true() {
    let text = with(
        "        kubeconfig: ~/.kube/config\n        context: kops-staging\n",
        "        inCluster: false\n",
    );
    let d = single_error(&text);
    assert_eq!(at(&d), position_of(&text, "false"), "{d}");
    assert_eq!(d.message, "`false` is not allowed here");
}

#[test]
fn a_nomad_address_needs_a_scheme() {
    let text = with("https://nomad.dc.gojek.io:4646", "nomad.dc.gojek.io:4646");
    let d = single_error(&text);
    assert_eq!(at(&d), position_of(&text, "nomad.dc.gojek.io:4646"), "{d}");
    assert_eq!(
        d.message,
        "`nomad.dc.gojek.io:4646` is not an http:// or https:// address"
    );
}

#[test]
fn tls_files_are_checked_together() {
    let text = with(
        NOMAD_CLUSTER,
        &format!("{NOMAD_CLUSTER}\n        tls: {{certFile: cli.pem}}"),
    );
    let d = single_error(&text);
    assert_eq!(at(&d), position_of(&text, "{certFile"), "{d}");
    assert_eq!(d.message, "`certFile` without `keyFile`");

    let text = with(NOMAD_CLUSTER, &format!("{NOMAD_CLUSTER}\n        tls: {{}}")).replacen(
        "https://nomad.dc",
        "http://nomad.dc",
        1,
    );
    let diags = load_platform("platform.yaml", &text).expect_err("invalid");
    let messages: Vec<&str> = diags.errors().map(|d| d.message.as_str()).collect();
    assert_eq!(
        messages,
        [
            "TLS files are given but the address is plain http://",
            "no TLS files"
        ],
        "{diags}"
    );
}

#[test]
fn a_cluster_of_the_wrong_shape_is_a_type_error() {
    let text = with(
        "        kubeconfig: ~/.kube/config\n        context: kops-staging\n",
        "        kops-staging\n",
    )
    .replacen(
        "      cluster:                 # `kops",
        "      cluster: # `kops",
        1,
    );
    let d = single_error(&text);
    assert_eq!(d.path.as_deref(), Some("environments.staging.kubernetes.cluster"));
    assert!(d.message.starts_with("expected a mapping"), "{d}");
}
