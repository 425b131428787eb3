//! Renders N synthetic apps (3 processes each) to both targets, from manifest text to output
//! text, and prints the time taken. Used by `bench/render-10k.sh` with `/usr/bin/time` for
//! peak memory.

use std::time::Instant;

use ojek_core::spec::NoFiles;
use ojek_core::spec::load::{load_app, load_platform};

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
    let platform =
        load_platform("platform.yaml", include_str!("../../../examples/platform.yaml")).expect("platform");
    let texts: Vec<String> = (0..n).map(synth::manifest).collect();
    // From manifest text: parse, check, resolve, render, write YAML/JSON.
    let start = Instant::now();
    let (mut objects, mut bytes) = (0, 0);
    for text in &texts {
        let app = load_app("app.yaml", text, &NoFiles).expect("valid");
        let (o, b) = synth::render_both(&app, &platform);
        objects += o;
        bytes += b;
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "from text:   {n} apps (3 processes each) to Kubernetes YAML and Nomad JSON: {secs:.3} s, {:.0} apps/s, {objects} objects, {:.1} MB of output",
        n as f64 / secs,
        bytes as f64 / 1e6
    );
    // From parsed manifests (what the server holds in memory): resolve, render, write.
    let loaded: Vec<_> = texts
        .iter()
        .map(|t| load_app("app.yaml", t, &NoFiles).expect("valid"))
        .collect();
    let start = Instant::now();
    let bytes: usize = loaded
        .iter()
        .map(|app| synth::render_both(app, &platform).1)
        .sum();
    let secs = start.elapsed().as_secs_f64();
    println!(
        "from parsed: {n} apps (3 processes each) to Kubernetes YAML and Nomad JSON: {secs:.3} s, {:.0} apps/s, {:.1} MB of output",
        n as f64 / secs,
        bytes as f64 / 1e6
    );
}
