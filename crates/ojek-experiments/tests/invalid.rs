//! Bad Experiments: each problem is reported with its reason, at the line and column of the
//! field it is about, and nothing is rendered.

mod common;

use ojek_experiments::file::{load_experiment, render};

const BASE: &str = r#"apiVersion: ojek.dev/v1alpha1
kind: Experiment
metadata:
  name: cashback
  namespace: promotions-production
spec:
  app: promo-gateway
  environment: production
  variants:
    - name: b
      weight: 10
      match:
        header: {name: X-Variant, value: b}
    - name: c
      weight: 10
      match:
        header: {name: x-variant, value: b}
  routing:
    gatewayApi: {}
"#;

/// Renders `text` against the promo-gateway example and returns the error text.
fn errors(text: &str) -> String {
    let loaded = match load_experiment("test.yaml", text) {
        Ok(l) => l,
        Err(d) => return d.to_string(),
    };
    let app = common::app("promo-gateway");
    match render(&loaded, &app, &common::platform()) {
        Ok(d) => panic!("rendered {} objects from a bad Experiment", d.objects().count()),
        Err(d) => d.to_string(),
    }
}

#[test]
fn overlapping_matches_are_reported_at_the_second_match() {
    let e = errors(BASE);
    assert!(e.contains("test.yaml:17:9"), "{e}");
    assert!(
        e.contains("variants `b` and `c` both match header `x-variant: b`"),
        "{e}"
    );
    assert!(e.contains("OverlappingMatches"), "{e}");
}

#[test]
fn weights_that_add_up_to_nothing_are_refused() {
    let text = BASE
        .replace("value: b}\n  routing", "value: c}\n  routing")
        .replace("weight: 10", "weight: 0")
        .replace(
            "  app: promo-gateway\n",
            "  app: promo-gateway\n  baselineWeight: 0\n",
        );
    let e = errors(&text);
    assert!(e.contains("WeightsNotPositive"), "{e}");
    assert!(e.contains("add up to 0"), "{e}");
    assert!(e.contains("test.yaml:10:3"), "{e}");
}

#[test]
fn a_variant_named_like_the_baseline_is_refused_at_its_name() {
    let text = BASE
        .replace("value: b}\n  routing", "value: c}\n  routing")
        .replace("- name: b\n", "- name: baseline\n");
    let e = errors(&text);
    assert!(e.contains("ReservedVariantName"), "{e}");
    assert!(e.contains("test.yaml:10:7"), "{e}");
}

#[test]
fn an_unknown_app_is_refused() {
    let text = BASE
        .replace("value: b}\n  routing", "value: c}\n  routing")
        .replace("app: promo-gateway", "app: promo-gateway-v2");
    let e = errors(&text);
    assert!(e.contains("UnknownApp"), "{e}");
    assert!(e.contains("there is no app `promo-gateway-v2`"), "{e}");
    assert!(e.contains("test.yaml:7:3"), "{e}");
}

#[test]
fn an_experiment_outside_the_apps_namespace_is_refused() {
    let text = BASE
        .replace("value: b}\n  routing", "value: c}\n  routing")
        .replace("namespace: promotions-production", "namespace: default");
    let e = errors(&text);
    assert!(e.contains("NotInAppNamespace"), "{e}");
    assert!(e.contains("promotions-production"), "{e}");
}

#[test]
fn overrides_that_break_the_app_are_reported_at_the_override() {
    let text = BASE
        .replace("value: b}\n  routing", "value: c}\n  routing")
        .replace(
            "    - name: c\n      weight: 10\n",
            "    - name: c\n      weight: 10\n      overrides:\n        memory: {request: lots}\n",
        );
    let e = errors(&text);
    assert!(e.contains("InvalidOverrides"), "{e}");
    assert!(e.contains("variant `c` does not render"), "{e}");
}

#[test]
fn unknown_fields_and_wrong_types_are_all_reported_with_lines() {
    let text = BASE
        .replace(
            "      weight: 10\n      match:\n        header: {name: X-Variant",
            "      wieght: 10\n      match:\n        header: {name: X-Variant",
        )
        .replace("gatewayApi: {}", "gatewayApi: {hostnames: promo.gojek.io}");
    let e = errors(&text);
    assert!(e.contains("test.yaml:11:7"), "{e}");
    assert!(e.contains("wieght"), "{e}");
    assert!(e.contains("weight"), "did-you-mean: {e}");
    assert!(e.contains("test.yaml:19:29"), "{e}");
}

#[test]
fn promote_must_name_a_variant_and_cannot_come_with_abort() {
    let base = BASE.replace("value: b}\n  routing", "value: c}\n  routing");
    let e = errors(&base.replace("  routing:", "  decision: {promote: d}\n  routing:"));
    assert!(e.contains("no variant `d`; variants: b, c"), "{e}");
    let e = errors(&base.replace("  routing:", "  decision: {promote: b, abort: true}\n  routing:"));
    assert!(e.contains("promote or abort, not both"), "{e}");
}

#[test]
fn routing_must_be_chosen_once() {
    let base = BASE.replace("value: b}\n  routing", "value: c}\n  routing");
    let e = errors(&base.replace("gatewayApi: {}", "gatewayApi: {}\n    istio: {}"));
    assert!(e.contains("choose one of `gatewayApi` and `istio`"), "{e}");
}

#[test]
fn a_process_without_routes_needs_parent_refs_for_gateway_api() {
    // driver-location in staging routes through Ingress: no HTTPRoute to take over.
    let text = r#"apiVersion: ojek.dev/v1alpha1
kind: Experiment
metadata: {name: geo, namespace: fulfilment-staging}
spec:
  app: driver-location
  environment: staging
  variants: [{name: h3, weight: 1}]
  routing: {gatewayApi: {}}
"#;
    let loaded = load_experiment("test.yaml", text).unwrap_or_else(|d| panic!("{d}"));
    let e = render(&loaded, &common::app("driver-location"), &common::platform())
        .err()
        .map(|d| d.to_string())
        .unwrap_or_default();
    assert!(e.contains("NoGatewayRoute"), "{e}");
    assert!(e.contains("give `parentRefs` and `hostnames`"), "{e}");
}

#[test]
fn not_an_experiment_is_said_plainly() {
    let e = load_experiment("test.yaml", "apiVersion: ojek.dev/v1\nkind: App\n")
        .err()
        .map(|d| d.to_string())
        .unwrap_or_default();
    assert!(e.contains("not an Experiment"), "{e}");
    let e = load_experiment("test.yaml", "a: [\n")
        .err()
        .map(|d| d.to_string())
        .unwrap_or_default();
    assert!(e.contains("test.yaml:"), "{e}");
}
