//! Manifests and a platform file shared by the Nomad renderer's tests.
#![allow(dead_code)]

use ojek_output::{Rendered, Sources};
use ojek_spec::{Diagnostics, LoadedPlatform, NoFiles, ResolvedApp, load_app, load_platform, resolve};

/// A platform with a Consul + Traefik profile (`production`), a Nomad-provider profile
/// (`staging`), a Fabio profile (`edge`) and bindings for postgres and kafka.
pub const PLATFORM: &str = r#"
apiVersion: ojek.dev/v1
kind: Platform
metadata:
  name: test
environments:
  production:
    target: nomad
    nomad:
      profile: dc1
      namespace: "{team}-{env}"
  staging:
    target: nomad
    nomad:
      profile: small
  edge:
    target: nomad
    nomad:
      profile: fabio
  k8s-only:
    target: kubernetes
    kubernetes:
      version: "1.35"
      profile: gke
profiles:
  dc1:
    nomad:
      region: jkt
      datacenters: [jkt1, jkt2]
      serviceProvider: consul
      cpuMhzPerCore: 2400
      router: traefik
      secretsPath: "secret/{team}/{app}"
      lagMetricsSource: prometheus
      hostVolume: "{env}-{app}-{volume}"
  small:
    nomad:
      region: sg
      datacenters: [sg1]
  fabio:
    nomad:
      region: jkt
      datacenters: [jkt1]
      serviceProvider: consul
      router: fabio
  gke:
    kubernetes: {}
bindings:
  postgres:
    host:
      kubernetes: {value: "{app}-db.svc"}
      nomad: {value: "{app}-db.service.consul"}
    password:
      kubernetes: {secret: "{app}-db", key: password}
      nomad: {secret: "database/{app}", key: password}
  kafka-topic:
    brokers:
      kubernetes: {value: "kafka:9092"}
      nomad: {value: "kafka.service.consul:9092"}
"#;

/// An app using nearly everything the renderer maps.
pub const FULL: &str = r#"
apiVersion: ojek.dev/v1
kind: App
metadata:
  name: payments
  team: money
  description: Takes payments
  labels:
    tier: backend
  annotations:
    example.com/owner: money-team
resources:
  db:
    type: postgres
  events:
    type: kafka-topic
    access: consume
processes:
  web:
    kind: service
    image: registry.example.com/money/payments:1.4.2
    command: [/app/server]
    args: [--port, "8080"]
    env:
      LOG_LEVEL: info
      WORKERS: 4
      DEBUG: false
      DB_HOST: ${resources.db.host}
      DB_URL: "postgres://app:${resources.db.password}@${resources.db.host}:5432/payments"
      API_KEY: {secret: stripe, key: api-key}
    files:
      /etc/payments/config.yaml:
        content: |
          listen: 8080
          greeting: "{{ hello }}"
          price: ${PRICE}
        mode: "0600"
      /etc/payments/plain.txt:
        content: "no newline at the end"
    ports:
      http: {port: 8080}
      grpc: {port: 9090, protocol: grpc}
    routes:
      - host: pay.example.com
        path: /api
        port: http
        tls: true
      - host: grpc.example.com
        port: grpc
    health:
      liveness:
        http: {path: /healthz, port: http}
        interval: 15s
        timeout: 2s
        initialDelay: 20s
        failureThreshold: 5
      readiness:
        grpc: {port: grpc, service: payments.v1.Payments}
        initialDelay: 5s
        failureThreshold: 2
    cpu: {request: 500m, limit: 500m}
    memory: {request: 256Mi, limit: 512Mi}
    scaling:
      replicas: 3
    update:
      maxSurge: 1
      maxUnavailable: 1
      canary: 1
    shutdownGracePeriod: 45s
    placement:
      nodeSelector:
        zone: a
    security:
      runAsUser: 1000
      runAsNonRoot: true
      readOnlyRootFilesystem: true
    volumes:
      cache: {path: /var/cache/payments, type: ephemeral, size: 1Gi}
      scratch: {path: /scratch, type: ephemeral, memory: true, size: 64Mi}
    sidecars:
      proxy:
        image: envoyproxy/envoy:v1.30
        args: [-c, /etc/envoy.yaml]
        cpu: {request: 100m}
        memory: {request: 64Mi}
    initContainers:
      migrate:
        image: registry.example.com/money/payments:1.4.2
        command: [/app/migrate]
        env:
          DB_PASSWORD: ${resources.db.password}
    disruptionBudget:
      maxUnavailable: 1
  consumer:
    kind: worker
    image: registry.example.com/money/payments:1.4.2
    args: [consume]
    env:
      BROKERS: ${resources.events.brokers}
    health:
      liveness:
        exec: {command: [/app/healthcheck, --quick]}
    scaling:
      autoscale:
        min: 1
        max: 10
        cpu: 70
        kafkaLag: {topic: events, lag: 1000}
    cpu: {request: 250m}
    volumes:
      data: {path: /data, type: persistent, size: 10Gi}
  report:
    kind: cron
    image: registry.example.com/money/payments:1.4.2
    args: [report]
    schedule: "30 2 * * *"
    timeZone: Asia/Jakarta
    concurrency: forbid
    retries: 2
  migrate-once:
    kind: job
    image: registry.example.com/money/payments:1.4.2
    args: [migrate]
targets:
  nomad:
    patches:
      - select: {kind: Job, name: payments-production}
        mergePatch:
          Job:
            Priority: 70
"#;

/// A small service for the Nomad-provider profile.
pub const SMALL: &str = r#"
apiVersion: ojek.dev/v1
kind: App
metadata:
  name: hello
  team: web
processes:
  web:
    kind: service
    image: nginx:1.27
    ports:
      http: {port: 80}
    routes:
      - host: hello.example.com
    health:
      readiness:
        http: {path: /}
"#;

/// Strings HCL, dotenv and consul-template treat specially.
pub const ODD: &str = r#"
apiVersion: ojek.dev/v1
kind: App
metadata:
  name: odd
  team: qa
  labels:
    app.kubernetes.io/name: odd
processes:
  web:
    kind: worker
    image: odd:1
    args: ["${NOT_HCL}", "%{ if x }", "back\\slash", "quote\"d", "ünï"]
    env:
      LITERAL: "$${HOME} and %{ x } and \"q\" and \\"
      SECRET_MIX: "pre ${resources.db.password} {{ post }}"
    files:
      /etc/a.conf:
        content: "line ${x}\nEOF\n  EOF\n%{ for }\n\\n not a newline\n"
      /etc/b.conf:
        content: "no final newline"
      /etc/c.conf:
        content: "carriage\r\nreturn\n"
      /etc/d.conf:
        content: "tab\tand {{ braces }} and ${{ both }}\n"
    placement:
      nodeSelector:
        node.example.com/pool: "blue"
resources:
  db:
    type: postgres
"#;

/// Loads `manifest` and the test platform and renders for `env`.
pub fn render(manifest: &str, env: &str) -> Result<Rendered, Diagnostics> {
    let (app, platform) = load(manifest, env);
    let src = Sources {
        app: &app,
        platform: &platform,
    };
    ojek_nomad::render(&src)
}

/// Loads `manifest` resolved for `env`, and the test platform.
pub fn load(manifest: &str, env: &str) -> (ResolvedApp, LoadedPlatform) {
    let loaded = load_app("app.yaml", manifest, &NoFiles).unwrap_or_else(|d| panic!("manifest: {d}"));
    let app = resolve(&loaded, env).unwrap_or_else(|d| panic!("resolve: {d}"));
    let platform = load_platform("platform.yaml", PLATFORM).unwrap_or_else(|d| panic!("platform: {d}"));
    (app, platform)
}

/// Renders and expects success.
pub fn ok(manifest: &str, env: &str) -> Rendered {
    render(manifest, env).unwrap_or_else(|d| panic!("render failed:\n{d}"))
}

/// The rendered jobs' JSON values.
pub fn jobs(r: &Rendered) -> Vec<serde_json::Value> {
    r.objects.iter().map(|d| d.value.clone()).collect()
}
