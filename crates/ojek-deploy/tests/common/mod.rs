//! What the deploy tests share: the example apps rendered for an environment and target, and
//! the settings and names of the tests against real clusters (`e2e_kube.rs`, `e2e_nomad.rs`,
//! see `docs/deploy-e2e.md`).

#![allow(dead_code)]

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use ojek_core::spec::FileReader;
use ojek_core::spec::load::{load_app, load_platform};
use ojek_core::spec::platform::TargetKind;
use ojek_core::{RenderOptions, Rendered};

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Reads `fromFile` paths relative to the manifest (given relative to the workspace root).
pub struct RootReader;

impl FileReader for RootReader {
    fn read(&self, manifest: &str, relative: &str) -> Result<String, String> {
        let dir = Path::new(manifest).parent().unwrap_or(Path::new("."));
        std::fs::read_to_string(root().join(dir).join(relative)).map_err(|e| e.to_string())
    }
}

/// The text of a file of the workspace, e.g. `examples/payments-migrate.yaml`.
pub fn example(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Renders manifest `text` (named `path`) for `env` on `target` with `examples/platform.yaml`.
pub fn render(path: &str, text: &str, env: &str, target: TargetKind) -> Rendered {
    let platform_text = example("examples/platform.yaml");
    let platform = load_platform("examples/platform.yaml", &platform_text).unwrap_or_else(|d| panic!("{d}"));
    let loaded = load_app(path, text, &RootReader).unwrap_or_else(|d| panic!("{d}"));
    let options = RenderOptions {
        env: env.into(),
        target: Some(target),
        kube_version: None,
    };
    ojek_core::render(&loaded, &platform, &options).unwrap_or_else(|d| panic!("{d}"))
}

/// A variable of the real-cluster tests; unset and empty are the same.
pub fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// A short lowercase suffix that differs between runs, so that a rerun (or a run next to
/// another) never meets what an earlier one left behind.
pub fn unique_suffix() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    static CALLS: AtomicU64 = AtomicU64::new(0);
    let call = u128::from(CALLS.fetch_add(1, Ordering::Relaxed));
    let mut n = (nanos ^ (u128::from(std::process::id()) << 64) ^ (call << 40)) % 36u128.pow(6);
    let mut out = String::new();
    for _ in 0..6 {
        let digit = (n % 36) as u32;
        out.push(char::from_digit(digit, 36).unwrap_or('x'));
        n /= 36;
    }
    out
}

/// Runs a real-cluster scenario, then `cleanup` whether the scenario passed or panicked, and
/// only then fails the test with the scenario's panic.
pub async fn run_then_clean_up<S, C>(scenario: S, cleanup: C)
where
    S: Future<Output = ()> + Send + 'static,
    C: Future<Output = ()>,
{
    let outcome = tokio::spawn(scenario).await;
    cleanup.await;
    if let Err(e) = outcome {
        match e.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(e) => panic!("the scenario did not finish: {e}"),
        }
    }
}
