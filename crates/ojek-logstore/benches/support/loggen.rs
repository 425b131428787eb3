//! Realistic shipped log lines for benchmarks: the NDJSON a shipper (Fluent Bit, Vector,
//! Filebeat) sends, one object per line, deterministic from a seed.
//!
//! Nine apps in two environments (`production`, `staging`), each of one kind:
//!
//! - `gateway`: nginx access logs (the combined line as `message`, the parsed request under
//!   `http`, `client`, `level` from the status);
//! - `orders`, `payments`: Java, logstash-logback-encoder (`@timestamp`, `logger_name`,
//!   `thread_name`, multi-line `stack_trace` on errors);
//! - `driver-location`, `pricing`: Go, zap (`time`, `caller`, `msg`, `error`, `stacktrace`,
//!   goroutine dumps on panics);
//! - `notifications`, `billing-worker`: Python, python-json-logger (`timestamp`, `levelname`,
//!   `exc_info` tracebacks);
//! - `legacy-portal`: plain Spring Boot text joined by a multiline parser (`log` holds the
//!   line and its stack trace; no level field);
//! - `system`: journald/syslog lines of the nodes (kubelet, containerd, sshd, kernel, cron).
//!
//! Every line carries the Kubernetes metadata a shipper adds. Volumes follow a daily cycle
//! and a few incidents a day (bursts of 503s and timeouts); paths, user agents, IDs, errors
//! and messages are drawn from heavy-tailed (Zipf or log-uniform) distributions, so some
//! words are in most lines and some in a handful. Lines come out in time order across all
//! streams. Not part of the product: shared by the `loggen` and `logbench` examples and the
//! criterion benchmark.

#![allow(dead_code)]

use std::fmt::Write as _;

/// 2026-11-20T00:00:00Z, the default start.
pub const DEFAULT_START_MS: i64 = 1_795_132_800_000;
const DAY_MS: i64 = 86_400_000;
const MINUTE_MS: i64 = 60_000;

/// What to generate.
#[derive(Debug, Clone)]
pub struct Config {
    /// Stop once this many bytes (lines and their newlines) are out.
    pub bytes: u64,
    /// The seed: the same seed and sizes give the same lines.
    pub seed: u64,
    /// The first line's day, Unix milliseconds.
    pub start_ms: i64,
    /// How many days the lines span.
    pub days: u32,
}

/// The kinds of log a stream has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Access,
    Java,
    Go,
    Python,
    Legacy,
    Syslog,
}

/// The apps: name, kind, share of the volume.
const APPS: &[(&str, Kind, f64)] = &[
    ("gateway", Kind::Access, 30.0),
    ("driver-location", Kind::Go, 14.0),
    ("orders", Kind::Java, 12.0),
    ("system", Kind::Syslog, 9.0),
    ("payments", Kind::Java, 6.0),
    ("notifications", Kind::Python, 6.0),
    ("pricing", Kind::Go, 5.0),
    ("billing-worker", Kind::Python, 3.0),
    ("legacy-portal", Kind::Legacy, 2.0),
];
/// Environments and their share.
const ENVS: &[(&str, f64)] = &[("production", 0.85), ("staging", 0.15)];

/// One stream: an app in an environment.
#[derive(Debug, Clone)]
pub struct Stream {
    /// App name.
    pub app: &'static str,
    /// Environment.
    pub env: &'static str,
    kind: Kind,
    weight: f64,
    /// Replicas running at once.
    replicas: u64,
    /// Hours between deployments (a new revision, new pod names).
    deploy_hours: i64,
    /// The revision at the start.
    first_revision: i64,
}

/// SplitMix64: small, fast, and the same on every platform and version.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// Seeded.
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x9e37_79b9_7f4a_7c15)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in [0, n).
    pub fn below(&mut self, n: u64) -> u64 {
        ((self.next_u64() as u128 * n.max(1) as u128) >> 64) as u64
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.f64() < p
    }

    /// One of `items`, uniformly.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    /// In [1, n], log-uniform: about as many values in 1–10 as in 10–100, so small values are
    /// common and large ones rare (a Zipf-like ID).
    pub fn log_uniform(&mut self, n: u64) -> u64 {
        ((n as f64).powf(self.f64()) as u64).clamp(1, n)
    }

    /// In [0, n): `n · u^power` for a uniform `u`; the larger `power`, the more the small
    /// values dominate (power 1 is uniform).
    pub fn skewed(&mut self, n: u64, power: f64) -> u64 {
        ((n as f64 * self.f64().powf(power)) as u64).min(n.saturating_sub(1))
    }

    /// Log-normal with this median and spread (the σ of the logarithm).
    pub fn log_normal(&mut self, median: f64, sigma: f64) -> f64 {
        // Irwin–Hall: the sum of 12 uniforms minus 6 is close enough to a standard normal.
        let z: f64 = (0..12).map(|_| self.f64()).sum::<f64>() - 6.0;
        median * (sigma * z).exp()
    }
}

/// A Zipf distribution over ranks `0..n`: rank `k` has weight `1 / (k + 1)^s`.
#[derive(Debug, Clone)]
pub struct Zipf {
    cdf: Vec<f64>,
}

impl Zipf {
    /// Over `n` ranks with exponent `s`.
    pub fn new(n: usize, s: f64) -> Zipf {
        let mut total = 0.0;
        let mut cdf: Vec<f64> = (0..n)
            .map(|k| {
                total += 1.0 / ((k + 1) as f64).powf(s);
                total
            })
            .collect();
        for c in &mut cdf {
            *c /= total;
        }
        Zipf { cdf }
    }

    /// A rank.
    pub fn sample(&self, rng: &mut Rng) -> usize {
        let u = rng.f64();
        self.cdf.partition_point(|&c| c < u).min(self.cdf.len() - 1)
    }
}

/// Items ranked from most to least common, drawn with a Zipf distribution.
struct Ranked<T: 'static> {
    items: &'static [T],
    zipf: Zipf,
}

impl<T> Ranked<T> {
    fn new(items: &'static [T], s: f64) -> Ranked<T> {
        Ranked {
            items,
            zipf: Zipf::new(items.len(), s),
        }
    }

    fn draw(&self, rng: &mut Rng) -> &'static T {
        &self.items[self.zipf.sample(rng)]
    }
}

/// The generator.
pub struct Generator {
    config: Config,
    rng: Rng,
    streams: Vec<Stream>,
    stream_cdf: Vec<f64>,
    /// Cumulative share of the lines by minute of the span (the daily cycle).
    minute_cdf: Vec<f64>,
    /// Incident windows: (start ms, end ms).
    incidents: Vec<(i64, i64)>,
    /// Lines expected in all (from a calibration run), to spread them over the span.
    expected_lines: f64,
    lines: u64,
    written: u64,
    vocab: Vocab,
}

struct Vocab {
    paths: Ranked<(&'static str, &'static str)>,
    agents: Ranked<&'static str>,
    referers: Ranked<&'static str>,
    java_info: Ranked<&'static str>,
    java_errors: Ranked<(&'static str, &'static str, &'static str)>,
    go_info: Ranked<&'static str>,
    go_errors: Ranked<(&'static str, &'static str)>,
    py_info: Ranked<&'static str>,
    py_errors: Ranked<(&'static str, &'static str)>,
    syslog: Ranked<(&'static str, &'static str)>,
    legacy_info: Ranked<&'static str>,
    search_words: Ranked<&'static str>,
}

impl Generator {
    /// A generator for `config`.
    pub fn new(config: Config) -> Generator {
        // Calibrate: the average line size of this seed over the whole span, to spread the
        // lines evenly over it.
        let n = 20_000;
        let mut probe = Generator::uncalibrated(
            Config {
                bytes: u64::MAX,
                ..config.clone()
            },
            n as f64,
        );
        let mut line = String::new();
        for _ in 0..n {
            line.clear();
            probe.next_line(&mut line);
        }
        let average = probe.written() as f64 / n as f64;
        Generator::uncalibrated(config.clone(), (config.bytes as f64 / average).max(1.0))
    }

    fn uncalibrated(config: Config, expected_lines: f64) -> Generator {
        let mut rng = Rng::new(config.seed);
        let mut streams = Vec::new();
        for (app, kind, weight) in APPS {
            for (env, share) in ENVS {
                let production = *env == "production";
                streams.push(Stream {
                    app,
                    env,
                    kind: *kind,
                    weight: weight * share,
                    replicas: match (kind, production) {
                        (Kind::Syslog, true) => 24,
                        (Kind::Syslog, false) => 6,
                        (_, true) => 3 + rng.below(10),
                        (_, false) => 1 + rng.below(2),
                    },
                    deploy_hours: 6 + rng.below(30) as i64,
                    first_revision: 20 + rng.below(400) as i64,
                });
            }
        }
        let total: f64 = streams.iter().map(|s| s.weight).sum();
        let mut acc = 0.0;
        let stream_cdf = streams
            .iter()
            .map(|s| {
                acc += s.weight / total;
                acc
            })
            .collect();
        // Daily cycle: busiest around 12:00 in UTC+7 (05:00 UTC), quietest twelve hours later.
        let minutes = (config.days.max(1) as usize) * 1440;
        let mut acc = 0.0;
        let mut minute_cdf: Vec<f64> = (0..minutes)
            .map(|m| {
                let hour = (m % 1440) as f64 / 60.0;
                acc += 1.0 + 0.7 * (2.0 * std::f64::consts::PI * (hour - 5.0) / 24.0).cos();
                acc
            })
            .collect();
        for c in &mut minute_cdf {
            *c /= acc;
        }
        // Two or three incidents a day, 10–40 minutes each.
        let mut incidents = Vec::new();
        for day in 0..config.days.max(1) as i64 {
            for _ in 0..2 + rng.below(2) {
                let start = config.start_ms + day * DAY_MS + rng.below(DAY_MS as u64) as i64;
                let length = (10 + rng.below(30) as i64) * MINUTE_MS;
                incidents.push((start, start + length));
            }
        }
        Generator {
            rng,
            streams,
            stream_cdf,
            minute_cdf,
            incidents,
            expected_lines,
            lines: 0,
            written: 0,
            vocab: Vocab::new(),
            config,
        }
    }

    /// The streams, in the order [`Generator::next_line`] numbers them.
    pub fn streams(&self) -> &[Stream] {
        &self.streams
    }

    /// The time span the lines cover: (start, end) in Unix milliseconds.
    pub fn span(&self) -> (i64, i64) {
        let start = self.config.start_ms;
        (start, start + self.config.days.max(1) as i64 * DAY_MS)
    }

    /// Bytes written so far (lines and newlines).
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Lines written so far.
    pub fn lines(&self) -> u64 {
        self.lines
    }

    /// Appends the next line (without its newline) to `out` and returns its stream's index
    /// in [`Generator::streams`]; `None` once the configured size is reached.
    pub fn next_line(&mut self, out: &mut String) -> Option<usize> {
        if self.written >= self.config.bytes {
            return None;
        }
        let before = out.len();
        let stream = self.write_line(out);
        self.written += (out.len() - before) as u64 + 1;
        self.lines += 1;
        Some(stream)
    }

    fn write_line(&mut self, out: &mut String) -> usize {
        let t = self.time_of(self.lines as f64 / self.expected_lines);
        let u = self.rng.f64();
        let stream = self
            .stream_cdf
            .partition_point(|&c| c < u)
            .min(self.streams.len() - 1);
        let s = self.streams[stream].clone();
        let incident = self.incidents.iter().any(|(a, b)| t >= *a && t < *b);
        let meta = self.metadata(&s, t);
        let mut line = Line {
            rng: &mut self.rng,
            vocab: &self.vocab,
            out,
            t,
            incident,
            stream: &s,
            meta: &meta,
        };
        match s.kind {
            Kind::Access => line.access(),
            Kind::Java => line.java(),
            Kind::Go => line.go(),
            Kind::Python => line.python(),
            Kind::Legacy => line.legacy(),
            Kind::Syslog => line.syslog(),
        }
        stream
    }

    /// The time at fraction `x` of the lines, following the daily cycle.
    fn time_of(&mut self, x: f64) -> i64 {
        let x = x.clamp(0.0, 0.999_999_999);
        let m = self.minute_cdf.partition_point(|&c| c < x);
        let low = if m == 0 { 0.0 } else { self.minute_cdf[m - 1] };
        let high = self.minute_cdf[m.min(self.minute_cdf.len() - 1)];
        let within = if high > low { (x - low) / (high - low) } else { 0.0 };
        self.config.start_ms + m as i64 * MINUTE_MS + (within * MINUTE_MS as f64) as i64
    }

    /// Pod, node and revision of a line of `s` at `t`.
    fn metadata(&mut self, s: &Stream, t: i64) -> Meta {
        let hours = (t - self.config.start_ms) / 3_600_000;
        let revision = s.first_revision + hours / s.deploy_hours;
        let replica = self.rng.below(s.replicas);
        let nodes: u64 = if s.env == "production" { 24 } else { 6 };
        let template_hash = hash(&[
            s.app.len() as u64,
            hash_str(s.app),
            hash_str(s.env),
            revision as u64,
        ]);
        let pod_hash = hash(&[template_hash, replica]);
        let node = if s.kind == Kind::Syslog {
            replica
        } else {
            hash(&[pod_hash, 7]) % nodes
        };
        let pool = if s.env == "production" { "prod" } else { "stg" };
        Meta {
            pod: format!("{}-{}-{}", s.app, base36(template_hash, 10), base36(pod_hash, 5)),
            template_hash: base36(template_hash, 10),
            host: format!(
                "gke-{pool}-pool-{}-{:08x}-{}",
                1 + node % 3,
                hash(&[node, 99]) as u32,
                base36(hash(&[node, 3]), 4)
            ),
            revision,
            ip: format!(
                "10.{}.{}.{}",
                40 + node,
                (pod_hash >> 8) % 250,
                2 + pod_hash % 250
            ),
        }
    }
}

struct Meta {
    pod: String,
    template_hash: String,
    host: String,
    revision: i64,
    ip: String,
}

fn hash(parts: &[u64]) -> u64 {
    let mut r = Rng::new(0x51_7cc1_b727_220a);
    let mut h = 0u64;
    for p in parts {
        r.0 ^= p.wrapping_add(h);
        h = r.next_u64();
    }
    h
}

fn hash_str(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

fn base36(mut n: u64, len: usize) -> String {
    const DIGITS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut out = String::with_capacity(len);
    for _ in 0..len {
        out.push(DIGITS[(n % DIGITS.len() as u64) as usize] as char);
        n /= DIGITS.len() as u64;
    }
    out
}

/// One line being written.
struct Line<'a> {
    rng: &'a mut Rng,
    vocab: &'a Vocab,
    out: &'a mut String,
    t: i64,
    incident: bool,
    stream: &'a Stream,
    meta: &'a Meta,
}

/// A level drawn for an app line: (debug, warn, error) probabilities, raised in incidents.
fn draw_level(rng: &mut Rng, env: &str, incident: bool, error_rate: f64) -> &'static str {
    let debug = if env == "staging" { 0.25 } else { 0.03 };
    let error = if incident { error_rate * 6.0 } else { error_rate };
    let u = rng.f64();
    if u < error {
        "error"
    } else if u < error + 0.06 {
        "warn"
    } else if u < error + 0.06 + debug {
        "debug"
    } else {
        "info"
    }
}

impl Line<'_> {
    fn raw(&mut self, s: &str) {
        self.out.push_str(s);
    }

    fn string(&mut self, s: &str) {
        push_json_string(self.out, s);
    }

    /// `"key":"value"` (with a leading comma unless first).
    fn field(&mut self, key: &str, value: &str) {
        self.comma();
        let _ = write!(self.out, "\"{key}\":");
        push_json_string(self.out, value);
    }

    fn number(&mut self, key: &str, value: impl std::fmt::Display) {
        self.comma();
        let _ = write!(self.out, "\"{key}\":{value}");
    }

    fn comma(&mut self) {
        if !self.out.ends_with('{') && !self.out.is_empty() {
            self.out.push(',');
        }
    }

    /// The Kubernetes metadata Fluent Bit adds.
    fn kubernetes(&mut self, container: &str) {
        let s = self.stream;
        let m = self.meta;
        self.comma();
        let _ = write!(
            self.out,
            "\"kubernetes\":{{\"pod_name\":\"{}\",\"namespace_name\":\"{}-{}\",\"container_name\":\"{container}\",\"container_image\":\"registry.example.com/{}/{}:r{}\",\"host\":\"{}\",\"labels\":{{\"app\":\"{}\",\"pod-template-hash\":\"{}\"}}}}",
            m.pod, s.app, s.env, s.app, s.app, m.revision, m.host, s.app, m.template_hash
        );
    }

    fn ojek(&mut self) {
        self.comma();
        let _ = write!(self.out, "\"ojek\":{{\"revision\":{}}}", self.meta.revision);
    }

    fn hex(&mut self, digits: usize) -> String {
        let mut s = String::with_capacity(digits);
        while s.len() < digits {
            let _ = write!(s, "{:016x}", self.rng.next_u64());
        }
        s.truncate(digits);
        s
    }

    /// Users: a few thousand heavy users (and test accounts) in a long tail of millions.
    fn user(&mut self) -> u64 {
        100_000 + self.rng.skewed(4_000_000, 3.0)
    }

    /// Orders are numbered as they are made (one every 40 ms or so) and mentioned in the
    /// minutes after: an order ID is in a handful of lines close together in time.
    fn order(&mut self) -> u64 {
        let made = (self.t / 40) as u64 % 100_000_000;
        700_000_000 + made.saturating_sub(self.rng.log_uniform(3_000))
    }

    fn driver(&mut self) -> u64 {
        10_000 + self.rng.skewed(600_000, 2.0)
    }

    fn merchant(&mut self) -> u64 {
        1_000 + self.rng.skewed(90_000, 2.0)
    }

    /// A public client address: a few very busy ones (carrier NATs), a long tail.
    fn client_ip(&mut self) -> String {
        let k = self.rng.skewed(200_000, 4.0);
        let h = hash(&[k, 11]);
        format!(
            "{}.{}.{}.{}",
            36 + h % 180,
            (h >> 8) % 256,
            (h >> 16) % 256,
            1 + (h >> 24) % 254
        )
    }

    /// Some other app's pod as `namespace/name`, for node logs that mention pods.
    fn other_pod(&mut self) -> String {
        let (app, _, _) = *self.rng.pick(APPS);
        let template = hash(&[hash_str(app), self.rng.below(4)]);
        let replica = hash(&[template, self.rng.below(12)]);
        format!(
            "{app}-production/{app}-{}-{}",
            base36(template, 10),
            base36(replica, 5)
        )
    }

    /// Fills `{order}`, `{user}`, `{driver}`, `{merchant}`, `{n}`, `{ms}`, `{hex}`, `{amount}`,
    /// `{word}`, `{p}`, `{ip}`, `{pod}` in a template.
    fn fill(&mut self, template: &str) -> String {
        let mut out = String::with_capacity(template.len() + 32);
        let mut rest = template;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let Some(close) = rest[open..].find('}') else {
                break;
            };
            let name = &rest[open + 1..open + close];
            match name {
                "order" => {
                    let v = self.order();
                    let _ = write!(out, "{v}");
                }
                "user" => {
                    let v = self.user();
                    let _ = write!(out, "{v}");
                }
                "driver" => {
                    let v = self.driver();
                    let _ = write!(out, "{v}");
                }
                "merchant" => {
                    let v = self.merchant();
                    let _ = write!(out, "{v}");
                }
                "n" => {
                    let v = self.rng.log_uniform(500);
                    let _ = write!(out, "{v}");
                }
                "ms" => {
                    let v = self.rng.log_normal(25.0, 1.0) as u64;
                    let _ = write!(out, "{v}");
                }
                "p" => {
                    let v = self.rng.below(24);
                    let _ = write!(out, "{v}");
                }
                "amount" => {
                    let v = self.rng.log_normal(60_000.0, 0.8) as u64 * 100;
                    let _ = write!(out, "{v}");
                }
                "hex" => {
                    let v = self.hex(12);
                    out.push_str(&v);
                }
                "word" => out.push_str(self.vocab.search_words.draw(self.rng)),
                "ip" => {
                    let v = self.client_ip();
                    out.push_str(&v);
                }
                "pod" if self.stream.kind == Kind::Syslog => {
                    let pod = self.other_pod();
                    out.push_str(&pod);
                }
                "pod" => out.push_str(&self.meta.pod),
                "geo" => {
                    let lat = -6.1 - self.rng.f64() * 0.3;
                    let lng = 106.7 + self.rng.f64() * 0.3;
                    let _ = write!(out, "{lat:.5},{lng:.5}");
                }
                other => {
                    out.push('{');
                    out.push_str(other);
                    out.push('}');
                }
            }
            rest = &rest[open + close + 1..];
        }
        out.push_str(rest);
        out
    }

    fn iso(&mut self, key: &str) {
        let t = self.t;
        self.comma();
        let _ = write!(self.out, "\"{key}\":\"");
        push_iso(self.out, t, 3);
        self.out.push_str("Z\"");
    }

    // ---- nginx access logs -------------------------------------------------------------

    fn access(&mut self) {
        let (method, template) = *self.vocab.paths.draw(self.rng);
        let path = self.fill(template);
        let agent = if template == "/health" {
            "kube-probe/1.30"
        } else if template == "/metrics" {
            "Prometheus/2.54.1"
        } else {
            *self.vocab.agents.draw(self.rng)
        };
        let scanner =
            template.starts_with("/wp-") || template.starts_with("/.") || template.starts_with("/admin");
        let u = self.rng.f64();
        let status: u16 = if scanner {
            *self.rng.pick(&[404, 404, 404, 403, 400])
        } else if self.incident && template.contains("/api/") && u < 0.15 {
            *self.rng.pick(&[503, 503, 503, 502, 504])
        } else if u < 0.0008 {
            500
        } else if u < 0.0013 {
            502
        } else if u < 0.0016 {
            503
        } else if u < 0.0018 {
            504
        } else if u < 0.004 {
            429
        } else if u < 0.03 {
            404
        } else if u < 0.04 {
            *self.rng.pick(&[400, 401, 403, 409, 422])
        } else if u < 0.05 {
            *self.rng.pick(&[301, 302, 304])
        } else if method == "POST" {
            201
        } else if method == "DELETE" {
            204
        } else {
            200
        };
        let bytes = match status {
            204 | 304 => 0,
            s if s >= 300 => 150 + self.rng.below(400),
            _ => self.rng.log_normal(1800.0, 1.2) as u64,
        };
        let mut duration = self.rng.log_normal(18.0, 1.1);
        if status == 504 {
            duration = 60_000.0 + self.rng.f64() * 20.0;
        } else if self.incident && status >= 500 {
            duration = 1_000.0 + self.rng.log_normal(3_000.0, 0.8);
        }
        let duration = (duration * 1000.0).round() / 1000.0;
        let client = if template == "/health" || template == "/metrics" {
            self.meta.ip.clone()
        } else {
            self.client_ip()
        };
        let referer = if agent.starts_with("Mozilla/5.0 (") && !agent.contains("bot") {
            self.vocab.referers.draw(self.rng)
        } else {
            &"-"
        };
        let request_id = self.hex(32);
        let upstream = format!(
            "10.{}.{}.{}:8080",
            40 + self.rng.below(24),
            self.rng.below(250),
            2 + self.rng.below(250)
        );
        let mut message = String::with_capacity(320);
        message.push_str(&client);
        message.push_str(" - - [");
        push_nginx_time(&mut message, self.t);
        let _ = write!(
            message,
            "] \"{method} {path} HTTP/1.1\" {status} {bytes} \"{referer}\" \"{agent}\" {:.3} {:.3} {upstream} {request_id}",
            duration / 1000.0,
            duration / 1000.0 * 0.98
        );
        let level = if status >= 500 {
            "error"
        } else if status >= 400 {
            "warn"
        } else {
            "info"
        };
        self.raw("{");
        self.iso("@timestamp");
        self.field("message", &message);
        self.field("level", level);
        self.field("stream", "stdout");
        self.kubernetes("nginx");
        self.comma();
        let route = path.split('?').next().unwrap_or(&path).to_string();
        self.raw("\"http\":{");
        self.field("method", method);
        self.field("path", &route);
        self.number("status", status);
        self.number("bytes", bytes);
        self.number("duration_ms", duration);
        self.field("user_agent", agent);
        self.field("referer", referer);
        self.raw("}");
        self.comma();
        self.raw("\"client\":{");
        self.field("ip", &client);
        self.raw("}");
        self.field("request_id", &request_id);
        self.raw("}");
    }

    // ---- Java (logstash-logback-encoder) -------------------------------------------------

    fn java(&mut self) {
        let level = draw_level(self.rng, self.stream.env, self.incident, 0.02);
        let app = self.stream.app;
        let (message, logger, stack) = if level == "error" {
            let (template, exception, cause) = *self.vocab.java_errors.draw(self.rng);
            let message = self.fill(template);
            let stack = if exception.is_empty() {
                None
            } else {
                Some(self.java_stack(exception, cause))
            };
            (message, java_logger(app, self.rng), stack)
        } else {
            let template = if level == "warn" {
                *self.rng.pick(JAVA_WARN)
            } else if level == "debug" {
                *self.rng.pick(JAVA_DEBUG)
            } else {
                *self.vocab.java_info.draw(self.rng)
            };
            (self.fill(template), java_logger(app, self.rng), None)
        };
        let thread = format!("http-nio-8080-exec-{}", 1 + self.rng.below(200));
        let trace = self.hex(32);
        let span = self.hex(16);
        self.raw("{");
        self.iso("@timestamp");
        self.field("@version", "1");
        self.field("message", &message);
        self.field("logger_name", &logger);
        self.field("thread_name", &thread);
        self.field("level", &level.to_ascii_uppercase());
        self.number(
            "level_value",
            match level {
                "error" => 40000,
                "warn" => 30000,
                "debug" => 10000,
                _ => 20000,
            },
        );
        if let Some(stack) = stack {
            self.field("stack_trace", &stack);
        }
        self.field("trace_id", &trace);
        self.field("span_id", &span);
        self.kubernetes("app");
        self.ojek();
        self.raw("}");
    }

    fn java_stack(&mut self, exception: &str, cause: &str) -> String {
        let app = self.stream.app.replace('-', "");
        let mut s = String::with_capacity(4096);
        let exception = self.fill(exception);
        s.push_str(&exception);
        // Spring stacks are deep: tens to over a hundred frames.
        let frames = 20 + self.rng.below(100);
        for i in 0..frames {
            s.push_str("\n\tat ");
            if i < 3 || self.rng.chance(0.3) {
                let class = self.rng.pick(JAVA_APP_CLASSES);
                let method = self.rng.pick(JAVA_APP_METHODS);
                let _ = write!(
                    s,
                    "com.acme.{app}.{class}.{method}({}.java:{})",
                    class.rsplit('.').next().unwrap_or(class),
                    20 + self.rng.below(600)
                );
            } else {
                let frame = *self.rng.pick(JAVA_FRAMEWORK_FRAMES);
                s.push_str(frame);
            }
        }
        if !cause.is_empty() {
            s.push_str("\nCaused by: ");
            let cause = self.fill(cause);
            s.push_str(&cause);
            for _ in 0..4 + self.rng.below(12) {
                s.push_str("\n\tat ");
                let frame = *self.rng.pick(JAVA_FRAMEWORK_FRAMES);
                s.push_str(frame);
            }
            let _ = write!(s, "\n\t... {} common frames omitted", 10 + self.rng.below(60));
        }
        s
    }

    // ---- Go (zap) ----------------------------------------------------------------------

    fn go(&mut self) {
        let level = draw_level(self.rng, self.stream.env, self.incident, 0.015);
        let app = self.stream.app;
        let pkg = if app == "pricing" { "quote" } else { "location" };
        let caller = format!(
            "{pkg}/{}.go:{}",
            self.rng
                .pick(&["handler", "publisher", "service", "store", "grpc"]),
            20 + self.rng.below(400)
        );
        let trace = self.hex(32);
        self.raw("{");
        self.field("level", level);
        self.iso("time");
        self.field("caller", &caller);
        match level {
            "error" => {
                let (msg, error) = *self.vocab.go_errors.draw(self.rng);
                let panic = msg.starts_with("panic");
                let error = self.fill(error);
                self.field("msg", msg);
                self.field("error", &error);
                let stack = self.go_stack(panic);
                self.field("stacktrace", &stack);
            }
            "warn" => {
                let msg = *self.rng.pick(GO_WARN);
                self.field("msg", msg);
                let v = self.rng.log_normal(120.0, 0.8) as u64;
                self.number("latency_ms", v);
            }
            _ => {
                let msg = if level == "debug" {
                    "received location update"
                } else {
                    *self.vocab.go_info.draw(self.rng)
                };
                self.field("msg", msg);
                if app == "pricing" {
                    let km = (self.rng.log_normal(6.0, 0.7) * 100.0).round() / 100.0;
                    let surge = 1.0 + (self.rng.below(6) as f64) * 0.25;
                    let price = (km * 3_500.0 * surge) as u64;
                    self.number("distance_km", km);
                    self.number("surge", surge);
                    self.number("price_idr", price);
                    let merchant = self.merchant();
                    self.number("merchant_id", merchant);
                } else {
                    let driver = self.driver();
                    self.number("driver_id", driver);
                    let lat = -6.1 - self.rng.f64() * 0.3;
                    let lng = 106.7 + self.rng.f64() * 0.3;
                    self.comma();
                    let _ = write!(self.out, "\"lat\":{lat:.6},\"lng\":{lng:.6}");
                    let accuracy = (self.rng.log_normal(8.0, 0.6) * 10.0).round() / 10.0;
                    self.number("accuracy_m", accuracy);
                }
                let latency = (self.rng.log_normal(3.0, 0.9) * 1000.0).round() / 1000.0;
                self.number("latency_ms", latency);
            }
        }
        self.field("trace_id", &trace);
        self.kubernetes("app");
        self.ojek();
        self.raw("}");
    }

    fn go_stack(&mut self, panic: bool) -> String {
        let app = self.stream.app;
        let mut s = String::with_capacity(2048);
        if panic {
            let _ = writeln!(s, "goroutine {} [running]:", 1 + self.rng.log_uniform(90_000));
        }
        for _ in 0..4 + self.rng.below(14) {
            let (func, file) = *self.rng.pick(GO_FRAMES);
            let _ = write!(
                s,
                "github.com/acme/{app}/{func}\n\t/src/{file}:{}\n",
                10 + self.rng.below(500)
            );
        }
        s.push_str("net/http.HandlerFunc.ServeHTTP\n\t/usr/local/go/src/net/http/server.go:2220\nnet/http.serverHandler.ServeHTTP\n\t/usr/local/go/src/net/http/server.go:3210\nnet/http.(*conn).serve\n\t/usr/local/go/src/net/http/server.go:2092");
        s
    }

    // ---- Python (python-json-logger) ---------------------------------------------------

    fn python(&mut self) {
        let level = draw_level(self.rng, self.stream.env, self.incident, 0.02);
        let app = self.stream.app;
        let (logger, func) = if app == "billing-worker" {
            *self.rng.pick(&[
                ("billing.tasks", "generate_invoice"),
                ("billing.tasks", "settle_merchant"),
                ("celery.app.trace", "trace_task"),
                ("billing.ledger", "post_entries"),
            ])
        } else {
            *self.rng.pick(&[
                ("notifications.sender", "send"),
                ("notifications.fcm", "push"),
                ("notifications.email", "send_email"),
                ("notifications.consumer", "handle"),
            ])
        };
        let (message, exc) = match level {
            "error" => {
                let (template, traceback) = *self.vocab.py_errors.draw(self.rng);
                let message = self.fill(template);
                let exc = self.python_traceback(traceback, func);
                (message, Some(exc))
            }
            "warn" => {
                let template = *self.rng.pick(PY_WARN);
                (self.fill(template), None)
            }
            "debug" => (self.fill("Loaded template {word} for user {user}"), None),
            _ => {
                let template = *self.vocab.py_info.draw(self.rng);
                (self.fill(template), None)
            }
        };
        self.raw("{");
        self.comma();
        self.raw("\"timestamp\":\"");
        push_iso(self.out, self.t, 6);
        self.raw("+00:00\"");
        self.field(
            "levelname",
            match level {
                "warn" => "WARNING",
                "error" => "ERROR",
                "debug" => "DEBUG",
                _ => "INFO",
            },
        );
        self.field("name", logger);
        self.field("message", &message);
        self.field("module", logger.rsplit('.').next().unwrap_or(logger));
        self.field("funcName", func);
        let lineno = 20 + self.rng.below(300);
        self.number("lineno", lineno);
        self.number("process", 1);
        self.field("threadName", "MainThread");
        if let Some(exc) = exc {
            self.field("exc_info", &exc);
        }
        self.kubernetes("worker");
        self.raw("}");
    }

    fn python_traceback(&mut self, last: &str, func: &str) -> String {
        let app = self.stream.app.replace('-', "_");
        let mut s = String::from("Traceback (most recent call last):\n");
        for _ in 0..3 + self.rng.below(8) {
            let (file, line) = *self.rng.pick(PY_FRAMES);
            let _ = write!(
                s,
                "  File \"/app/{app}/{file}\", line {}, in {func}\n    {line}\n",
                10 + self.rng.below(400)
            );
        }
        let last = self.fill(last);
        s.push_str(&last);
        s
    }

    // ---- plain text Spring Boot, multiline-joined ----------------------------------------

    fn legacy(&mut self) {
        let level = draw_level(self.rng, self.stream.env, self.incident, 0.03);
        let mut text = String::with_capacity(512);
        push_iso(&mut text, self.t, 3);
        // "2026-11-20T00:00:01.234" -> Spring's "2026-11-20 00:00:01.234".
        text.replace_range(10..11, " ");
        let controller = *self.rng.pick(&[
            "c.a.portal.web.InvoiceController",
            "c.a.portal.web.LoginController",
            "c.a.portal.web.ReportController",
            "c.a.portal.service.MerchantService",
        ]);
        let _ = write!(
            text,
            " {:>5} 1 --- [nio-8080-exec-{}] {controller:<40} : ",
            level.to_ascii_uppercase(),
            1 + self.rng.below(50)
        );
        if level == "error" {
            let (template, exception, cause) = *self.vocab.java_errors.draw(self.rng);
            let message = self.fill(template);
            text.push_str(&message);
            if !exception.is_empty() {
                text.push('\n');
                let stack = self.java_stack(exception, cause);
                text.push_str(&stack);
            }
        } else {
            let template = *self.vocab.legacy_info.draw(self.rng);
            let message = self.fill(template);
            text.push_str(&message);
        }
        self.raw("{");
        self.iso("@timestamp");
        self.field("log", &text);
        self.field("stream", if level == "error" { "stderr" } else { "stdout" });
        self.kubernetes("portal");
        self.raw("}");
    }

    // ---- journald / syslog of the nodes ---------------------------------------------------

    fn syslog(&mut self) {
        let (appname, template) = if self.incident && self.rng.chance(0.05) {
            *self.rng.pick(&[
                ("kubelet", "E{kdate} {pid} prober.go:104] \"Probe failed\" probeType=\"Readiness\" pod=\"{pod}\" containerName=\"app\" probeResult=\"failure\" output=\"Get \\\"http://10.44.3.12:8080/health\\\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)\""),
                ("kernel", "[{uptime}] TCP: request_sock_TCP: Possible SYN flooding on port 443. Sending cookies.  Check SNMP counters."),
            ])
        } else {
            *self.vocab.syslog.draw(self.rng)
        };
        let mut message = self.fill(template);
        if message.contains("{kdate}") || message.contains("{pid}") || message.contains("{uptime}") {
            let mut date = String::new();
            let (_, month, day) = civil_from_days(self.t.div_euclid(DAY_MS));
            let secs = self.t.rem_euclid(DAY_MS) / 1000;
            let _ = write!(
                date,
                "{month:02}{day:02} {:02}:{:02}:{:02}.{:06}",
                secs / 3600,
                secs / 60 % 60,
                secs % 60,
                self.rng.below(1_000_000)
            );
            message = message
                .replace("{kdate}", &date)
                .replace("{pid}", &format!("{}", 1800 + self.rng.below(50)))
                .replace(
                    "{uptime}",
                    &format!(
                        "{}.{:06}",
                        100_000 + (self.t - DEFAULT_START_MS) / 1000,
                        self.rng.below(1_000_000)
                    ),
                );
        }
        let severity = if message.starts_with('E') && appname == "kubelet"
            || message.contains("Out of memory")
            || message.contains("I/O error")
        {
            "err"
        } else if message.starts_with('W')
            || message.contains("Invalid user")
            || message.contains("SYN flooding")
            || message.contains("table full")
            || message.contains("level=warning")
        {
            "warning"
        } else if appname == "sshd" || appname == "systemd-logind" {
            "notice"
        } else {
            "info"
        };
        self.raw("{");
        self.iso("@timestamp");
        let meta = self.meta;
        self.field("host", &meta.host);
        self.field("message", &message);
        self.field("severity", severity);
        self.comma();
        let pid = 1 + self.rng.below(30_000);
        let _ = write!(
            self.out,
            "\"syslog\":{{\"appname\":\"{appname}\",\"facility\":\"{}\",\"pid\":{pid}}}",
            if appname == "kernel" {
                "kern"
            } else if appname == "sshd" {
                "auth"
            } else {
                "daemon"
            }
        );
        self.field("transport", "journal");
        self.raw("}");
    }
}

fn java_logger(app: &str, rng: &mut Rng) -> String {
    let app = app.replace('-', "");
    format!("com.acme.{app}.{}", rng.pick(JAVA_APP_CLASSES))
}

/// Appends `s` as a JSON string.
pub fn push_json_string(out: &mut String, s: &str) {
    out.push('"');
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let escape = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\t' => "\\t",
            b'\r' => "\\r",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        if escape.is_empty() {
            let _ = write!(out, "\\u{b:04x}");
        } else {
            out.push_str(escape);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (H. Hinnant's algorithm).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// `2026-11-20T00:00:01.234` (with `digits` fractional digits: 3, or 6 padding with zeros).
fn push_iso(out: &mut String, t: i64, digits: usize) {
    let (y, mo, d) = civil_from_days(t.div_euclid(DAY_MS));
    let ms = t.rem_euclid(DAY_MS);
    let secs = ms / 1000;
    let _ = write!(
        out,
        "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}.{:03}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        ms % 1000
    );
    if digits == 6 {
        out.push_str("000");
    }
}

/// `20/Nov/2026:00:00:01 +0000`.
fn push_nginx_time(out: &mut String, t: i64) {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let (y, mo, d) = civil_from_days(t.div_euclid(DAY_MS));
    let secs = t.rem_euclid(DAY_MS) / 1000;
    let _ = write!(
        out,
        "{d:02}/{}/{y:04}:{:02}:{:02}:{:02} +0000",
        MONTHS[(mo - 1) as usize],
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    );
}

impl Vocab {
    fn new() -> Vocab {
        Vocab {
            paths: Ranked::new(PATHS, 1.05),
            agents: Ranked::new(AGENTS, 1.3),
            referers: Ranked::new(REFERERS, 1.2),
            java_info: Ranked::new(JAVA_INFO, 1.0),
            java_errors: Ranked::new(JAVA_ERRORS, 1.4),
            go_info: Ranked::new(GO_INFO, 1.0),
            go_errors: Ranked::new(GO_ERRORS, 1.4),
            py_info: Ranked::new(PY_INFO, 1.0),
            py_errors: Ranked::new(PY_ERRORS, 1.4),
            syslog: Ranked::new(SYSLOG, 1.1),
            legacy_info: Ranked::new(LEGACY_INFO, 1.0),
            search_words: Ranked::new(SEARCH_WORDS, 1.0),
        }
    }
}

// ---- vocabulary, most common first ------------------------------------------------------------

const PATHS: &[(&str, &str)] = &[
    ("POST", "/api/v1/drivers/{driver}/location"),
    ("GET", "/health"),
    ("GET", "/api/v1/orders/{order}"),
    ("GET", "/api/v1/pricing/quote?from={geo}&to={geo}"),
    ("POST", "/api/v1/orders"),
    ("GET", "/api/v1/users/{user}"),
    ("GET", "/metrics"),
    ("GET", "/api/v1/orders?user_id={user}&page={n}"),
    ("GET", "/api/v1/merchants/{merchant}/menu"),
    ("POST", "/api/v1/payments/{order}/charge"),
    ("GET", "/api/v2/search?q={word}"),
    ("GET", "/api/v1/drivers/{driver}/location"),
    ("GET", "/static/js/main.4f9c2a1e.js"),
    ("POST", "/api/v1/auth/token"),
    ("GET", "/api/v1/promos/{word}"),
    ("PUT", "/api/v1/users/{user}/devices/{hex}"),
    ("GET", "/static/css/app.8d1b7e3f.css"),
    ("POST", "/api/v1/notifications/ack"),
    ("DELETE", "/api/v1/orders/{order}"),
    ("GET", "/favicon.ico"),
    ("GET", "/api/v1/users/{user}/payment-methods"),
    ("POST", "/api/v1/orders/{order}/cancel"),
    ("GET", "/api/v1/invoices/{order}.pdf"),
    ("GET", "/robots.txt"),
    ("GET", "/wp-login.php"),
    ("GET", "/.env"),
    ("GET", "/admin/config.php"),
    ("GET", "/.git/config"),
];

const AGENTS: &[&str] = &[
    "Mozilla/5.0 (Linux; Android 14; SM-A546E) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.81 Mobile Safari/537.36",
    "okhttp/4.12.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Go-http-client/1.1",
    "Dalvik/2.1.0 (Linux; U; Android 13; Redmi Note 12 Build/TKQ1.221114.001)",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0",
    "curl/8.5.0",
    "python-requests/2.32.3",
    "Apache-HttpClient/4.5.14 (Java/17.0.12)",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "axios/1.7.7",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "PostmanRuntime/7.42.0",
    "Wget/1.21.4",
    "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
    "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36",
    "sqlmap/1.8.11#stable (https://sqlmap.org)",
    "masscan/1.3 (https://github.com/robertdavidgraham/masscan)",
];

const REFERERS: &[&str] = &[
    "-",
    "https://food.example.com/",
    "https://food.example.com/checkout",
    "https://www.google.com/",
    "https://food.example.com/orders",
    "https://merchant.example.com/dashboard",
    "https://l.facebook.com/",
    "https://t.co/",
];

const SEARCH_WORDS: &[&str] = &[
    "nasi",
    "goreng",
    "kopi",
    "ayam",
    "bakso",
    "martabak",
    "sate",
    "pizza",
    "burger",
    "boba",
    "soto",
    "rendang",
    "gado",
    "sushi",
    "ramen",
    "dimsum",
    "bubur",
    "pempek",
    "rawon",
    "gudeg",
    "seblak",
    "durian",
    "klepon",
    "serabi",
    "lumpia",
    "tahu",
    "tempe",
    "es",
    "teh",
    "jus",
    "alpukat",
    "mangga",
    "promo50",
    "gratisongkir",
    "flashsale",
    "cashback",
    "voucher",
    "payday",
    "ramadhan",
    "harbolnas",
];

const JAVA_INFO: &[&str] = &[
    "Order {order} created for user {user}, total {amount} IDR",
    "Fetched {n} rows from order_items in {ms} ms",
    "Published OrderCreated event for order {order} to topic orders.v1 partition {p}",
    "Payment authorised for order {order} in {ms} ms",
    "Order {order} assigned to driver {driver}",
    "Cache miss for key order:{order}",
    "Order {order} status changed to DELIVERED",
    "Applied promo {word} to order {order}",
    "Refund of {amount} IDR issued for order {order}",
    "Merchant {merchant} accepted order {order}",
    "Scheduled job reconcileSettlements finished in {ms} ms, {n} settlements",
    "Feature flag checkout-v2 evaluated to true for user {user}",
];

const JAVA_WARN: &[&str] = &[
    "HikariPool-1 - Connection is not available, request timed out after 30000ms.",
    "Retrying call to pricing-service (attempt {n}/3)",
    "Slow query detected: SELECT * FROM orders WHERE user_id = ? took {ms} ms",
    "Order {order} has no delivery address, using merchant location",
    "Circuit breaker promo-service is OPEN",
];

const JAVA_DEBUG: &[&str] = &[
    "Resolved {n} promotions for user {user}",
    "Handling GET /api/v1/orders/{order}",
    "Loaded merchant {merchant} menu from cache",
];

/// (message, exception with its message, cause): empty exception means no stack trace.
const JAVA_ERRORS: &[(&str, &str, &str)] = &[
    (
        "Failed to charge payment for order {order}",
        "org.springframework.web.client.ResourceAccessException: I/O error on POST request for \"https://payments.internal/charge\": Read timed out",
        "java.net.SocketTimeoutException: Read timed out",
    ),
    (
        "Error calling pricing-service: Connection reset by peer",
        "org.springframework.web.client.ResourceAccessException: I/O error on POST request for \"http://pricing.production.svc:8080/quote\": Connection reset by peer",
        "java.net.SocketException: Connection reset by peer",
    ),
    (
        "Payment provider rejected card for order {order}: insufficient_funds",
        "",
        "",
    ),
    (
        "Unexpected error processing order {order}",
        "java.lang.NullPointerException: Cannot invoke \"com.acme.model.Address.getLatitude()\" because \"address\" is null",
        "",
    ),
    (
        "Kafka producer send failed for topic orders.v1",
        "org.apache.kafka.common.errors.TimeoutException: Expiry of 1 record(s) for orders.v1-{p}: 30012 ms has passed since batch creation",
        "",
    ),
    (
        "Could not acquire JDBC connection",
        "org.springframework.jdbc.CannotGetJdbcConnectionException: Failed to obtain JDBC Connection",
        "java.sql.SQLTransientConnectionException: HikariPool-1 - Connection is not available, request timed out after 30000ms.",
    ),
    (
        "Optimistic lock failure updating order {order}",
        "org.springframework.orm.ObjectOptimisticLockingFailureException: Row was updated or deleted by another transaction",
        "org.hibernate.StaleObjectStateException: Row was updated or deleted by another transaction",
    ),
    (
        "Validation failed for request to /api/v1/orders: quantity must be positive",
        "",
        "",
    ),
    (
        "Deadlock detected while updating order_items for order {order}",
        "org.springframework.dao.CannotAcquireLockException: could not execute statement",
        "org.postgresql.util.PSQLException: ERROR: deadlock detected\n  Detail: Process 4821 waits for ShareLock on transaction 99812; blocked by process 4830.",
    ),
    (
        "Certificate validation failed for https://api.payment-gateway.example",
        "javax.net.ssl.SSLHandshakeException: PKIX path building failed",
        "sun.security.validator.ValidatorException: PKIX path building failed: unable to find valid certification path to requested target",
    ),
    (
        "Uncaught exception in scheduler thread",
        "java.lang.OutOfMemoryError: Java heap space",
        "",
    ),
];

const JAVA_APP_CLASSES: &[&str] = &[
    "service.OrderService",
    "web.OrderController",
    "service.PaymentService",
    "client.PricingClient",
    "repository.OrderRepository",
    "messaging.OrderEventPublisher",
    "service.PromoService",
    "scheduler.SettlementJob",
];

const JAVA_APP_METHODS: &[&str] = &[
    "createOrder",
    "charge",
    "quote",
    "findByUserId",
    "publish",
    "applyPromo",
    "reconcile",
    "updateStatus",
    "lambda$handle$0",
];

const JAVA_FRAMEWORK_FRAMES: &[&str] = &[
    "org.springframework.web.servlet.FrameworkServlet.processRequest(FrameworkServlet.java:1014)",
    "org.springframework.web.servlet.DispatcherServlet.doDispatch(DispatcherServlet.java:1089)",
    "org.springframework.web.servlet.DispatcherServlet.doService(DispatcherServlet.java:979)",
    "org.springframework.web.method.support.InvocableHandlerMethod.invokeForRequest(InvocableHandlerMethod.java:150)",
    "org.springframework.aop.framework.ReflectiveMethodInvocation.proceed(ReflectiveMethodInvocation.java:184)",
    "org.springframework.transaction.interceptor.TransactionInterceptor.invoke(TransactionInterceptor.java:119)",
    "org.springframework.web.client.RestTemplate.doExecute(RestTemplate.java:915)",
    "org.apache.catalina.core.ApplicationFilterChain.doFilter(ApplicationFilterChain.java:138)",
    "org.apache.catalina.core.StandardWrapperValve.invoke(StandardWrapperValve.java:164)",
    "org.apache.coyote.http11.Http11Processor.service(Http11Processor.java:396)",
    "org.apache.tomcat.util.net.NioEndpoint$SocketProcessor.doRun(NioEndpoint.java:1736)",
    "java.base/java.util.concurrent.ThreadPoolExecutor.runWorker(ThreadPoolExecutor.java:1136)",
    "java.base/java.lang.Thread.run(Thread.java:840)",
    "java.base/sun.nio.ch.NioSocketImpl.read(NioSocketImpl.java:288)",
    "java.base/java.net.SocketInputStream.read(SocketInputStream.java:168)",
    "com.zaxxer.hikari.pool.HikariPool.getConnection(HikariPool.java:181)",
    "org.hibernate.engine.jdbc.spi.SqlExceptionHelper.convert(SqlExceptionHelper.java:113)",
    "io.micrometer.observation.Observation.observe(Observation.java:565)",
];

const GO_INFO: &[&str] = &[
    "location update accepted",
    "published driver location batch",
    "quote computed",
    "grpc request served",
    "cache refreshed",
    "geohash index rebuilt",
    "consumer group rebalanced",
];

const GO_WARN: &[&str] = &[
    "redis latency high",
    "surge multiplier capped",
    "driver location out of bounds",
    "retrying kafka publish",
];

/// (msg, error).
const GO_ERRORS: &[(&str, &str)] = &[
    (
        "failed to publish location update",
        "kafka: client has run out of available brokers to talk to: dial tcp 10.20.3.{p}:9092: i/o timeout",
    ),
    (
        "grpc call failed",
        "rpc error: code = DeadlineExceeded desc = context deadline exceeded",
    ),
    (
        "redis GET failed",
        "dial tcp 10.20.5.6:6379: connect: connection refused",
    ),
    (
        "failed to decode request",
        "json: cannot unmarshal string into Go struct field LocationUpdate.lat of type float64",
    ),
    (
        "upstream returned error",
        "pricing-rules: unexpected status 503 Service Unavailable",
    ),
    (
        "read from client failed",
        "read tcp 10.44.1.7:8080->10.44.9.3:{n}: read: connection reset by peer",
    ),
    (
        "panic recovered",
        "runtime error: invalid memory address or nil pointer dereference",
    ),
    (
        "postgres query failed",
        "ERROR: deadlock detected (SQLSTATE 40P01)",
    ),
];

const GO_FRAMES: &[(&str, &str)] = &[
    (
        "internal/location.(*Handler).Publish",
        "internal/location/handler.go",
    ),
    (
        "internal/location.(*Publisher).Send",
        "internal/location/publisher.go",
    ),
    ("internal/quote.(*Service).Quote", "internal/quote/service.go"),
    ("internal/store.(*Redis).Get", "internal/store/redis.go"),
    ("internal/grpc.(*Server).handle", "internal/grpc/server.go"),
    (
        "internal/middleware.Recover.func1",
        "internal/middleware/recover.go",
    ),
    ("internal/middleware.Trace.func1", "internal/middleware/trace.go"),
];

const PY_INFO: &[&str] = &[
    "Sent push notification to device {hex} (user {user}) in {ms} ms",
    "Task billing.tasks.generate_invoice[{hex}] succeeded in 0.{ms}s: None",
    "Invoice INV-2026-{n} generated for merchant {merchant}",
    "Consumed {n} messages from notifications.v1 partition {p}",
    "Email receipt queued for order {order}",
    "Settlement batch {n} posted for merchant {merchant}: {amount} IDR",
    "Rendered template {word} for user {user}",
];

const PY_WARN: &[&str] = &[
    "Retrying FCM request for device {hex} (attempt {n})",
    "Device token for user {user} is stale, skipping",
    "Task billing.tasks.settle_merchant[{hex}] retry: Retry in 60s",
];

/// (message, the traceback's last line).
const PY_ERRORS: &[(&str, &str)] = &[
    (
        "Failed to send push notification to user {user}",
        "requests.exceptions.ConnectionError: HTTPSConnectionPool(host='fcm.googleapis.com', port=443): Max retries exceeded with url: /v1/projects/acme/messages:send (Caused by NewConnectionError('<urllib3.connection.HTTPSConnection object at 0x7f3a{hex}>: Failed to establish a new connection: [Errno 111] Connection refused'))",
    ),
    (
        "Task billing.tasks.generate_invoice[{hex}] raised unexpected: KeyError('merchant_id')",
        "KeyError: 'merchant_id'",
    ),
    (
        "Redis timeout while reading notification preferences",
        "redis.exceptions.TimeoutError: Timeout reading from socket",
    ),
    (
        "SES send failed for order {order}",
        "botocore.exceptions.ClientError: An error occurred (ThrottlingException) when calling the SendEmail operation: Maximum sending rate exceeded.",
    ),
    (
        "Task billing.tasks.settle_merchant[{hex}] hit soft time limit",
        "celery.exceptions.SoftTimeLimitExceeded: SoftTimeLimitExceeded()",
    ),
    (
        "Deadlock while posting ledger entries for merchant {merchant}",
        "psycopg2.errors.DeadlockDetected: deadlock detected\nDETAIL:  Process 7712 waits for ShareLock on transaction 551203; blocked by process 7719.",
    ),
];

const PY_FRAMES: &[(&str, &str)] = &[
    (
        "sender.py",
        "resp = self.session.post(url, json=payload, timeout=5)",
    ),
    ("tasks.py", "invoice = build_invoice(merchant, period)"),
    ("ledger.py", "cur.execute(INSERT_ENTRY, entry)"),
    ("consumer.py", "self.handle(message)"),
    ("preferences.py", "raw = self.redis.get(key)"),
    ("email.py", "self.ses.send_email(**params)"),
];

const LEGACY_INFO: &[&str] = &[
    "User {user} logged in from {ip}",
    "Rendered invoice list for merchant {merchant} in {ms} ms",
    "Report export {hex} finished: {n} rows",
    "Session expired for user {user}",
    "Merchant {merchant} updated bank account",
];

/// (appname, message template).
const SYSLOG: &[(&str, &str)] = &[
    (
        "kubelet",
        "I{kdate} {pid} kubelet.go:2430] \"SyncLoop (PLEG): event for pod\" pod=\"{pod}\" event={\"Type\":\"ContainerStarted\"}",
    ),
    (
        "containerd",
        "time=\"2026-11-20T00:00:00Z\" level=info msg=\"StartContainer for \\\"{hex}\\\" returns successfully\"",
    ),
    (
        "kubelet",
        "I{kdate} {pid} prober.go:107] \"Probe succeeded\" probeType=\"Liveness\" pod=\"{pod}\"",
    ),
    (
        "systemd",
        "Started session-{n}.scope - Session {n} of User ubuntu.",
    ),
    (
        "CRON",
        "(root) CMD (test -x /usr/sbin/anacron || ( cd / && run-parts --report /etc/cron.daily ))",
    ),
    (
        "chronyd",
        "Selected source 169.254.169.254 (metadata.google.internal)",
    ),
    (
        "sshd",
        "Accepted publickey for ubuntu from 10.0.0.{p} port {n} ssh2: ED25519 SHA256:{hex}",
    ),
    (
        "kubelet",
        "W{kdate} {pid} reflector.go:561] object-\"orders-production\"/\"orders-config\": failed to list *v1.ConfigMap: configmaps \"orders-config\" is forbidden",
    ),
    (
        "containerd",
        "time=\"2026-11-20T00:00:00Z\" level=warning msg=\"cleanup warnings time=\\\"2026-11-20T00:00:00Z\\\" level=info msg=\\\"starting signal loop\\\"\"",
    ),
    ("sshd", "Invalid user admin from {ip} port {n}"),
    ("systemd-logind", "New session {n} of user ubuntu."),
    (
        "kernel",
        "[{uptime}] IPv4: martian source 10.44.0.1 from 10.44.0.{p}, on dev eth0",
    ),
    (
        "dockerd",
        "time=\"2026-11-20T00:00:00Z\" level=info msg=\"ignoring event\" module=libcontainerd namespace=moby topic=/tasks/delete",
    ),
    (
        "kernel",
        "[{uptime}] nf_conntrack: nf_conntrack: table full, dropping packet",
    ),
    (
        "kernel",
        "[{uptime}] EXT4-fs error (device sda1): ext4_find_entry:1455: inode #2: comm kubelet: reading directory lblock 0",
    ),
    (
        "kernel",
        "[{uptime}] Out of memory: Killed process {pid} (java) total-vm:8123456kB, anon-rss:4012345kB, file-rss:0kB, shmem-rss:0kB, UID:1000 pgtables:9876kB oom_score_adj:936",
    ),
    (
        "kernel",
        "[{uptime}] blk_update_request: I/O error, dev sdb, sector 123456 op 0x0:(READ) flags 0x80700 phys_seg 1 prio class 0",
    ),
];
