//! Synthetic app manifests for benchmarks: realistic size, three processes each (an HTTP
//! service with a route, autoscaling and health checks; a Kafka consumer scaled on lag; a
//! cron job), with dependencies and environment overrides.

use ojek_core::spec::LoadedApp;
use ojek_core::spec::load::LoadedPlatform;
use ojek_core::spec::platform::TargetKind;
use ojek_core::{Format, NomadFormat, RenderOptions, package, render};

/// Renders one app for Kubernetes (production) and Nomad (production-dc) of the example
/// platform, to YAML and JSON text; returns (objects, bytes of output).
pub fn render_both(app: &LoadedApp, platform: &LoadedPlatform) -> (usize, usize) {
    let kube = RenderOptions {
        env: "production".into(),
        target: Some(TargetKind::Kubernetes),
        kube_version: None,
    };
    let nomad = RenderOptions {
        env: "production-dc".into(),
        target: Some(TargetKind::Nomad),
        kube_version: None,
    };
    let k = render(app, platform, &kube).expect("kubernetes");
    let n = render(app, platform, &nomad).expect("nomad");
    let mut bytes = 0;
    for r in [&k, &n] {
        bytes += package(r, "a", Format::Yaml, NomadFormat::Json)
            .expect("package")
            .values()
            .map(String::len)
            .sum::<usize>();
    }
    (k.objects.len() + n.objects.len(), bytes)
}

/// The manifest text of app number `i`.
pub fn manifest(i: usize) -> String {
    format!(
        r#"apiVersion: ojek.dev/v1
kind: App
metadata:
  name: app-{i}
  team: team-{team}
  description: Synthetic app {i} for benchmarks.
  labels:
    tier: standard
resources:
  db:
    type: postgres
  events:
    type: kafka-topic
    access: both
processes:
  web:
    kind: service
    image: registry.example.com/team-{team}/app-{i}:1.{i}.0
    env:
      DATABASE_URL: ${{resources.db.url}}
      LOG_LEVEL: info
      API_KEY: {{secret: app-{i}-keys, key: api}}
    ports:
      http: {{port: 8080}}
    routes:
      - host: app-{i}.example.com
        tls: true
    health:
      liveness: {{http: {{path: /healthz}}}}
      readiness: {{http: {{path: /ready}}, interval: 5s}}
    cpu: {{request: 250m}}
    memory: {{request: 256Mi, limit: 512Mi}}
    scaling:
      autoscale: {{min: 2, max: 10, cpu: 70}}
    update: {{maxSurge: 1, maxUnavailable: 0}}
    shutdownGracePeriod: 30s
  consumer:
    kind: worker
    image: registry.example.com/team-{team}/app-{i}-consumer:1.{i}.0
    env:
      BROKERS: ${{resources.events.brokers}}
      DATABASE_URL: ${{resources.db.url}}
    cpu: {{request: 100m}}
    memory: {{request: 128Mi, limit: 256Mi}}
    scaling:
      autoscale: {{min: 1, max: 20, kafkaLag: {{topic: events, lag: 500}}}}
  report:
    kind: cron
    image: registry.example.com/team-{team}/app-{i}-report:1.{i}.0
    schedule: "15 3 * * *"
    timeZone: Asia/Jakarta
    concurrency: forbid
    retries: 2
    deadline: 30m
bestEffort:
  - processes.web.update.maxUnavailable
  - processes.report.deadline
environments:
  production:
    processes:
      web:
        scaling:
          autoscale: {{min: 4, max: 40, cpu: 65}}
"#,
        team = i % 50
    )
}
