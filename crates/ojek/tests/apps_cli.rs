//! `ojek apps …` against a real server (started in the test, SQLite, demo data): list, show,
//! push (create, update with --base, refused without it, refused on a stale base), history,
//! diff, render, and clear errors for a bad token and an unreachable server.

use std::path::Path;
use std::process::{Command, Output};

use ojek_server::auth::{TOKEN_PREFIX, secret_hash};
use ojek_store::{Actor, Role};

fn ojek(server: &str, token: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ojek"))
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
        .env("OJEK_SERVER", server)
        .env("OJEK_TOKEN", token)
        .args(args)
        .output()
        .expect("run ojek")
}

fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Runs `ojek` on a blocking thread so the server on this runtime keeps answering.
async fn run(server: &str, token: &str, args: &[&str]) -> Output {
    let (server, token) = (server.to_string(), token.to_string());
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        ojek(&server, &token, &a)
    })
    .await
    .expect("join")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apps_commands_work_against_a_server() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = ojek_server::Config::new(dir.path().join("data"));
    config.listen = ([127, 0, 0, 1], 0).into();
    config.demo = true;
    config.admin_password = Some("admin-password-for-tests".into());
    let server = ojek_server::start(config).await.expect("server");
    let url = format!("http://{}", server.addr);
    let store = server.state.store.clone();

    // An editor token of ana's for the payments team.
    let (ana, _) = store.user_by_name("ana").await.expect("store").expect("ana");
    let payments = store
        .team_by_name("payments")
        .await
        .expect("store")
        .expect("team");
    let token = format!("{TOKEN_PREFIX}cli-test-token-0123456789abcdef");
    store
        .create_token(
            "cli",
            ana.id,
            payments.id,
            Role::Editor,
            &secret_hash(&token),
            None,
            &Actor::system(),
        )
        .await
        .expect("token");

    // list: only the token's team.
    let o = run(&url, &token, &["apps", "list"]).await;
    assert!(o.status.success(), "{}", err(&o));
    let listed = out(&o);
    assert!(
        listed.contains("payments") && listed.contains("ledger-store"),
        "{listed}"
    );
    assert!(
        !listed.contains("driver-location"),
        "fulfilment's app must not be listed: {listed}"
    );

    // show: the stored manifest, byte for byte.
    let o = run(&url, &token, &["apps", "show", "payments"]).await;
    assert!(o.status.success(), "{}", err(&o));
    let stored = store
        .revision("payments", 1)
        .await
        .expect("store")
        .expect("rev 1");
    assert_eq!(out(&o), stored.manifest);
    assert!(err(&o).contains("revision 1"), "{}", err(&o));

    // push an edit: refused without --base, saved with it, refused again on the stale base.
    let edited = stored.manifest.replacen("replicas: 3", "replicas: 4", 1);
    assert_ne!(edited, stored.manifest, "the example has `replicas: 3`");
    let file = dir.path().join("payments.yaml");
    std::fs::write(&file, &edited).expect("write");
    let f = file.to_str().expect("utf-8 path");
    let o = run(&url, &token, &["apps", "push", f, "-m", "Four replicas"]).await;
    assert!(!o.status.success());
    assert!(err(&o).contains("--base"), "{}", err(&o));
    let o = run(
        &url,
        &token,
        &["apps", "push", f, "-m", "Four replicas", "--base", "1"],
    )
    .await;
    assert!(o.status.success(), "{}", err(&o));
    assert!(err(&o).contains("revision 2"), "{}", err(&o));
    let rev2 = store
        .revision("payments", 2)
        .await
        .expect("store")
        .expect("rev 2");
    assert_eq!(rev2.manifest, edited);
    assert_eq!(rev2.message, "Four replicas");
    assert_eq!(rev2.author, "ana");
    let o = run(&url, &token, &["apps", "push", f, "--base", "1"]).await;
    assert!(!o.status.success());
    assert!(err(&o).starts_with("error: 409"), "{}", err(&o));
    assert!(
        err(&o).contains("+      replicas: 4") || err(&o).contains("replicas: 4"),
        "{}",
        err(&o)
    );

    // history and diff.
    let o = run(&url, &token, &["apps", "history", "payments"]).await;
    assert!(o.status.success(), "{}", err(&o));
    let h = out(&o);
    let lines: Vec<&str> = h.lines().collect();
    assert_eq!(lines.len(), 2, "{h}");
    assert!(
        lines[0].trim_start().starts_with('2') && lines[0].contains("Four replicas"),
        "{h}"
    );
    let o = run(&url, &token, &["apps", "diff", "payments"]).await;
    assert!(o.status.success(), "{}", err(&o));
    let d = out(&o);
    assert!(
        d.lines().any(|l| l.starts_with('-') && l.contains("replicas: 3")),
        "{d}"
    );
    assert!(
        d.lines().any(|l| l.starts_with('+') && l.contains("replicas: 4")),
        "{d}"
    );

    // render a stored revision: equal to rendering the same text locally.
    let o = run(&url, &token, &["apps", "render", "payments", "--env", "staging"]).await;
    assert!(o.status.success(), "{}", err(&o));
    let local_file = dir.path().join("local").join("payments.yaml");
    std::fs::create_dir_all(local_file.parent().expect("dir")).expect("mkdir");
    std::fs::write(&local_file, &edited).expect("write");
    let platform = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/platform.yaml");
    let local = Command::new(env!("CARGO_BIN_EXE_ojek"))
        .args([
            "render",
            local_file.to_str().expect("path"),
            "--env",
            "staging",
            "--platform",
        ])
        .arg(&platform)
        .output()
        .expect("render locally");
    assert!(local.status.success(), "{}", err(&local));
    assert_eq!(out(&o), out(&local));

    // Another team's app: not found.
    let o = run(&url, &token, &["apps", "show", "driver-location"]).await;
    assert!(!o.status.success());
    assert!(err(&o).contains("404"), "{}", err(&o));

    // A bad token and an unreachable server: clear errors.
    let o = run(&url, "ojek_not-a-token", &["apps", "list"]).await;
    assert!(!o.status.success());
    assert!(
        err(&o).contains("401") && err(&o).contains("token"),
        "{}",
        err(&o)
    );
    let o = run("http://127.0.0.1:9", &token, &["apps", "list"]).await;
    assert!(!o.status.success());
    assert!(
        err(&o).contains("cannot reach the ojek server at http://127.0.0.1:9"),
        "{}",
        err(&o)
    );
    server.stop();
}
