//! Fixtures for deploy tests: the driver-location example in team fulfilment, and the stored
//! platform file with its clusters pointed at `ojek-fake-cluster`'s fakes (staging's
//! Kubernetes cluster through a kubeconfig, production-dc's Nomad cluster with its ACL token
//! in a file; both paths relative to the server's data directory).

use std::time::Duration;

use ojek_fake_cluster::kube::FakeKube;
use ojek_fake_cluster::nomad::{FakeNomad, FakeNomadOptions};
use ojek_server::state::PLATFORM;
use ojek_store::{Actor, Role};
use serde_json::json;

use super::TestServer;

/// The app.
pub const APP: &str = "driver-location";
/// Its namespace in staging.
pub const KUBE_NAMESPACE: &str = "fulfilment-staging";
/// Its Nomad namespace in production-dc.
pub const NOMAD_NAMESPACE: &str = "fulfilment";
/// Its Nomad job in production-dc.
pub const NOMAD_JOB: &str = "driver-location-production-dc";
/// The fake Nomad's ACL token.
pub const NOMAD_TOKEN: &str = "fake-acl-token-for-the-server";
/// Its image in staging.
pub const STAGING_IMAGE: &str = "registry.gojek.io/fulfilment/driver-location:2.15.0-rc.1";
/// Its image elsewhere.
pub const BASE_IMAGE: &str = "registry.gojek.io/fulfilment/driver-location:2.14.0";

/// The driver-location example manifest.
pub fn manifest() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/driver-location.yaml"
    ))
    .expect("example manifest")
}

/// Writes the kubeconfig and the token file into the data directory and stores the example
/// platform file with its clusters pointed at the fakes (relative paths).
pub async fn point_platform_at(s: &TestServer, kube_url: &str, nomad_url: &str) {
    let dir = &s.server.state.config.data_dir;
    let kubeconfig = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n  - name: fake\n    cluster: {{server: \"{kube_url}\"}}\n\
         users:\n  - name: fake\n    user: {{}}\ncontexts:\n  - name: fake\n    context: {{cluster: fake, user: fake}}\n\
         current-context: fake\n"
    );
    std::fs::write(dir.join("kubeconfig.yaml"), kubeconfig).expect("kubeconfig");
    std::fs::write(dir.join("nomad-token"), format!("{NOMAD_TOKEN}\n")).expect("token");
    let stored = s
        .store()
        .platform(PLATFORM)
        .await
        .expect("read")
        .expect("platform");
    let replace = |text: String, from: &str, to: &str| {
        assert!(text.contains(from), "the platform file has no `{from}`");
        text.replacen(from, to, 1)
    };
    let text = replace(
        stored.content,
        "        kubeconfig: ~/.kube/config\n        context: kops-staging",
        "        kubeconfig: kubeconfig.yaml\n        context: fake",
    );
    let text = replace(text, "https://nomad.dc.gojek.io:4646", nomad_url);
    let text = replace(text, "token: {env: NOMAD_TOKEN}", "token: {file: nomad-token}");
    s.store()
        .save_platform(PLATFORM, &text, Some(stored.version), &Actor::system())
        .await
        .expect("save platform");
}

/// Team fulfilment with an editor and a viewer, an outsider in another team, and the app
/// created by the editor. Returns (editor, viewer, outsider) clients.
pub async fn setup(s: &TestServer) -> (super::Client, super::Client, super::Client) {
    let team = s.team("fulfilment").await;
    let other = s.team("other").await;
    let editor = s.user("edna", false).await;
    let viewer = s.user("vic", false).await;
    let outsider = s.user("otto", false).await;
    s.member(&team, &editor, Role::Editor).await;
    s.member(&team, &viewer, Role::Viewer).await;
    s.member(&other, &outsider, Role::Admin).await;
    let editor = s.session(&editor).await;
    editor
        .post(
            "/api/apps",
            &json!({ "manifest": manifest(), "message": "first" }),
        )
        .await
        .expect(201);
    (editor, s.session(&viewer).await, s.session(&outsider).await)
}

pub async fn save_revision(editor: &super::Client, manifest: String, base: i64) {
    editor
        .put(
            &format!("/api/apps/{APP}"),
            &json!({ "manifest": manifest, "baseRevision": base, "message": "change" }),
        )
        .await
        .expect(200);
}

pub fn kube_image(kube: &FakeKube) -> String {
    let d = kube
        .object("Deployment", KUBE_NAMESPACE, "driver-location-web")
        .expect("the Deployment exists");
    d["spec"]["template"]["spec"]["containers"][0]["image"]
        .as_str()
        .expect("image")
        .to_string()
}

/// A fake Nomad agent in region jkt with [`NOMAD_TOKEN`] as its ACL token.
pub async fn fake_nomad() -> FakeNomad {
    FakeNomad::start(FakeNomadOptions {
        acl_token: Some(NOMAD_TOKEN.into()),
        deployment_delay: Duration::from_millis(200),
        region: "jkt".into(),
    })
    .await
    .expect("fake Nomad")
}

/// A fake Kubernetes API server and a fake Nomad agent, with the platform pointed at both.
pub async fn fake_clusters(s: &TestServer) -> (FakeKube, FakeNomad) {
    let kube = FakeKube::start().await;
    let nomad = fake_nomad().await;
    point_platform_at(s, &kube.url(), &nomad.url()).await;
    (kube, nomad)
}
