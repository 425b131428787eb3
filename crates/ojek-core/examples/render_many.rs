//! Renders N synthetic apps (3 processes each) to both targets, from manifest text to output
//! text, and prints the time taken. Used by `bench/render-10k.sh` with `/usr/bin/time` for
//! peak memory.

use std::time::Instant;

use ojek_core::spec::NoFiles;
use ojek_core::spec::load::{load_app, load_platform};

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
        "{n} apps (3 processes each) to Kubernetes YAML and Nomad JSON: {secs:.3} s, {:.0} apps/s, {objects} objects, {:.1} MB of output",
        n as f64 / secs,
        bytes as f64 / 1e6
    );
}
