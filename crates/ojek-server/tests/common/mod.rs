//! Test harness shared by the server's integration tests: start a real server (SQLite in a
//! temporary directory, or a fresh database on the PostgreSQL server named by
//! `OJEK_TEST_POSTGRES_URL`), set up users, teams, memberships, sessions and API tokens through
//! the store, and call the server over HTTP as one of them.
//!
//! PostgreSQL: when `OJEK_TEST_POSTGRES_URL` is unset, PostgreSQL tests are skipped with a note,
//! except when `CI` is set: then they fail, so CI never silently skips an engine.
//! `eval "$(bash scripts/postgres.sh start)"` starts a throwaway server and exports the URL.

// Each test binary uses a different part of the harness.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use ojek_server::auth::{TOKEN_PREFIX, hash_password, now_ms, random_secret, secret_hash};
use ojek_server::{Config, Server};
use ojek_store::{Actor, Role, Store, Team, User};
use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use sqlx::{Connection, Executor};

pub mod clusters;

/// The first administrator's user name (created by the server on first start).
pub const ADMIN: &str = "admin";
/// The first administrator's password.
pub const ADMIN_PASSWORD: &str = "admin-password-for-tests";
/// The password of every user the harness creates.
pub const PASSWORD: &str = "user-password-for-tests";
/// The environment variable naming an admin URL of a throwaway PostgreSQL server.
pub const POSTGRES_URL_VAR: &str = "OJEK_TEST_POSTGRES_URL";

/// Database engine of a test server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Db {
    /// A SQLite file in a temporary directory.
    Sqlite,
    /// A fresh database on the server named by `OJEK_TEST_POSTGRES_URL`.
    Postgres,
}

/// Runs scenarios on both engines: `both!(create_app)` expands to a module `create_app` with
/// the tests `sqlite` and `postgres`, each calling `create_app(Db::…)`. Use with
/// `#[macro_use] mod common;` at the test crate's root.
macro_rules! both {
    ($($scenario:ident),* $(,)?) => {
        $(
            mod $scenario {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$scenario($crate::common::Db::Sqlite).await
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::$scenario($crate::common::Db::Postgres).await
                }
            }
        )*
    };
}

/// True when running in CI (tests must not skip there).
pub fn in_ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty())
}

/// Skips a test (prints why), or fails it in CI.
pub fn skip(why: &str) {
    assert!(
        !in_ci(),
        "{why}, and CI is set: this test must not be skipped in CI"
    );
    eprintln!("SKIPPED: {why}");
}

/// How to start a test server.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Load the demo teams, users and apps.
    pub demo: bool,
    /// Largest request body (default: the server's default, 1 MiB).
    pub max_body_bytes: Option<usize>,
    /// Use this database instead of a fresh one (e.g. a [`PgInstance`] of the test's own).
    pub database_url: Option<String>,
    /// Archive expired log days here (`--logs-archive`).
    pub logs_archive: Option<std::sync::Arc<ojek_logstore::archive::Archive>>,
}

/// A running server on `127.0.0.1:<random port>`, stopped (and its PostgreSQL database
/// dropped) when dropped.
pub struct TestServer {
    /// The server.
    pub server: Server,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// The engine.
    pub db: Db,
    http: reqwest::Client,
    pg_database: Option<PgDatabase>,
    _dir: tempfile::TempDir,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.server.stop();
    }
}

/// A server with default options; `None` (after a note) when the engine is not available.
pub async fn server(db: Db, demo: bool) -> Option<TestServer> {
    server_with(
        db,
        Options {
            demo,
            ..Options::default()
        },
    )
    .await
}

/// A server; `None` (after a note) when PostgreSQL is wanted but `OJEK_TEST_POSTGRES_URL` is
/// unset outside CI.
pub async fn server_with(db: Db, options: Options) -> Option<TestServer> {
    let dir = tempfile::tempdir().expect("temporary data directory");
    let mut pg_database = None;
    let database_url = match (&options.database_url, db) {
        (Some(url), _) => Some(url.clone()),
        (None, Db::Sqlite) => None,
        (None, Db::Postgres) => {
            let Some(admin_url) = std::env::var(POSTGRES_URL_VAR).ok().filter(|u| !u.is_empty()) else {
                skip(&format!(
                    "PostgreSQL test: {POSTGRES_URL_VAR} is unset (eval \"$(bash scripts/postgres.sh start)\")"
                ));
                return None;
            };
            let created = PgDatabase::create(&admin_url).await;
            let url = created.url.clone();
            pg_database = Some(created);
            Some(url)
        }
    };
    let mut config = Config::new(dir.path().to_path_buf());
    config.listen = SocketAddr::from(([127, 0, 0, 1], 0));
    config.admin_password = Some(ADMIN_PASSWORD.to_string());
    config.demo = options.demo;
    config.database_url = database_url;
    if let Some(limit) = options.max_body_bytes {
        config.max_body_bytes = limit;
    }
    config.logs_archive = options.logs_archive.clone();
    let server = ojek_server::start(config).await.expect("the server starts");
    let base = format!("http://{}", server.addr);
    Some(TestServer {
        server,
        base,
        db,
        http: http_client(),
        pg_database,
        _dir: dir,
    })
}

fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(60))
        .build()
        .expect("HTTP client")
}

/// The argon2 hash of [`PASSWORD`], computed once (hashing is slow in debug builds).
async fn password_hash() -> String {
    static HASH: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    HASH.get_or_init(|| async {
        hash_password(PASSWORD.to_string())
            .await
            .expect("hash the test password")
    })
    .await
    .clone()
}

impl TestServer {
    /// The store the server uses.
    pub fn store(&self) -> &Store {
        &self.server.state.store
    }

    /// `base` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A client without credentials.
    pub fn anonymous(&self) -> Client {
        self.client(Auth::None)
    }

    /// A client with these credentials.
    pub fn client(&self, auth: Auth) -> Client {
        Client {
            base: self.base.clone(),
            http: self.http.clone(),
            auth,
        }
    }

    /// A client sending `Authorization: Bearer <secret>`.
    pub fn bearer(&self, secret: &str) -> Client {
        Client {
            auth: Auth::Bearer(secret.to_string()),
            ..self.anonymous()
        }
    }

    /// Creates a user with [`PASSWORD`].
    pub async fn user(&self, username: &str, is_admin: bool) -> User {
        self.store()
            .create_user(
                username,
                username,
                &password_hash().await,
                is_admin,
                &Actor::system(),
            )
            .await
            .expect("create user")
    }

    /// The user named `username`.
    pub async fn user_named(&self, username: &str) -> User {
        self.store()
            .user_by_name(username)
            .await
            .expect("read user")
            .unwrap_or_else(|| panic!("no user {username}"))
            .0
    }

    /// Creates a team.
    /// Stores a log producer secret (by its SHA-256, as the server does) of `team`, for `app`
    /// or, with `None`, for every app of the team.
    pub async fn log_secret(&self, team: &Team, app: Option<&str>, name: &str, secret: &str) {
        use sha2::Digest;
        self.store()
            .create_log_secret(
                team.id,
                app,
                name,
                &sha2::Sha256::digest(secret.as_bytes()),
                &Actor::system(),
            )
            .await
            .expect("log secret");
    }

    pub async fn team(&self, name: &str) -> Team {
        self.store()
            .create_team(name, &Actor::system())
            .await
            .expect("create team")
    }

    /// Gives a user a role in a team.
    pub async fn member(&self, team: &Team, user: &User, role: Role) {
        self.store()
            .set_member(team.id, user.id, Some(role), &Actor::system())
            .await
            .expect("set member");
    }

    /// Creates an API token (`expires_at` in Unix ms) and returns its secret.
    pub async fn token(&self, user: &User, team: &Team, role: Role, expires_at: Option<i64>) -> String {
        let secret = format!("{TOKEN_PREFIX}{}", random_secret());
        let name = format!("test-{}", &random_secret()[..8]);
        self.store()
            .create_token(
                &name,
                user.id,
                team.id,
                role,
                &secret_hash(&secret),
                expires_at,
                &Actor::system(),
            )
            .await
            .expect("create token");
        secret
    }

    /// A token's id by its secret.
    pub async fn token_id(&self, secret: &str) -> i64 {
        self.store()
            .token_by_hash(&secret_hash(secret), now_ms())
            .await
            .expect("read token")
            .expect("the token is live")
            .id
    }

    /// A signed-in browser session of `user` (created through the store), with its CSRF token.
    pub async fn session(&self, user: &User) -> Client {
        let token = random_secret();
        let csrf = random_secret();
        self.store()
            .create_session(&secret_hash(&token), user.id, &csrf, now_ms() + 3_600_000)
            .await
            .expect("create session");
        Client {
            auth: Auth::Session {
                cookie: token,
                csrf: Some(csrf),
            },
            ..self.anonymous()
        }
    }

    /// The first administrator's session.
    pub async fn admin_session(&self) -> Client {
        let admin = self.user_named(ADMIN).await;
        self.session(&admin).await
    }

    /// Signs in through the login form (`POST /login`) and returns the session, with its CSRF
    /// token read from the `csrf-token` meta tag of a UI page, as the UI's scripts read it (from
    /// the store when the page has none).
    pub async fn login(&self, username: &str, password: &str) -> Client {
        let resp = self
            .http
            .post(self.url("/login"))
            .form(&[("username", username), ("password", password)])
            .send()
            .await
            .expect("POST /login");
        assert!(
            resp.status().is_redirection(),
            "login of {username} failed: {}",
            resp.status()
        );
        let cookie = resp
            .headers()
            .get_all(reqwest::header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|v| v.strip_prefix(&format!("{}=", ojek_server::auth::SESSION_COOKIE)))
            .and_then(|v| v.split(';').next())
            .expect("a session cookie")
            .to_string();
        let signed_in = self.client(Auth::Session {
            cookie: cookie.clone(),
            csrf: None,
        });
        let page = signed_in.get("/apps").await;
        let csrf = match csrf_meta(&page.text) {
            Some(csrf) => csrf,
            None => {
                self.store()
                    .session(&secret_hash(&cookie), now_ms())
                    .await
                    .expect("read session")
                    .expect("the session exists")
                    .csrf
            }
        };
        self.client(Auth::Session {
            cookie,
            csrf: Some(csrf),
        })
    }
}

/// The `content` of a page's `<meta name="csrf-token" content="…">`.
pub fn csrf_meta(html: &str) -> Option<String> {
    let at = html.find("name=\"csrf-token\"")?;
    let tag_start = html[..at].rfind('<')?;
    let tag = &html[tag_start..at + html[at..].find('>')?];
    let value = tag.split("content=\"").nth(1)?.split('"').next()?;
    Some(value.replace("&amp;", "&").replace("&quot;", "\"")).filter(|v| !v.is_empty())
}

/// How a [`Client`] authenticates.
#[derive(Clone, Debug)]
pub enum Auth {
    /// Not at all.
    None,
    /// `Authorization: Bearer <secret>`.
    Bearer(String),
    /// The session cookie, and the CSRF token sent on changes (`None`: not sent).
    Session {
        /// Value of the `ojek_session` cookie.
        cookie: String,
        /// The session's CSRF token.
        csrf: Option<String>,
    },
}

/// An HTTP client acting as one caller.
#[derive(Clone, Debug)]
pub struct Client {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    http: reqwest::Client,
    /// Credentials sent with every request.
    pub auth: Auth,
}

/// A response, read whole.
#[derive(Debug)]
pub struct Resp {
    /// Status.
    pub status: StatusCode,
    /// Headers.
    pub headers: HeaderMap,
    /// Body text.
    pub text: String,
}

impl Resp {
    /// The body as JSON (panics with the body when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|e| panic!("{} response is not JSON ({e}): {}", self.status, self.text))
    }

    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts the status (showing the body when it differs) and returns the JSON body.
    #[track_caller]
    pub fn expect(&self, status: u16) -> Value {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.text
        );
        if self.text.is_empty() {
            Value::Null
        } else {
            self.json()
        }
    }

    /// Asserts an API error: the status, a JSON body with this `code` and a non-empty message.
    #[track_caller]
    pub fn expect_error(&self, status: u16, code: &str) -> Value {
        let body = self.expect(status);
        assert_eq!(body["code"], code, "error code; body: {body}");
        assert!(
            body["error"].as_str().is_some_and(|m| !m.is_empty()),
            "an error message; body: {body}"
        );
        body
    }
}

impl Client {
    /// The same caller without the CSRF token (sessions only).
    pub fn without_csrf(&self) -> Client {
        let mut c = self.clone();
        if let Auth::Session { csrf, .. } = &mut c.auth {
            *csrf = None;
        }
        c
    }

    /// A request with this caller's credentials.
    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let mut headers = HeaderMap::new();
        match &self.auth {
            Auth::None => {}
            Auth::Bearer(secret) => {
                headers.insert(
                    reqwest::header::AUTHORIZATION,
                    HeaderValue::from_str(&format!("Bearer {secret}")).expect("header value"),
                );
            }
            Auth::Session { cookie, csrf } => {
                headers.insert(
                    reqwest::header::COOKIE,
                    HeaderValue::from_str(&format!("{}={cookie}", ojek_server::auth::SESSION_COOKIE))
                        .expect("header value"),
                );
                if let Some(csrf) = csrf {
                    headers.insert(
                        ojek_server::auth::CSRF_HEADER,
                        HeaderValue::from_str(csrf).expect("header value"),
                    );
                }
            }
        }
        self.http
            .request(method, format!("{}{path}", self.base))
            .headers(headers)
    }

    /// Sends a request and reads the whole response.
    pub async fn send(&self, req: reqwest::RequestBuilder) -> Resp {
        let resp = req.send().await.expect("send the request");
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await.expect("read the response body");
        Resp {
            status,
            headers,
            text,
        }
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> Resp {
        self.send(self.request(Method::GET, path)).await
    }

    /// `DELETE path`.
    pub async fn delete(&self, path: &str) -> Resp {
        self.send(self.request(Method::DELETE, path)).await
    }

    /// `method path` with a JSON body.
    pub async fn json(&self, method: Method, path: &str, body: &Value) -> Resp {
        self.send(self.request(method, path).json(body)).await
    }

    /// `POST path` with a JSON body.
    pub async fn post(&self, path: &str, body: &Value) -> Resp {
        self.json(Method::POST, path, body).await
    }

    /// `PUT path` with a JSON body.
    pub async fn put(&self, path: &str, body: &Value) -> Resp {
        self.json(Method::PUT, path, body).await
    }

    /// `method path` with a raw body and content type.
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> Resp {
        self.send(
            self.request(method, path)
                .header(reqwest::header::CONTENT_TYPE, content_type)
                .body(body),
        )
        .await
    }
}

/// A fresh database on a PostgreSQL server, dropped (connections and all) when this is dropped.
struct PgDatabase {
    admin_url: String,
    name: String,
    url: String,
}

impl PgDatabase {
    async fn create(admin_url: &str) -> PgDatabase {
        let name = format!("ojek_api_{:016x}", rand::random::<u64>());
        let mut conn = sqlx::PgConnection::connect(admin_url)
            .await
            .unwrap_or_else(|e| panic!("cannot connect to {POSTGRES_URL_VAR}: {e}"));
        conn.execute(format!("CREATE DATABASE \"{name}\"").as_str())
            .await
            .unwrap_or_else(|e| panic!("cannot create database {name}: {e}"));
        let _ = conn.close().await;
        PgDatabase {
            admin_url: admin_url.to_string(),
            url: with_database(admin_url, &name),
            name,
        }
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let sql = format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name);
        // Drop may run inside the test's runtime: use a runtime of our own on another thread.
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            rt.block_on(async {
                let mut conn = sqlx::PgConnection::connect(&admin_url).await.ok()?;
                conn.execute(sql.as_str()).await.ok()?;
                conn.close().await.ok()
            })
        })
        .join();
        if !matches!(dropped, Ok(Some(()))) {
            eprintln!("note: could not drop test database {}", self.name);
        }
    }
}

/// `url` with its database (path) replaced by `database`; the query is kept.
pub fn with_database(url: &str, database: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("postgres", url));
    let (before_query, query) = match rest.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (rest, None),
    };
    let authority = before_query.split('/').next().unwrap_or(before_query);
    match query {
        Some(q) => format!("{scheme}://{authority}/{database}?{q}"),
        None => format!("{scheme}://{authority}/{database}"),
    }
}

/// A PostgreSQL server of a test's own (initdb + pg_ctl on a free port in a temporary
/// directory), for tests that stop and start the database. Run as the `postgres` user when the
/// tests run as root (PostgreSQL refuses to run as root). Stopped when dropped.
pub struct PgInstance {
    bin: PathBuf,
    dir: tempfile::TempDir,
    /// The TCP port it listens on (127.0.0.1).
    pub port: u16,
    as_postgres: bool,
}

impl PgInstance {
    /// Creates and starts an instance; `None` when PostgreSQL's server binaries are not found.
    pub fn start() -> Option<PgInstance> {
        let bin = postgres_bindir()?;
        let as_postgres = is_root();
        let dir = tempfile::Builder::new()
            .prefix("ojek-pg-")
            .tempdir()
            .expect("temporary directory");
        if as_postgres {
            // The postgres user must be able to create the data directory and the socket.
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777))
                .expect("make the directory writable for postgres");
        }
        let port = free_port();
        let instance = PgInstance {
            bin,
            dir,
            port,
            as_postgres,
        };
        let data = instance.data_dir();
        instance.run(
            "initdb",
            &[
                "-D",
                &data.to_string_lossy(),
                "-U",
                "postgres",
                "-A",
                "trust",
                "--no-sync",
                "-E",
                "UTF8",
            ],
        );
        instance.start_again();
        Some(instance)
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// The URL of a database of this instance.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// Starts the server (again) and waits until it accepts connections.
    pub fn start_again(&self) {
        let data = self.data_dir();
        let log = self.dir.path().join("postgres.log");
        let opts = format!(
            "-c listen_addresses=127.0.0.1 -p {} -k {} -c fsync=off",
            self.port,
            self.dir.path().display()
        );
        self.run(
            "pg_ctl",
            &[
                "-D",
                &data.to_string_lossy(),
                "-l",
                &log.to_string_lossy(),
                "-o",
                &opts,
                "-w",
                "-t",
                "60",
                "start",
            ],
        );
    }

    /// Stops the server at once (`pg_ctl stop -m immediate`: like a crash or a lost host).
    pub fn stop_immediately(&self) {
        let data = self.data_dir();
        self.run(
            "pg_ctl",
            &["-D", &data.to_string_lossy(), "-m", "immediate", "-w", "stop"],
        );
    }

    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(path);
            c
        } else {
            Command::new(path)
        }
    }

    fn run(&self, program: &str, args: &[&str]) {
        let out = self
            .command(program)
            .args(args)
            .current_dir(self.dir.path())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
        if !out.status.success() {
            let log = std::fs::read_to_string(self.dir.path().join("postgres.log")).unwrap_or_default();
            panic!(
                "{program} {args:?} failed ({}):\n{}{}\nserver log:\n{log}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

impl Drop for PgInstance {
    fn drop(&mut self) {
        let data = self.data_dir();
        let _ = self
            .command("pg_ctl")
            .args(["-D", &data.to_string_lossy(), "-m", "immediate", "-w", "stop"])
            .output();
    }
}

/// Where PostgreSQL's server binaries are: `/usr/lib/postgresql/<newest>/bin` (Debian),
/// `pg_config --bindir`, or `PATH`.
fn postgres_bindir() -> Option<PathBuf> {
    let has_tools = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    let mut debian: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse::<u32>().ok()?;
            Some((version, e.path().join("bin")))
        })
        .filter(|(_, dir)| has_tools(dir))
        .collect();
    debian.sort();
    if let Some((_, dir)) = debian.pop() {
        return Some(dir);
    }
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output()
        && out.status.success()
    {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if has_tools(&dir) {
            return Some(dir);
        }
    }
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .find(|dir| has_tools(dir))
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// A TCP port that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// The driver-location example's manifest, the app most tests use.
pub fn driver_location_manifest() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/driver-location.yaml"
    ))
    .expect("example")
}

/// Creates driver-location (revision 1) through `client`'s `POST /api/apps`.
pub async fn create_driver_location(client: &Client) {
    client
        .post(
            "/api/apps",
            &serde_json::json!({ "manifest": driver_location_manifest(), "message": "first" }),
        )
        .await
        .expect(201);
}
