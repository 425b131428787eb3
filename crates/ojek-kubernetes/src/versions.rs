//! Kubernetes versions ojek renders for, and the API version of each kind it emits.
//!
//! Every kind ojek emits is served at the same stable API version across 1.33–1.37, and every
//! field it sets is GA in 1.33 (native sidecars — init containers with `restartPolicy: Always` —
//! went GA in 1.33; CronJob `timeZone` in 1.27; autoscaling/v2 in 1.23; policy/v1 in 1.21).
//! When a later version changes a kind or a field, the change is gated here by version, and the
//! golden files for 1.33 and 1.37 show the difference.

/// Kubernetes minor versions ojek renders for, oldest first.
pub const SUPPORTED_VERSIONS: &[&str] = ojek_spec::platform::KUBERNETES_VERSIONS;

/// `(kind, apiVersion)` of every kind ojek emits for `version`.
pub fn object_api_versions(version: &str) -> &'static [(&'static str, &'static str)] {
    // One table serves every supported version today; see the module docs.
    let _ = version;
    &[
        ("ServiceAccount", "v1"),
        ("ConfigMap", "v1"),
        ("Service", "v1"),
        ("Deployment", "apps/v1"),
        ("StatefulSet", "apps/v1"),
        ("CronJob", "batch/v1"),
        ("Job", "batch/v1"),
        ("HorizontalPodAutoscaler", "autoscaling/v2"),
        ("PodDisruptionBudget", "policy/v1"),
        ("Ingress", "networking.k8s.io/v1"),
        ("HTTPRoute", "gateway.networking.k8s.io/v1"),
        ("ScaledObject", "keda.sh/v1alpha1"),
    ]
}

/// The apiVersion of `kind` for `version`.
pub(crate) fn api_version(version: &str, kind: &str) -> &'static str {
    object_api_versions(version)
        .iter()
        .find(|(k, _)| *k == kind)
        .map_or("v1", |(_, v)| v)
}
