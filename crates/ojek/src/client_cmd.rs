//! `ojek apps …`: work with apps stored on an ojek server (`--server URL`, `--token`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use ojek_core::spec::FileReader;
use serde_json::{Value, json};

use crate::files::{FsReader, read_text};

/// Where the server is.
#[derive(clap::Args)]
pub struct ServerArgs {
    /// The ojek server's URL.
    #[arg(
        long,
        env = "OJEK_SERVER",
        global = true,
        default_value = "http://127.0.0.1:8080"
    )]
    pub(crate) server: String,
    /// API token (create one under Settings in the web UI).
    #[arg(long, env = "OJEK_TOKEN", global = true, hide_env_values = true)]
    pub(crate) token: Option<String>,
}

/// `ojek apps` subcommands.
#[derive(clap::Subcommand)]
pub enum AppsCommand {
    /// List apps (those of the token's team).
    List {
        /// Substring of the name or description.
        #[arg(long)]
        query: Option<String>,
        /// Only this team.
        #[arg(long)]
        team: Option<String>,
    },
    /// Print an app's manifest (the newest revision, or --revision).
    Show {
        /// App name.
        app: String,
        /// Revision number.
        #[arg(long)]
        revision: Option<i64>,
    },
    /// Create an app from a manifest file, or save it as a new revision. Updating needs
    /// --base: the revision your file is based on, so nobody's change is overwritten.
    Push {
        /// The manifest (files it references with fromFile are sent along).
        file: PathBuf,
        /// Revision message.
        #[arg(short, long, default_value = "")]
        message: String,
        /// The revision the file is based on (required to update an existing app).
        #[arg(long)]
        base: Option<i64>,
    },
    /// List an app's revisions.
    History {
        /// App name.
        app: String,
    },
    /// Show the difference between two revisions (default: the newest and the one before).
    Diff {
        /// App name.
        app: String,
        /// Older revision.
        #[arg(long)]
        from: Option<i64>,
        /// Newer revision.
        #[arg(long)]
        to: Option<i64>,
    },
    /// Render a stored app for an environment.
    Render {
        /// App name.
        app: String,
        /// Environment.
        #[arg(long)]
        env: String,
        /// Target (`kubernetes` or `nomad`); the environment's default when unset.
        #[arg(long)]
        target: Option<String>,
        /// Revision (default: the newest).
        #[arg(long)]
        revision: Option<i64>,
    },
    /// Show what deploying a stored revision would change in an environment's cluster.
    Plan(crate::client_deploy::PlanArgs),
    /// Deploy a stored revision (default: the newest) to an environment and wait for the
    /// rollout. Exit 1 when it does not succeed, 2 when the cluster cannot be reached.
    Deploy(crate::client_deploy::DeployArgs),
    /// Go back to an earlier revision in an environment (default: the one that ran before).
    Rollback(crate::client_deploy::RollbackArgs),
    /// List an app's deployments, newest first.
    Deployments {
        /// App name.
        app: String,
        /// Only this environment.
        #[arg(long)]
        env: Option<String>,
    },
    /// What each environment runs, and how its last deployment went.
    Status {
        /// App name.
        app: String,
    },
}

pub(crate) struct Client {
    base: String,
    token: Option<String>,
    http: reqwest::Client,
}

impl Client {
    fn new(args: &ServerArgs) -> Result<Client> {
        Ok(Client {
            base: args.server.trim_end_matches('/').to_string(),
            token: args.token.clone(),
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(60))
                .build()?,
        })
    }

    pub(crate) async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value> {
        self.send_for(method, path, body, None).await
    }

    /// [`Client::send`] with a longer timeout than the default minute (deploys wait for rollouts).
    pub(crate) async fn send_for(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
        timeout: Option<std::time::Duration>,
    ) -> Result<Value> {
        let url = format!("{}/api{path}", self.base);
        let mut req = self.http.request(method, &url);
        if let Some(t) = timeout {
            req = req.timeout(t);
        }
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = match req.send().await {
            Ok(resp) => resp,
            Err(e) if e.is_timeout() => bail!(
                "no answer from the ojek server at {} in time; if this was a deploy or rollback it may \
                 still be running: see `ojek apps deployments`",
                self.base
            ),
            Err(e) => {
                return Err(e).with_context(|| format!("cannot reach the ojek server at {}", self.base));
            }
        };
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        let value: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        if status.is_success() {
            return Ok(value);
        }
        let mut msg = value
            .get("error")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .unwrap_or_else(|| value.to_string());
        if let Some(diags) = value.get("diagnostics").and_then(Value::as_array) {
            for d in diags {
                msg.push_str(&format!(
                    "\n{}:{}:{}: {}: {}{}",
                    d["file"].as_str().unwrap_or("app.yaml"),
                    d["line"],
                    d["column"],
                    d["severity"].as_str().unwrap_or("error"),
                    d["message"].as_str().unwrap_or(""),
                    d["hint"]
                        .as_str()
                        .map(|h| format!("\n  hint: {h}"))
                        .unwrap_or_default(),
                ));
            }
        }
        if let Some(diff) = value.get("diff").and_then(Value::as_str) {
            msg.push_str(&format!("\n{diff}"));
        }
        bail!("{} {}", status.as_u16(), msg)
    }
}

/// Reads `fromFile` files from disk and remembers them, to send them with the manifest.
struct Recording(std::sync::Mutex<BTreeMap<String, String>>);

impl FileReader for Recording {
    fn read(&self, manifest: &str, relative: &str) -> Result<String, String> {
        let content = FsReader.read(manifest, relative)?;
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(relative.trim_start_matches("./").to_string(), content.clone());
        Ok(content)
    }
}

fn manifest_with_files(file: &Path) -> Result<(String, String, BTreeMap<String, String>)> {
    let text = read_text(file)?;
    let rec = Recording(Default::default());
    let loaded = ojek_core::spec::load::load_app(&file.display().to_string(), &text, &rec)
        .map_err(|d| anyhow::anyhow!("{}", d.to_string().trim_end()))?;
    let files = rec.0.into_inner().unwrap_or_else(|p| p.into_inner());
    Ok((loaded.app.metadata.name.clone(), text, files))
}

pub(crate) fn when(ms: i64) -> String {
    let secs = ms / 1000;
    let days = secs.div_euclid(86400);
    let rem = secs.rem_euclid(86400);
    // Civil date from days since 1970-01-01 (proleptic Gregorian).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02}Z", rem / 3600, rem % 3600 / 60)
}

/// Runs an `ojek apps` command.
pub fn run(server: &ServerArgs, cmd: AppsCommand) -> Result<ExitCode> {
    let client = Client::new(server)?;
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async move {
        use crate::client_deploy as deploy;
        use reqwest::Method;
        match cmd {
            AppsCommand::Plan(args) => return deploy::plan(&client, &args).await,
            AppsCommand::Deploy(args) => return deploy::deploy(&client, &args).await,
            AppsCommand::Rollback(args) => return deploy::rollback(&client, &args).await,
            AppsCommand::Deployments { app, env } => return deploy::deployments(&client, &app, env.as_deref()).await,
            AppsCommand::Status { app } => return deploy::status(&client, &app).await,
            AppsCommand::List { query, team } => {
                let mut q = vec![];
                if let Some(s) = query {
                    q.push(format!("q={}", urlencode(&s)));
                }
                if let Some(t) = team {
                    q.push(format!("team={}", urlencode(&t)));
                }
                q.push("limit=500".into());
                let v = client.send(Method::GET, &format!("/apps?{}", q.join("&")), None).await?;
                let mut out = String::new();
                for a in v["apps"].as_array().into_iter().flatten() {
                    out.push_str(&format!(
                        "{:<32} {:<16} rev {:<4} {}\n",
                        a["name"].as_str().unwrap_or(""),
                        a["team"].as_str().unwrap_or(""),
                        a["head"],
                        a["description"].as_str().unwrap_or("")
                    ));
                }
                out.push_str(&format!("{} app(s)\n", v["total"]));
                crate::emit(&out);
            }
            AppsCommand::Show { app, revision } => {
                let path = match revision {
                    Some(n) => format!("/apps/{}?revision={n}", urlencode(&app)),
                    None => format!("/apps/{}", urlencode(&app)),
                };
                let v = client.send(Method::GET, &path, None).await?;
                eprintln!(
                    "# {} revision {} by {} ({})",
                    app,
                    v["revision"]["number"],
                    v["revision"]["author"].as_str().unwrap_or(""),
                    v["revision"]["message"].as_str().unwrap_or("")
                );
                crate::emit(v["revision"]["manifest"].as_str().unwrap_or(""));
            }
            AppsCommand::Push { file, message, base } => {
                let (name, text, files) = manifest_with_files(&file)?;
                let body = json!({ "manifest": text, "files": files, "message": message, "baseRevision": base });
                let exists = client.send(Method::GET, &format!("/apps/{}", urlencode(&name)), None).await;
                let v = match (exists, base) {
                    (Err(e), _) if e.to_string().starts_with("404") => {
                        client.send(Method::POST, "/apps", Some(body)).await?
                    }
                    (Err(e), _) => return Err(e),
                    (Ok(cur), None) => bail!(
                        "app {name} exists (newest revision {}); pass --base N, the revision your file is based on \
                         (`ojek apps show {name}` prints the newest)",
                        cur["revision"]["number"]
                    ),
                    (Ok(_), Some(_)) => {
                        client
                            .send(Method::PUT, &format!("/apps/{}", urlencode(&name)), Some(body))
                            .await?
                    }
                };
                for w in v["warnings"].as_array().into_iter().flatten() {
                    eprintln!("app.yaml:{}:{}: warning: {}", w["line"], w["column"], w["message"].as_str().unwrap_or(""));
                }
                eprintln!("saved {name} revision {}", v["revision"]["number"]);
            }
            AppsCommand::History { app } => {
                let v = client
                    .send(Method::GET, &format!("/apps/{}/revisions?limit=500", urlencode(&app)), None)
                    .await?;
                let mut out = String::new();
                for r in v["revisions"].as_array().into_iter().flatten() {
                    out.push_str(&format!(
                        "{:>5}  {}  {:<16} {}\n",
                        r["number"],
                        when(r["createdAt"].as_i64().unwrap_or(0)),
                        r["author"].as_str().unwrap_or(""),
                        r["message"].as_str().unwrap_or("")
                    ));
                }
                crate::emit(&out);
            }
            AppsCommand::Diff { app, from, to } => {
                let mut q = vec![];
                if let Some(f) = from {
                    q.push(format!("from={f}"));
                }
                if let Some(t) = to {
                    q.push(format!("to={t}"));
                }
                let v = client
                    .send(Method::GET, &format!("/apps/{}/diff?{}", urlencode(&app), q.join("&")), None)
                    .await?;
                crate::emit(v["diff"].as_str().unwrap_or(""));
            }
            AppsCommand::Render { app, env, target, revision } => {
                let mut q = vec![format!("environment={}", urlencode(&env))];
                if let Some(t) = target {
                    q.push(format!("target={}", urlencode(&t)));
                }
                if let Some(r) = revision {
                    q.push(format!("revision={r}"));
                }
                let v = client
                    .send(Method::GET, &format!("/apps/{}/render?{}", urlencode(&app), q.join("&")), None)
                    .await?;
                for w in v["warnings"].as_array().into_iter().flatten() {
                    eprintln!("warning: {}", w["message"].as_str().unwrap_or(""));
                }
                let files = v["files"].as_object().cloned().unwrap_or_default();
                let many = files.len() > 1;
                for (name, content) in files {
                    if many {
                        crate::emit(&format!("# --- {name}\n"));
                    }
                    crate::emit(content.as_str().unwrap_or(""));
                }
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// Percent-encodes a path segment or query value.
pub(crate) fn urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_civil_utc() {
        assert_eq!(when(0), "1970-01-01 00:00Z");
        assert_eq!(when(951_782_400_000), "2000-02-29 00:00Z");
        assert_eq!(when(1_795_000_000_000), "2026-11-18 11:06Z");
    }

    #[test]
    fn urlencode_keeps_unreserved_only() {
        assert_eq!(urlencode("a b/c?d=é"), "a%20b%2Fc%3Fd%3D%C3%A9");
    }
}
