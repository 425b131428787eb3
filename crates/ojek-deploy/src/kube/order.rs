//! In which order and in which phases objects are applied, and which kinds ojek may prune.
//!
//! Three phases, the way Helm's `pre-upgrade` hooks and Argo CD's `PreSync` hooks (or sync
//! waves) run a database migration before the new code:
//!
//! 1. [`Phase::Setup`]: the namespace, identities and configuration, which everything else
//!    runs as or mounts (a migration Job needs its ServiceAccount and Secrets too);
//! 2. [`Phase::Jobs`]: one-off Jobs such as migrations. When the apply waits for rollouts, it
//!    waits for them to complete before the next phase, and stops there if one fails;
//! 3. [`Phase::Rollout`]: the Services and workloads (Deployments, StatefulSets, CronJobs),
//!    then what routes to, scales or protects them. Kinds not listed (raw objects) go last.
//!
//! Pure data.

use serde::Serialize;

/// A step of an apply; see the module docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Namespace, ServiceAccount, ConfigMap, Secret.
    Setup,
    /// Jobs: run to completion before the rollout phase when waiting.
    Jobs,
    /// Everything else: Services, workloads, routes, autoscalers, policies, raw objects.
    Rollout,
}

/// Apply order by kind, with each kind's phase; kinds not listed go last (in the
/// [`Phase::Rollout`] phase), in their rendered order.
pub const APPLY_ORDER: &[(&str, Phase)] = &[
    ("Namespace", Phase::Setup),
    ("ServiceAccount", Phase::Setup),
    ("ConfigMap", Phase::Setup),
    ("Secret", Phase::Setup),
    ("Job", Phase::Jobs),
    ("Service", Phase::Rollout),
    ("Deployment", Phase::Rollout),
    ("StatefulSet", Phase::Rollout),
    ("CronJob", Phase::Rollout),
    ("Ingress", Phase::Rollout),
    ("HTTPRoute", Phase::Rollout),
    ("HorizontalPodAutoscaler", Phase::Rollout),
    ("ScaledObject", Phase::Rollout),
    ("PodDisruptionBudget", Phase::Rollout),
    ("NetworkPolicy", Phase::Rollout),
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
        .position(|(k, _)| *k == kind)
        .unwrap_or(APPLY_ORDER.len())
}

/// The phase `kind` is applied in ([`Phase::Rollout`] for unlisted kinds).
pub fn phase(kind: &str) -> Phase {
    APPLY_ORDER
        .iter()
        .find(|(k, _)| *k == kind)
        .map_or(Phase::Rollout, |(_, p)| *p)
}

/// Sorts items by the rank of their kind, keeping the rendered order within a kind.
pub fn sort_by_kind<T>(items: &mut [T], kind: impl Fn(&T) -> &str) {
    items.sort_by_key(|i| rank(kind(i)));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespace_first_jobs_before_workloads_unknown_last_and_stable() {
        let mut kinds = vec![
            "Widget",
            "HorizontalPodAutoscaler",
            "Deployment",
            "Job",
            "Service",
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
                "Job",
                "Service",
                "Deployment",
                "HorizontalPodAutoscaler",
                "Widget",
                "Gadget"
            ]
        );
    }

    #[test]
    fn phases_follow_the_apply_order() {
        let phases: Vec<Phase> = APPLY_ORDER.iter().map(|(k, _)| phase(k)).collect();
        assert!(phases.is_sorted(), "{phases:?}");
        assert_eq!(phase("Secret"), Phase::Setup);
        assert_eq!(phase("Job"), Phase::Jobs);
        assert_eq!(phase("CronJob"), Phase::Rollout);
        assert_eq!(phase("Widget"), Phase::Rollout);
    }

    #[test]
    fn every_prunable_kind_has_an_apply_rank() {
        for (_, _, kind) in PRUNABLE_KINDS {
            assert!(rank(kind) < APPLY_ORDER.len(), "{kind}");
        }
    }
}
