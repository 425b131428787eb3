//! Reading logs through the API: search with cursor pages, histogram, top values, live tail
//! over Server-Sent Events; access (another team's logs are refused, a producer secret cannot
//! read), bad queries with their column, and every read in the audit log.

#[macro_use]
mod common;

use common::{Db, TestServer, create_driver_location};
use ojek_store::{Actor, Role};
use serde_json::{Value, json};

both!(
    search_histogram_top_tail_and_access,
    retention_follows_the_settings,
    settings_and_secrets_through_the_api,
    log_settings_pages
);

const SECRET: &str = "ojek-log-secret-for-search-tests-0123";

async fn produce(s: &TestServer, lines: &[Value]) {
    let resp = reqwest::Client::new()
        .post(s.url("/produce_batch"))
        .header("X-App-Secret", SECRET)
        .header("X-Ojek-Env", "staging")
        .json(&json!({ "items": lines }))
        .send()
        .await
        .expect("produce");
    assert_eq!(
        resp.status().as_u16(),
        200,
        "{}",
        resp.text().await.unwrap_or_default()
    );
}

fn flush(s: &TestServer) {
    s.server
        .state
        .logs
        .clone()
        .expect("logs")
        .store
        .flush()
        .expect("flush");
}

async fn search_histogram_top_tail_and_access(db: Db) {
    let Some(s) = common::server(db, false).await else {
        return;
    };
    let team = s.team("fulfilment").await;
    let other = s.team("other").await;
    let editor = s.user("edna", false).await;
    let outsider = s.user("otto", false).await;
    s.member(&team, &editor, Role::Viewer).await;
    s.member(&other, &outsider, Role::Admin).await;
    let reader = s.session(&editor).await;
    let outsider = s.session(&outsider).await;
    let admin = s.admin_session().await;
    create_driver_location(&admin).await;
    s.log_secret(&team, Some("driver-location"), "shipper", SECRET)
        .await;

    // 300 lines over the last five minutes: every third an error.
    let now = ojek_server::auth::now_ms();
    let lines: Vec<Value> = (0..300)
        .map(|i| {
            json!({
                "@timestamp": now - 300_000 + i * 1000,
                "message": format!("request {i} {}", if i % 3 == 0 { "failed: connection refused" } else { "ok" }),
                "level": if i % 3 == 0 { "error" } else { "info" },
                "http": { "status": if i % 3 == 0 { 503 } else { 200 } },
            })
        })
        .collect();
    produce(&s, &lines).await;
    flush(&s);

    // Search: newest first, pages joined by the cursor, the same as the count.
    let base = "/api/logs/search?app=driver-location&env=staging&since=1h&q=level:error";
    let mut seen = Vec::new();
    let mut path = format!("{base}&limit=40");
    loop {
        let page = reader.get(&path).await.expect(200);
        let records = page["records"].as_array().expect("records").clone();
        assert!(records.len() <= 40);
        seen.extend(records);
        match page["nextCursor"].as_u64() {
            Some(c) => path = format!("{base}&limit=40&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), 100);
    assert!(
        seen.iter()
            .all(|r| r["level"] == "error" && r["app"] == "driver-location")
    );
    let times: Vec<i64> = seen
        .iter()
        .map(|r| r["timestamp"].as_i64().expect("ts"))
        .collect();
    assert!(times.windows(2).all(|w| w[0] > w[1]), "newest first, no repeats");
    let phrase = reader
        .get("/api/logs/search?app=driver-location&q=%22connection%20refused%22%20AND%20http.status:503")
        .await
        .expect(200);
    assert_eq!(phrase["records"].as_array().expect("records").len(), 100);

    // Histogram and top values agree with it.
    let h = reader
        .get("/api/logs/histogram?app=driver-location&env=staging&since=10m&buckets=10&q=level:error")
        .await
        .expect(200);
    assert_eq!(h["total"], 100);
    assert_eq!(h["buckets"].as_array().expect("buckets").len(), 10);
    let top = reader
        .get("/api/logs/top?app=driver-location&since=1h&field=level")
        .await
        .expect(200);
    assert_eq!(
        top["values"],
        json!([{"value": "info", "count": 200}, {"value": "error", "count": 100}])
    );

    // Bad queries say where.
    let bad = reader
        .get("/api/logs/search?app=driver-location&q=level:(error")
        .await
        .expect_error(400, "bad_query");
    assert!(bad["column"].as_u64().is_some(), "{bad}");

    // Access: another team's reader gets a 404 for the app and nothing without naming it; a
    // producer secret cannot read at all.
    outsider
        .get("/api/logs/search?app=driver-location&since=1h")
        .await
        .expect_error(404, "not_found");
    let theirs = outsider.get("/api/logs/search?since=1h").await.expect(200);
    assert!(theirs["records"].as_array().expect("records").is_empty());
    s.bearer(SECRET)
        .get("/api/logs/search?app=driver-location&since=1h")
        .await
        .expect_error(401, "unauthorized");

    // Every read is in the team's audit log, with the query.
    let audit = reader.get("/api/audit").await.expect(200);
    let searches: Vec<&Value> = audit["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter(|e| e["action"] == "logs.search")
        .collect();
    assert!(searches.len() >= 4, "{audit}");
    let details: Vec<Value> = searches
        .iter()
        .filter_map(|e| e["after"].as_str().and_then(|a| serde_json::from_str(a).ok()))
        .collect();
    assert!(
        details.iter().any(|d| d["query"] == "level:error"
            && d["kind"] == "search"
            && d["apps"] == json!(["driver-location"])),
        "{audit}"
    );

    // Live tail: only new matching records arrive.
    let resp = reqwest::Client::new()
        .get(s.url("/api/logs/tail?app=driver-location&env=staging&q=level:error"))
        .header(
            "cookie",
            match &reader.auth {
                common::Auth::Session { cookie, .. } => {
                    format!("{}={cookie}", ojek_server::auth::SESSION_COOKIE)
                }
                _ => String::new(),
            },
        )
        .send()
        .await
        .expect("tail");
    assert_eq!(resp.status().as_u16(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap_or_default()
            .starts_with("text/event-stream")
    );
    let mut stream = resp;
    produce(
        &s,
        &[
            json!({"message": "tail info line", "level": "info"}),
            json!({"message": "tail error line", "level": "error"}),
        ],
    )
    .await;
    let mut text = String::new();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while !text.contains("tail error line") {
        let chunk = tokio::time::timeout_at(deadline, stream.chunk())
            .await
            .expect("a tail event in time")
            .expect("read");
        match chunk {
            Some(bytes) => text.push_str(&String::from_utf8_lossy(&bytes)),
            None => break,
        }
    }
    assert!(text.contains("event: records"), "{text}");
    assert!(text.contains("tail error line"), "{text}");
    assert!(!text.contains("tail info line"), "the filter applies: {text}");
}

/// Days older than an app's retention (its own, else its team's, else 30) are dropped whole.
async fn retention_follows_the_settings(db: Db) {
    let Some(s) = common::server(db, false).await else {
        return;
    };
    let team = s.team("fulfilment").await;
    let admin = s.admin_session().await;
    create_driver_location(&admin).await;
    s.log_secret(&team, Some("driver-location"), "shipper", SECRET)
        .await;
    const DAY: i64 = 86_400_000;
    let now = ojek_server::auth::now_ms();
    let ages = [1, 10, 20, 40];
    let lines: Vec<Value> = ages
        .iter()
        .map(|d| json!({ "@timestamp": now - d * DAY, "message": format!("{d} days old") }))
        .collect();
    produce(&s, &lines).await;
    flush(&s);
    let kept = |s: &TestServer| {
        let logs = s.server.state.logs.clone().expect("logs");
        let req = ojek_logstore::index::SearchRequest {
            streams: vec![ojek_logstore::index::Stream {
                app: "driver-location".into(),
                env: "staging".into(),
            }],
            query: ojek_logs::Query::All,
            from_ms: 0,
            to_ms: now + 1,
        };
        let mut v: Vec<String> = logs
            .store
            .index()
            .search(&req, 100, None)
            .expect("search")
            .records
            .into_iter()
            .map(|r| r.message)
            .collect();
        v.sort();
        v
    };
    // Default: 30 days.
    ojek_server::logs::retention::run_once(&s.server.state, now)
        .await
        .expect("retention");
    assert_eq!(kept(&s), ["1 days old", "10 days old", "20 days old"]);
    // The team keeps 14 days; the app overrides nothing yet.
    s.store()
        .set_log_settings(
            team.id,
            None,
            &ojek_store::LogSettings {
                retention_days: Some(14),
                ..Default::default()
            },
            &Actor::system(),
        )
        .await
        .expect("team settings");
    ojek_server::logs::retention::run_once(&s.server.state, now)
        .await
        .expect("retention");
    assert_eq!(kept(&s), ["1 days old", "10 days old"]);
    // The app keeps 5 days.
    s.store()
        .set_log_settings(
            team.id,
            Some("driver-location"),
            &ojek_store::LogSettings {
                retention_days: Some(5),
                ..Default::default()
            },
            &Actor::system(),
        )
        .await
        .expect("app settings");
    ojek_server::logs::retention::run_once(&s.server.state, now)
        .await
        .expect("retention");
    assert_eq!(kept(&s), ["1 days old"]);
}

async fn produce_with(s: &TestServer, secret: &str) -> u16 {
    reqwest::Client::new()
        .post(s.url("/produce"))
        .header("X-App-Secret", secret)
        .header("X-Ojek-Env", "staging")
        .json(&json!({ "message": "hello" }))
        .send()
        .await
        .expect("produce")
        .status()
        .as_u16()
}

async fn settings_and_secrets_through_the_api(db: Db) {
    let Some(s) = common::server(db, false).await else {
        return;
    };
    let team = s.team("fulfilment").await;
    let other = s.team("other").await;
    let (lead, dev, viewer, outsider) = (
        s.user("lea", false).await,
        s.user("dev", false).await,
        s.user("vic", false).await,
        s.user("otto", false).await,
    );
    s.member(&team, &lead, Role::Admin).await;
    s.member(&team, &dev, Role::Editor).await;
    s.member(&team, &viewer, Role::Viewer).await;
    s.member(&other, &outsider, Role::Admin).await;
    let (lead, dev, viewer, outsider) = (
        s.session(&lead).await,
        s.session(&dev).await,
        s.session(&viewer).await,
        s.session(&outsider).await,
    );
    create_driver_location(&dev).await;

    // Secrets: team admins create them (shown once), others cannot.
    let body = json!({ "team": "fulfilment", "app": "driver-location", "name": "fluent-bit" });
    dev.post("/api/logs/secrets", &body)
        .await
        .expect_error(403, "forbidden");
    outsider
        .post("/api/logs/secrets", &body)
        .await
        .expect_error(404, "not_found");
    let created = lead.post("/api/logs/secrets", &body).await.expect(201);
    let first = created["secret"].as_str().expect("secret").to_string();
    assert!(first.starts_with("ojek_log_") && first.len() > 40, "{created}");
    let id = created["logSecret"]["id"].as_i64().expect("id");
    assert_eq!(produce_with(&s, &first).await, 200);
    let listed = lead.get("/api/logs/secrets?team=fulfilment").await.expect(200);
    assert!(!listed.to_string().contains(&first), "the secret is never listed");
    // Rotation: the old one stops at once, the new one works; revoking stops it.
    let rotated = lead
        .post(
            &format!("/api/logs/secrets/{id}/rotate?team=fulfilment"),
            &json!({}),
        )
        .await
        .expect(200);
    let second = rotated["secret"].as_str().expect("secret").to_string();
    assert_ne!(second, first);
    assert_eq!(produce_with(&s, &first).await, 401);
    assert_eq!(produce_with(&s, &second).await, 200);
    let new_id = rotated["logSecret"]["id"].as_i64().expect("id");
    outsider
        .delete(&format!("/api/logs/secrets/{new_id}?team=fulfilment"))
        .await
        .expect_error(404, "not_found");
    let revoked = lead
        .delete(&format!("/api/logs/secrets/{new_id}?team=fulfilment"))
        .await;
    assert_eq!(revoked.status.as_u16(), 204, "{}", revoked.text);
    assert_eq!(produce_with(&s, &second).await, 401);

    // Settings: the team's by its admin, an app's override by its editors; effective values
    // say where they come from.
    let team_settings = json!({ "team": "fulfilment", "retentionDays": 7, "levelFilter": "info" });
    dev.put("/api/logs/settings", &team_settings)
        .await
        .expect_error(403, "forbidden");
    lead.put("/api/logs/settings", &team_settings).await.expect(200);
    let app_settings = json!({ "team": "fulfilment", "app": "driver-location", "rateLimit": 50 });
    viewer
        .put("/api/logs/settings", &app_settings)
        .await
        .expect_error(403, "forbidden");
    dev.put("/api/logs/settings", &app_settings).await.expect(200);
    let shown = viewer
        .get("/api/logs/settings?team=fulfilment&app=driver-location")
        .await
        .expect(200);
    let effective = &shown["effective"];
    assert_eq!(effective["retentionDays"], 7, "{shown}");
    assert_eq!(effective["rateLimit"], 50, "{shown}");
    assert_eq!(effective["levelFilter"], "info", "{shown}");
    assert_eq!(effective["origin"]["retentionDays"], "team", "{shown}");
    assert_eq!(effective["origin"]["rateLimit"], "app", "{shown}");
    let bad = dev
        .put(
            "/api/logs/settings",
            &json!({ "team": "fulfilment", "app": "driver-location", "levelFilter": "loud" }),
        )
        .await;
    assert!(bad.status.is_client_error(), "{}", bad.text);
    outsider
        .get("/api/logs/settings?team=fulfilment")
        .await
        .expect_error(404, "not_found");

    // The audit log has every change.
    let audit = lead.get("/api/audit").await.expect(200);
    let actions: Vec<&str> = audit["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    for action in [
        "logs.secret.create",
        "logs.secret.rotate",
        "logs.secret.revoke",
        "logs.settings",
    ] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }
    assert!(
        !audit.to_string().contains(&second),
        "secrets never reach the audit log"
    );
}

async fn form(client: &common::Client, path: &str, fields: &[(&str, &str)]) -> common::Resp {
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

/// The log settings page: team admins set retention and create a producer secret (shown once,
/// and it works); viewers only read.
async fn log_settings_pages(db: Db) {
    let Some(s) = common::server(db, false).await else {
        return;
    };
    let team = s.team("fulfilment").await;
    let (lead, viewer) = (s.user("lea", false).await, s.user("vic", false).await);
    s.member(&team, &lead, Role::Admin).await;
    s.member(&team, &viewer, Role::Viewer).await;
    let (lead, viewer) = (s.session(&lead).await, s.session(&viewer).await);
    create_driver_location(&lead).await;

    let page = lead.get("/settings/logs").await;
    assert_eq!(page.status.as_u16(), 200, "{}", page.text);
    assert!(page.text.contains("30 days"), "the default retention");
    let created = form(
        &lead,
        "/settings/logs/fulfilment/secrets",
        &[("name", "fluent-bit"), ("app", "driver-location")],
    )
    .await;
    assert_eq!(created.status.as_u16(), 201, "{}", created.text);
    let start = created
        .text
        .find("value=\"ojek_log_")
        .expect("the secret is shown")
        + 7;
    let end = created.text[start..].find('"').expect("end") + start;
    let secret = created.text[start..end].to_string();
    assert_eq!(produce_with(&s, &secret).await, 200, "the new secret works");
    let page = lead.get("/settings/logs").await;
    assert!(
        page.text.contains("fluent-bit") && !page.text.contains(&secret),
        "listed, never shown again"
    );

    let saved = form(
        &lead,
        "/settings/logs/fulfilment/settings",
        &[
            ("retention_days", "7"),
            ("rate_limit", ""),
            ("level_filter", "warn"),
        ],
    )
    .await;
    assert_eq!(saved.status.as_u16(), 303, "{}", saved.text);
    let page = viewer.get("/settings/logs").await;
    assert!(
        page.text.contains("7 days") && page.text.contains("keep warn and above"),
        "{}",
        page.text
    );
    assert!(
        !page.text.contains("Create a producer secret"),
        "viewers only read"
    );
    let refused = form(
        &viewer,
        "/settings/logs/fulfilment/settings",
        &[("retention_days", "1")],
    )
    .await;
    assert_eq!(refused.status.as_u16(), 403, "{}", refused.text);
    let bad = form(
        &lead,
        "/settings/logs/fulfilment/settings",
        &[("retention_days", "many")],
    )
    .await;
    assert_eq!(bad.status.as_u16(), 400, "{}", bad.text);
    assert!(bad.text.contains("Nothing was changed"), "{}", bad.text);
}
