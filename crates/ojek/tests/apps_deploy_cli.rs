//! `ojek apps plan|deploy|deployments|status` and `ojek rollback` against a real server started
//! with `--demo` (SQLite, demo data, the simulated clusters it starts): the commands print the
//! plan and the outcome, exit 1 when a rollout fails (with its reason) and 2 when the request
//! is refused, and the simulated cluster holds what was deployed.

use std::path::Path;
use std::process::{Command, Output};

use ojek_server::auth::{TOKEN_PREFIX, secret_hash};
use ojek_store::{Actor, Role};

const APP: &str = "driver-location";
const NAMESPACE: &str = "fulfilment-staging";

/// Runs `ojek` on a blocking thread so the server on this runtime keeps answering.
async fn run(server: &str, token: &str, args: &[&str]) -> Output {
    let (server, token) = (server.to_string(), token.to_string());
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_ojek"))
            .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
            .env("OJEK_SERVER", server)
            .env("OJEK_TOKEN", token)
            .args(&args)
            .output()
            .expect("run ojek")
    })
    .await
    .expect("join")
}

fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn image(server: &ojek_server::Server) -> String {
    let clusters = server
        .demo_clusters
        .as_ref()
        .expect("--demo starts simulated clusters");
    let d = clusters
        .staging
        .object("Deployment", NAMESPACE, "driver-location-web")
        .expect("the Deployment exists");
    d["spec"]["template"]["spec"]["containers"][0]["image"]
        .as_str()
        .expect("image")
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploy_commands_work_against_a_demo_server() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = ojek_server::Config::new(dir.path().join("data"));
    config.listen = ([127, 0, 0, 1], 0).into();
    config.demo = true;
    config.admin_password = Some("admin-password-for-tests".into());
    let server = ojek_server::start(config).await.expect("server");
    let url = format!("http://{}", server.addr);
    let store = server.state.store.clone();

    // Tokens of ana's for fulfilment: an editor's and a viewer's.
    let (ana, _) = store.user_by_name("ana").await.expect("store").expect("ana");
    let team = store
        .team_by_name("fulfilment")
        .await
        .expect("store")
        .expect("team");
    let mut tokens = Vec::new();
    for (name, role) in [("editor", Role::Editor), ("viewer", Role::Viewer)] {
        let token = format!("{TOKEN_PREFIX}cli-deploy-{name}-0123456789abcdef");
        store
            .create_token(
                name,
                ana.id,
                team.id,
                role,
                &secret_hash(&token),
                None,
                &Actor::system(),
            )
            .await
            .expect("token");
        tokens.push(token);
    }
    let (editor, viewer) = (tokens[0].as_str(), tokens[1].as_str());
    let first_image = {
        let o = run(&url, editor, &["apps", "render", APP, "--env", "staging"]).await;
        assert!(o.status.success(), "{}", err(&o));
        let text = out(&o);
        let line = text
            .lines()
            .find(|l| l.trim_start().starts_with("image: "))
            .expect("an image line")
            .to_string();
        line.trim_start()
            .trim_start_matches("image: ")
            .trim_matches('"')
            .to_string()
    };

    // plan: a viewer may; everything is created.
    let o = run(&url, viewer, &["apps", "plan", APP, "--env", "staging"]).await;
    assert!(o.status.success(), "{}", err(&o));
    assert!(
        out(&o).contains("+ Deployment/driver-location-web\n"),
        "{}",
        out(&o)
    );
    assert!(
        err(&o).contains("revision 1 → staging (kubernetes cluster staging (kops-staging))"),
        "{}",
        err(&o)
    );

    // deploy: a viewer may not (exit 2, the server's reason); the editor deploys.
    let o = run(&url, viewer, &["apps", "deploy", APP, "--env", "staging"]).await;
    assert_eq!(o.status.code(), Some(2));
    assert!(err(&o).contains("403"), "{}", err(&o));
    let o = run(
        &url,
        editor,
        &["apps", "deploy", APP, "--env", "staging", "--wait", "30s"],
    )
    .await;
    assert!(o.status.success(), "{}{}", out(&o), err(&o));
    let printed = out(&o);
    assert!(
        printed.starts_with("deployment #1 (deploy revision 1 to staging): succeeded\n"),
        "{printed}"
    );
    assert!(
        printed.contains("rollout Deployment/driver-location-web ok"),
        "{printed}"
    );
    assert_eq!(image(&server), first_image);

    // Revision 2 with an image that cannot be pulled: exit 1 and the reason.
    let manifest = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/driver-location.yaml"),
    )
    .expect("example");
    assert!(
        manifest.contains(&first_image),
        "the staging image is in the example"
    );
    let broken = dir.path().join("driver-location.yaml");
    std::fs::write(
        &broken,
        manifest.replace(&first_image, "registry.gojek.io/fail-pull:1"),
    )
    .expect("write");
    let o = run(
        &url,
        editor,
        &[
            "apps",
            "push",
            broken.to_str().expect("path"),
            "--base",
            "1",
            "-m",
            "broken image",
        ],
    )
    .await;
    assert!(o.status.success(), "{}", err(&o));
    let o = run(
        &url,
        editor,
        &["apps", "deploy", APP, "--env", "staging", "--wait", "30s"],
    )
    .await;
    assert_eq!(o.status.code(), Some(1), "{}{}", out(&o), err(&o));
    let printed = out(&o);
    assert!(
        printed.starts_with("deployment #2 (deploy revision 2 to staging): failed\n"),
        "{printed}"
    );
    assert!(printed.contains("ImagePullBackOff"), "{printed}");
    assert_eq!(image(&server), "registry.gojek.io/fail-pull:1");

    // ojek rollback: back to what ran before the failed deploy.
    let o = run(
        &url,
        editor,
        &["rollback", APP, "--env", "staging", "--wait", "30s"],
    )
    .await;
    assert!(o.status.success(), "{}{}", out(&o), err(&o));
    assert!(
        out(&o).starts_with("deployment #3 (rollback to revision 1 to staging): succeeded\n"),
        "{}",
        out(&o)
    );
    assert_eq!(image(&server), first_image);

    // deployments and status.
    let o = run(&url, viewer, &["apps", "deployments", APP]).await;
    assert!(o.status.success(), "{}", err(&o));
    let lines: Vec<String> = out(&o).lines().map(str::to_string).collect();
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(
        lines[0].contains("rollback") && lines[0].contains("succeeded"),
        "{lines:?}"
    );
    assert!(
        lines[1].contains("r2") && lines[1].contains("failed"),
        "{lines:?}"
    );
    let o = run(&url, viewer, &["apps", "status", APP]).await;
    assert!(o.status.success(), "{}", err(&o));
    assert!(
        out(&o).starts_with("staging        runs revision 1 (deployment #3,"),
        "{}",
        out(&o)
    );

    // An environment the platform file does not have: exit 2 with the reason.
    let o = run(&url, editor, &["apps", "deploy", APP, "--env", "nowhere"]).await;
    assert_eq!(o.status.code(), Some(2));
    assert!(err(&o).contains("no environment `nowhere`"), "{}", err(&o));
}
