//! API latency benchmark: stores N apps (default 10,000), then measures p50/p99 of the app
//! list (first page, a search, a team filter) and of the editor's render preview, over HTTP
//! on loopback, one request at a time.
//!
//! `cargo run --release -p ojek-server --example api_latency -- [sqlite|POSTGRES_URL] [N] [REQUESTS]`
//! (`bench/api-latency.sh` runs it for SQLite and a throwaway PostgreSQL).

use std::time::{Duration, Instant};

use ojek_server::auth::{TOKEN_PREFIX, secret_hash};
use ojek_store::{Actor, NewRevision, Role};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let db = args.get(1).cloned().unwrap_or_else(|| "sqlite".into());
    let n: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(10_000);
    let requests: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(500);
    let dir = tempfile::tempdir()?;
    let mut config = ojek_server::Config::new(dir.path().to_path_buf());
    config.listen = ([127, 0, 0, 1], 0).into();
    config.admin_password = Some("bench-password-123".into());
    if db != "sqlite" {
        config.database_url = Some(db.clone());
    }
    let server = ojek_server::start(config).await?;
    let store = server.state.store.clone();
    let actor = Actor::system();

    // Teams, a user in half of them, a token.
    let mut teams = Vec::new();
    for i in 0..20 {
        teams.push(store.create_team(&format!("team-{i:02}"), &actor).await?);
    }
    let hash = ojek_server::auth::hash_password("bench-password-123".into())
        .await
        .map_err(|e| anyhow::anyhow!(e.message))?;
    let user = store.create_user("bench", "Bench", &hash, false, &actor).await?;
    for t in &teams[..10] {
        store
            .set_member(t.id, user.id, Some(Role::Editor), &actor)
            .await?;
    }
    let token = format!("{TOKEN_PREFIX}bench-token-0123456789");
    store
        .create_token(
            "bench",
            user.id,
            teams[0].id,
            Role::Editor,
            &secret_hash(&token),
            None,
            &actor,
        )
        .await?;

    // A platform administrator's browser session: sees all apps.
    let session = "bench-session-0123456789";
    let admin = store
        .user_by_name("admin")
        .await?
        .ok_or_else(|| anyhow::anyhow!("no admin"))?
        .0;
    store
        .create_session(&secret_hash(session), admin.id, "csrf", i64::MAX / 2)
        .await?;

    let template = include_str!("../../../examples/settlement-report.yaml");
    let t0 = Instant::now();
    for i in 0..n {
        let team = &teams[i % teams.len()];
        let name = format!("app-{i:05}");
        let manifest = template
            .replacen("name: settlement-report", &format!("name: {name}"), 1)
            .replacen("team: payments", &format!("team: {}", team.name), 1);
        let new = NewRevision {
            app: name,
            team_id: team.id,
            description: format!("Benchmark app {i} of team {}", team.name),
            manifest,
            files: Default::default(),
            message: "seed".into(),
            log_settings: Default::default(),
            expected_team_id: None,
            also_audit: None,
        };
        store.create_app(&new, &actor).await?;
    }
    let seeded = t0.elapsed();

    let http = reqwest::Client::new();
    let base = format!("http://{}", server.addr);
    let preview_body = serde_json::json!({
        "manifest": include_str!("../../../examples/driver-location.yaml"),
        "environment": "production",
    });
    let with_token = |r: reqwest::RequestBuilder| r.bearer_auth(&token);
    let as_admin = |r: reqwest::RequestBuilder| r.header("cookie", format!("ojek_session={session}"));
    let cases: Vec<(&str, reqwest::RequestBuilder)> = vec![
        (
            "list, admin, first page of 50",
            as_admin(http.get(format!("{base}/api/apps?limit=50"))),
        ),
        (
            "list, admin, offset 4950",
            as_admin(http.get(format!("{base}/api/apps?limit=50&offset=4950"))),
        ),
        (
            "list, admin, search q=app-0123",
            as_admin(http.get(format!("{base}/api/apps?q=app-0123"))),
        ),
        (
            "list, team token, first page",
            with_token(http.get(format!("{base}/api/apps?limit=50"))),
        ),
        (
            "preview, driver-location, both targets",
            with_token(http.post(format!("{base}/api/preview")).json(&preview_body)),
        ),
    ];
    println!(
        "database: {}; apps stored: {n} (seeded in {:.1} s); {requests} requests per case, sequential",
        if db == "sqlite" { "SQLite" } else { "PostgreSQL" },
        seeded.as_secs_f64()
    );
    println!("{:<46} {:>9} {:>9} {:>9}", "case", "p50 ms", "p99 ms", "max ms");
    for (label, req) in cases {
        let mut times = Vec::with_capacity(requests);
        for i in 0..requests + 20 {
            let r = req
                .try_clone()
                .ok_or_else(|| anyhow::anyhow!("cannot clone request"))?;
            let start = Instant::now();
            let resp = r.send().await?;
            let status = resp.status();
            let body = resp.bytes().await?;
            let took = start.elapsed();
            if !status.is_success() {
                anyhow::bail!("{label}: {status}: {}", String::from_utf8_lossy(&body));
            }
            if i >= 20 {
                times.push(took); // the first 20 warm caches and connections
            }
        }
        times.sort();
        let pct = |p: f64| times[((times.len() as f64 * p).ceil() as usize).saturating_sub(1)];
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        println!(
            "{label:<52} {:>9.2} {:>9.2} {:>9.2}",
            ms(pct(0.50)),
            ms(pct(0.99)),
            ms(times[times.len() - 1])
        );
    }
    server.stop();
    Ok(())
}
