job "promo-gateway-staging" {
  type = "service"
  region = "jkt"
  namespace = "staging"
  datacenters = ["jkt-cbn1", "jkt-tbs1"]
  meta = {
    app = "promo-gateway"
    team = "promotions"
    env = "staging"
    description = "Validates and applies promo codes at checkout."
    "ojek.dev/owner" = "promotions@gojek.io"
  }
  priority = 70

  group "web" {
    count = 1

    constraint {
      attribute = "$${meta.node.gojek.io/pool}"
      value = "edge"
      operator = "="
    }

    network {
      mode = "bridge"

      port "http" {
        to = 8080
      }
    }

    service {
      name = "promo-gateway-web"
      port = "http"
      provider = "consul"
      tags = ["traefik.enable=true", "traefik.http.routers.promo-gateway-staging-web-0.rule=Host(`promo.staging.gojek.io`)", "traefik.http.routers.promo-gateway-staging-web-0.tls=true"]

      check {
        name = "web-liveness"
        type = "http"
        path = "/healthz"
        port = "http"
        interval = "10s"
        timeout = "1s"

        check_restart {
          limit = 3
        }
      }

      check {
        name = "web-readiness"
        type = "http"
        path = "/ready"
        port = "http"
        interval = "5s"
        timeout = "1s"
      }
    }

    scaling {
      min = 1
      max = 4
      enabled = true

      policy {
        check "cpu" {
          source = "nomad-apm"
          query = "avg_cpu-allocated"

          strategy "target-value" {
            target = 60
          }
        }

        check "memory" {
          source = "nomad-apm"
          query = "avg_memory-allocated"

          strategy "target-value" {
            target = 80
          }
        }
      }
    }

    update {
      max_parallel = 1
      canary = 1
      auto_promote = false
      auto_revert = true
      health_check = "checks"
      min_healthy_time = "10s"
      healthy_deadline = "5m"
      progress_deadline = "10m"
    }

    restart {
      attempts = 2
      delay = "15s"
      interval = "30m"
      mode = "fail"
    }

    reschedule {
      delay = "30s"
      delay_function = "exponential"
      max_delay = "1h"
      unlimited = true
    }

    task "web" {
      driver = "docker"
      kill_timeout = "30s"

      config {
        image = "registry.gojek.io/promotions/promo-gateway:4.2.0"
        args = ["--config=/etc/promo-gateway/config.yaml"]
        readonly_rootfs = true

        mount {
          type = "bind"
          source = "local/files/etc/promo-gateway/config.yaml"
          target = "/etc/promo-gateway/config.yaml"
          readonly = true
        }

        mount {
          type = "bind"
          source = "local/files/etc/promo-gateway/rules.json"
          target = "/etc/promo-gateway/rules.json"
          readonly = true
        }
      }

      env {
        KAFKA_BROKERS = "kafka-staging.service.consul:9092"
        KAFKA_TOPIC = "promo.redemptions"
        OTEL_EXPORTER_OTLP_ENDPOINT = "http://localhost:4318"
        PRICE_FORMAT = "$${amount} IDR"
      }

      template {
        data = <<EOF
listen: :8080
rules: /etc/promo-gateway/rules.json
cache:
  ttl: 30s
redemption:
  max-per-user-per-day: 3
EOF
        destination = "local/files/etc/promo-gateway/config.yaml"
        change_mode = "noop"
        perms = "644"
      }

      template {
        data = <<EOF
{
  "version": 12,
  "rules": [
    {
      "id": "gofood-weekend-20",
      "service": "gofood",
      "discountPercent": 20,
      "maxDiscountIdr": 25000,
      "days": ["sat", "sun"],
      "cities": ["jakarta", "bandung", "surabaya"]
    },
    {
      "id": "goride-first-trip",
      "service": "goride",
      "discountPercent": 50,
      "maxDiscountIdr": 10000,
      "newUsersOnly": true
    }
  ]
}
EOF
        destination = "local/files/etc/promo-gateway/rules.json"
        change_mode = "noop"
        perms = "444"
      }

      template {
        data = <<EOF
REDIS_URL="{{ with nomadVar "nomad/jobs/promo-gateway/cache" }}{{ .url | print | replaceAll "\\" "\\\\" | replaceAll "\"" "\\\"" | replaceAll "\n" "\\n" | replaceAll "\t" "\\t" }}{{ end }}"
EOF
        destination = "secrets/env/REDIS_URL.env"
        change_mode = "restart"
        env = true
      }

      template {
        data = <<EOF
PROMO_SIGNING_KEY="{{ with nomadVar "nomad/jobs/promo-gateway/promo-gateway-keys" }}{{ index . "signing-key" | print | replaceAll "\\" "\\\\" | replaceAll "\"" "\\\"" | replaceAll "\n" "\\n" | replaceAll "\t" "\\t" }}{{ end }}"
EOF
        destination = "secrets/env/PROMO_SIGNING_KEY.env"
        change_mode = "restart"
        env = true
      }

      template {
        data = <<EOF
PARTNER_API_TOKEN="{{ with nomadVar "nomad/jobs/promo-gateway/promo-partner-api" }}{{ .token | print | replaceAll "\\" "\\\\" | replaceAll "\"" "\\\"" | replaceAll "\n" "\\n" | replaceAll "\t" "\\t" }}{{ end }}"
EOF
        destination = "secrets/env/PARTNER_API_TOKEN.env"
        change_mode = "restart"
        env = true
      }

      resources {
        cpu = 1300
        memory = 384
        memory_max = 768
      }
    }

    task "wait-for-redis" {
      driver = "docker"

      lifecycle {
        hook = "prestart"
        sidecar = false
      }

      config {
        image = "redis:7.4-alpine"
        entrypoint = ["sh", "-c", "until redis-cli -u \"$REDIS_URL\" ping; do sleep 2; done"]
      }

      template {
        data = <<EOF
REDIS_URL="{{ with nomadVar "nomad/jobs/promo-gateway/cache" }}{{ .url | print | replaceAll "\\" "\\\\" | replaceAll "\"" "\\\"" | replaceAll "\n" "\\n" | replaceAll "\t" "\\t" }}{{ end }}"
EOF
        destination = "secrets/env/REDIS_URL.env"
        change_mode = "restart"
        env = true
      }

      resources {
        cpu = 130
        memory = 32
      }
    }

    task "otel-agent" {
      driver = "docker"
      kill_timeout = "30s"

      lifecycle {
        hook = "prestart"
        sidecar = true
      }

      config {
        image = "otel/opentelemetry-collector-contrib:0.130.0"
        args = ["--config=env:OTEL_AGENT_CONFIG"]
      }

      env {
        OTEL_AGENT_CONFIG = "receivers:\n  otlp:\n    protocols:\n      http: {endpoint: \"localhost:4318\"}\nexporters:\n  otlp:\n    endpoint: otel-collector.observability.gojek.io:4317\nservice:\n  pipelines:\n    traces: {receivers: [otlp], exporters: [otlp]}\n    metrics: {receivers: [otlp], exporters: [otlp]}\n"
      }

      resources {
        cpu = 260
        memory = 128
      }
    }
  }
}
