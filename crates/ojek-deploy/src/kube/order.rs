//! In which order objects are applied, and which kinds ojek may prune.
//!
//! Dependencies first: the namespace, identities and configuration before the workloads
//! that mount them, workloads before what routes to or scales them. Pure data.

/// Apply order by kind; kinds not listed go last, in their rendered order.
pub const APPLY_ORDER: &[&str] = &[
    "Namespace",
    "ServiceAccount",
    "ConfigMap",
    "Secret",
    "Service",
    "Deployment",
    "StatefulSet",
    "Job",
    "CronJob",
    "Ingress",
    "HTTPRoute",
    "HorizontalPodAutoscaler",
    "ScaledObject",
    "PodDisruptionBudget",
    "NetworkPolicy",
];

/// The namespaced kinds ojek renders or may have applied as raw objects, as
/// `(group, version, kind)`: the kinds listed when looking for objects to prune. Kinds a
/// cluster does not serve (no KEDA, no Gateway API) are skipped there.
pub const PRUNABLE_KINDS: &[(&str, &str, &str)] = &[
    ("", "v1", "ServiceAccount"),
    ("", "v1", "ConfigMap"),
    ("", "v1", "Secret"),
    ("", "v1", "Service"),
    ("apps", "v1", "Deployment"),
    ("apps", "v1", "StatefulSet"),
    ("batch", "v1", "Job"),
    ("batch", "v1", "CronJob"),
    ("networking.k8s.io", "v1", "Ingress"),
    ("gateway.networking.k8s.io", "v1", "HTTPRoute"),
    ("autoscaling", "v2", "HorizontalPodAutoscaler"),
    ("keda.sh", "v1alpha1", "ScaledObject"),
    ("policy", "v1", "PodDisruptionBudget"),
    ("networking.k8s.io", "v1", "NetworkPolicy"),
];

/// The position of `kind` in [`APPLY_ORDER`] (unlisted kinds after every listed one).
pub fn rank(kind: &str) -> usize {
    APPLY_ORDER
        .iter()
        .position(|k| *k == kind)
        .unwrap_or(APPLY_ORDER.len())
}

/// Sorts items by the rank of their kind, keeping the rendered order within a kind.
pub fn sort_by_kind<T>(items: &mut [T], kind: impl Fn(&T) -> &str) {
    items.sort_by_key(|i| rank(kind(i)));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespace_first_unknown_last_and_stable() {
        let mut kinds = vec![
            "Widget",
            "HorizontalPodAutoscaler",
            "Deployment",
            "Namespace",
            "Gadget",
            "ConfigMap",
        ];
        sort_by_kind(&mut kinds, |k| k);
        assert_eq!(
            kinds,
            [
                "Namespace",
                "ConfigMap",
                "Deployment",
                "HorizontalPodAutoscaler",
                "Widget",
                "Gadget"
            ]
        );
    }

    #[test]
    fn every_prunable_kind_has_an_apply_rank() {
        for (_, _, kind) in PRUNABLE_KINDS {
            assert!(rank(kind) < APPLY_ORDER.len(), "{kind}");
        }
    }
}
