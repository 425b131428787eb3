//! Rendering throughput: apps per second to both targets (Kubernetes YAML and Nomad JSON),
//! with and without parsing. `bench/render-10k.sh` measures the full 10,000-app run and its
//! peak memory; results are in BENCHMARKS.md.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ojek_core::spec::NoFiles;
use ojek_core::spec::load::{load_app, load_platform};

#[path = "synth.rs"]
mod synth;

const BATCH: usize = 1000;

fn bench(c: &mut Criterion) {
    let platform =
        load_platform("platform.yaml", include_str!("../../../examples/platform.yaml")).expect("platform");
    let texts: Vec<String> = (0..BATCH).map(synth::manifest).collect();
    let loaded: Vec<_> = texts
        .iter()
        .map(|t| load_app("app.yaml", t, &NoFiles).expect("valid"))
        .collect();

    let mut g = c.benchmark_group("render");
    g.throughput(Throughput::Elements(BATCH as u64));
    g.sample_size(10);
    g.bench_function("both_targets_1000_apps", |b| {
        b.iter(|| {
            loaded
                .iter()
                .map(|app| synth::render_both(app, &platform).1)
                .sum::<usize>()
        })
    });
    g.bench_function("parse_validate_render_both_1000_apps", |b| {
        b.iter(|| {
            texts
                .iter()
                .map(|t| synth::render_both(&load_app("app.yaml", t, &NoFiles).expect("valid"), &platform).1)
                .sum::<usize>()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
