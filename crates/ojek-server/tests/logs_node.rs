//! A log node (`logs::node::start`, what `ojek ingest` runs) and a control plane reading from
//! it (`Config::logs_node`), in process on one database of each engine: lines shipped to the
//! node are read through the control plane's API and Logs page with its access rules; a control
//! plane with a different node token gets 502 with the reason; the control plane's own ingest
//! endpoints answer 421; the archive belongs on the node.

#[macro_use]
mod common;

use std::time::{Duration, Instant};

use common::{Client, Db, create_driver_location};
use ojek_server::logs::node::NodeToken;
use ojek_server::{Config, Server};
use ojek_store::Role;
use serde_json::{Value, json};

both!(a_control_plane_reads_the_logs_of_its_node);

const SECRET: &str = "ojek-log-secret-for-node-tests-0123456789";
const TOKEN: &str = "node-token-for-in-process-tests-0123456789";

/// The same caller, at another server.
fn at(mut client: Client, base: &str) -> Client {
    client.base = base.to_string();
    client
}

fn token(secret: &str) -> Option<NodeToken> {
    Some(NodeToken::new(Some(secret.into())).expect("a long token"))
}

/// A control plane on `database` reading from the node at `node` with `secret`.
async fn control_plane(dir: &std::path::Path, database: &str, node: &str, secret: &str) -> Server {
    let mut config = Config::new(dir.to_path_buf());
    config.listen = ([127, 0, 0, 1], 0).into();
    config.database_url = Some(database.into());
    config.logs_node = Some(node.into());
    config.node_token = token(secret);
    ojek_server::start(config)
        .await
        .expect("the control plane starts")
}

async fn a_control_plane_reads_the_logs_of_its_node(db: Db) {
    // The harness's server sets up the database: a team, a reader, an outsider, an app and
    // its producer secret.
    let Some(s) = common::server(db, false).await else {
        return;
    };
    let team = s.team("fulfilment").await;
    let other = s.team("other").await;
    let reader = s.user("rita", false).await;
    let outsider = s.user("otto", false).await;
    s.member(&team, &reader, Role::Viewer).await;
    s.member(&other, &outsider, Role::Admin).await;
    create_driver_location(&s.admin_session().await).await;
    s.log_secret(&team, Some("driver-location"), "shipper", SECRET)
        .await;
    let reading = s.token(&reader, &team, Role::Viewer, None).await;
    let outsiders = s.token(&outsider, &other, Role::Viewer, None).await;
    let database = s.server.state.config.database_url();

    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = Config::new(dir.path().join("node"));
    config.listen = ([127, 0, 0, 1], 0).into();
    config.database_url = Some(database.clone());
    config.node_token = token(TOKEN);
    let node = ojek_server::logs::node::start(config)
        .await
        .expect("the node starts");
    let node_url = format!("http://{}", node.addr);
    let control = control_plane(&dir.path().join("control"), &database, &node_url, TOKEN).await;
    let control_url = format!("http://{}", control.addr);
    let http = reqwest::Client::new();

    // Shipped to the node; the control plane takes none itself.
    let ship = |url: String| {
        http.post(format!("{url}/produce_batch"))
            .header("X-App-Secret", SECRET)
            .header("X-Ojek-Env", "staging")
            .json(&json!({ "items": [
                { "message": "checkout failed", "level": "error" },
                { "message": "checkout ok", "level": "info" },
            ] }))
            .send()
    };
    let resp = ship(node_url.clone()).await.expect("produce");
    assert_eq!(resp.status().as_u16(), 200);
    let resp = ship(control_url.clone()).await.expect("produce");
    assert_eq!(resp.status().as_u16(), 421);
    let body: Value = resp.json().await.expect("JSON");
    assert_eq!(body["code"], "logs_on_node", "{body}");
    assert!(
        control.state.logs.is_none(),
        "the control plane opens no log store"
    );

    // Read through the control plane: the query is parsed there and again on the node.
    let as_reader = at(s.bearer(&reading), &control_url);
    let deadline = Instant::now() + Duration::from_secs(15);
    let found = loop {
        let page = as_reader
            .get("/api/logs/search?app=driver-location&env=staging&q=level:error")
            .await
            .expect(200);
        let messages: Vec<String> = page["records"]
            .as_array()
            .expect("records")
            .iter()
            .map(|r| r["message"].as_str().unwrap_or_default().to_string())
            .collect();
        if !messages.is_empty() || Instant::now() > deadline {
            break messages;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(found, ["checkout failed"]);
    let bad = as_reader
        .get("/api/logs/search?app=driver-location&q=level:(error")
        .await
        .expect_error(400, "bad_query");
    assert!(bad["column"].is_number(), "{bad}");
    let page = as_reader.get("/logs?app=driver-location&env=staging").await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains("checkout failed"), "the Logs page shows it");
    at(s.bearer(&outsiders), &control_url)
        .get("/api/logs/search?app=driver-location")
        .await
        .expect_error(404, "not_found");

    // A control plane with another token is refused by the node: 502 saying why.
    let wrong = control_plane(
        &dir.path().join("wrong"),
        &database,
        &node_url,
        "another-node-token-0123456789abcdef-0123",
    )
    .await;
    let refused = at(s.bearer(&reading), &format!("http://{}", wrong.addr))
        .get("/api/logs/search?app=driver-location")
        .await
        .expect_error(502, "logs_node_error");
    assert!(
        refused["error"]
            .as_str()
            .is_some_and(|e| e.contains("OJEK_NODE_TOKEN must be the same")),
        "{refused}"
    );

    // The archive is the node's business.
    let mut config = Config::new(dir.path().join("archiving"));
    config.database_url = Some(database);
    config.logs_node = Some(node_url);
    config.node_token = token(TOKEN);
    config.logs_archive = Some(std::sync::Arc::new(
        ojek_logstore::archive::Archive::from_url(
            &format!("file://{}", dir.path().join("archive").display()),
            std::iter::empty::<(String, String)>(),
        )
        .expect("archive"),
    ));
    let refused = ojek_server::start(config).await.err().expect("refused");
    assert!(
        refused.to_string().contains("belongs on the log node"),
        "{refused}"
    );

    wrong.stop();
    control.stop();
    node.stop();
}
