//! The JSON API end to end: a real server, called over HTTP, on SQLite and on PostgreSQL.
//! Each scenario runs on both engines (`<scenario>::sqlite`, `<scenario>::postgres`); the
//! harness (`common`) says how PostgreSQL is provided. Expected renders are computed here with
//! `ojek_core` from the same text, never copied from an earlier run.

#[macro_use]
mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{Client, Db, Options, PASSWORD, PgInstance, TestServer, server, server_with, skip};
use ojek_core::spec::load::{load_app, load_platform};
use ojek_core::spec::platform::TargetKind;
use ojek_core::{Format, NomadFormat, RenderOptions};
use ojek_server::api::render::{MANIFEST_FILE, MapReader};
use ojek_server::auth::now_ms;
use ojek_store::{Actor, Role, Team, User};
use reqwest::Method;
use serde_json::{Value, json};

both!(
    openapi_document,
    authentication,
    team_scoping,
    session_csrf,
    apps_create,
    apps_list_show,
    apps_update,
    revisions_diff_delete,
    render_stored,
    explain_validate_preview,
    teams_users_tokens,
    bad_input,
    scopes_moves_and_origins,
);

// ---- fixtures

/// A manifest of one web service.
fn manifest(name: &str, team: &str, image: &str, replicas: u32) -> String {
    format!(
        "apiVersion: ojek.dev/v1\n\
         kind: App\n\
         metadata:\n  \
           name: {name}\n  \
           team: {team}\n  \
           description: {name} for tests\n\
         processes:\n  \
           web:\n    \
             kind: service\n    \
             image: {image}\n    \
             ports:\n      \
               http: {{port: 8080}}\n    \
             scaling:\n      \
               replicas: {replicas}\n"
    )
}

/// The 1-based number of the first line containing `needle`.
fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .map(|i| i + 1)
        .unwrap_or_else(|| panic!("no line with {needle:?} in:\n{text}"))
}

/// Line `n` (1-based) of a text.
fn line(text: &str, n: u64) -> &str {
    let index = usize::try_from(n)
        .expect("line number")
        .checked_sub(1)
        .expect("lines count from 1");
    text.lines()
        .nth(index)
        .unwrap_or_else(|| panic!("no line {n} in:\n{text}"))
}

/// Two teams, four members with tokens, and the platform admin's session.
struct Fixture {
    s: TestServer,
    alpha: Team,
    /// Admin of alpha.
    ann: User,
    /// Editor of alpha.
    eve: User,
    /// Viewer of alpha.
    vic: User,
    /// Editor of beta.
    bob: User,
    ann_token: Client,
    eve_token: Client,
    vic_token: Client,
    bob_token: Client,
    /// The platform administrator, signed in.
    admin: Client,
}

async fn fixture(db: Db) -> Option<Fixture> {
    fixture_with(db, Options::default()).await
}

async fn fixture_with(db: Db, options: Options) -> Option<Fixture> {
    let s = server_with(db, options).await?;
    let alpha = s.team("alpha").await;
    let beta = s.team("beta").await;
    let ann = s.user("ann", false).await;
    let eve = s.user("eve", false).await;
    let vic = s.user("vic", false).await;
    let bob = s.user("bob", false).await;
    s.member(&alpha, &ann, Role::Admin).await;
    s.member(&alpha, &eve, Role::Editor).await;
    s.member(&alpha, &vic, Role::Viewer).await;
    s.member(&beta, &bob, Role::Editor).await;
    let ann_token = s.bearer(&s.token(&ann, &alpha, Role::Admin, None).await);
    let eve_token = s.bearer(&s.token(&eve, &alpha, Role::Editor, None).await);
    let vic_token = s.bearer(&s.token(&vic, &alpha, Role::Viewer, None).await);
    let bob_token = s.bearer(&s.token(&bob, &beta, Role::Editor, None).await);
    let admin = s.admin_session().await;
    Some(Fixture {
        s,
        alpha,
        ann,
        eve,
        vic,
        bob,
        ann_token,
        eve_token,
        vic_token,
        bob_token,
        admin,
    })
}

/// Creates an app from a manifest (JSON body); panics unless 201.
async fn create(client: &Client, manifest: &str) -> Value {
    client
        .post("/api/apps", &json!({ "manifest": manifest }))
        .await
        .expect(201)
}

/// Saves a revision (JSON body); the response.
async fn save(client: &Client, app: &str, manifest: &str, base: i64) -> common::Resp {
    client
        .put(
            &format!("/api/apps/{app}"),
            &json!({ "manifest": manifest, "baseRevision": base }),
        )
        .await
}

/// Names of the apps in a list response.
fn names(list: &Value) -> Vec<String> {
    list["apps"]
        .as_array()
        .expect("apps array")
        .iter()
        .map(|a| a["name"].as_str().expect("name").to_string())
        .collect()
}

/// Every audit entry the client may read.
async fn audit(client: &Client) -> Vec<Value> {
    let body = client.get("/api/audit?limit=500").await.expect(200);
    body["entries"].as_array().expect("entries").clone()
}

/// The number of apps the platform admin sees.
async fn app_count(admin: &Client) -> i64 {
    admin.get("/api/apps").await.expect(200)["total"]
        .as_i64()
        .expect("total")
}

// ---- the OpenAPI document

/// The routes of `api::routes()` with their methods, read from the router's source so that
/// a new route cannot be left out of the document.
fn api_routes() -> BTreeMap<String, BTreeSet<String>> {
    let source = include_str!("../src/api/mod.rs");
    let body = source
        .split("pub fn routes()")
        .nth(1)
        .expect("api::routes() in api/mod.rs");
    let body = &body[..body.find("\n}\n").expect("end of routes()")];
    let mut routes = BTreeMap::new();
    for chunk in body.split(".route(").skip(1) {
        let rest = chunk
            .trim_start()
            .strip_prefix('"')
            .expect("a route path literal");
        let (path, rest) = rest.split_once('"').expect("end of the path literal");
        // The method router: up to the parenthesis closing `.route(`.
        let mut depth = 1;
        let end = rest
            .char_indices()
            .find_map(|(i, c)| {
                match c {
                    '(' => depth += 1,
                    ')' => depth -= 1,
                    _ => {}
                }
                (depth == 0).then_some(i)
            })
            .expect("end of .route(…)");
        let expr = &rest[..end];
        let methods: BTreeSet<String> = ["get", "post", "put", "delete", "patch"]
            .iter()
            .filter(|m| {
                expr.match_indices(&format!("{m}(")).any(|(i, _)| {
                    expr[..i]
                        .chars()
                        .next_back()
                        .is_none_or(|c| c == '.' || c == ',' || c.is_whitespace())
                })
            })
            .map(|m| m.to_string())
            .collect();
        assert!(!methods.is_empty(), "no methods found for route {path}: {expr}");
        routes.insert(path.to_string(), methods);
    }
    routes
}

/// Runs `tools/validate/openapi_check.py` on documents; skipped (outside CI only) when Python or
/// openapi-spec-validator is missing.
fn openapi_check(documents: &[&Path]) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tools/validate/openapi_check.py");
    let out = match Command::new("python3").arg(&script).args(documents).output() {
        Ok(out) => out,
        Err(e) => return skip(&format!("openapi_check.py: cannot run python3 ({e})")),
    };
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.code() == Some(3) {
        return skip(&format!("openapi_check.py: {}", text.trim()));
    }
    assert!(
        out.status.success(),
        "openapi_check.py failed ({}):\n{text}",
        out.status
    );
}

async fn openapi_document(db: Db) {
    let Some(s) = server(db, false).await else { return };
    let resp = s.anonymous().get("/api/openapi.json").await;
    assert!(
        resp.header("content-type")
            .is_some_and(|ct| ct.starts_with("application/json"))
    );
    let doc = resp.expect(200);
    assert!(
        doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.1")),
        "{}",
        doc["openapi"]
    );
    assert_eq!(doc["servers"][0]["url"], "/api");

    let routes = api_routes();
    assert!(routes.len() >= 20, "routes read from api/mod.rs: {routes:?}");
    let paths = doc["paths"].as_object().expect("paths");
    for (path, methods) in &routes {
        let item = paths
            .get(path)
            .unwrap_or_else(|| panic!("route {path} is not in openapi.yaml"));
        for m in methods {
            let op = &item[m.as_str()];
            assert!(
                op.is_object(),
                "{} {path} is not in openapi.yaml",
                m.to_uppercase()
            );
            assert!(
                op["responses"].is_object(),
                "{} {path} has no responses",
                m.to_uppercase()
            );
        }
        for documented in ["get", "post", "put", "delete", "patch"] {
            if item.get(documented).is_some() {
                assert!(
                    methods.contains(documented),
                    "openapi.yaml has {documented} {path}, the router does not"
                );
            }
        }
    }
    for path in paths.keys() {
        assert!(
            routes.contains_key(path) || path == "/healthz",
            "openapi.yaml documents {path}, which api::routes() does not have"
        );
    }
    // /healthz is served outside /api, as documented.
    assert_eq!(paths["/healthz"]["servers"][0]["url"], "/");
    let health = s.anonymous().get("/healthz").await;
    assert_eq!(health.status, 200);
    assert_eq!(health.text, "ok\n");

    // Served JSON equals the YAML source as a standard parser reads it, and both validate.
    let dir = tempfile::tempdir().expect("temporary directory");
    let served = dir.path().join("served-openapi.json");
    std::fs::write(&served, serde_json::to_string_pretty(&doc).expect("JSON")).expect("write");
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi.yaml");
    openapi_check(&[&source, &served]);
}

// ---- authentication and authorisation

async fn authentication(db: Db) {
    let Some(f) = fixture(db).await else { return };
    let s = &f.s;

    let none = s.anonymous().get("/api/apps").await;
    let body = none.expect_error(401, "unauthorized");
    assert!(
        body["error"].as_str().is_some_and(|m| m.contains("Bearer")),
        "{body}"
    );

    let bad = s.bearer("ojek_not-a-real-token").get("/api/apps").await;
    let body = bad.expect_error(401, "unauthorized");
    assert!(
        body["error"].as_str().is_some_and(|m| m.contains("token")),
        "{body}"
    );

    let revoked = s.token(&f.eve, &f.alpha, Role::Editor, None).await;
    s.bearer(&revoked).get("/api/me").await.expect(200);
    let id = s.token_id(&revoked).await;
    s.store()
        .revoke_token(id, f.eve.id, &Actor::system())
        .await
        .expect("revoke");
    s.bearer(&revoked)
        .get("/api/me")
        .await
        .expect_error(401, "unauthorized");

    let expired = s
        .token(&f.eve, &f.alpha, Role::Editor, Some(now_ms() - 1_000))
        .await;
    s.bearer(&expired)
        .get("/api/apps")
        .await
        .expect_error(401, "unauthorized");

    // An unknown session cookie is no credential at all.
    let stale = s.client(common::Auth::Session {
        cookie: "no-such-session".into(),
        csrf: None,
    });
    stale.get("/api/apps").await.expect_error(401, "unauthorized");

    let me = f.eve_token.get("/api/me").await.expect(200);
    assert_eq!(me["user"]["username"], "eve");
    assert_eq!(me["via"]["kind"], "token");
    assert_eq!(me["via"]["team"], "alpha");
    assert_eq!(me["via"]["role"], "editor");
    assert_eq!(me["teams"], json!([{ "team": "alpha", "role": "editor" }]));
    // The document itself needs no credentials.
    s.anonymous().get("/api/openapi.json").await.expect(200);
}

async fn team_scoping(db: Db) {
    let Some(f) = fixture(db).await else { return };
    create(
        &f.bob_token,
        &manifest("beta-app", "beta", "registry.example/beta:1", 1),
    )
    .await;
    create(
        &f.eve_token,
        &manifest("alpha-app", "alpha", "registry.example/alpha:1", 1),
    )
    .await;

    // Team A's token neither reads nor lists team B's app: 404, as if it did not exist.
    for path in [
        "/api/apps/beta-app",
        "/api/apps/beta-app/revisions",
        "/api/apps/beta-app/revisions/1",
        "/api/apps/beta-app/diff",
        "/api/apps/beta-app/render?environment=staging",
        "/api/apps/beta-app/explain?environment=staging",
        "/api/audit?app=beta-app",
    ] {
        f.ann_token.get(path).await.expect_error(404, "not_found");
    }
    save(
        &f.ann_token,
        "beta-app",
        &manifest("beta-app", "beta", "x:2", 1),
        1,
    )
    .await
    .expect_error(404, "not_found");
    f.ann_token
        .delete("/api/apps/beta-app")
        .await
        .expect_error(404, "not_found");
    let list = f.ann_token.get("/api/apps").await.expect(200);
    assert_eq!(names(&list), ["alpha-app"]);
    assert_eq!(list["total"], 1);
    let list = f.ann_token.get("/api/apps?team=beta").await.expect(200);
    assert_eq!(list["total"], 0);
    // The platform admin sees both.
    assert_eq!(
        names(&f.admin.get("/api/apps").await.expect(200)),
        ["alpha-app", "beta-app"]
    );

    // A viewer reads but cannot save, create or delete.
    f.vic_token.get("/api/apps/alpha-app").await.expect(200);
    save(
        &f.vic_token,
        "alpha-app",
        &manifest("alpha-app", "alpha", "x:2", 1),
        1,
    )
    .await
    .expect_error(403, "forbidden");
    f.vic_token
        .post(
            "/api/apps",
            &json!({ "manifest": manifest("vic-app", "alpha", "x:1", 1) }),
        )
        .await
        .expect_error(403, "forbidden");
    f.vic_token
        .delete("/api/apps/alpha-app")
        .await
        .expect_error(403, "forbidden");

    // An editor of A creates apps of A, not of B.
    f.eve_token
        .post(
            "/api/apps",
            &json!({ "manifest": manifest("eve-in-beta", "beta", "x:1", 1) }),
        )
        .await
        .expect_error(403, "forbidden");
    create(&f.eve_token, &manifest("eve-in-alpha", "alpha", "x:1", 1)).await;
    // Nor move an app of A to B.
    save(
        &f.eve_token,
        "alpha-app",
        &manifest("alpha-app", "beta", "x:1", 1),
        1,
    )
    .await
    .expect_error(403, "forbidden");

    // A token never has more rights than its owner has now.
    f.s.member(&f.alpha, &f.eve, Role::Viewer).await;
    save(
        &f.eve_token,
        "alpha-app",
        &manifest("alpha-app", "alpha", "x:2", 1),
        1,
    )
    .await
    .expect_error(403, "forbidden");
    f.s.store()
        .set_member(f.alpha.id, f.eve.id, None, &Actor::system())
        .await
        .expect("remove member");
    f.eve_token
        .get("/api/apps/alpha-app")
        .await
        .expect_error(404, "not_found");
    assert_eq!(f.eve_token.get("/api/apps").await.expect(200)["total"], 0);
    assert_eq!(
        f.admin.get("/api/apps/alpha-app").await.expect(200)["app"]["head"],
        1
    );
}

async fn session_csrf(db: Db) {
    let Some(f) = fixture(db).await else { return };
    let ann = f.s.session(&f.ann).await;
    let body = json!({ "manifest": manifest("csrf-app", "alpha", "x:1", 1) });

    // Reads need no CSRF token.
    ann.without_csrf().get("/api/apps").await.expect(200);
    let missing = ann.without_csrf().post("/api/apps", &body).await;
    let err = missing.expect_error(403, "forbidden");
    assert!(err["error"].as_str().is_some_and(|m| m.contains("CSRF")), "{err}");
    let mut wrong = ann.clone();
    if let common::Auth::Session { csrf, .. } = &mut wrong.auth {
        *csrf = Some("not-the-token".into());
    }
    wrong
        .post("/api/apps", &body)
        .await
        .expect_error(403, "forbidden");
    assert_eq!(
        app_count(&f.admin).await,
        0,
        "nothing was created without the CSRF token"
    );

    // Another origin is refused even with the token.
    let evil = ann
        .send(
            ann.request(Method::POST, "/api/apps")
                .header("origin", "https://evil.example")
                .json(&body),
        )
        .await;
    let err = evil.expect_error(403, "forbidden");
    assert!(
        err["error"].as_str().is_some_and(|m| m.contains("cross-origin")),
        "{err}"
    );
    assert_eq!(app_count(&f.admin).await, 0);

    let created = ann.post("/api/apps", &body).await.expect(201);
    assert_eq!(created["revision"]["author"], "ann");
    // The same origin is fine.
    let origin = f.s.base.clone();
    let saved = ann
        .send(
            ann.request(Method::PUT, "/api/apps/csrf-app")
                .header("origin", origin)
                .json(&json!({ "manifest": manifest("csrf-app", "alpha", "x:2", 1), "baseRevision": 1 })),
        )
        .await
        .expect(200);
    assert_eq!(saved["revision"]["number"], 2);
    // A session entry in the audit log says it came through the UI session.
    let entries = audit(&f.admin).await;
    assert!(
        entries
            .iter()
            .any(|e| e["action"] == "app.save" && e["actor"] == "ann" && e["via"] == "ui")
    );

    // Signing in through the login form gives a working session too.
    let eve = f.s.login("eve", PASSWORD).await;
    let me = eve.get("/api/me").await.expect(200);
    assert_eq!(me["via"]["kind"], "session");
    assert_eq!(me["user"]["username"], "eve");
    save(&eve, "csrf-app", &manifest("csrf-app", "alpha", "x:3", 1), 2)
        .await
        .expect(200);
}

// ---- apps

async fn apps_create(db: Db) {
    let Some(f) = fixture(db).await else { return };
    let text = manifest("json-app", "alpha", "registry.example/json:1", 2);
    let created = f
        .eve_token
        .post("/api/apps", &json!({ "manifest": text, "message": "first cut" }))
        .await
        .expect(201);
    assert_eq!(created["app"]["name"], "json-app");
    assert_eq!(created["app"]["team"], "alpha");
    assert_eq!(created["app"]["teamId"], f.alpha.id);
    assert_eq!(created["app"]["head"], 1);
    assert_eq!(created["app"]["description"], "json-app for tests");
    assert_eq!(created["revision"]["number"], 1);
    assert_eq!(created["revision"]["author"], "eve");
    assert_eq!(created["revision"]["authorId"], f.eve.id);
    assert_eq!(created["revision"]["message"], "first cut");
    assert!(created["warnings"].is_array(), "{created}");
    let shown = f.eve_token.get("/api/apps/json-app").await.expect(200);
    assert_eq!(shown["revision"]["manifest"], text.as_str());

    // A raw YAML body, with the message as a query parameter.
    let yaml = manifest("yaml-app", "alpha", "registry.example/yaml:1", 1);
    let created = f
        .eve_token
        .raw(
            Method::POST,
            "/api/apps?message=from%20yaml",
            "application/yaml",
            yaml.clone(),
        )
        .await
        .expect(201);
    assert_eq!(created["revision"]["number"], 1);
    assert_eq!(created["revision"]["message"], "from yaml");
    assert!(created["warnings"].is_array());
    let shown = f.eve_token.get("/api/apps/yaml-app").await.expect(200);
    assert_eq!(shown["revision"]["manifest"], yaml.as_str(), "stored as sent");

    // The manifest as a JSON object.
    let object = json!({
        "apiVersion": "ojek.dev/v1",
        "kind": "App",
        "metadata": { "name": "object-app", "team": "alpha" },
        "processes": { "web": { "kind": "service", "image": "registry.example/obj:1",
                                "ports": { "http": { "port": 8080 } } } },
    });
    let created = f
        .eve_token
        .post("/api/apps", &json!({ "manifest": object }))
        .await
        .expect(201);
    assert_eq!(created["app"]["name"], "object-app");
    let stored = f.eve_token.get("/api/apps/object-app").await.expect(200);
    let stored = stored["revision"]["manifest"]
        .as_str()
        .expect("manifest")
        .to_string();
    assert!(
        load_app("x.yaml", &stored, &MapReader(&BTreeMap::new())).is_ok(),
        "{stored}"
    );

    // Names are unique.
    let dup = f.eve_token.post("/api/apps", &json!({ "manifest": text })).await;
    let err = dup.expect_error(409, "already_exists");
    assert!(
        err["error"].as_str().is_some_and(|m| m.contains("json-app")),
        "{err}"
    );

    // Invalid manifests: every problem with its line and column, and nothing stored.
    let apps_before = app_count(&f.admin).await;
    let audit_before = audit(&f.admin).await.len();
    let typo = manifest("typo-app", "alpha", "registry.example/typo:1", 1).replace("image:", "imgae:");
    let resp = f.eve_token.post("/api/apps", &json!({ "manifest": typo })).await;
    let err = resp.expect_error(422, "invalid_manifest");
    let diags = err["diagnostics"].as_array().expect("diagnostics");
    let want_line = line_of(&typo, "imgae:");
    let want_column = line(&typo, want_line as u64).find("imgae").expect("column") + 1;
    let typo_diag = diags
        .iter()
        .find(|d| d["line"] == want_line && d["column"] == want_column)
        .unwrap_or_else(|| panic!("no diagnostic at {want_line}:{want_column}: {err}"));
    assert_eq!(typo_diag["severity"], "error");
    assert_eq!(typo_diag["file"], MANIFEST_FILE);
    let said = format!("{} {}", typo_diag["message"], typo_diag["hint"]);
    assert!(
        said.contains("imgae") && said.contains("image"),
        "did-you-mean: {typo_diag}"
    );

    let malformed = "apiVersion: ojek.dev/v1\nkind: App\nmetadata:\n  name: broken\n  team: alpha: oops\n";
    let resp = f
        .eve_token
        .raw(Method::POST, "/api/apps", "application/yaml", malformed)
        .await;
    let err = resp.expect_error(422, "invalid_manifest");
    assert_eq!(
        err["diagnostics"][0]["line"],
        line_of(malformed, "alpha: oops"),
        "{err}"
    );
    assert!(
        err["diagnostics"][0]["column"].as_u64().is_some_and(|c| c > 0),
        "{err}"
    );

    let unknown_team = manifest("lost-app", "no-such-team", "x:1", 1);
    let resp = f
        .eve_token
        .post("/api/apps", &json!({ "manifest": unknown_team }))
        .await;
    resp.expect_error(422, "unknown_team");

    f.eve_token
        .post("/api/apps", &json!({}))
        .await
        .expect_error(400, "bad_request");

    assert_eq!(app_count(&f.admin).await, apps_before, "no app was stored");
    assert_eq!(audit(&f.admin).await.len(), audit_before, "nothing was audited");
}

async fn apps_list_show(db: Db) {
    let Some(f) = fixture(db).await else { return };
    for name in ["orders-api", "orders-worker", "payments-api"] {
        create(&f.eve_token, &manifest(name, "alpha", "x:1", 1)).await;
    }
    create(&f.bob_token, &manifest("orders-beta", "beta", "x:1", 1)).await;

    let all = f.admin.get("/api/apps").await.expect(200);
    let mut every = names(&all);
    assert_eq!(all["total"], 4);
    let sorted = {
        let mut v = every.clone();
        v.sort();
        v
    };
    assert_eq!(every, sorted, "listed by name");

    let q = f.admin.get("/api/apps?q=orders").await.expect(200);
    assert_eq!(names(&q), ["orders-api", "orders-beta", "orders-worker"]);
    assert_eq!(q["total"], 3);
    let q = f.admin.get("/api/apps?q=orders&team=alpha").await.expect(200);
    assert_eq!(names(&q), ["orders-api", "orders-worker"]);
    assert_eq!(q["total"], 2);
    // Descriptions match too, case-insensitively.
    assert_eq!(
        f.admin.get("/api/apps?q=FOR%20TESTS").await.expect(200)["total"],
        4
    );
    assert_eq!(
        f.admin.get("/api/apps?q=nothing-like-this").await.expect(200)["total"],
        0
    );

    // Pages: total counts every match.
    let mut paged = Vec::new();
    for offset in 0..5 {
        let page = f
            .admin
            .get(&format!("/api/apps?limit=1&offset={offset}"))
            .await
            .expect(200);
        assert_eq!(page["total"], 4);
        paged.extend(names(&page));
    }
    assert_eq!(paged, every);

    // A team's token sees its team's apps only.
    let mine = f.eve_token.get("/api/apps").await.expect(200);
    every.retain(|n| n != "orders-beta");
    assert_eq!(names(&mine), every);
    assert_eq!(mine["total"], 3);

    // Show: the newest revision by default, or the one asked for.
    let v2 = manifest("orders-api", "alpha", "x:2", 3);
    save(&f.eve_token, "orders-api", &v2, 1).await.expect(200);
    let head = f.vic_token.get("/api/apps/orders-api").await.expect(200);
    assert_eq!(head["app"]["head"], 2);
    assert_eq!(head["revision"]["number"], 2);
    assert_eq!(head["revision"]["manifest"], v2.as_str());
    assert_eq!(head["revision"]["files"], json!({}));
    let first = f
        .vic_token
        .get("/api/apps/orders-api?revision=1")
        .await
        .expect(200);
    assert_eq!(first["revision"]["number"], 1);
    assert_eq!(
        first["revision"]["manifest"],
        manifest("orders-api", "alpha", "x:1", 1).as_str()
    );
    f.vic_token
        .get("/api/apps/orders-api?revision=9")
        .await
        .expect_error(404, "not_found");
    f.vic_token
        .get("/api/apps/no-such-app")
        .await
        .expect_error(404, "not_found");
}

async fn apps_update(db: Db) {
    let Some(f) = fixture(db).await else { return };
    let app = "update-app";
    create(&f.eve_token, &manifest(app, "alpha", "registry.example/u:1", 1)).await;
    let path = format!("/api/apps/{app}");

    let v2 = manifest(app, "alpha", "registry.example/u:2", 1);
    let missing = f.eve_token.put(&path, &json!({ "manifest": v2 })).await;
    let err = missing.expect_error(400, "bad_request");
    assert!(
        err["error"].as_str().is_some_and(|m| m.contains("baseRevision")),
        "{err}"
    );

    let saved = save(&f.eve_token, app, &v2, 1).await.expect(200);
    assert_eq!(saved["revision"]["number"], 2);
    assert_eq!(saved["revision"]["message"], "Update app");
    assert!(saved["warnings"].is_array());

    // Another writer saves revision 3 (YAML body, base and message in the query).
    let v3 = manifest(app, "alpha", "registry.example/u:3", 1);
    let saved = f
        .ann_token
        .raw(
            Method::PUT,
            &format!("{path}?baseRevision=2&message=bump%20to%203"),
            "application/yaml",
            v3.clone(),
        )
        .await
        .expect(200);
    assert_eq!(saved["revision"]["number"], 3);
    assert_eq!(saved["revision"]["message"], "bump to 3");

    // A save from the stale base 2: 409 with what changed since, nothing saved.
    let mine = manifest(app, "alpha", "registry.example/u:2", 5);
    let conflict = save(&f.eve_token, app, &mine, 2).await;
    let err = conflict.expect_error(409, "conflict");
    assert_eq!(err["current"]["number"], 3);
    assert_eq!(err["current"]["author"], "ann");
    assert_eq!(err["currentManifest"], v3.as_str());
    let diff = err["diff"].as_str().expect("diff");
    assert!(diff.contains("-    image: registry.example/u:2"), "{diff}");
    assert!(diff.contains("+    image: registry.example/u:3"), "{diff}");
    assert!(
        !diff.contains("replicas: 5"),
        "the diff is base → current, not the caller's edit: {diff}"
    );
    assert_eq!(f.eve_token.get(&path).await.expect(200)["app"]["head"], 3);

    // Two saves from the same base at once: exactly one wins.
    for round in 0..4_i64 {
        let base = 3 + round;
        let a = manifest(app, "alpha", &format!("registry.example/a:{round}"), 2);
        let b = manifest(app, "alpha", &format!("registry.example/b:{round}"), 3);
        let (ra, rb) = tokio::join!(
            save(&f.eve_token, app, &a, base),
            save(&f.ann_token, app, &b, base)
        );
        let mut statuses = [ra.status.as_u16(), rb.status.as_u16()];
        statuses.sort();
        assert_eq!(statuses, [200, 409], "round {round}: {} / {}", ra.text, rb.text);
        let (winner, loser, won) = if ra.status == 200 {
            (&ra, &rb, &a)
        } else {
            (&rb, &ra, &b)
        };
        assert_eq!(winner.json()["revision"]["number"], base + 1);
        let lost = loser.json();
        assert_eq!(lost["current"]["number"], base + 1);
        assert_eq!(lost["currentManifest"], won.as_str());
        let head = f.eve_token.get(&path).await.expect(200);
        assert_eq!(head["app"]["head"], base + 1);
        assert_eq!(head["revision"]["manifest"], won.as_str());
    }

    // Renaming is refused.
    let renamed = manifest("other-name", "alpha", "registry.example/u:9", 1);
    save(&f.eve_token, app, &renamed, 7)
        .await
        .expect_error(422, "rename");
    // An invalid manifest saves nothing.
    let broken = manifest(app, "alpha", "x:1", 1).replace("kind: service", "kind: servise");
    save(&f.eve_token, app, &broken, 7)
        .await
        .expect_error(422, "invalid_manifest");
    assert_eq!(f.eve_token.get(&path).await.expect(200)["app"]["head"], 7);
    f.eve_token
        .get("/api/apps/other-name")
        .await
        .expect_error(404, "not_found");
}

async fn revisions_diff_delete(db: Db) {
    let Some(f) = fixture(db).await else { return };
    let app = "history-app";
    let v1 = manifest(app, "alpha", "registry.example/h:1", 2);
    let v2 = manifest(app, "alpha", "registry.example/h:1", 3);
    let v3 = manifest(app, "alpha", "registry.example/h:2", 3);
    create(&f.eve_token, &v1).await;
    save(&f.eve_token, app, &v2, 1).await.expect(200);
    save(&f.ann_token, app, &v3, 2).await.expect(200);

    let revs = f
        .vic_token
        .get(&format!("/api/apps/{app}/revisions"))
        .await
        .expect(200);
    assert_eq!(revs["head"], 3);
    let list = revs["revisions"].as_array().expect("revisions");
    let numbers: Vec<i64> = list
        .iter()
        .map(|r| r["number"].as_i64().expect("number"))
        .collect();
    assert_eq!(numbers, [3, 2, 1], "newest first");
    assert!(
        list.iter().all(|r| r.get("manifest").is_none()),
        "lists carry no manifests"
    );
    assert_eq!(list[0]["author"], "ann");
    assert_eq!(list[2]["author"], "eve");
    let page = f
        .vic_token
        .get(&format!("/api/apps/{app}/revisions?before=3&limit=1"))
        .await
        .expect(200);
    assert_eq!(page["revisions"].as_array().map(Vec::len), Some(1));
    assert_eq!(page["revisions"][0]["number"], 2);

    let rev2 = f
        .vic_token
        .get(&format!("/api/apps/{app}/revisions/2"))
        .await
        .expect(200);
    assert_eq!(rev2["number"], 2);
    assert_eq!(rev2["manifest"], v2.as_str());
    assert_eq!(rev2["files"], json!({}));
    f.vic_token
        .get(&format!("/api/apps/{app}/revisions/4"))
        .await
        .expect_error(404, "not_found");

    // Diffs between any two revisions carry exactly the changed lines.
    for (from, to, old, new) in [
        (1, 3, &v1, &v3),
        (1, 2, &v1, &v2),
        (3, 1, &v3, &v1),
        (2, 3, &v2, &v3),
    ] {
        let d = f
            .vic_token
            .get(&format!("/api/apps/{app}/diff?from={from}&to={to}"))
            .await
            .expect(200);
        assert_eq!(d["from"]["number"], from);
        assert_eq!(d["to"]["number"], to);
        let diff = d["diff"].as_str().expect("diff");
        let old_lines: BTreeSet<&str> = old.lines().collect();
        let new_lines: BTreeSet<&str> = new.lines().collect();
        for removed in old_lines.difference(&new_lines) {
            assert!(
                diff.lines().any(|l| l == format!("-{removed}")),
                "{from}→{to} lacks -{removed}:\n{diff}"
            );
        }
        for added in new_lines.difference(&old_lines) {
            assert!(
                diff.lines().any(|l| l == format!("+{added}")),
                "{from}→{to} lacks +{added}:\n{diff}"
            );
        }
        let changed = diff.lines().filter(|l| {
            (l.starts_with('-') && !l.starts_with("---")) || (l.starts_with('+') && !l.starts_with("+++"))
        });
        assert_eq!(
            changed.count(),
            old_lines.symmetric_difference(&new_lines).count(),
            "{from}→{to}:\n{diff}"
        );
    }
    // Defaults: the newest against the one before.
    let d = f
        .vic_token
        .get(&format!("/api/apps/{app}/diff"))
        .await
        .expect(200);
    assert_eq!(
        (d["from"]["number"].as_i64(), d["to"]["number"].as_i64()),
        (Some(2), Some(3))
    );
    let same = f
        .vic_token
        .get(&format!("/api/apps/{app}/diff?from=2&to=2"))
        .await
        .expect(200);
    assert_eq!(same["diff"], "");

    // Deleting needs the team's admin role.
    let path = format!("/api/apps/{app}");
    f.eve_token.delete(&path).await.expect_error(403, "forbidden");
    let gone = f.ann_token.delete(&path).await;
    assert_eq!(gone.status, 204, "{}", gone.text);
    f.ann_token.get(&path).await.expect_error(404, "not_found");
    f.ann_token.delete(&path).await.expect_error(404, "not_found");
    assert_eq!(app_count(&f.admin).await, 0);
    let entries = audit(&f.admin).await;
    let deleted = entries
        .iter()
        .find(|e| e["action"] == "app.delete")
        .expect("an app.delete entry");
    assert_eq!(deleted["actor"], "ann");
    assert_eq!(deleted["app"], app);
    assert!(
        deleted["before"]
            .as_str()
            .is_some_and(|b| b.contains("registry.example/h:2")),
        "{deleted}"
    );
    // The name can be used again, from revision 1.
    assert_eq!(create(&f.eve_token, &v1).await["revision"]["number"], 1);
}

// ---- render, explain, validate, preview

/// `files` of a render response as a map.
fn files_of(body: &Value) -> BTreeMap<String, String> {
    serde_json::from_value(body["files"].clone()).expect("files: path → text")
}

async fn render_stored(db: Db) {
    let Some(s) = server(db, true).await else { return };
    let admin = s.admin_session().await;

    // The platform the server renders against is the examples' one, its clusters pointed at
    // the simulated ones of --demo.
    let platform_file = admin.get("/api/platform").await.expect(200);
    let platform_text = platform_file["content"].as_str().expect("content").to_string();
    assert!(ojek_server::demo_clusters::is_untouched_demo(&platform_text));
    assert!(
        platform_text.ends_with(
            ojek_server::bootstrap::DEFAULT_PLATFORM
                .split("\nbindings:\n")
                .nth(1)
                .expect("bindings")
        )
    );
    let platform = load_platform("platform.yaml", &platform_text).expect("the platform loads");
    let envs = admin.get("/api/environments").await.expect(200);
    let env_names: Vec<&str> = envs["environments"]
        .as_array()
        .expect("environments")
        .iter()
        .map(|e| e["name"].as_str().expect("name"))
        .collect();
    assert_eq!(env_names, ["staging", "production", "production-dc"]);
    let targets: Vec<&str> = envs["environments"]
        .as_array()
        .expect("environments")
        .iter()
        .map(|e| e["target"].as_str().expect("target"))
        .collect();
    assert_eq!(targets, ["kubernetes", "kubernetes", "nomad"]);

    let apps = admin.get("/api/apps").await.expect(200);
    let app_names = names(&apps);
    assert_eq!(app_names.len(), ojek_server::bootstrap::demo_apps().len());
    let mut rendered_any_files = false;
    for name in &app_names {
        let rev = admin.get(&format!("/api/apps/{name}")).await.expect(200)["revision"].clone();
        let text = rev["manifest"].as_str().expect("manifest").to_string();
        let files: BTreeMap<String, String> = serde_json::from_value(rev["files"].clone()).expect("files");
        rendered_any_files |= !files.is_empty();
        let loaded = load_app(MANIFEST_FILE, &text, &MapReader(&files)).expect("a demo app loads");
        for env in &env_names {
            let got = admin
                .get(&format!("/api/apps/{name}/render?environment={env}"))
                .await
                .expect(200);
            let opts = RenderOptions {
                env: env.to_string(),
                ..RenderOptions::default()
            };
            let want = ojek_core::render(&loaded, &platform, &opts).expect("renders");
            let want_files =
                ojek_core::package(&want, name, Format::Yaml, NomadFormat::Hcl).expect("packages");
            assert_eq!(got["target"], json!(want.target), "{name} {env}");
            assert_eq!(
                files_of(&got),
                want_files,
                "{name} {env}: the API renders what ojek_core renders"
            );
            assert_eq!(
                got["warnings"].as_array().map(Vec::len),
                Some(want.warnings.0.len()),
                "{name} {env} warnings"
            );
        }
    }
    assert!(rendered_any_files, "a demo app with fromFile files was rendered");

    // Other targets and formats.
    let app = "driver-location";
    let rev = admin.get(&format!("/api/apps/{app}")).await.expect(200)["revision"].clone();
    let text = rev["manifest"].as_str().expect("manifest").to_string();
    let loaded = load_app(MANIFEST_FILE, &text, &MapReader(&BTreeMap::new())).expect("loads");
    let cases = [
        (
            "staging",
            Some(TargetKind::Nomad),
            Format::Yaml,
            NomadFormat::Hcl,
            "target=nomad&nomadFormat=hcl",
        ),
        (
            "staging",
            Some(TargetKind::Nomad),
            Format::Yaml,
            NomadFormat::Json,
            "target=nomad&nomadFormat=json",
        ),
        (
            "production-dc",
            Some(TargetKind::Kubernetes),
            Format::Kustomize,
            NomadFormat::Hcl,
            "target=kubernetes&format=kustomize",
        ),
        ("production", None, Format::Helm, NomadFormat::Hcl, "format=helm"),
        (
            "production",
            None,
            Format::Json,
            NomadFormat::Hcl,
            "format=json&kubeVersion=1.33",
        ),
    ];
    for (env, target, format, nomad_format, query) in cases {
        let got = admin
            .get(&format!("/api/apps/{app}/render?environment={env}&{query}"))
            .await
            .expect(200);
        let opts = RenderOptions {
            env: env.to_string(),
            target,
            kube_version: query.contains("kubeVersion").then(|| "1.33".to_string()),
        };
        let want = ojek_core::render(&loaded, &platform, &opts).expect("renders");
        let want_files = ojek_core::package(&want, app, format, nomad_format).expect("packages");
        assert_eq!(got["target"], json!(want.target), "{env} {query}");
        assert_eq!(files_of(&got), want_files, "{env} {query}");
        if query.contains("nomadFormat=hcl") {
            assert!(files_of(&got).keys().all(|k| k.ends_with(".nomad.hcl")), "{got}");
        }
    }
    // The same revision by number, and an unsaved manifest (JSON and YAML bodies) render alike.
    let by_number = admin
        .get(&format!("/api/apps/{app}/render?environment=staging&revision=1"))
        .await
        .expect(200);
    let stored = admin
        .get(&format!("/api/apps/{app}/render?env=staging"))
        .await
        .expect(200);
    assert_eq!(by_number["files"], stored["files"]);
    let posted = admin
        .post(
            "/api/render",
            &json!({ "manifest": text, "environment": "staging" }),
        )
        .await
        .expect(200);
    assert_eq!(posted["files"], stored["files"]);
    let posted = admin
        .raw(
            Method::POST,
            "/api/render?environment=staging",
            "application/yaml",
            text.clone(),
        )
        .await
        .expect(200);
    assert_eq!(posted["files"], stored["files"]);

    // Wrong parameters.
    let unknown = admin
        .get(&format!("/api/apps/{app}/render?environment=stagin"))
        .await;
    let err = unknown.expect_error(422, "invalid_manifest");
    let hints: Vec<&str> = err["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .filter_map(|d| d["hint"].as_str())
        .collect();
    assert!(
        hints.iter().any(|h| h.contains("did you mean `staging`")),
        "{err}"
    );
    let err = admin
        .get(&format!("/api/apps/{app}/render?environment=staging&format=xml"))
        .await
        .expect_error(400, "bad_request");
    assert!(err["error"].as_str().is_some_and(|m| m.contains("xml")), "{err}");
    admin
        .get(&format!(
            "/api/apps/{app}/render?environment=production-dc&nomadFormat=yaml"
        ))
        .await
        .expect_error(400, "bad_request");
    let err = admin
        .get(&format!("/api/apps/{app}/render"))
        .await
        .expect_error(400, "bad_request");
    assert!(
        err["error"].as_str().is_some_and(|m| m.contains("staging")),
        "lists environments: {err}"
    );
}

async fn explain_validate_preview(db: Db) {
    let Some(f) = fixture(db).await else { return };
    let app = "explain-me";
    let text = manifest(app, "alpha", "registry.example/explain:7", 3);
    create(&f.eve_token, &text).await;
    let deployment = format!("Deployment/{app}-web");

    // Each explained field points at the manifest line that set it.
    for (field, source_key, value) in [
        ("spec.replicas", "replicas:", json!(3)),
        (
            "spec.template.spec.containers[0].image",
            "image:",
            json!("registry.example/explain:7"),
        ),
    ] {
        let got = f
            .vic_token
            .get(&format!(
                "/api/apps/{app}/explain?environment=staging&object={deployment}&field={field}"
            ))
            .await
            .expect(200);
        assert_eq!(got["target"], "kubernetes");
        let entries = got["explanations"].as_array().expect("explanations");
        assert_eq!(entries.len(), 1, "{got}");
        let e = &entries[0];
        assert_eq!(e["object"], deployment.as_str());
        assert_eq!(e["field"], field);
        assert_eq!(e["value"], value);
        assert_eq!(e["origin"]["kind"], "manifest");
        assert_eq!(e["origin"]["location"]["file"], MANIFEST_FILE);
        let n = e["origin"]["location"]["line"].as_u64().expect("line");
        let at = line(&text, n);
        assert!(at.contains(source_key), "line {n} `{at}` should set {field}");
        let column = e["origin"]["location"]["column"].as_u64().expect("column") as usize;
        let shown = value
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| value.to_string());
        assert!(
            at[column - 1..].starts_with(&shown),
            "column {column} of `{at}` should be {shown}"
        );
    }
    // Unsaved manifests: JSON body, and YAML body with the options in the query.
    let field = "spec.replicas";
    let json_body = f
        .vic_token
        .post(
            "/api/explain",
            &json!({ "manifest": text, "environment": "staging", "object": deployment, "field": field }),
        )
        .await
        .expect(200);
    let yaml_body = f
        .vic_token
        .raw(
            Method::POST,
            &format!("/api/explain?environment=staging&object={deployment}&field={field}"),
            "application/yaml",
            text.clone(),
        )
        .await
        .expect(200);
    assert_eq!(json_body["explanations"], yaml_body["explanations"]);
    assert_eq!(
        json_body["explanations"][0]["origin"]["location"]["line"],
        line_of(&text, "replicas:")
    );
    // Every field of the object when no field is given; unknown objects are 422.
    let all = f
        .vic_token
        .get(&format!(
            "/api/apps/{app}/explain?environment=production&object={deployment}"
        ))
        .await
        .expect(200);
    assert!(
        all["explanations"].as_array().is_some_and(|e| e.len() > 5),
        "{all}"
    );
    f.vic_token
        .get(&format!(
            "/api/apps/{app}/explain?environment=staging&object=Deployment/nope"
        ))
        .await
        .expect_error(422, "cannot_explain");

    // Validate answers 200 either way.
    let ok = f
        .vic_token
        .post("/api/validate", &json!({ "manifest": text }))
        .await
        .expect(200);
    assert_eq!(ok["valid"], true, "{ok}");
    let broken = text.replace("image:", "imgae:");
    let bad = f
        .vic_token
        .post("/api/validate", &json!({ "manifest": broken }))
        .await
        .expect(200);
    assert_eq!(bad["valid"], false);
    let diags = bad["diagnostics"].as_array().expect("diagnostics");
    assert!(
        diags
            .iter()
            .any(|d| d["line"] == line_of(&broken, "imgae:") && d["severity"] == "error"),
        "{bad}"
    );
    let bad_yaml = f
        .vic_token
        .raw(
            Method::POST,
            "/api/validate",
            "application/yaml",
            "kind: [unclosed\n",
        )
        .await
        .expect(200);
    assert_eq!(bad_yaml["valid"], false);
    assert!(bad_yaml["diagnostics"][0]["line"].is_u64(), "{bad_yaml}");

    // Preview: both targets where the environment has them, with a line map per text line.
    let preview = f
        .vic_token
        .post(
            "/api/preview",
            &json!({ "manifest": text, "environment": "staging" }),
        )
        .await
        .expect(200);
    assert_eq!(preview["valid"], true, "{preview}");
    assert_eq!(preview["environment"], "staging");
    for target in ["kubernetes", "nomad"] {
        let t = &preview[target];
        assert_eq!(t["available"], true, "{target}: {t}");
        let out = t["text"].as_str().expect("text");
        let lines = t["lines"].as_array().expect("lines");
        assert_eq!(lines.len(), out.lines().count(), "{target}: one entry per line");
    }
    let k8s = &preview["kubernetes"];
    let objects: Vec<&str> = k8s["objects"]
        .as_array()
        .expect("objects")
        .iter()
        .map(|o| o["id"].as_str().expect("id"))
        .collect();
    let index = objects
        .iter()
        .position(|id| *id == deployment)
        .unwrap_or_else(|| panic!("{deployment} in {objects:?}"));
    let k8s_text = k8s["text"].as_str().expect("text");
    let replicas_line = line_of(k8s_text, "replicas: 3");
    assert_eq!(k8s["lines"][replicas_line - 1], json!([index, "/spec/replicas"]));
    assert!(
        preview["nomad"]["hcl"]
            .as_str()
            .is_some_and(|h| h.contains("job \"")),
        "{}",
        preview["nomad"]
    );
    // YAML body, environment in the query.
    let yaml_preview = f
        .vic_token
        .raw(
            Method::POST,
            "/api/preview?environment=production",
            "application/yaml",
            text.clone(),
        )
        .await
        .expect(200);
    assert_eq!(yaml_preview["environment"], "production");
    assert_eq!(yaml_preview["kubernetes"]["available"], true);
    assert_eq!(
        yaml_preview["nomad"]["available"], false,
        "production has no Nomad section"
    );
    assert!(
        yaml_preview["nomad"]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("production"))
    );
    let broken_preview = f
        .vic_token
        .post(
            "/api/preview",
            &json!({ "manifest": broken, "environment": "staging" }),
        )
        .await
        .expect(200);
    assert_eq!(broken_preview["valid"], false);
    assert!(
        broken_preview["diagnostics"]
            .as_array()
            .is_some_and(|d| !d.is_empty())
    );
}

// ---- teams, users, tokens, audit

async fn teams_users_tokens(db: Db) {
    let Some(f) = fixture(db).await else { return };
    let s = &f.s;
    let ann = s.session(&f.ann).await;

    // Teams and users: platform administrators only (signed in, not with a token).
    let team = f
        .admin
        .post("/api/teams", &json!({ "name": "gamma" }))
        .await
        .expect(201);
    assert_eq!(team["name"], "gamma");
    assert!(team["id"].is_i64() && team["createdAt"].is_i64(), "{team}");
    f.admin
        .post("/api/teams", &json!({ "name": "gamma" }))
        .await
        .expect_error(409, "already_exists");
    f.admin
        .post("/api/teams", &json!({ "name": "Not_A_Label" }))
        .await
        .expect_error(400, "bad_request");
    ann.post("/api/teams", &json!({ "name": "delta" }))
        .await
        .expect_error(403, "forbidden");
    let admin_user = s.user_named(common::ADMIN).await;
    let admin_token = s.bearer(&s.token(&admin_user, &f.alpha, Role::Admin, None).await);
    admin_token
        .post("/api/teams", &json!({ "name": "delta" }))
        .await
        .expect_error(403, "forbidden");
    let teams = f.admin.get("/api/teams").await.expect(200);
    let team_names: Vec<&str> = teams["teams"]
        .as_array()
        .expect("teams")
        .iter()
        .map(|t| t["name"].as_str().expect("name"))
        .collect();
    assert_eq!(team_names, ["alpha", "beta", "gamma"]);
    let anns = ann.get("/api/teams").await.expect(200);
    assert_eq!(anns["teams"].as_array().map(Vec::len), Some(1));
    assert_eq!(anns["teams"][0]["role"], "admin");

    let resp = f
        .admin
        .post(
            "/api/users",
            &json!({ "username": "gina", "displayName": "Gina", "password": "a long password" }),
        )
        .await;
    let gina = resp.expect(201);
    assert_eq!(gina["username"], "gina");
    assert_eq!(gina["displayName"], "Gina");
    assert_eq!(gina["isAdmin"], false);
    assert!(
        !resp.text.contains("argon2") && !resp.text.contains("password"),
        "{}",
        resp.text
    );
    f.admin
        .post("/api/users", &json!({ "username": "hank", "password": "short" }))
        .await
        .expect_error(400, "bad_request");
    f.admin
        .post(
            "/api/users",
            &json!({ "username": "gina", "password": "a long password" }),
        )
        .await
        .expect_error(409, "already_exists");
    ann.post(
        "/api/users",
        &json!({ "username": "ivan", "password": "a long password" }),
    )
    .await
    .expect_error(403, "forbidden");
    ann.get("/api/users").await.expect_error(403, "forbidden");
    let users = f.admin.get("/api/users").await.expect(200);
    assert!(
        users["users"]
            .as_array()
            .is_some_and(|u| u.iter().any(|u| u["username"] == "gina"))
    );

    // Members: the team's admin sets roles.
    let member_path = "/api/teams/alpha/members/gina";
    let set = ann.put(member_path, &json!({ "role": "editor" })).await;
    assert_eq!(set.status, 204, "{}", set.text);
    let roles = |body: Value| -> BTreeMap<String, String> {
        body["members"]
            .as_array()
            .expect("members")
            .iter()
            .map(|m| {
                (
                    m["username"].as_str().expect("username").to_string(),
                    m["role"].as_str().expect("role").to_string(),
                )
            })
            .collect()
    };
    let members = roles(f.vic_token.get("/api/teams/alpha/members").await.expect(200));
    assert_eq!(members.get("gina").map(String::as_str), Some("editor"));
    assert_eq!(members.get("ann").map(String::as_str), Some("admin"));
    assert_eq!(
        ann.put(member_path, &json!({ "role": "viewer" })).await.status,
        204
    );
    let members = roles(ann.get("/api/teams/alpha/members").await.expect(200));
    assert_eq!(members.get("gina").map(String::as_str), Some("viewer"));
    let eve = s.session(&f.eve).await;
    eve.put(member_path, &json!({ "role": "admin" }))
        .await
        .expect_error(403, "forbidden");
    ann.put("/api/teams/beta/members/gina", &json!({ "role": "editor" }))
        .await
        .expect_error(404, "not_found");
    ann.put("/api/teams/alpha/members/nobody", &json!({ "role": "editor" }))
        .await
        .expect_error(404, "not_found");
    ann.put(member_path, &json!({ "role": "owner" }))
        .await
        .expect_error(400, "bad_request");
    assert_eq!(ann.delete(member_path).await.status, 204);
    let members = roles(ann.get("/api/teams/alpha/members").await.expect(200));
    assert!(!members.contains_key("gina"));

    // Tokens: created by signed-in users, the secret shown once.
    let resp = ann
        .post(
            "/api/tokens",
            &json!({ "name": "ci", "team": "alpha", "role": "editor", "expiresInDays": 30 }),
        )
        .await;
    let created = resp.expect(201);
    let secret = created["token"].as_str().expect("secret").to_string();
    assert!(secret.starts_with("ojek_") && secret.len() > 40, "{secret}");
    assert_eq!(created["info"]["name"], "ci");
    assert_eq!(created["info"]["team"], "alpha");
    assert_eq!(created["info"]["role"], "editor");
    let expires = created["info"]["expiresAt"].as_i64().expect("expiresAt");
    let in_30_days = now_ms() + 30 * 24 * 3600 * 1000;
    assert!(
        (in_30_days - expires).abs() < 600_000,
        "expires in 30 days: {expires}"
    );
    let listed = ann.get("/api/tokens").await;
    let body = listed.expect(200);
    assert!(!listed.text.contains(&secret), "the list never shows secrets");
    assert!(
        body["tokens"]
            .as_array()
            .is_some_and(|t| t.iter().any(|t| t["name"] == "ci"))
    );
    let ci = s.bearer(&secret);
    let me = ci.get("/api/me").await.expect(200);
    assert_eq!(me["via"]["kind"], "token");
    assert_eq!(me["via"]["name"], "ci");
    // Tokens cannot create tokens; nobody creates a token above their own role.
    ci.post(
        "/api/tokens",
        &json!({ "name": "ci2", "team": "alpha", "role": "viewer" }),
    )
    .await
    .expect_error(403, "forbidden");
    let vic = s.session(&f.vic).await;
    vic.post(
        "/api/tokens",
        &json!({ "name": "up", "team": "alpha", "role": "editor" }),
    )
    .await
    .expect_error(403, "forbidden");
    vic.post(
        "/api/tokens",
        &json!({ "name": "other", "team": "beta", "role": "viewer" }),
    )
    .await
    .expect_error(404, "not_found");
    ann.post(
        "/api/tokens",
        &json!({ "name": "ci", "team": "alpha", "role": "viewer" }),
    )
    .await
    .expect_error(409, "already_exists");

    // The new token works for its team; then it is revoked.
    let app_text = manifest("audited-app", "alpha", "registry.example/a:1", 1);
    create(&ci, &app_text).await;
    let v2 = manifest("audited-app", "alpha", "registry.example/a:2", 1);
    save(&ci, "audited-app", &v2, 1).await.expect(200);
    create(&f.bob_token, &manifest("beta-secret", "beta", "x:1", 1)).await;
    let id = created["info"]["id"].as_i64().expect("id");
    eve.delete(&format!("/api/tokens/{id}"))
        .await
        .expect_error(404, "not_found");
    assert_eq!(ann.delete(&format!("/api/tokens/{id}")).await.status, 204);
    ci.get("/api/me").await.expect_error(401, "unauthorized");

    // The audit log has an entry for each change, with before and after.
    let entries = audit(&f.admin).await;
    let find = |action: &str, target: &str| -> Value {
        entries
            .iter()
            .find(|e| e["action"] == action && e["target"].as_str().is_some_and(|t| t.contains(target)))
            .unwrap_or_else(|| panic!("no {action} entry about {target}: {entries:#?}"))
            .clone()
    };
    let json_of = |e: &Value, key: &str| -> Value {
        serde_json::from_str(e[key].as_str().unwrap_or_else(|| panic!("{key} in {e}"))).expect("JSON text")
    };
    let e = find("team.create", "gamma");
    assert_eq!(
        (e["actor"].as_str(), e["via"].as_str()),
        (Some("admin"), Some("ui"))
    );
    assert_eq!(json_of(&e, "after")["name"], "gamma");
    let e = find("user.create", "gina");
    assert_eq!(json_of(&e, "after")["username"], "gina");
    assert!(!e["after"].as_str().unwrap_or_default().contains("argon2"));
    let sets: Vec<&Value> = entries
        .iter()
        .filter(|e| e["action"] == "member.set" && e["actor"] == "ann")
        .collect();
    assert_eq!(sets.len(), 2, "two role changes: {sets:#?}");
    assert!(
        sets.iter()
            .all(|e| e["team"] == "alpha" && e["after"].is_string())
    );
    assert!(
        sets.iter().any(|e| e["before"].is_string()),
        "the change from editor has a before"
    );
    let e = find("member.remove", "gina");
    assert!(e["before"].is_string(), "{e}");
    let e = find("token.create", "ci");
    assert_eq!(e["actor"], "ann");
    assert_eq!(json_of(&e, "after")["role"], "editor");
    assert!(!e.to_string().contains(&secret), "no secret in the audit log");
    find("token.revoke", "ci");
    let e = find("app.create", "audited-app");
    assert_eq!(e["via"], "token:ci");
    assert_eq!(json_of(&e, "after")["manifest"], app_text.as_str());
    let e = find("app.save", "audited-app");
    assert_eq!(json_of(&e, "before")["manifest"], app_text.as_str());
    assert_eq!(json_of(&e, "before")["revision"], 1);
    assert_eq!(json_of(&e, "after")["manifest"], v2.as_str());
    assert_eq!(json_of(&e, "after")["revision"], 2);
    let ids: Vec<i64> = entries.iter().map(|e| e["id"].as_i64().expect("id")).collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first");

    // Others see only their teams' entries and their own.
    for (who, client, team, user) in [
        ("bob", &f.bob_token, "beta", &f.bob),
        ("ann", &ann, "alpha", &f.ann),
    ] {
        let mine = audit(client).await;
        assert!(!mine.is_empty());
        for e in &mine {
            assert!(
                e["team"] == team || e["actorId"] == user.id,
                "{who} must not see {e}"
            );
        }
        assert!(mine.len() < entries.len(), "{who} sees less than the admin");
    }
    let bobs = audit(&f.bob_token).await;
    assert!(bobs.iter().any(|e| e["app"] == "beta-secret"));
    assert!(!bobs.iter().any(|e| e["app"] == "audited-app"));
    let by_app = ann.get("/api/audit?app=audited-app").await.expect(200);
    let by_app = by_app["entries"].as_array().expect("entries");
    assert_eq!(by_app.len(), 2);
    assert!(by_app.iter().all(|e| e["app"] == "audited-app"));
    // Pagination by id.
    let first = ann.get("/api/audit?limit=1").await.expect(200)["entries"][0].clone();
    let next = ann
        .get(&format!("/api/audit?limit=1&before={}", first["id"]))
        .await
        .expect(200);
    assert!(next["entries"][0]["id"].as_i64() < first["id"].as_i64());
}

// ---- bad input

async fn bad_input(db: Db) {
    const LIMIT: usize = 64 * 1024;
    let Some(f) = fixture_with(
        db,
        Options {
            max_body_bytes: Some(LIMIT),
            ..Options::default()
        },
    )
    .await
    else {
        return;
    };
    let audit_before = audit(&f.admin).await.len();
    let padded = |name: &str, bytes: usize| {
        let mut text = manifest(name, "alpha", "x:1", 1);
        let comment = format!("# {}\n", "x".repeat(98));
        while text.len() < bytes {
            text.push_str(&comment);
        }
        text
    };
    // Over the limit: 413 JSON for JSON and YAML bodies, nothing stored.
    let big = padded("big-app", LIMIT + 1024);
    let resp = f.eve_token.post("/api/apps", &json!({ "manifest": big })).await;
    let err = resp.expect_error(413, "too_large");
    assert!(
        resp.header("content-type")
            .is_some_and(|ct| ct.starts_with("application/json")),
        "{err}"
    );
    f.eve_token
        .raw(Method::POST, "/api/apps", "application/yaml", big.clone())
        .await
        .expect_error(413, "too_large");
    f.eve_token
        .post("/api/preview", &json!({ "manifest": big }))
        .await
        .expect_error(413, "too_large");
    assert_eq!(app_count(&f.admin).await, 0);
    assert_eq!(audit(&f.admin).await.len(), audit_before);
    // Just under the limit is fine.
    let fits = padded("fits-app", LIMIT - 2048);
    f.eve_token
        .raw(Method::POST, "/api/apps", "application/yaml", fits)
        .await
        .expect(201);

    // Invalid JSON: 400 with serde's line and column.
    let body = "{\n  \"manifest\": oops\n}";
    let column = line(body, 2).find("oops").expect("column") + 1;
    let err = f
        .eve_token
        .raw(Method::POST, "/api/apps", "application/json", body)
        .await
        .expect_error(400, "bad_request");
    let message = err["error"].as_str().expect("message");
    assert!(message.contains(&format!("line 2 column {column}")), "{message}");
    f.admin
        .raw(Method::POST, "/api/teams", "application/json", "{\"name\": ")
        .await
        .expect_error(400, "bad_request");
    f.admin
        .post("/api/teams", &json!({ "name": "x", "extra": 1 }))
        .await
        .expect_error(400, "bad_request");

    // Bad query strings and path parameters, and methods a URL does not have: JSON errors too.
    let admin = &f.admin;
    let err = admin
        .get("/api/apps?limit=many")
        .await
        .expect_error(400, "bad_request");
    assert!(
        err["error"].as_str().is_some_and(|m| m.contains("limit")),
        "{err}"
    );
    admin
        .get("/api/apps/x/revisions/first")
        .await
        .expect_error(400, "bad_request");
    admin
        .delete("/api/tokens/latest")
        .await
        .expect_error(400, "bad_request");
    let resp = admin.send(admin.request(Method::PATCH, "/api/apps")).await;
    let err = resp.expect_error(405, "method_not_allowed");
    assert!(
        resp.header("allow")
            .is_some_and(|a| a.contains("GET") && a.contains("POST")),
        "{:?}",
        resp.headers
    );
    assert!(
        err["error"].as_str().is_some_and(|m| m.contains("/api/apps")),
        "{err}"
    );

    // Unknown URLs: JSON under /api, HTML elsewhere.
    for method in [Method::GET, Method::POST] {
        let resp = f
            .eve_token
            .send(f.eve_token.request(method.clone(), "/api/nope"))
            .await;
        let err = resp.expect_error(404, "not_found");
        assert!(
            err["error"].as_str().is_some_and(|m| m.contains("/api/nope")),
            "{err}"
        );
    }
    let page = f.s.anonymous().get("/no/such/page").await;
    assert_eq!(page.status, 404);
    assert!(
        page.header("content-type")
            .is_some_and(|ct| ct.starts_with("text/html")),
        "{:?}",
        page.headers
    );
    assert!(page.text.contains("404"));
}

// ---- PostgreSQL down

/// A PostgreSQL server of this test's own is stopped (like a crash) while the server runs:
/// requests get 503 quickly and write nothing; once it is back, everything works again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_down_postgres() {
    let pg = tokio::task::spawn_blocking(PgInstance::start)
        .await
        .expect("start PostgreSQL");
    let Some(pg) = pg else {
        return skip("no PostgreSQL server binaries (initdb, pg_ctl) found");
    };
    let pg = std::sync::Arc::new(pg);
    let options = Options {
        database_url: Some(pg.url("postgres")),
        ..Options::default()
    };
    let s = server_with(Db::Postgres, options)
        .await
        .expect("a server on the test's PostgreSQL");
    let team = s.team("alpha").await;
    let eve = s.user("eve", false).await;
    s.member(&team, &eve, Role::Editor).await;
    let eve_token = s.bearer(&s.token(&eve, &team, Role::Editor, None).await);
    let v1 = manifest("durable", "alpha", "registry.example/d:1", 1);
    create(&eve_token, &v1).await;
    let audit_before = s
        .store()
        .audit(&ojek_store::AuditFilter {
            limit: 500,
            ..Default::default()
        })
        .await
        .expect("audit")
        .len();

    tokio::task::spawn_blocking({
        let pg = pg.clone();
        move || pg.stop_immediately()
    })
    .await
    .expect("stop PostgreSQL");

    let v2 = manifest("durable", "alpha", "registry.example/d:2", 1);
    let started = Instant::now();
    let resp = save(&eve_token, "durable", &v2, 1).await;
    let took = started.elapsed();
    let err = resp.expect_error(503, "database_unavailable");
    assert!(
        err["error"]
            .as_str()
            .is_some_and(|m| m.contains("nothing was changed")),
        "{err}"
    );
    let retry: u64 = resp
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("a Retry-After header: {:?}", resp.headers));
    assert!((1..=60).contains(&retry), "Retry-After {retry}");
    assert!(
        took < Duration::from_secs(10),
        "answered within a few seconds, took {took:?}"
    );
    let health = s.anonymous().get("/healthz").await;
    health.expect_error(503, "database_unavailable");
    assert!(health.header("retry-after").is_some());

    tokio::task::spawn_blocking({
        let pg = pg.clone();
        move || pg.start_again()
    })
    .await
    .expect("start PostgreSQL again");
    let deadline = Instant::now() + Duration::from_secs(30);
    while s.anonymous().get("/healthz").await.status != 200 {
        assert!(
            Instant::now() < deadline,
            "the server did not reconnect within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Nothing of the failed save was written.
    let shown = eve_token.get("/api/apps/durable").await.expect(200);
    assert_eq!(shown["app"]["head"], 1);
    assert_eq!(shown["revision"]["manifest"], v1.as_str());
    let revs = eve_token.get("/api/apps/durable/revisions").await.expect(200);
    assert_eq!(revs["revisions"].as_array().map(Vec::len), Some(1));
    let audit_after = s
        .store()
        .audit(&ojek_store::AuditFilter {
            limit: 500,
            ..Default::default()
        })
        .await
        .expect("audit")
        .len();
    assert_eq!(audit_after, audit_before, "no audit entry for the failed save");

    let saved = save(&eve_token, "durable", &v2, 1).await.expect(200);
    assert_eq!(saved["revision"]["number"], 2);
    drop(s);
}

/// Regressions from the security review: a token's audit view is its team only; tokens do not
/// manage tokens; `/api/me` by token names only the token's team; other `Authorization`
/// schemes are refused (never a silent fall back to the cookie without CSRF); moving an app
/// needs admin in the team it leaves and is audited there; `Origin: null` is cross-origin;
/// NUL characters and extreme numbers are client errors.
async fn scopes_moves_and_origins(db: Db) {
    let Some(f) = fixture(db).await else { return };
    // ann (alpha admin) also edits beta, and saves an app there.
    let beta =
        f.s.store()
            .team_by_name("beta")
            .await
            .expect("store")
            .expect("beta");
    f.s.member(&beta, &f.ann, Role::Editor).await;
    let ann_beta = f.s.bearer(&f.s.token(&f.ann, &beta, Role::Editor, None).await);
    create(
        &ann_beta,
        &manifest("beta-app", "beta", "registry.example/beta:1", 1),
    )
    .await;
    save(
        &ann_beta,
        "beta-app",
        &manifest("beta-app", "beta", "registry.example/beta:2", 1),
        1,
    )
    .await
    .expect(200);
    // Her alpha token sees none of it in the audit log, though she is the actor.
    let audit = f.ann_token.get("/api/audit").await.expect(200);
    let entries = audit["entries"].as_array().expect("entries");
    assert!(
        entries
            .iter()
            .all(|e| e["app"] != "beta-app" && e["team"] != "beta"),
        "alpha token sees beta entries: {audit}"
    );
    // Tokens neither list nor revoke tokens; /api/me shows only the token's team.
    f.ann_token
        .get("/api/tokens")
        .await
        .expect_error(403, "forbidden");
    let beta_id =
        f.s.token_id(&f.s.token(&f.ann, &beta, Role::Viewer, None).await)
            .await;
    f.ann_token
        .delete(&format!("/api/tokens/{beta_id}"))
        .await
        .expect_error(403, "forbidden");
    let me = f.ann_token.get("/api/me").await.expect(200);
    assert_eq!(me["teams"], json!([{ "team": "alpha", "role": "admin" }]), "{me}");

    // A session with a Basic header and no CSRF token: refused, nothing created.
    let ann_session = f.s.session(&f.ann).await;
    let common::Auth::Session { cookie, .. } = &ann_session.auth else {
        panic!("a session")
    };
    let r = ann_session.send(
        ann_session
            .without_csrf()
            .request(Method::POST, "/api/tokens")
            .header("authorization", "Basic Zm9vOmJhcg==")
            .json(&json!({ "name": "sneaky", "team": "alpha", "role": "admin" })),
    );
    let r = r.await;
    assert!(matches!(r.status.as_u16(), 401 | 403), "{}: {}", r.status, r.text);
    assert!(!cookie.is_empty());
    let tokens = ann_session.get("/api/tokens").await.expect(200);
    assert!(
        tokens["tokens"]
            .as_array()
            .expect("tokens")
            .iter()
            .all(|t| t["name"] != "sneaky"),
        "{tokens}"
    );

    // Moving: an editor of the source team may not; an admin may, and both teams see it.
    create(
        &f.eve_token,
        &manifest("mover", "alpha", "registry.example/m:1", 1),
    )
    .await;
    let eve_beta = {
        f.s.member(&beta, &f.eve, Role::Editor).await;
        f.s.session(&f.eve).await
    };
    save(
        &eve_beta,
        "mover",
        &manifest("mover", "beta", "registry.example/m:1", 1),
        1,
    )
    .await
    .expect_error(403, "forbidden");
    assert_eq!(
        f.s.store().app("mover").await.expect("store").expect("app").team,
        "alpha"
    );
    save(
        &ann_session,
        "mover",
        &manifest("mover", "beta", "registry.example/m:1", 1),
        1,
    )
    .await
    .expect(200);
    assert_eq!(
        f.s.store().app("mover").await.expect("store").expect("app").team,
        "beta"
    );
    let alpha_audit = f.vic_token.get("/api/audit").await.expect(200);
    assert!(
        alpha_audit["entries"]
            .as_array()
            .expect("entries")
            .iter()
            .any(|e| e["action"] == "app.move" && e["app"] == "mover"),
        "alpha's readers see the move: {alpha_audit}"
    );

    // Origin: null is cross-origin, for sign-in too.
    let r =
        f.s.anonymous()
            .send(
                f.s.anonymous()
                    .request(Method::POST, "/login")
                    .header("origin", "null")
                    .form(&[("username", "ann"), ("password", common::PASSWORD)]),
            )
            .await;
    assert_eq!(r.status.as_u16(), 403, "{}", r.text);
    assert!(r.header("set-cookie").is_none());

    // Extreme numbers are not a panic.
    let r = f
        .eve_token
        .get("/api/apps/mover/diff?to=-9223372036854775808")
        .await;
    assert!(
        r.status.is_client_error() || r.status.is_success(),
        "{}: {}",
        r.status,
        r.text
    );
    // NUL characters: a client error on both engines (PostgreSQL text cannot hold them).
    let r = f.eve_token.get("/api/apps?q=a%00b").await;
    assert!(
        r.status.as_u16() == 200 || r.status.as_u16() == 400,
        "{}: {}",
        r.status,
        r.text
    );
    let before = f.s.store().list_apps(&Default::default()).await.expect("store").1;
    let r = f
        .eve_token
        .post(
            "/api/apps",
            &json!({ "manifest": manifest("nul-app", "alpha", "x:1", 1), "message": "a\u{0}b" }),
        )
        .await;
    match db {
        // SQLite text holds NUL; PostgreSQL's cannot: a 400 naming it, and nothing stored.
        Db::Sqlite => assert_eq!(r.status.as_u16(), 201, "{}", r.text),
        Db::Postgres => {
            let body = r.expect_error(400, "bad_request");
            assert!(
                body["error"].as_str().is_some_and(|m| m.contains("NUL")),
                "{body}"
            );
            let after = f.s.store().list_apps(&Default::default()).await.expect("store").1;
            assert_eq!(after, before, "nothing stored");
        }
    }
}

// ---- promoting an experiment variant (POST /api/apps/{app}/promote)

both!(promote, promote_refused);

/// driver-location (its comments, and a `production` override of the memory limit), in team
/// alpha.
fn driver_location_in_alpha() -> String {
    common::driver_location_manifest().replace("team: fulfilment", "team: alpha")
}

/// A promotion request of variant `h3` of `fulfilment-production/h3-index`.
fn promotion(environment: &str, process: &str, overrides: Value, base: i64) -> Value {
    json!({
        "environment": environment,
        "process": process,
        "overrides": overrides,
        "baseRevision": base,
        "experiment": "fulfilment-production/h3-index",
        "variant": "h3",
    })
}

/// Whether every line of `old` is in `new`, in order (`new` only inserted lines).
fn keeps_every_line(old: &str, new: &str) -> bool {
    let mut new_lines = new.lines();
    old.lines().all(|l| new_lines.any(|n| n == l))
}

/// A stored revision's manifest resolved for an environment, as JSON of the process.
async fn resolved_process(client: &Client, app: &str, revision: i64, env: &str, process: &str) -> Value {
    let rev = client
        .get(&format!("/api/apps/{app}/revisions/{revision}"))
        .await
        .expect(200);
    let text = rev["manifest"].as_str().expect("manifest");
    let files: BTreeMap<String, String> = serde_json::from_value(rev["files"].clone()).expect("files");
    let loaded = load_app(MANIFEST_FILE, text, &MapReader(&files)).expect("the revision loads");
    let resolved = ojek_core::spec::load::resolve(&loaded, env).expect("resolves");
    serde_json::to_value(&resolved.app.processes[process]).expect("JSON")
}

/// The rendered files of an app's newest revision in an environment, joined.
async fn rendered(client: &Client, app: &str, env: &str) -> String {
    let body = client
        .get(&format!("/api/apps/{app}/render?environment={env}"))
        .await
        .expect(200);
    files_of(&body).into_values().collect::<Vec<_>>().join("\n")
}

async fn promote(db: Db) {
    let Some(f) = fixture(db).await else { return };
    let app = "driver-location";
    let v1 = driver_location_in_alpha();
    create(&f.eve_token, &v1).await;
    let path = format!("/api/apps/{app}/promote");

    // The experiments controller, with an editor token of the team, promotes the winner.
    let overrides = json!({
        "image": "registry.gojek.io/fulfilment/driver-location:2.16.0",
        "args": ["serve", "--listen=:8080", "--geo-index=h3"],
        "env": {"GEO_INDEX": "h3", "LOG_LEVEL": "warn"},
        "cpu": {"request": "750m", "limit": "2"},
        "memory": {"request": "768Mi"},
        "replicas": 3,
    });
    let request = promotion("production", "web", overrides, 1);
    let body = f.eve_token.post(&path, &request).await.expect(201);
    assert_eq!(body["revision"], 2, "{body}");
    assert_eq!(body["replayed"], false);
    assert_eq!(body["ignored"], json!(["replicas"]));
    assert!(body["warnings"].is_array(), "{body}");

    let rev = f.eve_token.get(&format!("/api/apps/{app}")).await.expect(200)["revision"].clone();
    assert_eq!(rev["number"], 2);
    assert_eq!(rev["author"], "eve");
    let message = "Promote variant h3 of experiment fulfilment-production/h3-index in production";
    assert_eq!(rev["message"], message);
    let v2 = rev["manifest"].as_str().expect("manifest");
    assert!(
        keeps_every_line(&v1, v2),
        "every line of revision 1, comments included, is kept:\n{v2}"
    );
    assert!(
        v2.contains("          limit: 2Gi           # request stays 512Mi\n"),
        "{v2}"
    );

    // Production runs what the variant ran: its fields over production's override (the
    // memory limit stays production's 2Gi, the other variables stay); not its replicas.
    let web = resolved_process(&f.eve_token, app, 2, "production", "web").await;
    assert_eq!(
        web["image"],
        "registry.gojek.io/fulfilment/driver-location:2.16.0"
    );
    assert_eq!(web["args"], json!(["serve", "--listen=:8080", "--geo-index=h3"]));
    assert_eq!(web["env"]["GEO_INDEX"], "h3");
    assert_eq!(web["env"]["LOG_LEVEL"], "warn");
    assert_eq!(web["env"]["DATABASE_URL"], "${resources.db.url}");
    assert_eq!(web["cpu"], json!({"request": "750m", "limit": "2"}));
    assert_eq!(web["memory"], json!({"request": "768Mi", "limit": "2Gi"}));
    assert_eq!(web["scaling"]["autoscale"]["min"], 12, "{web}");
    assert!(web["scaling"].get("replicas").is_none(), "{web}");
    // Other environments are untouched.
    let staging = resolved_process(&f.eve_token, app, 2, "staging", "web").await;
    assert_eq!(
        staging,
        resolved_process(&f.eve_token, app, 1, "staging", "web").await
    );
    // The new revision renders.
    let out = rendered(&f.vic_token, app, "production").await;
    assert!(
        out.contains("image: registry.gojek.io/fulfilment/driver-location:2.16.0"),
        "{out}"
    );
    assert!(out.contains("GEO_INDEX"), "{out}");

    // Audited: the save (by the store) and the promotion, by the token.
    let entries = audit(&f.admin).await;
    let saved = entries
        .iter()
        .find(|e| e["action"] == "app.save" && e["app"] == app)
        .expect("an app.save entry");
    assert_eq!(saved["target"], format!("app {app} rev 2"));
    let promoted: Vec<&Value> = entries
        .iter()
        .filter(|e| e["action"] == "experiment.promote")
        .collect();
    assert_eq!(promoted.len(), 1, "{promoted:?}");
    assert_eq!(promoted[0]["app"], app);
    assert_eq!(promoted[0]["actor"], "eve");
    assert!(
        promoted[0]["via"]
            .as_str()
            .is_some_and(|v| v.starts_with("token:")),
        "{}",
        promoted[0]
    );
    assert_eq!(
        promoted[0]["target"],
        format!(
            "app {app} rev 2: variant h3 of experiment fulfilment-production/h3-index in production, \
             process web (from rev 1)"
        )
    );

    // The controller sends it again (it crashed after the save): the same revision, nothing
    // saved, nothing audited again.
    let again = f.eve_token.post(&path, &request).await.expect(200);
    assert_eq!(
        again,
        json!({"revision": 2, "replayed": true, "ignored": ["replicas"], "warnings": []})
    );
    // Also after someone else saved on top of it.
    let v3 = v2.replace("LOG_LEVEL: info", "LOG_LEVEL: error");
    save(&f.ann_token, app, &v3, 2).await.expect(200);
    let again = f.eve_token.post(&path, &request).await.expect(200);
    assert_eq!(again["revision"], 2);
    assert_eq!(again["replayed"], true);
    let head = f.eve_token.get(&format!("/api/apps/{app}")).await.expect(200);
    assert_eq!(head["app"]["head"], 3);
    let promoted = audit(&f.admin)
        .await
        .into_iter()
        .filter(|e| e["action"] == "experiment.promote")
        .count();
    assert_eq!(promoted, 1);

    // An app whose manifest has no override for the environment yet, with `fromFile` files:
    // promo-gateway and the winner of examples/experiments/promo-gateway-cashback.yaml.
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let read = |name: &str| std::fs::read_to_string(examples.join(name)).expect("example");
    let gateway = read("promo-gateway.yaml").replace("team: promotions", "team: alpha");
    let files = BTreeMap::from([(
        "config/promo-rules.json".to_string(),
        read("config/promo-rules.json"),
    )]);
    f.eve_token
        .post("/api/apps", &json!({ "manifest": gateway, "files": files }))
        .await
        .expect(201);
    let winner = json!({
        "image": "registry.gojek.io/promotions/promo-gateway:4.3.0-rc1",
        "env": {"RULE_ENGINE": "v2", "RULE_CACHE_TTL": "5m"},
        "replicas": 2,
        "memory": {"request": "512Mi", "limit": "1Gi"},
    });
    let body = f
        .eve_token
        .post(
            "/api/apps/promo-gateway/promote",
            &json!({
                "environment": "production",
                "process": "web",
                "overrides": winner,
                "baseRevision": 1,
                "experiment": "promotions-production/cashback-engine",
                "variant": "rules-v2-cache",
            }),
        )
        .await
        .expect(201);
    assert_eq!(body["revision"], 2);
    assert_eq!(body["ignored"], json!(["replicas"]));
    let rev = f.eve_token.get("/api/apps/promo-gateway").await.expect(200)["revision"].clone();
    let text = rev["manifest"].as_str().expect("manifest");
    assert!(keeps_every_line(&gateway, text), "{text}");
    assert_eq!(rev["files"], json!(files), "the files are kept");
    let web = resolved_process(&f.eve_token, "promo-gateway", 2, "production", "web").await;
    assert_eq!(
        web["image"],
        "registry.gojek.io/promotions/promo-gateway:4.3.0-rc1"
    );
    assert_eq!(web["env"]["RULE_CACHE_TTL"], "5m");
    assert_eq!(
        web["env"]["PROMO_SIGNING_KEY"],
        json!({"secret": "promo-gateway-keys", "key": "signing-key"})
    );
    assert_eq!(web["memory"], json!({"request": "512Mi", "limit": "1Gi"}));
    let staging = resolved_process(&f.eve_token, "promo-gateway", 2, "staging", "web").await;
    assert_eq!(
        staging["image"],
        "registry.gojek.io/promotions/promo-gateway:4.2.0"
    );
    let out = rendered(&f.eve_token, "promo-gateway", "production").await;
    assert!(out.contains("promo-gateway:4.3.0-rc1"), "{out}");
    assert!(out.contains("RULE_CACHE_TTL"), "{out}");
}

async fn promote_refused(db: Db) {
    let Some(f) = fixture(db).await else { return };
    let app = "driver-location";
    let v1 = driver_location_in_alpha();
    create(&f.eve_token, &v1).await;
    let path = format!("/api/apps/{app}/promote");
    let image = json!({"image": "registry.gojek.io/fulfilment/driver-location:2.16.0"});
    let ok = promotion("production", "web", image.clone(), 1);

    // Viewers may not; other teams do not see the app; a session needs its CSRF token.
    let err = f.vic_token.post(&path, &ok).await.expect_error(403, "forbidden");
    assert!(
        err["error"].as_str().is_some_and(|m| m.contains("editor")),
        "{err}"
    );
    f.bob_token.post(&path, &ok).await.expect_error(404, "not_found");
    let eve = f.s.session(&f.eve).await;
    eve.without_csrf()
        .post(&path, &ok)
        .await
        .expect_error(403, "forbidden");

    // Bad requests.
    let reason = |body: &Value| body["error"].as_str().expect("error").to_string();
    let err = f
        .eve_token
        .post(&path, &promotion("canary", "web", image.clone(), 1))
        .await
        .expect_error(400, "bad_request");
    assert!(
        reason(&err).contains("staging, production, production-dc"),
        "{err}"
    );
    let err = f
        .eve_token
        .post(&path, &promotion("production", "worker", image.clone(), 1))
        .await
        .expect_error(400, "bad_request");
    assert!(reason(&err).contains("no process `worker`"), "{err}");
    assert!(reason(&err).contains("processes: web"), "{err}");
    let mut extra = ok.clone();
    extra["dryRun"] = json!(true);
    let err = f
        .eve_token
        .post(&path, &extra)
        .await
        .expect_error(400, "bad_request");
    assert!(reason(&err).contains("dryRun"), "{err}");
    for (overrides, field) in [
        (json!({"command": ["sh"]}), "overrides.command"),
        (json!({"cpu": {"lmit": "2"}}), "overrides.cpu.lmit"),
        (json!({"replicas": "two"}), "overrides"),
    ] {
        let err = f
            .eve_token
            .post(&path, &promotion("production", "web", overrides, 1))
            .await
            .expect_error(400, "bad_request");
        assert!(reason(&err).contains(field), "{err}");
    }
    let mut spaced = ok.clone();
    spaced["variant"] = json!("h3 of experiment x");
    f.eve_token
        .post(&path, &spaced)
        .await
        .expect_error(400, "bad_request");
    f.eve_token
        .post(&path, &promotion("production", "web", image.clone(), 7))
        .await
        .expect_error(404, "not_found");

    // Overrides that make the app invalid: every diagnostic, as for a save.
    let err = f
        .eve_token
        .post(
            &path,
            &promotion("production", "web", json!({"memory": {"request": "lots"}}), 1),
        )
        .await
        .expect_error(422, "invalid_manifest");
    let diagnostics = err["diagnostics"].as_array().expect("diagnostics");
    assert!(
        diagnostics
            .iter()
            .any(|d| d["message"].as_str().is_some_and(|m| m.contains("lots"))),
        "{err}"
    );

    // Someone saved since the experiment's base: 409 as for a save, nothing saved.
    let v2 = v1.replace("LOG_LEVEL: info", "LOG_LEVEL: error");
    save(&f.ann_token, app, &v2, 1).await.expect(200);
    let err = f.eve_token.post(&path, &ok).await.expect_error(409, "conflict");
    assert_eq!(err["current"]["number"], 2);
    assert_eq!(err["currentManifest"], v2.as_str());
    assert!(
        err["diff"]
            .as_str()
            .is_some_and(|d| d.contains("+      LOG_LEVEL: error")),
        "{err}"
    );

    let head = f.eve_token.get(&format!("/api/apps/{app}")).await.expect(200);
    assert_eq!(head["app"]["head"], 2, "only ann's save was stored");
    assert!(
        !audit(&f.admin)
            .await
            .iter()
            .any(|e| e["action"] == "experiment.promote"),
        "no promotion was audited"
    );
}
