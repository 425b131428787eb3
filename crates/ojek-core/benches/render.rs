//! Rendering 10,000 apps (3 processes each) to both targets (Kubernetes YAML and Nomad
//! JSON), from parsed manifests and from manifest text. `bench/render-10k.sh` runs the same
//! work once under `/usr/bin/time` for peak memory; results are in BENCHMARKS.md.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

/// The same allocator as the `ojek` binary.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use ojek_core::spec::NoFiles;
use ojek_core::spec::load::{load_app, load_platform};

#[path = "synth.rs"]
mod synth;

const BATCH: usize = 10_000;

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
    g.measurement_time(std::time::Duration::from_secs(40));
    g.bench_function("both_targets_10k_apps_from_parsed", |b| {
        b.iter(|| {
            loaded
                .iter()
                .map(|app| synth::render_both(app, &platform).1)
                .sum::<usize>()
        })
    });
    g.bench_function("both_targets_10k_apps_from_text", |b| {
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
