job "payments-production-dc" {
  type = "service"
  region = "jkt"
  namespace = "payments"
  datacenters = ["jkt-cbn1", "jkt-tbs1"]

  meta {
    app = "payments"
    team = "payments"
    env = "production-dc"
    description = "Payment intents API, and the job that migrates its schema."
  }

  group "api" {
    count = 3

    network {
      mode = "bridge"

      port "http" {
        to = 8080
      }

      port "grpc" {
        to = 9000
      }
    }

    service {
      name = "payments-api"
      port = "http"
      provider = "consul"
      tags = ["traefik.enable=true", "traefik.http.routers.payments-production-dc-api-0.rule=Host(`payments.gojek.io`)", "traefik.http.routers.payments-production-dc-api-0.tls=true"]

      check {
        name = "api-readiness"
        type = "http"
        path = "/ready"
        port = "http"
        interval = "5s"
        timeout = "1s"
      }
    }

    service {
      name = "payments-api-grpc"
      port = "grpc"
      provider = "consul"

      check {
        name = "api-liveness"
        type = "grpc"
        port = "grpc"
        interval = "10s"
        timeout = "1s"

        check_restart {
          limit = 3
        }
      }
    }

    update {
      max_parallel = 1
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

    task "api" {
      driver = "docker"
      kill_timeout = "30s"

      config {
        image = "registry.gojek.io/payments/payments:5.7.0"
        entrypoint = ["/app/payments"]
        args = ["serve"]
      }

      env {
        KAFKA_BROKERS = "kafka-production-dc.service.consul:9092"
        KAFKA_TOPIC = "payments.intent-events"
      }

      template {
        data = <<EOF
DATABASE_URL="{{ with nomadVar "nomad/jobs/payments/db" }}{{ .url | print | replaceAll "\\" "\\\\" | replaceAll "\"" "\\\"" | replaceAll "\n" "\\n" | replaceAll "\t" "\\t" }}{{ end }}"
EOF
        destination = "secrets/env/DATABASE_URL.env"
        change_mode = "restart"
        env = true
      }

      resources {
        cpu = 650
        memory = 256
        memory_max = 512
      }
    }
  }
}
