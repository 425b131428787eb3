//! Renders N synthetic apps (3 processes each) to both targets and prints the time taken:
//! `render_many [N] [text|parsed|both]`. `text` starts from manifest text (parse, check,
//! resolve, render, write), one app at a time; `parsed` starts from parsed manifests held in
//! memory, as the server holds them. Used by `bench/render-10k.sh` with `/usr/bin/time` for
//! peak memory.

use std::time::Instant;

use ojek_core::spec::NoFiles;
use ojek_core::spec::load::{LoadedPlatform, load_app, load_platform};

/// The same allocator as the `ojek` binary.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[path = "../benches/synth.rs"]
mod synth;

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10_000);
    let mode = std::env::args().nth(2).unwrap_or_else(|| "both".into());
    let platform =
        load_platform("platform.yaml", include_str!("../../../examples/platform.yaml")).expect("platform");
    let texts: Vec<String> = (0..n).map(synth::manifest).collect();
    if mode != "parsed" {
        from_text(&texts, &platform);
    }
    if mode != "text" {
        from_parsed(&texts, &platform);
    }
}

fn report(what: &str, n: usize, secs: f64, bytes: usize) {
    println!(
        "{what}: {n} apps (3 processes each) to Kubernetes YAML and Nomad JSON: {secs:.3} s, {:.0} apps/s, {:.1} MB of output",
        n as f64 / secs,
        bytes as f64 / 1e6
    );
}

fn from_text(texts: &[String], platform: &LoadedPlatform) {
    let start = Instant::now();
    let mut bytes = 0;
    for text in texts {
        let app = load_app("app.yaml", text, &NoFiles).expect("valid");
        bytes += synth::render_both(&app, platform).1;
    }
    report("from text  ", texts.len(), start.elapsed().as_secs_f64(), bytes);
}

fn from_parsed(texts: &[String], platform: &LoadedPlatform) {
    let loaded: Vec<_> = texts
        .iter()
        .map(|t| load_app("app.yaml", t, &NoFiles).expect("valid"))
        .collect();
    let start = Instant::now();
    let bytes: usize = loaded.iter().map(|app| synth::render_both(app, platform).1).sum();
    report("from parsed", texts.len(), start.elapsed().as_secs_f64(), bytes);
}
