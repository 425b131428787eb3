//! Browser tests: headless Chromium (Debian `chromium` + `chromium-driver`) driven through
//! WebDriver (fantoccini) against a real server with the demo data. Screenshots of the main
//! pages go to `target/screenshots/` for review; a failing test leaves `FAILED-<test>.png`.
//!
//! Each test has its own chromedriver, browser and server, so they run in parallel. Waits poll
//! the page with a deadline rather than sleeping. Edits in the YAML editor are real keystrokes
//! typed over a selection, like a user double-clicking a value and typing a new one.
//!
//! Without chromedriver the tests are skipped, except under `CI` where they fail.

use std::future::Future;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::elements::Element;
use fantoccini::key::Key;
use fantoccini::{Client, ClientBuilder, Locator};
use ojek_server::AppState;
use ojek_server::bootstrap::DEMO_PASSWORD;
use serde_json::{Value, json};

/// How long a wait may take before the test fails (generous: two cores, several browsers).
const WAIT: Duration = Duration::from_secs(15);

/// A chromedriver process, killed on drop.
struct Driver {
    child: Child,
    port: u16,
    _profile: tempfile::TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn find(bin: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| PathBuf::from(d).join(bin))
        .find(|p| p.is_file())
}

/// Starts chromedriver, or `None` (test skipped) when it is not installed outside CI.
fn driver() -> Option<Driver> {
    let Some(bin) = find("chromedriver") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "chromedriver is not installed (scripts/install-test-deps.sh installs chromium-driver)"
        );
        eprintln!("skipped: chromedriver is not installed");
        return None;
    };
    let port = free_port();
    let child = Command::new(bin)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "chromedriver did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    Some(Driver {
        child,
        port,
        _profile: tempfile::tempdir().expect("profile dir"),
    })
}

/// A headless Chromium session.
async fn browser(d: &Driver) -> Client {
    let profile = d._profile.path().display().to_string();
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": find("chromium").map(|p| p.display().to_string()).unwrap_or_else(|| "/usr/bin/chromium".into()),
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-quic", "--no-first-run", "--window-size=1440,900",
                format!("--user-data-dir={profile}"),
            ],
        }),
    );
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{}", d.port))
        .await
        .expect("WebDriver session")
}

/// A server with the demo data.
async fn server() -> (ojek_server::Server, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("data dir");
    let mut config = ojek_server::Config::new(dir.path().to_path_buf());
    config.listen = ([127, 0, 0, 1], 0).into();
    config.demo = true;
    config.admin_password = Some("admin-password-for-tests".into());
    let s = ojek_server::start(config).await.expect("server starts");
    (s, dir)
}

/// Saves a screenshot under `target/screenshots/NAME.png`.
async fn screenshot(c: &Client, name: &str) {
    let png = c.screenshot().await.expect("screenshot");
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    std::fs::write(dir.join(format!("{name}.png")), png).expect("write screenshot");
}

/// Runs one test: chromedriver, a demo server and a browser for it alone. When `body` panics,
/// a screenshot `FAILED-<test>` is saved first, and the browser is closed either way (killing
/// chromedriver alone would leave Chromium running).
async fn run<F, Fut>(test: &'static str, body: F)
where
    F: FnOnce(Ui) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Some(d) = driver() else { return };
    let (s, _dir) = server().await;
    let c = browser(&d).await;
    let ui = Ui {
        c: c.clone(),
        base: format!("http://{}", s.addr),
        state: s.state.clone(),
    };
    let outcome = tokio::spawn(body(ui)).await;
    if outcome.is_err()
        && let Ok(png) = c.screenshot().await
    {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
        let _ = std::fs::create_dir_all(&dir);
        let _ = std::fs::write(dir.join(format!("FAILED-{test}.png")), png);
    }
    let _ = c.close().await;
    s.stop();
    if let Err(e) = outcome {
        if e.is_panic() {
            std::panic::resume_unwind(e.into_panic());
        }
        panic!("{test}: {e}");
    }
}

/// Ctrl+A (select all), then the modifier released: typing after it replaces the selection.
fn select_all() -> String {
    format!("{}a{}", char::from(Key::Control), char::from(Key::Null))
}

/// One test's browser, with the server it talks to.
#[derive(Clone)]
struct Ui {
    c: Client,
    base: String,
    state: AppState,
}

impl Ui {
    async fn goto(&self, path: &str) {
        if let Err(e) = self.c.goto(&format!("{}{path}", self.base)).await {
            self.fail(&format!("cannot open {path}: {e}")).await;
        }
    }

    async fn shot(&self, name: &str) {
        screenshot(&self.c, name).await;
    }

    /// Fails the test with `why`, the URL and what the page says: its alerts, the editor's
    /// status, problems and manifest, and the start of its text.
    async fn fail(&self, why: &str) -> ! {
        let url = self
            .c
            .current_url()
            .await
            .map(|u| u.to_string())
            .unwrap_or_default();
        let page = self
            .c
            .execute(
                "const parts = [];
                 for (const sel of ['[role=alert]', '#error-page', '#preview-status', '#problems-list']) {
                   for (const e of document.querySelectorAll(sel)) parts.push(`${sel}: ${e.innerText}`);
                 }
                 const m = document.querySelector('#manifest');
                 if (m) parts.push(`#manifest:\\n${m.value}`);
                 const main = document.querySelector('main') || document.body;
                 if (main) parts.push(`page text:\\n${main.innerText.slice(0, 1500)}`);
                 return parts.join('\\n');",
                vec![],
            )
            .await
            .map(|v| v.as_str().unwrap_or_default().to_owned())
            .unwrap_or_else(|e| format!("(cannot read the page: {e})"));
        panic!("{why}\n  at {url}\n{page}");
    }

    /// Runs `script` (a function body; its `arguments` are `args`) in the page.
    async fn js(&self, script: &str, args: Vec<Value>) -> Value {
        match self.c.execute(script, args).await {
            Ok(v) => v,
            Err(e) => self.fail(&format!("script failed: {e}\n{script}")).await,
        }
    }

    /// Polls `script` until it returns something other than null, false or "", and returns that;
    /// fails the test after [`WAIT`].
    async fn until(&self, what: &str, script: &str, args: Vec<Value>) -> Value {
        let deadline = Instant::now() + WAIT;
        loop {
            // A navigation in progress makes scripts fail: that is "not yet".
            if let Ok(v) = self.c.execute(script, args.clone()).await
                && !matches!(&v, Value::Null | Value::Bool(false))
                && v.as_str() != Some("")
            {
                return v;
            }
            if Instant::now() > deadline {
                self.fail(&format!("timed out waiting for {what}")).await;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The element `css`, waiting for it to appear.
    async fn el(&self, css: &str) -> Element {
        match self.c.wait().at_most(WAIT).for_element(Locator::Css(css)).await {
            Ok(e) => e,
            Err(e) => self.fail(&format!("no element {css}: {e}")).await,
        }
    }

    async fn click(&self, css: &str) {
        if let Err(e) = self.el(css).await.click().await {
            self.fail(&format!("cannot click {css}: {e}")).await;
        }
    }

    /// Types `keys` into the element `css` (which gets the focus first).
    async fn type_into(&self, css: &str, keys: &str) {
        if let Err(e) = self.el(css).await.send_keys(keys).await {
            self.fail(&format!("cannot type into {css}: {e}")).await;
        }
    }

    /// Replaces the value of the input `css` as a user does: select all, type.
    async fn fill(&self, css: &str, value: &str) {
        self.type_into(css, &format!("{}{value}", select_all())).await;
        self.until(
            &format!("{css} to read {value:?}"),
            "const e = document.querySelector(arguments[0]); return e && e.value === arguments[1];",
            vec![json!(css), json!(value)],
        )
        .await;
    }

    /// The `textContent` of `css`, or "" when there is no such element.
    async fn text(&self, css: &str) -> String {
        let v = self
            .js(
                "const e = document.querySelector(arguments[0]); return e ? e.textContent : '';",
                vec![json!(css)],
            )
            .await;
        v.as_str().unwrap_or_default().to_string()
    }

    /// The HTTP status of the page shown.
    async fn status(&self) -> i64 {
        let v = self
            .js(
                "return performance.getEntriesByType('navigation')[0].responseStatus;",
                vec![],
            )
            .await;
        v.as_i64().unwrap_or_default()
    }

    async fn login(&self, user: &str, password: &str) {
        self.goto("/login").await;
        self.type_into("#username", user).await;
        self.type_into("#password", password).await;
        self.click("#login").await;
    }

    /// Waits until the browser is at `path` (query ignored).
    async fn wait_for_path(&self, path: &str) {
        self.until(
            &format!("the page {path}"),
            "return location.pathname === arguments[0];",
            vec![json!(path)],
        )
        .await;
    }

    /// The text of the editor's manifest textarea.
    async fn manifest(&self) -> String {
        let v = self
            .js("return document.querySelector('#manifest').value;", vec![])
            .await;
        v.as_str().unwrap_or_default().to_string()
    }

    /// Types `text` with the keyboard into whatever has the focus, where its caret is
    /// (element "send keys" would first move the caret to the end of a textarea).
    async fn keys(&self, text: &str) {
        let mut keys = KeyActions::new("keyboard".into());
        for ch in text.chars() {
            keys = keys
                .then(KeyAction::Down { value: ch })
                .then(KeyAction::Up { value: ch });
        }
        if let Err(e) = self.c.perform_actions(keys).await {
            self.fail(&format!("cannot type {text:?}: {e}")).await;
        }
    }

    /// Selects `old`, the first occurrence after `anchor` in the YAML editor, and types `new`
    /// over it. Returns the (1-based) line of the edit.
    async fn retype_in_yaml(&self, anchor: &str, old: &str, new: &str) -> u64 {
        let found = self
            .js(
                "const [anchor, old, typed] = arguments;
                 const t = document.querySelector('#manifest');
                 const a = t.value.indexOf(anchor);
                 const start = a < 0 ? -1 : t.value.indexOf(old, a);
                 if (start < 0) return null;
                 t.focus();
                 t.setSelectionRange(start, start + old.length);
                 const edited = t.value.slice(0, start) + typed + t.value.slice(start + old.length);
                 return [t.value.slice(0, start).split('\\n').length, edited];",
                vec![json!(anchor), json!(old), json!(new)],
            )
            .await;
        let (Some(line), Some(edited)) = (found[0].as_u64(), found[1].as_str()) else {
            self.fail(&format!("the manifest has no {old:?} after {anchor:?}"))
                .await
        };
        self.keys(new).await;
        self.until(
            &format!("{new:?} typed over {old:?}"),
            "return document.querySelector('#manifest').value === arguments[0];",
            vec![json!(edited)],
        )
        .await;
        line
    }

    /// Waits until the editor's preview is up to date and without errors, both targets render,
    /// and each contains its string; returns the Kubernetes and Nomad texts.
    async fn wait_for_preview(&self, kubernetes: &str, nomad: &str) -> (String, String) {
        self.until(
            &format!("a preview with Kubernetes {kubernetes:?} and Nomad {nomad:?}"),
            "const [k, n] = arguments;
             const s = document.querySelector('#preview-status');
             const ok = s.classList.contains('ok') || s.classList.contains('warning');
             const text = (id) => [...document.querySelectorAll(`#preview-${id} .line`)].map((l) => l.textContent).join('');
             return ok && text('kubernetes').includes(k) && text('nomad').includes(n);",
            vec![json!(kubernetes), json!(nomad)],
        )
        .await;
        (
            self.text("#preview-kubernetes").await,
            self.text("#preview-nomad").await,
        )
    }
}

#[tokio::test]
async fn login_page_refuses_a_wrong_password_then_signs_in() {
    run("login", |ui| async move {
        ui.login("ana", "not-the-password").await;
        let alert = ui.el("[role=alert]").await.text().await.expect("text");
        assert!(alert.contains("Wrong user name or password"), "{alert}");
        ui.shot("login-error").await;
        ui.login("ana", DEMO_PASSWORD).await;
        ui.wait_for_path("/apps").await;
    })
    .await;
}

/// Log in, create an app through the form, see both previews, edit the YAML, explain a line
/// of the output, save.
#[tokio::test]
async fn an_app_is_created_through_the_form_edited_as_yaml_and_saved() {
    run("create", |ui| async move {
        ui.login("ana", DEMO_PASSWORD).await;
        ui.wait_for_path("/apps").await;
        ui.el("#apps-table").await;
        let list = ui.text("#apps-table").await;
        for app in ["payments", "ledger-store", "settlement-report", "driver-location"] {
            assert!(list.contains(app), "ana's apps list lacks {app}: {list}");
        }
        ui.shot("apps-list").await;

        ui.click("#new-app").await;
        ui.wait_for_path("/apps/new").await;
        // Staging renders both targets (Kubernetes, with a nomad section to compare).
        ui.el("#environment")
            .await
            .select_by_value("staging")
            .await
            .expect("staging");
        ui.wait_for_preview("kind: Deployment", "job").await;

        ui.click("#tab-form").await;
        ui.fill("#app-name", "fare-quote").await;
        ui.fill("#app-team", "payments").await;
        ui.fill("#app-description", "Quotes ride fares for the checkout screen.")
            .await;
        ui.fill("#proc-0-name", "api").await;
        let kind = ui.el("#proc-0-kind").await.prop("value").await.expect("kind");
        assert_eq!(kind.as_deref(), Some("service"));
        let image = "registry.gojek.io/payments/fare-quote:1.4.0";
        ui.fill("#proc-0-image", image).await;
        // Adding a row rebuilds the form: fill the new row's fields by their ids.
        ui.click("#proc-0-port-add").await;
        ui.fill("#proc-0-port-1-name", "metrics").await;
        ui.fill("#proc-0-port-1-port", "9090").await;
        ui.click("#proc-0-env-add").await;
        ui.fill("#proc-0-env-0-name", "FARE_CURRENCY").await;
        ui.fill("#proc-0-env-0-value", "IDR").await;
        ui.fill("#proc-0-replicas", "4").await;

        // The form writes into the YAML after a debounce.
        let written = [
            "name: fare-quote",
            "team: payments",
            "description: Quotes ride fares for the checkout screen.",
            image,
            "metrics:",
            "port: 9090",
            "FARE_CURRENCY: IDR",
            "replicas: 4",
        ];
        ui.until(
            "the form to be written into the YAML",
            "return arguments[0].every((s) => document.querySelector('#manifest').value.includes(s));",
            vec![json!(written)],
        )
        .await;
        let (k8s, nomad) = ui
            .wait_for_preview(&format!("image: {image}"), &format!("image = \"{image}\""))
            .await;
        for s in [
            "kind: Deployment",
            "replicas: 4",
            "containerPort: 9090",
            "FARE_CURRENCY",
        ] {
            assert!(k8s.contains(s), "the Kubernetes preview lacks {s:?}:\n{k8s}");
        }
        assert!(nomad.contains("FARE_CURRENCY"), "{nomad}");
        // Show the top of the form (typing left it scrolled to the last field).
        ui.js(
            "document.querySelector('fieldset.app').scrollIntoView({block: 'nearest'});",
            vec![],
        )
        .await;
        ui.shot("editor-form").await;

        ui.click("#tab-yaml").await;
        let text = ui.manifest().await;
        for s in written {
            assert!(text.contains(s), "the YAML tab lacks {s:?}:\n{text}");
        }
        let line = ui.retype_in_yaml("fare-quote:", "1.4.0", "1.5.0").await;
        assert!(
            text.lines()
                .nth(line as usize - 1)
                .is_some_and(|l| l.contains("image:"))
        );
        let image = "registry.gojek.io/payments/fare-quote:1.5.0";
        let (k8s, nomad) = ui
            .wait_for_preview(&format!("image: {image}"), &format!("image = \"{image}\""))
            .await;
        assert!(!k8s.contains("1.4.0") && !nomad.contains("1.4.0"));
        ui.shot("editor-yaml").await;

        // Explain the image line of the Deployment.
        let i = ui
            .js(
                "const l = [...document.querySelectorAll('#preview-kubernetes .line.x')]
                    .find((l) => l.textContent.includes(arguments[0]));
                 return l ? l.dataset.i : null;",
                vec![json!(format!("image: {image}"))],
            )
            .await;
        let Some(i) = i.as_str() else {
            ui.fail("the image line of the Kubernetes preview cannot be explained")
                .await
        };
        ui.click(&format!("#preview-kubernetes .line.x[data-i=\"{i}\"]"))
            .await;
        let explained = ui
            .until(
                "an explanation of the image",
                "const p = document.querySelector('#explain-panel');
                 const x = p.querySelector('.explanation');
                 return !p.hidden && x ? x.innerText : null;",
                vec![],
            )
            .await;
        let explained = explained.as_str().unwrap_or_default();
        assert!(explained.contains(image), "{explained}");
        let origin = ui.text("#explain-panel .explanation .origin-kind").await;
        assert_eq!(origin, "manifest", "{explained}");
        assert!(explained.contains("from processes.api.image"), "{explained}");
        assert!(
            explained.contains(&format!("app.yaml:{line}:")),
            "origin line {line}: {explained}"
        );
        ui.shot("explain").await;
        ui.click("#explain-close").await;

        ui.type_into("#message", "Create fare-quote from the form").await;
        ui.click("#save").await;
        ui.wait_for_path("/apps/fare-quote").await;
        let notice = ui.el("#saved-notice").await.text().await.expect("notice");
        assert!(notice.contains("Saved revision 1"), "{notice}");

        let store = &ui.state.store;
        let app = store.app("fare-quote").await.expect("store").expect("app saved");
        assert_eq!((app.team.as_str(), app.head), ("payments", 1));
        let rev = store
            .revision("fare-quote", 1)
            .await
            .expect("store")
            .expect("revision 1");
        assert_eq!(rev.author, "ana");
        assert_eq!(rev.message, "Create fare-quote from the form");
        assert!(rev.manifest.contains(image) && !rev.manifest.contains('\r'));
        assert!(rev.manifest.contains("FARE_CURRENCY: IDR"), "{}", rev.manifest);
    })
    .await;
}

/// Edit an existing app with keystrokes, save, and find the change in its history and the
/// audit log.
#[tokio::test]
async fn a_saved_edit_shows_in_the_history_diff_and_the_audit_log() {
    run("history", |ui| async move {
        ui.login("ana", DEMO_PASSWORD).await;
        ui.wait_for_path("/apps").await;
        ui.goto("/apps/payments").await;
        ui.wait_for_preview("kind: Deployment", "job").await;
        ui.retype_in_yaml("\n      replicas: ", "3", "5").await;
        // Staging pins the API to one replica; the data-centre production shows the edit.
        ui.el("#environment")
            .await
            .select_by_value("production-dc")
            .await
            .expect("production-dc");
        ui.wait_for_preview("replicas: 5", "count = 5").await;
        ui.type_into("#message", "Scale the payments API to 5 replicas")
            .await;
        ui.click("#save").await;
        let notice = ui.el("#saved-notice").await.text().await.expect("notice");
        assert!(notice.contains("Saved revision 2"), "{notice}");

        ui.click("#history-link").await;
        ui.wait_for_path("/apps/payments/history").await;
        ui.click("#compare-form input[name=from][value=\"1\"]").await;
        ui.click("#compare-form input[name=to][value=\"2\"]").await;
        ui.click("#compare").await;
        ui.until(
            "the comparison of revisions 1 and 2",
            "return location.search.includes('from=1') && location.search.includes('to=2')
                && document.querySelector('table.diff');",
            vec![],
        )
        .await;
        let added = ui.text("table.diff tr.diff-add").await;
        let removed = ui.text("table.diff tr.diff-del").await;
        assert!(added.contains("replicas: 5"), "added: {added}");
        assert!(removed.contains("replicas: 3"), "removed: {removed}");
        assert_eq!(
            ui.js(
                "return document.querySelectorAll('table.diff tr.diff-add, table.diff tr.diff-del').length;",
                vec![]
            )
            .await,
            json!(2)
        );
        let revisions = ui.text("#revisions").await;
        assert!(
            revisions.contains("Scale the payments API to 5 replicas"),
            "{revisions}"
        );
        ui.shot("history-diff").await;

        ui.click("nav.mainnav a[href=\"/audit\"]").await;
        ui.wait_for_path("/audit").await;
        let first = ui
            .until(
                "the save in the audit log",
                "const r = document.querySelector('#audit-table tbody tr');
                 return r && r.dataset.action === 'app.save' ? r.innerText : null;",
                vec![],
            )
            .await;
        let first = first.as_str().unwrap_or_default();
        assert!(first.contains("payments") && first.contains("ana"), "{first}");
        ui.shot("audit").await;

        ui.click("nav.mainnav a[href=\"/settings\"]").await;
        ui.wait_for_path("/settings").await;
        let teams = ui.el("#my-teams").await.text().await.expect("teams");
        assert!(
            teams.contains("payments") && teams.contains("fulfilment"),
            "{teams}"
        );
        ui.shot("settings").await;
    })
    .await;
}

/// Broken YAML is marked on its line, and saving it is refused with the text kept.
#[tokio::test]
async fn malformed_yaml_is_marked_and_not_saved() {
    run("malformed", |ui| async move {
        ui.login("ana", DEMO_PASSWORD).await;
        ui.wait_for_path("/apps").await;
        ui.goto("/apps/ledger-store").await;
        ui.wait_for_preview("kind: StatefulSet", "job").await;
        let before = ui.manifest().await;
        let broken = ui
            .retype_in_yaml(
                "image: ",
                "registry.gojek.io/payments/ledger-store:0.8.0",
                "oops: [unclosed",
            )
            .await;
        let marked = ui
            .until(
                "the YAML error in the problems list",
                "const p = document.querySelector('#problems-list li.problem.error');
                 return p ? p.dataset.line || '?' : null;",
                vec![],
            )
            .await;
        let marked: u64 = marked.as_str().unwrap_or_default().parse().unwrap_or(0);
        assert!(
            marked == broken || marked == broken + 1,
            "error at line {marked}, broken line {broken}: {}",
            ui.text("#problems-list").await
        );
        let gutter = ui.text("#yaml-gutter .gl.error").await;
        assert_eq!(gutter, marked.to_string(), "gutter marks");
        ui.until(
            "the status to report the problem",
            "return document.querySelector('#preview-status').classList.contains('error');",
            vec![],
        )
        .await;

        ui.type_into("#message", "Try a broken image").await;
        ui.click("#save").await;
        let error = ui.el("#save-error").await.text().await.expect("error");
        assert!(error.contains("Nothing was saved"), "{error}");
        assert_eq!(ui.status().await, 422);
        assert!(
            ui.manifest().await.contains("image: oops: [unclosed"),
            "the text is kept"
        );
        let listed = ui.el("#problems-list li.problem.error").await;
        let line = listed.attr("data-line").await.expect("attr").unwrap_or_default();
        assert!(
            line == broken.to_string() || line == (broken + 1).to_string(),
            "{line}"
        );
        // The problems list is below the editor: bring it into the screenshot.
        ui.js(
            "document.querySelector('#problems').scrollIntoView({block: 'center'});",
            vec![],
        )
        .await;
        ui.shot("yaml-error").await;

        let app = ui
            .state
            .store
            .app("ledger-store")
            .await
            .expect("store")
            .expect("app");
        assert_eq!(app.head, 1, "nothing was saved");
        let head = ui.state.store.revision("ledger-store", 1).await.expect("store");
        assert_eq!(head.map(|r| r.manifest), Some(before));
    })
    .await;
}

/// A form value the server refuses to write into the YAML is reported, and saving is refused
/// rather than saving the text without the edit.
#[tokio::test]
async fn a_form_edit_that_cannot_be_applied_is_not_saved() {
    run("form-refused", |ui| async move {
        ui.login("ana", DEMO_PASSWORD).await;
        ui.wait_for_path("/apps").await;
        ui.goto("/apps/ledger-store").await;
        ui.wait_for_preview("kind: StatefulSet", "job").await;
        let before = ui.manifest().await;
        ui.click("#tab-form").await;
        ui.fill("#app-name", "Not_A_Name").await;
        ui.type_into("#message", "Rename through the form").await;
        // Save straight away: the apply is still pending, is refused, and the save with it.
        ui.click("#save").await;
        let error = ui.el("#form-error").await.text().await.expect("error");
        assert!(error.contains("metadata.name"), "{error}");
        let status = ui
            .until(
                "the status to say nothing was saved",
                "const s = document.querySelector('#preview-status').textContent;
                 return s.startsWith('not saved') ? s : null;",
                vec![],
            )
            .await;
        assert!(
            status.as_str().is_some_and(|s| s.contains("fix the form")),
            "{status}"
        );
        let search = ui.js("return location.search;", vec![]).await;
        assert_eq!(search.as_str(), Some(""), "the editor stays: {search}");
        assert_eq!(ui.manifest().await, before, "the YAML is not changed");
        let app = ui
            .state
            .store
            .app("ledger-store")
            .await
            .expect("store")
            .expect("app");
        assert_eq!(app.head, 1, "nothing was saved");
    })
    .await;
}

/// Another team's app is a 404 that looks exactly like an app that does not exist.
#[tokio::test]
async fn another_teams_app_is_not_found() {
    run("refused", |ui| async move {
        ui.login("budi", DEMO_PASSWORD).await;
        ui.wait_for_path("/apps").await;
        let list = ui.el("#apps-table").await.text().await.expect("list");
        assert!(
            list.contains("promo-gateway") && list.contains("order-events-consumer"),
            "{list}"
        );
        assert!(
            !list.contains("ledger-store") && !list.contains("payments"),
            "{list}"
        );

        // What budi sees for an app that does not exist…
        ui.goto("/apps/no-such-app").await;
        let missing = ui.el("#error-page").await.text().await.expect("text");
        // …and for ana's team's app: the same, name aside, with nothing of the app in it.
        ui.goto("/apps/ledger-store").await;
        let refused = ui.el("#error-page").await.text().await.expect("text");
        assert_eq!(ui.status().await, 404);
        assert!(
            refused.contains("There is no app “ledger-store” that you can see"),
            "{refused}"
        );
        assert_eq!(refused.replace("ledger-store", "no-such-app"), missing);
        let source = ui.c.source().await.expect("source");
        for secret in ["payments", "Raft", "registry.gojek.io", "--peers-from-dns"] {
            assert!(!source.contains(secret), "the 404 page shows {secret:?}");
        }
        ui.shot("refused").await;
        for path in ["/apps/ledger-store/history", "/apps/ledger-store/revisions/1"] {
            ui.goto(path).await;
            let text = ui.el("#error-page").await.text().await.expect("text");
            assert_eq!(text, refused, "{path}");
        }

        ui.goto("/no/such/page").await;
        let text = ui.el("#error-page").await.text().await.expect("text");
        assert_eq!(ui.status().await, 404);
        assert!(text.contains("There is no page at this address"), "{text}");
        ui.shot("not-found").await;
    })
    .await;
}

/// Deploying from the UI on the demo's simulated clusters: the environment's card, the plan,
/// the button, the deployment page refreshing itself until the rollout succeeded, and the
/// card saying what runs now.
#[tokio::test]
async fn an_app_is_planned_and_deployed_on_the_demo_cluster() {
    run("deploy", |ui| async move {
        ui.login("ana", DEMO_PASSWORD).await;
        ui.wait_for_path("/apps").await;
        ui.goto("/apps/driver-location").await;
        ui.click("#deploy-link").await;
        ui.wait_for_path("/apps/driver-location/deploy").await;
        let card = ui.text("#env-staging").await;
        assert!(card.contains("kops-staging"), "{card}");
        assert!(card.contains("Not deployed by ojek yet."), "{card}");

        ui.click("#plan-staging").await;
        ui.wait_for_path("/apps/driver-location/deploy/plan").await;
        let plan = ui.text("#plan-text").await;
        assert!(plan.contains("+ Deployment/driver-location-web"), "{plan}");
        assert!(plan.contains("+ Namespace/fulfilment-staging"), "{plan}");
        let button = ui.text("#deploy-button").await;
        assert_eq!(button, "Deploy revision 1 to staging");
        ui.shot("deploy-plan").await;

        ui.click("#deploy-button").await;
        let result = ui
            .until(
                "the deployment to end",
                "const b = document.querySelector('#facts [data-result]');
                 return b && b.dataset.result !== 'running' ? b.dataset.result : null;",
                vec![],
            )
            .await;
        assert_eq!(result, json!("succeeded"));
        let summary = ui.text("#summary").await;
        assert!(summary.starts_with("revision 1 on staging"), "{summary}");
        let rollouts = ui.text("#rollouts").await;
        assert!(rollouts.contains("Deployment/driver-location-web"), "{rollouts}");
        ui.shot("deployment").await;

        ui.click("nav.head-links a[href=\"/apps/driver-location/deploy\"]")
            .await;
        ui.wait_for_path("/apps/driver-location/deploy").await;
        let card = ui.text("#env-staging").await;
        assert!(card.contains("Runs revision 1"), "{card}");
        let history = ui.text("#deployments").await;
        assert!(
            history.contains("succeeded") && history.contains("ana"),
            "{history}"
        );
        ui.shot("deploy-overview").await;

        // Live status: the workload as the simulated cluster has it now.
        ui.click("#live-staging").await;
        ui.wait_for_path("/apps/driver-location/deploy/live").await;
        let live = ui.text("#live-workloads").await;
        assert!(
            live.contains("Deployment/driver-location-web") && live.contains("ready"),
            "{live}"
        );
        ui.shot("deploy-live").await;

        // The platform page: where each environment deploys.
        ui.click("nav.mainnav a[href=\"/platform\"]").await;
        ui.wait_for_path("/platform").await;
        let clusters = ui.text("#clusters-table").await;
        assert!(clusters.contains("staging (kops-staging)"), "{clusters}");
        ui.shot("platform").await;
    })
    .await;
}

/// The logs page: a query with its histogram and results, a click on a field value narrows
/// the query, and live tail shows a line shipped after it was turned on.
#[tokio::test]
async fn logs_are_searched_narrowed_and_tailed() {
    run("logs", |ui| async move {
        use sha2::Digest as _;
        let store = ui.state.store.clone();
        let app = store.app("driver-location").await.expect("store").expect("demo app");
        let secret = "browser-test-log-secret-0123456789abcdef";
        store
            .create_log_secret(
                app.team_id,
                Some("driver-location"),
                "browser",
                &sha2::Sha256::digest(secret.as_bytes()),
                &ojek_store::Actor::system(),
            )
            .await
            .expect("secret");
        let produce = |lines: Value| {
            let url = format!("{}/produce_batch", ui.base);
            async move {
                let resp = reqwest::Client::new()
                    .post(url)
                    .header("X-App-Secret", secret)
                    .header("X-Ojek-Env", "staging")
                    .json(&json!({ "items": lines }))
                    .send()
                    .await
                    .expect("produce");
                assert_eq!(resp.status().as_u16(), 200);
            }
        };
        let lines: Vec<Value> = (0..30)
            .map(|i| {
                json!({
                    "message": if i % 3 == 0 {
                        format!("order {i} failed: <script>alert(1)</script> connection refused\n\tat Location.update(Location.java:42)")
                    } else {
                        format!("order {i} accepted")
                    },
                    "level": if i % 3 == 0 { "error" } else { "info" },
                    "host": if i % 2 == 0 { "node-a" } else { "node-b" },
                    "http": { "status": if i % 3 == 0 { 503 } else { 200 } },
                })
            })
            .collect();
        produce(Value::Array(lines)).await;
        ui.state.logs.clone().expect("logs").store.flush().expect("flush");

        ui.login("ana", DEMO_PASSWORD).await;
        ui.wait_for_path("/apps").await;
        ui.click("nav.mainnav a[href=\"/logs\"]").await;
        ui.wait_for_path("/logs").await;
        ui.el("#log-app").await.select_by_value("driver-location").await.expect("app");
        ui.fill("#log-q", "refused").await;
        ui.click("#log-run").await;
        // The page's first results (before the query ran) must not be counted.
        let rows = ui
            .until(
                "the results",
                "return location.search.includes('refused') && document.querySelector('#log-histogram figcaption') && document.querySelectorAll('#log-results tbody tr').length;",
                vec![],
            )
            .await;
        assert_eq!(rows, json!(10));
        let caption = ui.text("#log-histogram figcaption").await;
        assert!(caption.starts_with("10 matching lines"), "{caption}");
        // The message is text, never markup.
        let html = ui.js("return document.querySelector('#log-results').innerHTML;", vec![]).await;
        assert!(html.as_str().unwrap_or_default().contains("&lt;script&gt;"), "{html}");
        ui.shot("logs-search").await;

        // Expand a line and click its host: the query narrows to it.
        ui.click("#log-results tbody tr:first-child details summary").await;
        ui.click("#log-results tbody tr:first-child dl.log-fields a[href*='host']").await;
        let q = ui
            .until(
                "the narrowed query",
                "return location.search.includes('host') && document.querySelector('#log-q').value;",
                vec![],
            )
            .await;
        let q = q.as_str().unwrap_or_default().to_string();
        assert!(q.starts_with("(refused) AND host:\"node-"), "{q}");
        let narrowed = ui
            .until(
                "the narrowed results",
                "return document.querySelector('#log-q').value.includes('host') && document.querySelectorAll('#log-results tbody tr').length;",
                vec![],
            )
            .await;
        assert_eq!(narrowed, json!(5));

        // Live tail: a line shipped now appears without reloading.
        ui.fill("#log-q", "level:error").await;
        ui.click("#log-run").await;
        ui.until(
            "the level:error results",
            "return location.search.includes('level') && !location.search.includes('refused') && document.querySelector('#log-tail-toggle') !== null;",
            vec![],
        )
        .await;
        ui.click("#log-tail-toggle").await;
        ui.until(
            "the tail to connect",
            "const s = document.querySelector('#log-tail-status'); return s && s.textContent === 'live';",
            vec![],
        )
        .await;
        produce(json!([
            { "message": "tail: payment gateway timeout", "level": "error" },
            { "message": "tail: routine info", "level": "info" }
        ]))
        .await;
        let tailed = ui
            .until(
                "the tailed line",
                "const t = document.querySelector('#log-tail-rows'); return t && t.textContent.includes('payment gateway timeout') && t.textContent;",
                vec![],
            )
            .await;
        assert!(!tailed.as_str().unwrap_or_default().contains("routine info"), "the filter applies");
        ui.shot("logs-tail").await;
    })
    .await;
}

/// The URL of the demo's simulated Kubernetes cluster for `context` (from the kubeconfig
/// `--demo` writes into the data directory).
fn demo_cluster_url(state: &AppState, context: &str) -> String {
    let path = state.config.data_dir.join("demo/kubeconfig.yaml");
    let text = std::fs::read_to_string(&path).expect("the demo kubeconfig");
    let mut lines = text
        .lines()
        .skip_while(|l| l.trim() != format!("- name: {context}"));
    lines.next();
    lines
        .next()
        .and_then(|l| l.split("server: \"").nth(1))
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("no server for {context} in {text}"))
        .to_string()
}

/// The demo's experiment page: from the app's editor to its experiments, the running
/// experiment's variants side by side with error rates that agree with their counts, the
/// environment picker, a variant's errors on the Logs page; a condition message with markup
/// in it (as anyone who can write the Experiment's status could set) is shown as text.
#[tokio::test]
async fn the_demo_experiment_shows_its_variants_side_by_side() {
    run("experiments", |ui| async move {
        ui.login("budi", DEMO_PASSWORD).await;
        ui.wait_for_path("/apps").await;
        ui.goto("/apps/promo-gateway").await;
        ui.click("#experiments-link").await;
        ui.wait_for_path("/apps/promo-gateway/experiments").await;
        let card = "#experiment-cashback-engine";
        ui.el(card).await;
        let head = ui.text(&format!("{card} .experiment-head")).await;
        assert!(head.contains("Running") && head.contains("baseline=80 rules-v2=10 rules-v2-cache=10"), "{head}");
        let picker = ui.text("#env-picker").await;
        assert!(picker.contains("staging") && picker.contains("production"), "{picker}");

        // One row per variant, the baseline first; each error rate is its errors over its
        // lines. The demo's last hour of logs is written in the background at start: reload
        // until it is searchable.
        let read_rows = || async {
            let rows = ui
                .js(
                    "return [...document.querySelectorAll(arguments[0] + ' table.variants tbody tr')].map((r) => ({
                       name: r.dataset.variant,
                       weight: r.querySelector('.variant-weight').textContent,
                       ready: r.querySelector('.variant-ready').textContent,
                       lines: r.querySelector('.variant-lines').textContent,
                       errors: r.querySelector('.variant-errors').textContent,
                       rate: r.querySelector('.variant-error-rate').textContent,
                       logs: r.querySelector('a.variant-logs').getAttribute('href'),
                     }));",
                    vec![json!(card)],
                )
                .await;
            rows.as_array().cloned().unwrap_or_default()
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut rows = read_rows().await;
        while rows.iter().any(|r| r["lines"] == "0") {
            assert!(Instant::now() < deadline, "the demo logs never showed: {rows:?}");
            tokio::time::sleep(Duration::from_millis(500)).await;
            ui.state.logs.clone().expect("logs").store.flush().expect("flush");
            ui.goto("/apps/promo-gateway/experiments").await;
            ui.el(card).await;
            rows = read_rows().await;
        }
        let names: Vec<&str> = rows.iter().filter_map(|r| r["name"].as_str()).collect();
        assert_eq!(names, ["baseline", "rules-v2", "rules-v2-cache"]);
        for r in &rows {
            let field = |k: &str| r[k].as_str().unwrap_or_default().to_string();
            let lines: u64 = field("lines").parse().unwrap_or_else(|_| panic!("lines: {r}"));
            let errors: u64 = field("errors").parse().unwrap_or_else(|_| panic!("errors: {r}"));
            assert!(lines > 0, "the demo trickle wrote lines of every variant: {r}");
            assert_eq!(field("rate"), format!("{:.1} %", errors as f64 / lines as f64 * 100.0), "{r}");
            assert!(field("logs").starts_with("/logs?q="), "{r}");
        }
        assert!(rows[0]["weight"].as_str().unwrap_or_default().starts_with("80 %"), "{rows:?}");
        assert!(rows[2]["ready"].as_str().unwrap_or_default().contains("2 / 2"), "{rows:?}");
        ui.shot("experiments").await;

        // Production has none: the empty state says how to start one; an environment that
        // deploys to Nomad says why there are none.
        ui.click("#env-picker a[data-environment='production']").await;
        let empty = ui
            .until(
                "the empty state",
                "return document.querySelector('#experiments-empty')?.textContent;",
                vec![],
            )
            .await;
        let empty = empty.as_str().unwrap_or_default();
        assert!(
            empty.contains("No experiments of promo-gateway in production") && empty.contains("docs/experiments.md"),
            "{empty}"
        );
        assert!(ui.text("#experiment-example").await.contains("namespace: promotions-production"));
        ui.shot("experiments-empty").await;
        ui.goto("/apps/promo-gateway/experiments?environment=production-dc").await;
        let error = ui.text("#experiments-error").await;
        assert!(error.contains("experiments run on Kubernetes"), "{error}");
        assert_eq!(ui.status().await, 422);
        ui.goto("/apps/promo-gateway/experiments").await;

        // A variant's errors on the Logs page.
        ui.click(&format!("{card} tr[data-variant='rules-v2-cache'] a.variant-logs")).await;
        ui.wait_for_path("/logs").await;
        let q = ui
            .until("the logs query", "return document.querySelector('#log-q')?.value;", vec![])
            .await;
        assert_eq!(q, json!("variant:rules-v2-cache level:error"));
        assert_eq!(ui.el("#log-app").await.prop("value").await.ok().flatten().as_deref(), Some("promo-gateway"));

        // A hostile condition message is text, never markup.
        let hostile = "<img src=x onerror=\"window.pwned=1\"><script>window.pwned=2</script> & done";
        let url = format!(
            "{}/apis/ojek.dev/v1alpha1/namespaces/promotions-staging/experiments/cashback-engine/status",
            demo_cluster_url(&ui.state, "kops-staging")
        );
        let resp = reqwest::Client::new()
            .patch(url)
            .header("content-type", "application/merge-patch+json")
            .body(
                json!({"status": {"conditions": [{"type": "Ready", "status": "False", "reason": "Broken<b>",
                    "message": hostile, "lastTransitionTime": "2026-01-01T00:00:00Z"}]}})
                .to_string(),
            )
            .send()
            .await
            .expect("patch the status");
        assert!(resp.status().is_success(), "{}", resp.text().await.unwrap_or_default());
        ui.goto("/apps/promo-gateway/experiments?environment=staging").await;
        let message = ui
            .until(
                "the condition",
                "return document.querySelector(arguments[0] + ' tr[data-condition=Ready] .condition-message')?.textContent;",
                vec![json!(card)],
            )
            .await;
        assert_eq!(message, json!(hostile));
        assert_eq!(ui.text(&format!("{card} tr[data-condition=Ready] .condition-reason")).await, "Broken<b>");
        let html = ui
            .js("return document.querySelector(arguments[0] + ' table.conditions').innerHTML;", vec![json!(card)])
            .await;
        let html = html.as_str().unwrap_or_default();
        assert!(html.contains("&lt;img src=x") && html.contains("&lt;script&gt;"), "{html}");
        let injected = ui
            .js(
                "return [document.querySelectorAll('main img, main script').length, typeof window.pwned];",
                vec![],
            )
            .await;
        assert_eq!(injected, json!([0, "undefined"]));
        ui.shot("experiments-hostile-condition").await;
    })
    .await;
}
