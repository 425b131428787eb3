//! Simulated clusters for `ojek up --demo`, so that plan, deploy and rollback can be tried on a
//! laptop with nothing else installed: two fake Kubernetes API servers (staging and
//! production) and a fake Nomad agent (production-dc) from `ojek-fake-cluster`, in this
//! process, on loopback ports. They keep their state in memory only and say so: the platform
//! file names them as simulated, and every deploy page shows the cluster.
//!
//! Staging holds one running Experiment of promo-gateway (`demo_experiment`).
//!
//! The stored platform file is pointed at them only when it is the default one or exactly
//! what an earlier `--demo` start wrote (see [`is_untouched_demo`]); a platform file someone
//! changed, even a demo one, is left alone.
//! The kubeconfig and the Nomad ACL token are written into `<data dir>/demo/`, and the Nomad
//! address (a new port on each start) is updated in the stored platform file when it changed.

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use ojek_fake_cluster::kube::FakeKube;
use ojek_fake_cluster::nomad::{FakeNomad, FakeNomadOptions};
use ojek_store::{Actor, Store};

use crate::auth::random_secret;
use crate::bootstrap::DEFAULT_PLATFORM;
use crate::state::PLATFORM;

/// The first line of a platform file pointed at the simulated clusters.
pub const MARKER: &str =
    "# ojek up --demo: the clusters below are simulated in the ojek process (state in memory only).";

/// The running simulated clusters; dropping them stops them.
pub struct DemoClusters {
    /// Staging's Kubernetes API server.
    pub staging: FakeKube,
    /// Production's Kubernetes API server.
    pub production: FakeKube,
    /// production-dc's Nomad agent.
    pub nomad: FakeNomad,
}

/// Starts the simulated clusters and points the stored platform file at them; `None` (with a
/// warning) when the platform file is not the default one.
pub async fn start(store: &Store, data_dir: &Path) -> anyhow::Result<Option<DemoClusters>> {
    let Some(stored) = store.platform(PLATFORM).await? else {
        return Ok(None);
    };
    if stored.content != DEFAULT_PLATFORM && !is_untouched_demo(&stored.content) {
        tracing::warn!(
            "--demo: the platform file was changed, so it is not pointed at the simulated clusters"
        );
        eprintln!(
            "ojek: --demo: the stored platform file is not the default one; simulated clusters are not started"
        );
        return Ok(None);
    }
    let token = random_secret();
    let clusters = DemoClusters {
        staging: FakeKube::try_start()
            .await
            .context("cannot start the simulated staging cluster")?,
        production: FakeKube::try_start()
            .await
            .context("cannot start the simulated production cluster")?,
        nomad: FakeNomad::start(FakeNomadOptions {
            acl_token: Some(token.clone()),
            deployment_delay: Duration::from_secs(3),
            region: "jkt".into(),
        })
        .await
        .context("cannot start the simulated Nomad cluster")?,
    };
    // An experiment to look at on the first run (never fatal: the rest of the demo works).
    if let Err(e) = crate::demo_experiment::seed(&clusters.staging, crate::auth::now_ms()) {
        tracing::warn!("--demo: the demo experiment was not created: {e:#}");
    }
    let dir = data_dir.join("demo");
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    write_private(&dir.join("kubeconfig.yaml"), &kubeconfig(&clusters))?;
    write_private(&dir.join("nomad-token"), &format!("{token}\n"))?;
    let text = demo_platform(&clusters.nomad.url())?;
    if stored.content != text {
        store
            .save_platform(PLATFORM, &text, Some(stored.version), &Actor::system())
            .await
            .context("cannot point the platform file at the simulated clusters")?;
    }
    eprintln!(
        "ojek: --demo: simulated clusters: staging (Kubernetes) {}, production (Kubernetes) {}, production-dc (Nomad) {}",
        clusters.staging.url(),
        clusters.production.url(),
        clusters.nomad.url()
    );
    Ok(Some(clusters))
}

/// Writes a file readable by its owner only.
fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .with_context(|| format!("cannot restrict {}", path.display()))?;
    }
    Ok(())
}

/// A kubeconfig with the two contexts the default platform file names.
fn kubeconfig(c: &DemoClusters) -> String {
    let mut out = String::from("apiVersion: v1\nkind: Config\nclusters:\n");
    let entries = [("kops-staging", &c.staging), ("gke-production", &c.production)];
    for (name, fake) in entries {
        out.push_str(&format!(
            "  - name: {name}\n    cluster: {{server: \"{}\"}}\n",
            fake.url()
        ));
    }
    out.push_str("users:\n  - name: demo\n    user: {}\ncontexts:\n");
    for (name, _) in entries {
        out.push_str(&format!(
            "  - name: {name}\n    context: {{cluster: {name}, user: demo}}\n"
        ));
    }
    out.push_str("current-context: kops-staging\n");
    out
}

/// Whether `content` is exactly what [`demo_platform`] writes, for whatever Nomad address.
pub fn is_untouched_demo(content: &str) -> bool {
    let url = content.lines().find_map(|line| {
        line.trim()
            .strip_prefix("address: ")
            .and_then(|rest| rest.strip_suffix("# simulated"))
            .map(str::trim)
    });
    url.is_some_and(|url| demo_platform(url).is_ok_and(|text| text == content))
}

/// The default platform file with its clusters replaced by the simulated ones (paths relative
/// to the data directory).
pub fn demo_platform(nomad_url: &str) -> anyhow::Result<String> {
    let replacements = [
        (
            "        kubeconfig: ~/.kube/config\n        context: kops-staging",
            "        kubeconfig: demo/kubeconfig.yaml   # simulated\n        context: kops-staging",
        ),
        (
            "        kubeconfig: ~/.kube/config\n        context: gke-production",
            "        kubeconfig: demo/kubeconfig.yaml   # simulated\n        context: gke-production",
        ),
        (
            "        address: https://nomad.dc.gojek.io:4646\n        token: {env: NOMAD_TOKEN}",
            "        address: NOMAD_URL   # simulated\n        token: {file: demo/nomad-token}",
        ),
    ];
    let mut text = format!(
        "{MARKER}\n# `ojek up` without --demo, or any change to this file, leaves the real cluster settings alone.\n{DEFAULT_PLATFORM}"
    );
    for (from, to) in replacements {
        anyhow::ensure!(
            text.contains(from),
            "the default platform file has no `{from}` to point at a simulated cluster"
        );
        text = text.replacen(from, &to.replace("NOMAD_URL", nomad_url), 1);
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_platform_points_every_cluster_at_the_simulated_ones_and_validates() {
        let text = demo_platform("http://127.0.0.1:4646").expect("demo platform");
        assert!(text.starts_with(MARKER));
        assert!(!text.contains("~/.kube/config"));
        assert!(!text.contains("nomad.dc.gojek.io"));
        assert_eq!(text.matches("kubeconfig: demo/kubeconfig.yaml").count(), 2);
        assert!(text.contains("address: http://127.0.0.1:4646"));
        let loaded = ojek_core::spec::load::load_platform("platform.yaml", &text);
        assert!(loaded.is_ok(), "{:?}", loaded.err());
    }

    #[test]
    fn only_an_untouched_demo_platform_is_rewritten() {
        let text = demo_platform("http://127.0.0.1:4646").expect("demo platform");
        assert!(is_untouched_demo(&text));
        assert!(!is_untouched_demo(DEFAULT_PLATFORM));
        // An admin's edit that keeps the marker line is kept.
        let edited = text.replacen("version: \"1.33\"", "version: \"1.34\"", 1);
        assert_ne!(edited, text);
        assert!(!is_untouched_demo(&edited));
        assert!(!is_untouched_demo(&format!("{text}# mine\n")));
        assert!(!is_untouched_demo(&text.replace('\n', "\r\n")));
    }
}
