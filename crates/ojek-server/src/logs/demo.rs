//! `ojek up --demo`: a steady trickle of realistic log lines for the demo apps (HTTP access
//! lines, JSON application logs with errors and stack traces, consumer and job logs), written
//! through the log store like shipped lines, plus the last hour filled in at start, so search,
//! the histogram and live tail show something on the first run. promo-gateway's lines in
//! staging come from the demo experiment's variants too (`demo_experiment`), one of them with
//! more errors, so the experiments page has error rates to compare.

use std::sync::Arc;
use std::time::Duration;

use ojek_logs::Record;
use serde_json::{Map, Value, json};

use super::Logs;
use crate::auth::now_ms;
use crate::demo_experiment;

/// Lines per second, over all demo apps.
const RATE: u64 = 8;

/// (app, what kind of lines it writes).
const APPS: &[(&str, Kind)] = &[
    ("driver-location", Kind::Api),
    ("payments", Kind::Api),
    ("order-events-consumer", Kind::Consumer),
    ("settlement-report", Kind::Job),
    ("ledger-store", Kind::Api),
    ("promo-gateway", Kind::Api),
];
const ENVS: &[&str] = &["staging", "production"];

#[derive(Clone, Copy)]
enum Kind {
    Api,
    Consumer,
    Job,
}

/// A small deterministic generator (xorshift).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// The demo experiment's variant a line of `app` in `env` comes from, with its extra error
/// share in percent: `None` for the baseline (and every other app).
fn variant(rng: &mut Rng, app: &str, env: &str) -> Option<(&'static str, u64)> {
    if app != demo_experiment::APP || env != demo_experiment::ENV {
        return None;
    }
    let mut roll = rng.below(100);
    for (name, share, extra_errors) in demo_experiment::VARIANTS {
        if roll < *share {
            return Some((name, *extra_errors));
        }
        roll -= share;
    }
    None
}

/// One line of `app` in `env` at `at` (Unix ms).
fn line(rng: &mut Rng, app: &str, kind: Kind, env: &str, at: i64) -> Record {
    let pod = format!("{app}-web-{}", rng.below(3));
    let host = format!("ip-10-20-{}-{}", rng.below(4), 10 + rng.below(200));
    let mut attrs = Map::new();
    let variant = variant(rng, app, env);
    let roll = rng.below(100);
    // A variant with more errors fails some requests the baseline would have served.
    let roll = match variant {
        Some((_, extra)) if rng.below(100) < extra => 0,
        _ => roll,
    };
    let (level, message) = match kind {
        Kind::Api => {
            let path = *rng.pick(&["/v1/locations", "/v1/orders", "/v1/payments/intents", "/healthz", "/v1/promos/apply"]);
            let method = *rng.pick(&["GET", "GET", "GET", "POST", "PUT"]);
            let status: u64 = match roll {
                0..=1 => 503,
                2..=4 => 500,
                5..=9 => 404,
                10..=14 => 201,
                _ => 200,
            };
            let duration = 2 + rng.below(if status >= 500 { 3000 } else { 180 });
            attrs.insert("http".into(), json!({ "method": method, "path": path, "status": status }));
            attrs.insert("duration_ms".into(), json!(duration));
            attrs.insert("user_id".into(), json!(format!("u{}", rng.below(5000))));
            if status >= 500 && rng.below(2) == 0 {
                (
                    "error",
                    format!(
                        "unhandled error in {method} {path}: java.sql.SQLTransientConnectionException: \
                         HikariPool-1 - Connection is not available, request timed out after 30000ms.\n\
                         \tat com.zaxxer.hikari.pool.HikariPool.createTimeoutException(HikariPool.java:696)\n\
                         \tat com.gojek.{}.Repository.find(Repository.java:{})\n\
                         \tat com.gojek.{}.Handler.handle(Handler.java:{})",
                        app.replace('-', ""),
                        40 + rng.below(200),
                        app.replace('-', ""),
                        20 + rng.below(90)
                    ),
                )
            } else {
                let level = if status >= 500 { "error" } else if status >= 400 { "warn" } else { "info" };
                (level, format!("{method} {path} {status} {duration}ms"))
            }
        }
        Kind::Consumer => {
            let partition = rng.below(12);
            let lag = rng.below(if roll < 5 { 50_000 } else { 800 });
            attrs.insert("kafka".into(), json!({ "topic": "orders.events", "partition": partition, "lag": lag }));
            match roll {
                0..=2 => (
                    "error",
                    format!("failed to process order event at offset {}: order {} not found", rng.next() % 9_000_000, rng.below(100_000)),
                ),
                3..=9 => ("warn", format!("consumer lag on partition {partition} is {lag} messages")),
                _ => ("info", format!("processed batch of {} order events from partition {partition}", 1 + rng.below(500))),
            }
        }
        Kind::Job => match roll {
            0..=4 => (
                "error",
                "settlement run failed: Traceback (most recent call last):\n  File \"/app/settle.py\", line 88, in run\n    \
                 totals = ledger.sum(day)\n  File \"/app/ledger.py\", line 41, in sum\n    raise TimeoutError(\"ledger-store did not answer\")\n\
                 TimeoutError: ledger-store did not answer"
                    .to_string(),
            ),
            _ => ("info", format!("settled {} merchants, {} transactions", rng.below(4000), rng.below(90_000))),
        },
    };
    Record {
        timestamp: at,
        received: at,
        app: app.to_string(),
        env: env.to_string(),
        level: Some(level.to_string()),
        host: Some(host),
        pod: Some(pod),
        revision: Some(1),
        variant: variant.map(|(name, _)| name.to_string()),
        message,
        attrs: attrs.into_iter().collect::<Map<String, Value>>(),
    }
}

/// Fills in the last hour (when the demo streams are empty) and starts the trickle.
pub fn spawn(logs: Arc<Logs>) {
    tokio::spawn(async move {
        let mut rng = Rng(now_ms() as u64 | 1);
        let now = now_ms();
        // The last hour, once: about RATE lines a second in bursts of a minute.
        let empty = logs.store.index().partitions().is_empty();
        if empty {
            let mut batch = Vec::new();
            for minute in 0..60 {
                let base = now - (60 - minute) * 60_000;
                for _ in 0..(RATE * 60 / 4) {
                    let (app, kind) = *rng.pick(APPS);
                    let env = *rng.pick(ENVS);
                    let at = base + rng.below(60_000) as i64;
                    batch.push(line(&mut rng, app, kind, env, at));
                }
            }
            let store = logs.store.clone();
            let _ = tokio::task::spawn_blocking(move || store.append(batch)).await;
        }
        let mut tick = tokio::time::interval(Duration::from_millis(1000));
        loop {
            tick.tick().await;
            let n = 1 + rng.below(RATE * 2);
            let now = now_ms();
            let batch: Vec<Record> = (0..n)
                .map(|_| {
                    let (app, kind) = *rng.pick(APPS);
                    let env = *rng.pick(ENVS);
                    let at = now - rng.below(900) as i64;
                    line(&mut rng, app, kind, env, at)
                })
                .collect();
            let store = logs.store.clone();
            let sent = Arc::new(batch.clone());
            match tokio::task::spawn_blocking(move || store.append(batch)).await {
                Ok(Ok(_)) => {
                    let _ = logs.tail.send(sent);
                }
                Ok(Err(e)) => tracing::warn!("demo logs: {e}"),
                Err(_) => return,
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_lines_are_valid_stream_records_with_errors_and_stack_traces() {
        let mut rng = Rng(42);
        let lines: Vec<Record> = (0..2000)
            .map(|i| {
                let (app, kind) = APPS[i % APPS.len()];
                line(&mut rng, app, kind, ENVS[i % 2], 1_795_000_000_000 + i as i64)
            })
            .collect();
        assert!(
            lines
                .iter()
                .any(|r| r.level.as_deref() == Some("error") && r.message.contains("\n\tat "))
        );
        assert!(lines.iter().any(|r| r.message.contains("Traceback")));
        assert!(
            lines
                .iter()
                .any(|r| r.attrs.get("http").is_some_and(|h| h["status"] == 503))
        );
        assert!(
            lines
                .iter()
                .all(|r| !r.app.is_empty() && ENVS.contains(&r.env.as_str()))
        );
        let errors = lines
            .iter()
            .filter(|r| r.level.as_deref() == Some("error"))
            .count();
        assert!(errors > 20 && errors < 400, "errors are a minority: {errors}");
        assert!(
            lines
                .iter()
                .all(|r| r.variant.is_none()
                    || (r.app == demo_experiment::APP && r.env == demo_experiment::ENV))
        );
    }

    #[test]
    fn the_demo_experiments_cached_variant_fails_more_often() {
        let mut rng = Rng(7);
        let mut counts: std::collections::BTreeMap<Option<String>, (u64, u64)> = Default::default();
        for i in 0..20_000 {
            let r = line(
                &mut rng,
                demo_experiment::APP,
                Kind::Api,
                demo_experiment::ENV,
                1_795_000_000_000 + i,
            );
            let c = counts.entry(r.variant).or_default();
            c.0 += 1;
            c.1 += u64::from(r.level.as_deref() == Some("error"));
        }
        let rate = |v: Option<&str>| {
            let (lines, errors) = counts[&v.map(str::to_string)];
            errors as f64 / lines as f64
        };
        assert_eq!(counts.len(), 3, "{counts:?}");
        let (baseline, cached) = (rate(None), rate(Some("rules-v2-cache")));
        assert!(
            cached > baseline + 0.08,
            "baseline {baseline}, rules-v2-cache {cached}"
        );
        assert!((rate(Some("rules-v2")) - baseline).abs() < 0.03);
        let share = counts[&None].0 as f64 / 20_000.0;
        assert!(
            (share - 0.8).abs() < 0.02,
            "the baseline writes about 80 %: {share}"
        );
    }
}
