//! The manifest's `logs:` section through the server, on both engines: saving an app (API
//! create and update, UI restore) makes its values the app's manifest-set log settings, which
//! come first in the effective settings, are applied at ingest (level filter, rate limit with
//! 429), are audited, cannot be changed through the settings API (409 `set_by_manifest`), show
//! as read-only on the settings page, and are cleared when the manifest drops them. Bad values
//! are 422 with their line and column.

#[macro_use]
mod common;

use common::{Client, Db, TestServer, driver_location_manifest};
use ojek_store::Role;
use serde_json::{Value, json};

both!(
    manifest_log_settings_through_the_server,
    manifest_retention_comes_before_the_apps_own,
    bad_logs_sections_are_located
);

const APP: &str = "driver-location";
const SECRET: &str = "ojek-log-secret-for-manifest-tests-01";

/// The example manifest with `logs` appended as its last top-level section.
fn with_logs(logs: &str) -> String {
    format!("{}logs:\n{logs}", driver_location_manifest())
}

/// Sends `lines` (JSON objects) to `/produce_batch` with the app's secret; status and body.
async fn produce(s: &TestServer, lines: &[Value]) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .post(s.url("/produce_batch"))
        .header("X-App-Secret", SECRET)
        .header("X-Ojek-Env", "staging")
        .json(&json!({ "items": lines }))
        .send()
        .await
        .expect("produce");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

fn lines(levels: &[&str]) -> Vec<Value> {
    levels
        .iter()
        .enumerate()
        .map(|(i, level)| json!({ "message": format!("line {i} at {level}"), "level": level }))
        .collect()
}

/// `GET /api/logs/settings` for the app.
async fn settings(client: &Client) -> Value {
    client
        .get(&format!("/api/logs/settings?team=fulfilment&app={APP}"))
        .await
        .expect(200)
}

/// The `logs.settings` audit entries of the app, newest first.
async fn settings_audit(client: &Client) -> Vec<Value> {
    let audit = client.get(&format!("/api/audit?app={APP}")).await.expect(200);
    audit["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter(|e| e["action"] == "logs.settings")
        .cloned()
        .collect()
}

async fn form(client: &Client, path: &str, fields: &[(&str, &str)]) -> common::Resp {
    let body = serde_urlencoded::to_string(fields).expect("form");
    client
        .raw(
            reqwest::Method::POST,
            path,
            "application/x-www-form-urlencoded",
            body,
        )
        .await
}

async fn manifest_log_settings_through_the_server(db: Db) {
    let Some(s) = common::server(db, false).await else {
        return;
    };
    let team = s.team("fulfilment").await;
    let (lead, dev, viewer) = (
        s.user("lea", false).await,
        s.user("dev", false).await,
        s.user("vic", false).await,
    );
    s.member(&team, &lead, Role::Admin).await;
    s.member(&team, &dev, Role::Editor).await;
    s.member(&team, &viewer, Role::Viewer).await;
    let (lead, dev, viewer) = (
        s.session(&lead).await,
        s.session(&dev).await,
        s.session(&viewer).await,
    );
    // The team keeps 14 days; the app's own settings (API) keep 60 and limit to 1000 lines/s.
    lead.put(
        "/api/logs/settings",
        &json!({ "team": "fulfilment", "retentionDays": 14 }),
    )
    .await
    .expect(200);

    // Revision 1 (API create) sets a rate limit and a level filter in its manifest.
    let first = with_logs("  rateLimit: 5\n  level: warn\n");
    dev.post("/api/apps", &json!({ "manifest": first, "message": "first" }))
        .await
        .expect(201);
    s.log_secret(&team, Some(APP), "shipper", SECRET).await;
    dev.put(
        "/api/logs/settings",
        &json!({ "team": "fulfilment", "app": APP, "retentionDays": 60 }),
    )
    .await
    .expect(200);
    let shown = settings(&viewer).await;
    let effective = &shown["effective"];
    assert_eq!(
        (
            &effective["retentionDays"],
            &effective["rateLimit"],
            &effective["levelFilter"]
        ),
        (&json!(60), &json!(5), &json!("warn")),
        "{shown}"
    );
    assert_eq!(
        effective["origin"],
        json!({"retentionDays": "app", "rateLimit": "manifest (revision 1)", "levelFilter": "manifest (revision 1)"}),
        "{shown}"
    );
    assert_eq!(
        shown["manifest"],
        json!({"revision": 1, "retentionDays": null, "rateLimit": 5, "levelFilter": "warn"})
    );
    assert_eq!(shown["app"]["retentionDays"], 60, "{shown}");

    // Applied at ingest: lines below warn are dropped, more than 5 lines a second are a 429
    // (6 lines in one request never fit a bucket of one second's worth).
    let (status, body) = produce(&s, &lines(&["info", "warn", "error", "debug"])).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, json!({"stored": 2, "filtered": 2}));
    let (status, body) = produce(&s, &lines(&["error"; 6])).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["code"], "rate_limited", "{body}");

    // Audited, with the revision.
    let audit = settings_audit(&lead).await;
    let entry = audit
        .iter()
        .find(|e| e["target"] == "log settings of app driver-location set by its manifest (revision 1)")
        .unwrap_or_else(|| panic!("{audit:#?}"));
    assert_eq!(entry["actor"], "dev");
    assert_eq!(entry["before"], Value::Null);
    let after: Value = serde_json::from_str(entry["after"].as_str().expect("after")).expect("JSON");
    assert_eq!(
        after,
        json!({"revision": 1, "retentionDays": null, "rateLimit": 5, "levelFilter": "warn"})
    );

    // The settings API cannot change what the manifest sets; the rest it can.
    let refused = dev
        .put(
            "/api/logs/settings",
            &json!({ "team": "fulfilment", "app": APP, "retentionDays": 60, "rateLimit": 500 }),
        )
        .await
        .expect_error(409, "set_by_manifest");
    assert_eq!(refused["revision"], 1, "{refused}");
    assert_eq!(refused["fields"], json!(["rateLimit"]), "{refused}");
    let message = refused["error"].as_str().unwrap_or_default();
    assert!(
        message.contains("revision 1") && message.contains("manifest's `logs:`"),
        "{message}"
    );
    dev.put(
        "/api/logs/settings",
        &json!({ "team": "fulfilment", "app": APP, "levelFilter": "debug" }),
    )
    .await
    .expect_error(409, "set_by_manifest");
    assert_eq!(
        settings(&viewer).await["app"],
        json!({"retentionDays": 60, "rateLimit": null, "levelFilter": null}),
        "nothing changed"
    );
    dev.put(
        "/api/logs/settings",
        &json!({ "team": "fulfilment", "app": APP, "retentionDays": 45 }),
    )
    .await
    .expect(200);

    // The settings page shows them as set by the manifest, read-only.
    let page = viewer.get("/settings/logs").await;
    assert_eq!(page.status.as_u16(), 200, "{}", page.text);
    let row_start = page
        .text
        .find(&format!("data-app=\"{APP}\""))
        .unwrap_or_else(|| panic!("the app's row: {}", page.text));
    let row = &page.text[row_start..row_start + page.text[row_start..].find("</tr>").expect("row end")];
    assert!(
        row.contains("data-field=\"rateLimit\" data-set-by=\"manifest\"")
            && row.contains("data-field=\"levelFilter\" data-set-by=\"manifest\"")
            && row.contains("manifest (revision 1)"),
        "{row}"
    );
    assert!(
        row.contains("data-field=\"retentionDays\" data-set-by=\"app\"") && row.contains("45 days"),
        "{row}"
    );
    assert!(
        !row.contains("<input") && !row.contains("<form"),
        "read-only: {row}"
    );

    // Revision 2 (API update) drops `logs:`: cleared (audited), the API may change them again,
    // and ingest no longer filters or limits.
    dev.put(
        &format!("/api/apps/{APP}"),
        &json!({ "manifest": driver_location_manifest(), "baseRevision": 1, "message": "no logs" }),
    )
    .await
    .expect(200);
    let shown = settings(&viewer).await;
    assert_eq!(shown["manifest"], Value::Null, "{shown}");
    assert_eq!(
        shown["effective"]["origin"],
        json!({"retentionDays": "app", "rateLimit": "default", "levelFilter": "default"}),
        "{shown}"
    );
    let audit = settings_audit(&lead).await;
    let after: Value = serde_json::from_str(audit[0]["after"].as_str().expect("after")).expect("JSON");
    assert_eq!(
        after,
        json!({"revision": 2, "retentionDays": null, "rateLimit": null, "levelFilter": null}),
        "{audit:#?}"
    );
    let (status, body) = produce(&s, &lines(&["debug"; 20])).await;
    assert_eq!((status, &body), (200, &json!({"stored": 20, "filtered": 0})));

    // Restoring revision 1 in the UI saves its manifest again: its settings come back.
    let restored = form(
        &dev,
        &format!("/apps/{APP}"),
        &[
            ("base", "2"),
            ("files_from", "1"),
            ("message", "Restore revision 1"),
            ("manifest", &first),
        ],
    )
    .await;
    assert_eq!(restored.status.as_u16(), 303, "{}", restored.text);
    let shown = settings(&viewer).await;
    assert_eq!(
        shown["effective"]["origin"]["rateLimit"], "manifest (revision 3)",
        "{shown}"
    );
    // One line: the bucket still holds at least the token left from before.
    let (status, body) = produce(&s, &lines(&["debug"])).await;
    assert_eq!((status, &body), (200, &json!({"stored": 0, "filtered": 1})));
    // Every change of the app's settings is in its audit log, refused attempts are not.
    let targets: Vec<String> = settings_audit(&lead)
        .await
        .iter()
        .rev()
        .map(|e| e["target"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(
        targets,
        [
            "log settings of app driver-location set by its manifest (revision 1)",
            "log settings of app driver-location",
            "log settings of app driver-location",
            "log settings of app driver-location set by its manifest (revision 2)",
            "log settings of app driver-location set by its manifest (revision 3)",
        ]
    );
}

/// The hourly retention job keeps the days the manifest says, over the app's own setting.
async fn manifest_retention_comes_before_the_apps_own(db: Db) {
    let Some(s) = common::server(db, false).await else {
        return;
    };
    let team = s.team("fulfilment").await;
    let dev = s.user("dev", false).await;
    s.member(&team, &dev, Role::Editor).await;
    let dev = s.session(&dev).await;
    dev.post("/api/apps", &json!({ "manifest": driver_location_manifest() }))
        .await
        .expect(201);
    dev.put(
        "/api/logs/settings",
        &json!({ "team": "fulfilment", "app": APP, "retentionDays": 40 }),
    )
    .await
    .expect(200);
    dev.put(
        &format!("/api/apps/{APP}"),
        &json!({ "manifest": with_logs("  retentionDays: 15\n"), "baseRevision": 1 }),
    )
    .await
    .expect(200);
    s.log_secret(&team, Some(APP), "shipper", SECRET).await;
    const DAY: i64 = 86_400_000;
    let now = ojek_server::auth::now_ms();
    let old: Vec<Value> = [1, 10, 20, 35]
        .iter()
        .map(|d| json!({ "@timestamp": now - d * DAY, "message": format!("{d} days old") }))
        .collect();
    let (status, body) = produce(&s, &old).await;
    assert_eq!(status, 200, "{body}");
    let logs = s.server.state.logs.clone().expect("logs");
    logs.store.flush().expect("flush");
    ojek_server::logs::retention::run_once(&s.server.state, now)
        .await
        .expect("retention");
    let req = ojek_logstore::index::SearchRequest {
        streams: vec![ojek_logstore::index::Stream {
            app: APP.into(),
            env: "staging".into(),
        }],
        query: ojek_logs::Query::All,
        from_ms: 0,
        to_ms: now + 1,
    };
    let mut kept: Vec<String> = logs
        .store
        .index()
        .search(&req, 100, None)
        .expect("search")
        .records
        .into_iter()
        .map(|r| r.message)
        .collect();
    kept.sort();
    assert_eq!(kept, ["1 days old", "10 days old"], "15 days, not the app's 40");
}

async fn bad_logs_sections_are_located(db: Db) {
    let Some(s) = common::server(db, false).await else {
        return;
    };
    let team = s.team("fulfilment").await;
    let dev = s.user("dev", false).await;
    s.member(&team, &dev, Role::Editor).await;
    let dev = s.session(&dev).await;
    let text = driver_location_manifest();
    let line_of_logs = text.lines().count() + 1;
    for (logs, line, column, message) in [
        ("  retentionDays: 0\n", 1, 18, "0 is out of range (1 to 3650)"),
        ("  level: loud\n", 1, 10, "`loud` is not allowed here"),
        ("  rate: 5\n", 1, 3, "unknown field `rate`"),
    ] {
        let refused = dev
            .post("/api/apps", &json!({ "manifest": with_logs(logs) }))
            .await
            .expect_error(422, "invalid_manifest");
        let d = &refused["diagnostics"][0];
        assert_eq!(
            (&d["line"], &d["column"], &d["message"]),
            (&json!(line_of_logs + line), &json!(column), &json!(message)),
            "{refused}"
        );
    }
    // Per environment: refused at the override, saying where to set them.
    let over = text.replacen("  production:\n", "  production:\n    logs: {level: debug}\n", 1);
    assert_ne!(over, text);
    let refused = dev
        .post("/api/apps", &json!({ "manifest": over }))
        .await
        .expect_error(422, "invalid_manifest");
    let d = &refused["diagnostics"][0];
    assert_eq!(d["message"], "`logs` cannot be set per environment", "{refused}");
    assert!(
        d["hint"].as_str().is_some_and(|h| h.contains("top level")),
        "{refused}"
    );
    assert_eq!(d["path"], "environments.production.logs");
    let want_line = over
        .lines()
        .position(|l| l == "    logs: {level: debug}")
        .expect("line")
        + 1;
    assert_eq!((&d["line"], &d["column"]), (&json!(want_line), &json!(5)));
    assert_eq!(s.store().app(APP).await.expect("read"), None, "nothing saved");
}
