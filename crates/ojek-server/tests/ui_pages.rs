//! The web UI's pages over HTTP, without a browser: sign-in and sessions, team-scoped lists,
//! escaping, CSRF, saving (invalid, valid, conflicting), history, audit, settings and tokens,
//! the form tab's endpoints, and the error pages.

use std::time::Duration;

use ojek_server::{Config, Server};
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, LOCATION, SET_COOKIE};
use serde_json::{Value, json};

/// A server with the demo data, in a temporary directory.
struct TestServer {
    server: Server,
    _dir: tempfile::TempDir,
}

impl TestServer {
    async fn start() -> TestServer {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = Config::new(dir.path().to_path_buf());
        config.listen = ([127, 0, 0, 1], 0).into();
        config.demo = true;
        config.admin_password = Some("admin-password-for-tests".into());
        let server = ojek_server::start(config).await.expect("server starts");
        TestServer { server, _dir: dir }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.server.addr)
    }

    /// A browser-like client without a session.
    fn anonymous(&self) -> Browser {
        Browser {
            base: self.url(""),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(60))
                .build()
                .expect("client"),
            cookie: None,
        }
    }

    /// A client signed in as a demo user.
    async fn sign_in(&self, user: &str) -> Browser {
        let mut b = self.anonymous();
        let r = b
            .post_form(
                "/login",
                &[
                    ("username", user),
                    ("password", "demo-password"),
                    ("next", "/apps"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let cookie = session_cookie(&r.headers).expect("session cookie");
        b.cookie = Some(cookie);
        b
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.server.stop();
    }
}

/// The `name=value` of the session cookie in a response.
fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("ojek_session="))
        .and_then(|v| v.split(';').next())
        .map(str::to_string)
}

struct Page {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Page {
    fn location(&self) -> &str {
        self.headers
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
    /// The session's CSRF token from `<meta name="csrf-token">`.
    fn csrf(&self) -> String {
        const META: &str = "name=\"csrf-token\" content=\"";
        let start = self.body.find(META).expect("csrf meta") + META.len();
        let end = self.body[start..].find('"').expect("end of csrf") + start;
        self.body[start..end].to_string()
    }
}

struct Browser {
    base: String,
    http: reqwest::Client,
    cookie: Option<String>,
}

impl Browser {
    fn req(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let mut r = self.http.request(method, format!("{}{path}", self.base));
        if let Some(c) = &self.cookie {
            r = r.header("cookie", c);
        }
        r
    }

    async fn page(r: reqwest::RequestBuilder) -> Page {
        let resp = r.send().await.expect("response");
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp.text().await.expect("body");
        Page {
            status,
            headers,
            body,
        }
    }

    async fn get(&self, path: &str) -> Page {
        Self::page(self.req(reqwest::Method::GET, path)).await
    }

    async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        Self::page(self.req(reqwest::Method::POST, path).form(fields)).await
    }

    async fn post_json(&self, path: &str, csrf: &str, body: &Value) -> (StatusCode, Value) {
        let resp = self
            .req(reqwest::Method::POST, path)
            .header("x-csrf-token", csrf)
            .json(body)
            .send()
            .await
            .expect("response");
        let status = resp.status();
        (status, resp.json().await.expect("json"))
    }

    /// The head revision number and manifest of an app, through the JSON API.
    async fn head(&self, app: &str) -> (i64, String) {
        let p = self.get(&format!("/api/apps/{app}")).await;
        assert_eq!(p.status, StatusCode::OK, "{}", p.body);
        let v: Value = serde_json::from_str(&p.body).expect("json");
        (
            v["revision"]["number"].as_i64().expect("number"),
            v["revision"]["manifest"].as_str().expect("manifest").to_string(),
        )
    }
}

/// Saves a manifest through the editor's form post.
async fn save(b: &Browser, csrf: &str, app: &str, manifest: &str, base: i64, message: &str) -> Page {
    b.post_form(
        &format!("/apps/{app}"),
        &[
            ("csrf", csrf),
            ("base", &base.to_string()),
            ("manifest", manifest),
            ("message", message),
        ],
    )
    .await
}

#[tokio::test]
async fn sign_in_sets_a_session_cookie_and_pages_need_it() {
    let s = TestServer::start().await;
    let anon = s.anonymous();
    let r = anon.get("/apps").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location(), "/login?next=%2Fapps");
    let r = anon.get("/login?next=%2Fapps").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("id=\"username\"") && r.body.contains("id=\"password\""));

    let r = anon
        .post_form(
            "/login",
            &[
                ("username", "ana"),
                ("password", "wrong-password"),
                ("next", "/apps"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.body.contains("Wrong user name or password"));
    assert!(session_cookie(&r.headers).is_none());

    let r = anon
        .post_form(
            "/login",
            &[
                ("username", "ana"),
                ("password", "demo-password"),
                ("next", "/audit"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location(), "/audit");
    let set_cookie = r
        .headers
        .get(SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    assert!(set_cookie.contains("HttpOnly"), "{set_cookie}");
    assert!(set_cookie.contains("SameSite=Lax"), "{set_cookie}");

    // Signed in: the page has the user, a CSRF token and a sign-out form.
    let b = s.sign_in("ana").await;
    let r = b.get("/apps").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("Ana (payments)"));
    assert!(r.body.contains("action=\"/logout\""));
    assert!(!r.csrf().is_empty());
    assert!(
        r.headers["content-security-policy"]
            .to_str()
            .unwrap_or("")
            .contains("script-src 'self'")
    );

    // Signing out needs the CSRF token, then ends the session.
    let r = b.post_form("/logout", &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let csrf = b.get("/apps").await.csrf();
    let r = b.post_form("/logout", &[("csrf", &csrf)]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(
        session_cookie(&r.headers).as_deref(),
        Some("ojek_session="),
        "the cookie is cleared"
    );
    let cleared = r.headers[SET_COOKIE].to_str().unwrap_or("");
    assert!(
        cleared.contains("Max-Age=0") && cleared.contains("HttpOnly"),
        "{cleared}"
    );
    assert_eq!(b.get("/apps").await.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn apps_list_shows_the_users_teams_with_search_and_filter() {
    let s = TestServer::start().await;
    let ana = s.sign_in("ana").await;
    let r = ana.get("/apps").await;
    assert_eq!(r.status, StatusCode::OK);
    for app in ["driver-location", "ledger-store", "payments", "settlement-report"] {
        assert!(
            r.body.contains(&format!("data-app=\"{app}\"")),
            "ana should see {app}"
        );
    }
    for app in ["promo-gateway", "order-events-consumer"] {
        assert!(
            !r.body.contains(&format!("data-app=\"{app}\"")),
            "ana must not see {app}"
        );
    }
    assert!(r.body.contains("showing 1–4 of 4"));
    assert!(r.body.contains("id=\"new-app\""));
    // Team filter: only the user's teams are offered.
    assert!(r.body.contains("<option value=\"payments\">"));
    assert!(!r.body.contains("<option value=\"gofood\">"));

    let r = ana.get("/apps?q=ledger").await;
    assert!(r.body.contains("data-app=\"ledger-store\""));
    assert!(!r.body.contains("data-app=\"settlement-report\""));
    assert!(r.body.contains("showing 1–1 of 1"));

    let r = ana.get("/apps?team=fulfilment").await;
    assert!(r.body.contains("data-app=\"driver-location\""));
    assert!(!r.body.contains("data-app=\"payments\""));

    // Another team's name in the filter shows nothing of it.
    let r = ana.get("/apps?team=gofood").await;
    assert!(!r.body.contains("data-app=\"order-events-consumer\""));

    let budi = s.sign_in("budi").await;
    let r = budi.get("/apps").await;
    assert!(r.body.contains("data-app=\"promo-gateway\""));
    assert!(!r.body.contains("data-app=\"payments\""));
}

#[tokio::test]
async fn editor_shows_the_manifest_escaped() {
    let s = TestServer::start().await;
    let ana = s.sign_in("ana").await;
    let page = ana.get("/apps/settlement-report").await;
    assert_eq!(page.status, StatusCode::OK);
    let csrf = page.csrf();
    for id in [
        "id=\"manifest\"",
        "id=\"tab-form\"",
        "id=\"tab-yaml\"",
        "id=\"preview-kubernetes\"",
        "id=\"preview-nomad\"",
        "id=\"environment\"",
        "id=\"problems-list\"",
        "id=\"save\"",
        "id=\"message\"",
        "id=\"explain-panel\"",
    ] {
        assert!(page.body.contains(id), "editor has {id}");
    }
    assert!(page.body.contains("<option value=\"staging\">"));
    assert!(
        page.body.contains("schedule: &quot;30 2 * * *&quot;"),
        "manifest text in the textarea"
    );

    let (head, manifest) = ana.head("settlement-report").await;
    let evil = manifest.replace(
        "description: Nightly merchant settlement reports, uploaded to object storage.",
        "description: \"<script>alert(1)</script> & reports\"",
    );
    assert_ne!(evil, manifest);
    let r = save(
        &ana,
        &csrf,
        "settlement-report",
        &evil,
        head,
        "Description with markup",
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = ana.get("/apps/settlement-report").await;
    assert!(
        !page.body.contains("<script>alert(1)"),
        "user text is never markup"
    );
    assert!(
        page.body
            .contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; reports")
    );
    let list = ana.get("/apps").await;
    assert!(!list.body.contains("<script>alert(1)"));
    assert!(list.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
}

#[tokio::test]
async fn saving_checks_csrf_manifest_and_base_revision() {
    let s = TestServer::start().await;
    let ana = s.sign_in("ana").await;
    let csrf = ana.get("/apps/settlement-report").await.csrf();
    let (head, manifest) = ana.head("settlement-report").await;

    // No CSRF token: refused, nothing saved.
    let r = ana
        .post_form(
            "/apps/settlement-report",
            &[
                ("base", &head.to_string()),
                ("manifest", &manifest),
                ("message", "x"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body.contains("expired"), "{}", r.body);

    // Malformed YAML: 422, the editor again with the text, the problem at its line.
    let broken = manifest.replacen("metadata:", "metadata: [oops", 1);
    let line = broken
        .lines()
        .position(|l| l.starts_with("metadata: [oops"))
        .expect("line")
        + 1;
    let r = save(&ana, &csrf, "settlement-report", &broken, head, "broken").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("Nothing was saved"));
    assert!(r.body.contains("metadata: [oops"), "the user's text is kept");
    // The YAML parser notices the bad flow sequence where it ends: the line or the next one.
    const PROBLEM: &str = "class=\"problem error\" data-line=\"";
    let at = r.body.find(PROBLEM).expect("a problem with a line") + PROBLEM.len();
    let reported: usize = r.body[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .expect("n");
    assert!(
        (line..=line + 1).contains(&reported),
        "problem at line {reported}, expected about {line}"
    );
    assert!(r.body.contains(&format!("<span class=\"loc\">{reported}:")));
    assert!(
        r.body.contains("class=\"gl error\""),
        "the line is marked in the gutter"
    );
    assert_eq!(ana.head("settlement-report").await.0, head, "nothing saved");

    // Valid YAML but an invalid manifest: 422 with the schema's message.
    let invalid = manifest.replace("kind: cron", "kind: cronn");
    let r = save(&ana, &csrf, "settlement-report", &invalid, head, "invalid").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("did you mean `cron`?"));
    assert_eq!(ana.head("settlement-report").await.0, head);

    // Valid: 303 to the editor with a notice; one revision more. CRLF from the browser is
    // stored as LF.
    let changed = manifest.replace("retries: 2", "retries: 3");
    let crlf = changed.replace('\n', "\r\n");
    let r = save(&ana, &csrf, "settlement-report", &crlf, head, "More retries").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(
        r.location(),
        format!("/apps/settlement-report?saved={}", head + 1)
    );
    let (new_head, stored) = ana.head("settlement-report").await;
    assert_eq!(new_head, head + 1);
    assert_eq!(stored, changed);
    let page = ana.get(r.location()).await;
    assert!(page.body.contains(&format!("Saved revision {}", head + 1)));

    // A stale base: 409, the other change's diff, the user's text kept, nothing saved.
    let mine = manifest.replace("deadline: 2h", "deadline: 3h");
    let r = save(&ana, &csrf, "settlement-report", &mine, head, "Longer deadline").await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.body.contains("id=\"conflict\""));
    assert!(r.body.contains(&format!("ana saved revision {}", head + 1)));
    assert!(r.body.contains("More retries"));
    assert!(r.body.contains("class=\"diff-add\""));
    assert!(r.body.contains("retries: 3"));
    assert!(r.body.contains("deadline: 3h"), "the user's text is kept");
    assert!(
        r.body
            .contains(&format!("name=\"rebase\" value=\"{}\" form=\"editor\"", head + 1)),
        "the merge checkbox belongs to the editor form"
    );
    assert_eq!(ana.head("settlement-report").await.0, head + 1);

    // Ticking "I merged their change" saves on top of the newest revision.
    let merged = changed.replace("deadline: 2h", "deadline: 3h");
    let r = ana
        .post_form(
            "/apps/settlement-report",
            &[
                ("csrf", &csrf),
                ("base", &head.to_string()),
                ("rebase", &(head + 1).to_string()),
                ("manifest", &merged),
                ("message", "Longer deadline"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(ana.head("settlement-report").await, (head + 2, merged));
}

#[tokio::test]
async fn apps_with_from_file_files_keep_them_when_saved() {
    let s = TestServer::start().await;
    let budi = s.sign_in("budi").await;
    let page = budi.get("/apps/promo-gateway").await;
    assert!(
        page.body
            .contains("data-files=\"{&quot;config/promo-rules.json&quot;")
    );
    let (head, manifest) = budi.head("promo-gateway").await;
    let changed = manifest.replace("canary: 1 ", "canary: 2 ");
    let r = save(
        &budi,
        &page.csrf(),
        "promo-gateway",
        &changed,
        head,
        "Two canaries",
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
}

#[tokio::test]
async fn other_teams_apps_and_unknown_urls_are_not_found() {
    let s = TestServer::start().await;
    let ana = s.sign_in("ana").await;
    for path in [
        "/apps/promo-gateway",
        "/apps/promo-gateway/history",
        "/apps/promo-gateway/revisions/1",
    ] {
        let r = ana.get(path).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}");
        assert!(r.body.contains("id=\"error-page\""));
        assert!(
            r.body
                .contains("There is no app “promo-gateway” that you can see"),
            "{path}"
        );
        assert!(
            !r.body.contains("registry.gojek.io/promotions"),
            "nothing of the app leaks"
        );
    }
    let csrf = ana.get("/apps").await.csrf();
    let r = save(&ana, &csrf, "promo-gateway", "kind: App\n", 1, "x").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    let r = ana.get("/no/such/page").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.body.contains("Page not found"));
    assert!(r.body.contains("There is no page at this address"));
    assert!(
        r.body.contains("Ana (payments)"),
        "with the navigation when signed in"
    );

    let r = s.anonymous().get("/no/such/page").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.body.contains("Page not found"));
    assert_eq!(
        s.anonymous().get("/static/nope.js").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn history_diff_audit_and_revision_pages() {
    let s = TestServer::start().await;
    let ana = s.sign_in("ana").await;
    let csrf = ana.get("/apps/ledger-store").await.csrf();
    let (head, manifest) = ana.head("ledger-store").await;
    let first_line = manifest
        .lines()
        .find(|l| l.contains("description:"))
        .expect("description")
        .to_string();
    let changed = manifest.replacen(&first_line, "  description: Ledger storage, rewritten.", 1);
    let r = save(
        &ana,
        &csrf,
        "ledger-store",
        &changed,
        head,
        "Reword the description",
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);

    let r = ana.get("/apps/ledger-store/history").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("id=\"compare-form\""));
    assert!(r.body.contains("Reword the description"));
    assert!(r.body.contains(&format!("Revision {head} → {}", head + 1)));
    assert!(r.body.contains("<tr class=\"diff-add\">"));
    assert!(r.body.contains("<tr class=\"diff-del\">"));
    assert!(r.body.contains("Ledger storage, rewritten."));
    let explicit = ana
        .get(&format!("/apps/ledger-store/history?from={}&to={head}", head + 1))
        .await;
    assert!(explicit.body.contains(&format!("Revision {} → {head}", head + 1)));

    let r = ana.get(&format!("/apps/ledger-store/revisions/{head}")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("id=\"revision-manifest\""));
    assert!(r.body.contains("id=\"restore\""));
    // Restore: a new revision with the old text.
    let r = ana
        .post_form(
            "/apps/ledger-store",
            &[
                ("csrf", &csrf),
                ("base", &(head + 1).to_string()),
                ("files_from", &head.to_string()),
                ("manifest", &manifest),
                ("message", &format!("Restore revision {head}")),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(ana.head("ledger-store").await, (head + 2, manifest));

    let r = ana.get("/audit").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("data-action=\"app.save\""));
    assert!(r.body.contains("Show change"));
    assert!(r.body.contains("Ledger storage, rewritten."));
    let r = ana.get("/audit?app=ledger-store").await;
    assert!(r.body.contains("data-action=\"app.save\""));
    assert!(!r.body.contains("data-action=\"login\""));
    let r = ana.get("/audit?app=promo-gateway").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn settings_create_a_token_once_and_manage_members() {
    let s = TestServer::start().await;
    let ana = s.sign_in("ana").await;
    let page = ana.get("/settings").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("id=\"token-form\""));
    assert!(
        page.body.contains("data-team=\"payments\""),
        "ana administers payments"
    );
    assert!(
        !page.body.contains("data-team=\"fulfilment\""),
        "but not fulfilment"
    );
    assert!(!page.body.contains("id=\"user-form\""), "not a platform admin");
    let csrf = page.csrf();

    let r = ana
        .post_form(
            "/settings/tokens",
            &[
                ("csrf", &csrf),
                ("name", "ci"),
                ("team", "payments"),
                ("role", "editor"),
                ("expires_in_days", "30"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let start = r.body.find("id=\"token-secret\"").expect("secret shown");
    let value = &r.body[start..];
    let v = value.find("value=\"").expect("value") + 7;
    let secret = value[v..v + value[v..].find('"').expect("end")].to_string();
    assert!(secret.starts_with("ojek_"));

    let me = reqwest::Client::new()
        .get(s.url("/api/me"))
        .bearer_auth(&secret)
        .send()
        .await
        .expect("me");
    assert_eq!(me.status(), StatusCode::OK);
    let me: Value = me.json().await.expect("json");
    assert_eq!(me["user"]["username"], "ana");
    assert_eq!(me["via"]["team"], "payments");

    // Listed without its secret; a role above the user's is refused.
    let page = ana.get("/settings").await;
    assert!(page.body.contains("data-token=\"ci\""));
    assert!(!page.body.contains(&secret));
    let r = ana
        .post_form(
            "/settings/tokens",
            &[
                ("csrf", &csrf),
                ("name", "too-much"),
                ("team", "fulfilment"),
                ("role", "admin"),
                ("expires_in_days", ""),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body.contains("id=\"settings-error\""));

    // Revoke it: the token stops working.
    let id_at = page.body.find("/settings/tokens/").expect("revoke form") + "/settings/tokens/".len();
    let id: String = page.body[id_at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    let r = ana
        .post_form(&format!("/settings/tokens/{id}/revoke"), &[("csrf", &csrf)])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let me = reqwest::Client::new()
        .get(s.url("/api/me"))
        .bearer_auth(&secret)
        .send()
        .await
        .expect("me");
    assert_eq!(me.status(), StatusCode::UNAUTHORIZED);

    // Ana adds budi to payments as a viewer: budi can read the editor but not save.
    let r = ana
        .post_form(
            "/settings/teams/payments/members",
            &[("csrf", &csrf), ("username", "budi"), ("role", "viewer")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let budi = s.sign_in("budi").await;
    let page = budi.get("/apps/settlement-report").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("id=\"read-only\""));
    assert!(page.body.contains("readonly"));
    assert!(!page.body.contains("id=\"save\""));
    let (head, manifest) = budi.head("settlement-report").await;
    let r = save(&budi, &page.csrf(), "settlement-report", &manifest, head, "x").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    // And removes him again.
    let r = ana
        .post_form("/settings/teams/payments/members/budi/remove", &[("csrf", &csrf)])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(
        budi.get("/apps/settlement-report").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn new_app_and_the_form_endpoints() {
    let s = TestServer::start().await;
    let ana = s.sign_in("ana").await;
    let page = ana.get("/apps/new?team=fulfilment").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("team: fulfilment"));
    let csrf = page.csrf();

    // The form model of the starter manifest, one field changed, written back.
    let start = page.body.find("id=\"manifest\"").expect("textarea");
    let open = page.body[start..].find('>').expect(">") + start + 2; // after ">\n"
    let close = page.body[open..].find("</textarea>").expect("end") + open;
    let starter = page.body[open..close]
        .replace("&quot;", "\"")
        .replace("&amp;", "&");
    let (status, v) = ana
        .post_json("/ui/form/from-yaml", &csrf, &json!({ "manifest": starter }))
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let mut form = v["form"].clone();
    assert_eq!(form["processes"][0]["name"], "web");
    form["name"] = json!("route-planner");
    form["processes"][0]["image"] = json!("registry.gojek.io/fulfilment/route-planner:1.0.0");
    let (status, v) = ana
        .post_json(
            "/ui/form/apply",
            &csrf,
            &json!({ "manifest": starter, "form": form }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let manifest = v["manifest"].as_str().expect("manifest").to_string();
    assert!(manifest.contains("name: route-planner"));
    assert!(manifest.contains("image: registry.gojek.io/fulfilment/route-planner:1.0.0"));

    // Without the CSRF header the endpoints refuse; broken YAML gives the line.
    let (status, _) = ana
        .post_json("/ui/form/from-yaml", "nope", &json!({ "manifest": starter }))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, v) = ana
        .post_json(
            "/ui/form/from-yaml",
            &csrf,
            &json!({ "manifest": "a: [b\nc: d\n" }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(v["diagnostics"][0]["line"].as_u64().is_some(), "{v}");
    let mut bad = form.clone();
    bad["processes"][0]["ports"][0]["port"] = json!(0);
    let (status, v) = ana
        .post_json(
            "/ui/form/apply",
            &csrf,
            &json!({ "manifest": starter, "form": bad }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(v["field"], "processes.web.ports.http.port", "{v}");
    assert!(
        v["error"].as_str().is_some_and(|e| e.contains("1 to 65535")),
        "{v}"
    );

    // Create it.
    let r = ana
        .post_form(
            "/apps/new",
            &[("csrf", &csrf), ("manifest", &manifest), ("message", "")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location(), "/apps/route-planner?saved=1");
    assert_eq!(ana.head("route-planner").await.1, manifest);

    // Same name again: the editor with the message, nothing created.
    let r = ana
        .post_form(
            "/apps/new",
            &[("csrf", &csrf), ("manifest", &manifest), ("message", "")],
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.body.contains("already exists"));

    // A team the user cannot edit.
    let other = manifest
        .replace("team: fulfilment", "team: gofood")
        .replace("route-planner", "other-app");
    let r = ana
        .post_form("/apps/new", &[("csrf", &csrf), ("manifest", &other)])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body.contains("editor role in team gofood"));
}

#[tokio::test]
async fn static_assets_are_served() {
    let s = TestServer::start().await;
    let anon = s.anonymous();
    let js = anon.get("/static/app.js").await;
    assert_eq!(js.status, StatusCode::OK);
    assert!(
        js.headers["content-type"]
            .to_str()
            .unwrap_or("")
            .starts_with("text/javascript")
    );
    assert!(js.body.contains("/api/preview"));
    let css = anon.get("/static/style.css").await;
    assert_eq!(css.status, StatusCode::OK);
    assert!(
        css.headers["content-type"]
            .to_str()
            .unwrap_or("")
            .starts_with("text/css")
    );
    let root = anon.get("/").await;
    assert_eq!(root.status, StatusCode::SEE_OTHER);
    assert_eq!(root.location(), "/apps");
}
