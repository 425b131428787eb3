//! Weights: percentages always add up to 100 and stay within one point of the exact share;
//! shards get traffic only once ready; decisions override the weights.

mod common;

use ojek_experiments::crd::Decision;
use ojek_experiments::desired::{effective_weights, percent};
use proptest::prelude::*;

proptest! {
    #[test]
    fn percentages_add_up_to_100_and_are_fair(weights in proptest::collection::vec(0u32..1_000_000, 1..10)) {
        let named: Vec<(String, u32)> = weights.iter().enumerate().map(|(i, w)| (format!("v{i}"), *w)).collect();
        let p = percent(&named);
        let total: u64 = weights.iter().map(|w| u64::from(*w)).sum();
        let sum: u32 = p.iter().map(|(_, x)| *x).sum();
        if total == 0 {
            prop_assert_eq!(sum, 0);
        } else {
            prop_assert_eq!(sum, 100);
            for ((_, w), (_, x)) in named.iter().zip(p.iter()) {
                let exact = f64::from(*w) * 100.0 / total as f64;
                prop_assert!((f64::from(*x) - exact).abs() < 1.0, "{} vs {}", x, exact);
                if *w == 0 {
                    prop_assert_eq!(*x, 0);
                }
            }
        }
    }
}

const EXP: &str = r#"apiVersion: ojek.dev/v1alpha1
kind: Experiment
metadata: {name: a, namespace: promotions-production}
spec:
  app: promo-gateway
  environment: production
  baselineWeight: 80
  variants: [{name: b, weight: 15}, {name: c, weight: 5}]
  routing: {gatewayApi: {}}
"#;

#[test]
fn a_variant_gets_traffic_only_once_ready() {
    let e = common::experiment(EXP).experiment;
    let w = effective_weights(&e, &|v| v == "b");
    assert_eq!(
        w,
        vec![("baseline".into(), 80), ("b".into(), 15), ("c".into(), 0)]
    );
    assert_eq!(
        percent(&w),
        vec![("baseline".into(), 84), ("b".into(), 16), ("c".into(), 0)]
    );
}

#[test]
fn promote_sends_everything_to_the_winner_once_it_is_ready() {
    let mut e = common::experiment(EXP).experiment;
    e.spec.decision = Some(Decision {
        promote: Some("c".into()),
        abort: false,
    });
    assert_eq!(
        effective_weights(&e, &|_| true),
        vec![("baseline".into(), 0), ("b".into(), 0), ("c".into(), 1)]
    );
    // Not ready: the baseline keeps the traffic rather than sending it nowhere.
    assert_eq!(
        effective_weights(&e, &|v| v != "c"),
        vec![("baseline".into(), 1), ("b".into(), 0), ("c".into(), 0)]
    );
}

#[test]
fn abort_sends_everything_to_the_baseline() {
    let mut e = common::experiment(EXP).experiment;
    e.spec.decision = Some(Decision {
        promote: None,
        abort: true,
    });
    assert_eq!(
        effective_weights(&e, &|_| true),
        vec![("baseline".into(), 1), ("b".into(), 0), ("c".into(), 0)]
    );
}
