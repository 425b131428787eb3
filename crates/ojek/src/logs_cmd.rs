//! `ojek logs …`: read the logs an ojek server keeps (`--server URL`, `--token`): search
//! (newest first, following the server's cursor pages), live tail (the Server-Sent Events of
//! `/api/logs/tail`), a histogram, and the top values of a field.
//!
//! Printing records and reading the event stream are plain functions, tested below; the rest
//! is HTTP. Errors are the server's message with its status, like `ojek apps` (exit 2).

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use ojek_logs::Record;
use serde_json::Value;

use crate::client_cmd::{ServerArgs, urlencode};

/// The most records the server returns in one page.
const MAX_PAGE: usize = 1_000;
/// How long a search, histogram or top request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// `ojek logs`: the server and what to do.
#[derive(clap::Args)]
pub struct LogsArgs {
    #[command(flatten)]
    server: ServerArgs,
    #[command(subcommand)]
    command: LogsCommand,
}

/// Whose logs: apps and environments.
#[derive(clap::Args)]
pub struct Streams {
    /// Apps, comma separated (default: every app you may read).
    #[arg(long, value_delimiter = ',')]
    app: Vec<String>,
    /// Environments, comma separated (default: every environment of the platform file).
    #[arg(long, value_delimiter = ',')]
    env: Vec<String>,
}

/// When: the last `--since`, or `--from` … `--to`.
#[derive(clap::Args)]
pub struct Range {
    /// How far back: 15m, 1h, 7d (default 1h; counted back from --to when given).
    #[arg(long, conflicts_with = "from")]
    since: Option<String>,
    /// From: an RFC 3339 time (2026-11-25T10:00:00Z) or Unix milliseconds.
    #[arg(long)]
    from: Option<String>,
    /// To: an RFC 3339 time or Unix milliseconds (default: now).
    #[arg(long)]
    to: Option<String>,
}

/// `ojek logs` subcommands.
#[derive(clap::Subcommand)]
pub enum LogsCommand {
    /// Search: newest first, one line per record (`docs/logs-query.md` describes queries).
    Search {
        /// The query, e.g. 'level:error AND "timed out"' (default: everything).
        query: Option<String>,
        #[command(flatten)]
        streams: Streams,
        #[command(flatten)]
        range: Range,
        /// The most records to print (pages are followed until then).
        #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..))]
        limit: u64,
        /// Print each record as a line of JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print records as they are written, until Ctrl-C.
    Tail {
        /// Only records matching this query (default: everything).
        query: Option<String>,
        #[command(flatten)]
        streams: Streams,
        /// Print each record as a line of JSON.
        #[arg(long)]
        json: bool,
    },
    /// Count records over time.
    Histogram {
        /// Only records matching this query (default: everything).
        query: Option<String>,
        #[command(flatten)]
        streams: Streams,
        #[command(flatten)]
        range: Range,
        /// How many time buckets.
        #[arg(long, default_value_t = 20)]
        buckets: usize,
        /// Print the server's JSON.
        #[arg(long)]
        json: bool,
    },
    /// The most frequent values of a field (level, host, http.status, …).
    Top {
        /// The field.
        field: String,
        /// Only records matching this query (default: everything).
        query: Option<String>,
        #[command(flatten)]
        streams: Streams,
        #[command(flatten)]
        range: Range,
        /// How many values.
        #[arg(short, default_value_t = 10)]
        n: usize,
        /// Print the server's JSON.
        #[arg(long)]
        json: bool,
    },
}

/// The query string of a log request: the query, streams and range, then `extra`.
fn query_string(
    query: Option<&str>,
    streams: &Streams,
    range: Option<&Range>,
    extra: &[(&str, String)],
) -> String {
    let mut pairs: Vec<(&str, String)> = Vec::new();
    if let Some(q) = query.filter(|q| !q.trim().is_empty()) {
        pairs.push(("q", q.to_string()));
    }
    if !streams.app.is_empty() {
        pairs.push(("app", streams.app.join(",")));
    }
    if !streams.env.is_empty() {
        pairs.push(("env", streams.env.join(",")));
    }
    if let Some(range) = range {
        for (name, value) in [("since", &range.since), ("from", &range.from), ("to", &range.to)] {
            if let Some(v) = value {
                pairs.push((name, v.clone()));
            }
        }
    }
    pairs.extend(extra.iter().cloned());
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", urlencode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// An HTTP client for the log endpoints.
struct LogsClient {
    base: String,
    token: Option<String>,
    http: reqwest::Client,
}

impl LogsClient {
    fn new(args: &ServerArgs) -> Result<LogsClient> {
        Ok(LogsClient {
            base: args.server.trim_end_matches('/').to_string(),
            token: args.token.clone(),
            // No overall timeout: live tail's answer never ends. JSON requests set their own.
            http: reqwest::Client::builder()
                .connect_timeout(Duration::from_secs(10))
                .build()?,
        })
    }

    /// `GET /api{path}`, answered with a success status; otherwise the server's message.
    /// `query` is the log query sent, to point at the column of a bad one.
    async fn get(
        &self,
        path: &str,
        query: Option<&str>,
        timeout: Option<Duration>,
    ) -> Result<reqwest::Response> {
        let mut req = self.http.get(format!("{}/api{path}", self.base));
        if let Some(t) = timeout {
            req = req.timeout(t);
        }
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        let resp = match req.send().await {
            Ok(resp) => resp,
            Err(e) if e.is_timeout() => bail!("no answer from the ojek server at {} in time", self.base),
            Err(e) => {
                return Err(e).with_context(|| format!("cannot reach the ojek server at {}", self.base));
            }
        };
        let status = resp.status();
        if status.is_success() {
            return Ok(resp);
        }
        let text = resp.text().await.unwrap_or_default();
        let body: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        bail!("{} {}", status.as_u16(), refusal(&body, query))
    }

    /// `GET /api{path}` as JSON.
    async fn json(&self, path: &str, query: Option<&str>) -> Result<Value> {
        let resp = self.get(path, query, Some(REQUEST_TIMEOUT)).await?;
        resp.json()
            .await
            .with_context(|| format!("the ojek server at {} sent an unreadable answer", self.base))
    }
}

/// The message of an error answer; for a bad query, the query with a caret under the column.
fn refusal(body: &Value, query: Option<&str>) -> String {
    let mut msg = body
        .get("error")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .unwrap_or_else(|| body.to_string());
    if let (Some(column), Some(query)) = (body.get("column").and_then(Value::as_u64), query) {
        let pad = " ".repeat(usize::try_from(column.saturating_sub(1)).unwrap_or(0));
        msg.push_str(&format!("\n  {query}\n  {pad}^"));
    }
    msg
}

/// Runs an `ojek logs` command.
pub fn run(args: LogsArgs) -> Result<ExitCode> {
    let client = LogsClient::new(&args.server)?;
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async move {
        match args.command {
            LogsCommand::Search {
                query,
                streams,
                range,
                limit,
                json,
            } => search(&client, query.as_deref(), &streams, &range, limit, json).await,
            LogsCommand::Tail { query, streams, json } => {
                tail(&client, query.as_deref(), &streams, json).await
            }
            LogsCommand::Histogram {
                query,
                streams,
                range,
                buckets,
                json,
            } => {
                let q = query_string(
                    query.as_deref(),
                    &streams,
                    Some(&range),
                    &[("buckets", buckets.to_string())],
                );
                let v = client
                    .json(&format!("/logs/histogram?{q}"), query.as_deref())
                    .await?;
                crate::emit(&if json {
                    format!("{v}\n")
                } else {
                    histogram_text(&v)
                });
                Ok(ExitCode::SUCCESS)
            }
            LogsCommand::Top {
                field,
                query,
                streams,
                range,
                n,
                json,
            } => {
                let extra = [("field", field), ("n", n.to_string())];
                let q = query_string(query.as_deref(), &streams, Some(&range), &extra);
                let v = client.json(&format!("/logs/top?{q}"), query.as_deref()).await?;
                crate::emit(&if json { format!("{v}\n") } else { top_text(&v) });
                Ok(ExitCode::SUCCESS)
            }
        }
    })
}

/// Prints up to `limit` records, newest first, a page at a time. Later pages ask for the
/// range the first one resolved, so `--since` does not move while paging.
async fn search(
    client: &LogsClient,
    query: Option<&str>,
    streams: &Streams,
    range: &Range,
    limit: u64,
    json: bool,
) -> Result<ExitCode> {
    let mut left = usize::try_from(limit).unwrap_or(usize::MAX);
    let mut next: Option<(u64, Range)> = None;
    while left > 0 {
        let size = left.min(MAX_PAGE);
        let mut extra = vec![("limit", size.to_string())];
        let path = match &next {
            None => format!(
                "/logs/search?{}",
                query_string(query, streams, Some(range), &extra)
            ),
            Some((cursor, pinned)) => {
                extra.push(("cursor", cursor.to_string()));
                format!(
                    "/logs/search?{}",
                    query_string(query, streams, Some(pinned), &extra)
                )
            }
        };
        let page = client.json(&path, query).await?;
        let records: Vec<Record> = serde_json::from_value(page["records"].clone())
            .context("the ojek server sent records this ojek cannot read")?;
        let mut out = String::new();
        for record in records.iter().take(left) {
            out.push_str(&if json {
                json_line(record)
            } else {
                record_line(record)
            });
        }
        crate::emit(&out);
        left = left.saturating_sub(records.len());
        let (Some(cursor), Some(from), Some(to)) = (
            page["nextCursor"].as_u64(),
            page["from"].as_i64(),
            page["to"].as_i64(),
        ) else {
            break;
        };
        let pinned = Range {
            since: None,
            from: Some(from.to_string()),
            to: Some(to.to_string()),
        };
        next = Some((cursor, pinned));
    }
    Ok(ExitCode::SUCCESS)
}

/// Follows `/api/logs/tail`, printing each record as it arrives, until Ctrl-C (exit 0), a
/// closed output pipe (exit 0, in [`crate::emit`]) or the server ending the stream (an error).
async fn tail(client: &LogsClient, query: Option<&str>, streams: &Streams, json: bool) -> Result<ExitCode> {
    let path = format!("/logs/tail?{}", query_string(query, streams, None, &[]));
    let mut resp = client.get(&path, query, None).await?;
    eprintln!("ojek: following new records (Ctrl-C stops)");
    let mut events = EventStream::default();
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    loop {
        let chunk = tokio::select! {
            _ = &mut ctrl_c => return Ok(ExitCode::SUCCESS),
            chunk = resp.chunk() => chunk.context("the live tail was cut off")?,
        };
        let Some(chunk) = chunk else {
            bail!("the ojek server ended the live tail");
        };
        for event in events.push(&chunk) {
            match event.name.as_str() {
                "records" => {
                    let records: Vec<Record> = serde_json::from_str(&event.data)
                        .context("the ojek server sent records this ojek cannot read")?;
                    let mut out = String::new();
                    for record in &records {
                        out.push_str(&if json {
                            json_line(record)
                        } else {
                            record_line(record)
                        });
                    }
                    crate::emit(&out);
                }
                "lagged" => eprintln!(
                    "ojek: this terminal fell behind; {} batch(es) of records were skipped",
                    event.data
                ),
                _ => {}
            }
        }
    }
}

/// One Server-Sent Event: its `event:` name (`message` when unnamed) and its `data:` lines.
#[derive(Debug, PartialEq, Eq)]
struct Event {
    name: String,
    data: String,
}

/// Reads Server-Sent Events from chunks of bytes that may split lines anywhere.
#[derive(Default)]
struct EventStream {
    /// Bytes after the last complete line.
    partial: Vec<u8>,
    name: Option<String>,
    data: Option<String>,
}

impl EventStream {
    /// The events completed by `chunk`.
    fn push(&mut self, chunk: &[u8]) -> Vec<Event> {
        self.partial.extend_from_slice(chunk);
        let mut events = Vec::new();
        while let Some(end) = self.partial.iter().position(|b| *b == b'\n') {
            let raw: Vec<u8> = self.partial.drain(..=end).collect();
            let line = String::from_utf8_lossy(&raw);
            let line = line.trim_end_matches('\n').trim_end_matches('\r');
            if let Some(event) = self.line(line) {
                events.push(event);
            }
        }
        events
    }

    /// One line: a field, a comment, or the blank line that ends an event.
    fn line(&mut self, line: &str) -> Option<Event> {
        if line.is_empty() {
            let name = self.name.take();
            let data = self.data.take()?;
            return Some(Event {
                name: name.unwrap_or_else(|| "message".into()),
                data,
            });
        }
        if line.starts_with(':') {
            return None;
        }
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "event" => self.name = Some(value.to_string()),
            "data" => match &mut self.data {
                Some(data) => {
                    data.push('\n');
                    data.push_str(value);
                }
                None => self.data = Some(value.to_string()),
            },
            _ => {}
        }
        None
    }
}

/// Unix milliseconds as `2026-11-25T10:00:01.234Z`.
fn timestamp(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_else(|| ms.to_string())
}

/// Text safe for a terminal: control characters other than tab are escaped.
fn printable(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() && c != '\t' {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// A record for people: time, app/environment, level and message; further lines of the
/// message indented under it. A record without a message shows its other fields.
fn record_line(record: &Record) -> String {
    let level = record
        .level
        .as_deref()
        .map(str::to_uppercase)
        .unwrap_or_else(|| "-".into());
    let message = if record.message.is_empty() && !record.attrs.is_empty() {
        Value::Object(record.attrs.clone()).to_string()
    } else {
        record.message.trim_end().to_string()
    };
    let mut lines = message.split('\n').map(|l| printable(l.trim_end_matches('\r')));
    let mut out = format!(
        "{} {}/{} {level:<5} {}\n",
        timestamp(record.timestamp),
        record.app,
        record.env,
        lines.next().unwrap_or_default()
    );
    for line in lines {
        out.push_str(&format!("    {line}\n"));
    }
    out
}

/// A record as one line of JSON.
fn json_line(record: &Record) -> String {
    format!("{}\n", serde_json::to_string(record).unwrap_or_default())
}

/// Histogram buckets as lines of start time, count and a bar, then the total.
fn histogram_text(v: &Value) -> String {
    const WIDTH: u64 = 50;
    let buckets: Vec<(i64, u64)> = v["buckets"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|b| (b["start"].as_i64().unwrap_or(0), b["count"].as_u64().unwrap_or(0)))
        .collect();
    let most = buckets.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1);
    let mut out = String::new();
    for (start, count) in buckets {
        let bar = "#".repeat(usize::try_from((count * WIDTH).div_ceil(most)).unwrap_or(0));
        out.push_str(&format!("{} {count:>8} {bar}\n", timestamp(start)));
    }
    out.push_str(&format!("{} record(s)\n", v["total"].as_u64().unwrap_or(0)));
    out
}

/// Top values as lines of count and value.
fn top_text(v: &Value) -> String {
    let mut out = String::new();
    for entry in v["values"].as_array().into_iter().flatten() {
        let value = match &entry["value"] {
            Value::String(s) => printable(s),
            other => other.to_string(),
        };
        out.push_str(&format!("{:>8}  {value}\n", entry["count"].as_u64().unwrap_or(0)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(message: &str, level: Option<&str>) -> Record {
        Record {
            timestamp: 1_795_600_801_234,
            received: 1_795_600_801_300,
            app: "driver-location".into(),
            env: "staging".into(),
            level: level.map(str::to_owned),
            host: None,
            pod: None,
            revision: None,
            variant: None,
            message: message.into(),
            attrs: serde_json::Map::new(),
        }
    }

    #[test]
    fn a_record_is_one_line_with_further_lines_indented() {
        assert_eq!(
            record_line(&record("request failed", Some("error"))),
            "2026-11-25T10:00:01.234Z driver-location/staging ERROR request failed\n"
        );
        assert_eq!(
            record_line(&record("boom\r\n\tat Foo.bar(Foo.java:1)\n", Some("info"))),
            "2026-11-25T10:00:01.234Z driver-location/staging INFO  boom\n    \tat Foo.bar(Foo.java:1)\n"
        );
        assert_eq!(
            record_line(&record("\u{1b}[31mred", None)),
            "2026-11-25T10:00:01.234Z driver-location/staging -     \\u{1b}[31mred\n"
        );
    }

    #[test]
    fn a_record_without_a_message_shows_its_fields() {
        let mut r = record("", None);
        r.attrs.insert("user".into(), json!("u1"));
        assert!(record_line(&r).ends_with(" -     {\"user\":\"u1\"}\n"));
    }

    #[test]
    fn events_are_read_across_chunk_boundaries() {
        let mut stream = EventStream::default();
        assert!(stream.push(b": keep-alive\n\nevent: rec").is_empty());
        assert_eq!(
            stream.push(b"ords\r\ndata: [1,\ndata:2]\n\nevent: lagged\ndata: 3\n"),
            vec![Event {
                name: "records".into(),
                data: "[1,\n2]".into()
            }]
        );
        assert_eq!(
            stream.push(b"\ndata: x\n\n"),
            vec![
                Event {
                    name: "lagged".into(),
                    data: "3".into()
                },
                Event {
                    name: "message".into(),
                    data: "x".into()
                }
            ]
        );
    }

    #[test]
    fn query_strings_are_encoded_and_skip_what_is_unset() {
        let streams = Streams {
            app: vec!["a".into(), "b".into()],
            env: vec![],
        };
        let range = Range {
            since: Some("15m".into()),
            from: None,
            to: None,
        };
        assert_eq!(
            query_string(
                Some("level:error AND \"x y\""),
                &streams,
                Some(&range),
                &[("limit", "5".into())]
            ),
            "q=level%3Aerror%20AND%20%22x%20y%22&app=a%2Cb&since=15m&limit=5"
        );
        assert_eq!(
            query_string(
                Some("  "),
                &Streams {
                    app: vec![],
                    env: vec![]
                },
                None,
                &[]
            ),
            ""
        );
    }

    #[test]
    fn a_bad_query_points_at_its_column() {
        let body = json!({"error": "the query cannot be read: column 7: expected a value", "column": 7});
        assert_eq!(
            refusal(&body, Some("level:")),
            "the query cannot be read: column 7: expected a value\n  level:\n        ^"
        );
    }
}
