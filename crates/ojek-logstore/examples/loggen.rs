//! Writes realistic shipped log lines (NDJSON) for the logs benchmark, one file per stream:
//!
//! ```text
//! loggen --bytes 5G --out DIR [--seed 1] [--days 3] [--start 2026-11-20]
//! ```
//!
//! `DIR/<app>.<env>.ndjson` holds each stream's lines in time order, and `DIR/manifest.json`
//! says what was written (sizes, lines, span, seed). Sizes take `K`, `M`, `G` (powers of
//! 1000). The same arguments always give the same bytes. See `benches/support/loggen.rs` for
//! what the lines look like, and `bench/logs/README.md` for the benchmark.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::time::Instant;

#[path = "../benches/support/loggen.rs"]
mod loggen;

use loggen::{Config, DEFAULT_START_MS, Generator};

fn main() {
    if let Err(e) = run() {
        eprintln!("loggen: {e}");
        std::process::exit(2);
    }
}

fn run() -> Result<(), String> {
    let mut bytes = None;
    let mut out = None;
    let mut seed = 1u64;
    let mut days = 3u32;
    let mut start_ms = DEFAULT_START_MS;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--bytes" => bytes = Some(parse_size(&value()?)?),
            "--out" => out = Some(PathBuf::from(value()?)),
            "--seed" => seed = value()?.parse().map_err(|_| "--seed takes an integer")?,
            "--days" => days = value()?.parse().map_err(|_| "--days takes an integer")?,
            "--start" => start_ms = parse_day(&value()?)?,
            "-h" | "--help" => {
                println!("loggen --bytes 5G --out DIR [--seed 1] [--days 3] [--start 2026-11-20]");
                return Ok(());
            }
            other => return Err(format!("unknown argument {other}; try --help")),
        }
    }
    let bytes = bytes.ok_or("--bytes is required (e.g. --bytes 200M)")?;
    let out = out.ok_or("--out is required")?;
    std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    let began = Instant::now();
    let mut generator = Generator::new(Config {
        bytes,
        seed,
        start_ms,
        days,
    });
    let mut files = Vec::new();
    for s in generator.streams() {
        let path = out.join(format!("{}.{}.ndjson", s.app, s.env));
        let file = File::create(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        files.push((
            s.app,
            s.env,
            path,
            BufWriter::with_capacity(1 << 20, file),
            0u64,
            0u64,
        ));
    }
    let mut line = String::with_capacity(16 * 1024);
    while let Some(stream) = generator.next_line(&mut line) {
        line.push('\n');
        let (_, _, path, writer, b, n) = &mut files[stream];
        writer
            .write_all(line.as_bytes())
            .map_err(|e| format!("{}: {e}", path.display()))?;
        *b += line.len() as u64;
        *n += 1;
        line.clear();
    }
    let mut streams = Vec::new();
    for (app, env, path, mut writer, b, n) in files {
        writer.flush().map_err(|e| format!("{}: {e}", path.display()))?;
        streams.push(serde_json::json!({
            "app": app,
            "env": env,
            "file": path.file_name().map(|f| f.to_string_lossy().into_owned()),
            "bytes": b,
            "lines": n,
        }));
    }
    let (from_ms, to_ms) = generator.span();
    let manifest = serde_json::json!({
        "bytes": generator.written(),
        "lines": generator.lines(),
        "seed": seed,
        "days": days,
        "from_ms": from_ms,
        "to_ms": to_ms,
        "streams": streams,
    });
    let path = out.join("manifest.json");
    std::fs::write(&path, serde_json::to_string_pretty(&manifest).unwrap_or_default())
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let secs = began.elapsed().as_secs_f64();
    eprintln!(
        "loggen: {} lines, {:.1} MB in {} files under {} ({secs:.1} s, {:.0} MB/s)",
        generator.lines(),
        generator.written() as f64 / 1e6,
        manifest["streams"].as_array().map_or(0, Vec::len),
        out.display(),
        generator.written() as f64 / 1e6 / secs
    );
    Ok(())
}

/// `200M`, `5G`, `1500000`: bytes, powers of 1000.
fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let (number, unit) = match text.char_indices().find(|(_, c)| c.is_ascii_alphabetic()) {
        Some((i, _)) => (&text[..i], &text[i..]),
        None => (text, ""),
    };
    let n: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a size (e.g. 200M, 5G)"))?;
    let scale = match unit.to_ascii_uppercase().trim_end_matches('B') {
        "" => 1.0,
        "K" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        _ => return Err(format!("`{text}`: the unit is K, M, G or T")),
    };
    Ok((n * scale) as u64)
}

/// `2026-11-20` as Unix milliseconds (UTC midnight).
fn parse_day(text: &str) -> Result<i64, String> {
    let date = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| format!("`{text}` is not a date (YYYY-MM-DD)"))?;
    let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).ok_or("epoch")?;
    Ok((date - epoch).num_days() * 86_400_000)
}
