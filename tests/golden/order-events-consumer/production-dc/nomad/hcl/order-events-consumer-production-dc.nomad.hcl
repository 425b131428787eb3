job "order-events-consumer-production-dc" {
  type = "service"
  region = "jkt"
  namespace = "gofood"
  datacenters = ["jkt-cbn1", "jkt-tbs1"]

  meta {
    app = "order-events-consumer"
    team = "gofood"
    env = "production-dc"
    description = "Consumes GoFood order events and writes the order timeline to PostgreSQL."
  }

  group "worker" {
    count = 1

    network {
      mode = "bridge"

      port "metrics" {
        to = 9090
      }
    }

    service {
      name = "order-events-consumer-worker"
      port = "metrics"
      provider = "consul"

      check {
        name = "worker-liveness"
        type = "http"
        path = "/healthz"
        port = "metrics"
        interval = "15s"
        timeout = "1s"

        check_restart {
          limit = 4
        }
      }
    }

    scaling {
      min = 1
      max = 24
      enabled = true

      policy {
        check "kafka-lag" {
          source = "prometheus"
          query = "ceil(sum(kafka_consumergroup_lag{consumergroup=\"order-timeline\",topic=\"gofood.order-events\"}) / 1000)"

          strategy "pass-through" {}
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

    task "worker" {
      driver = "docker"
      kill_timeout = "45s"

      config {
        image = "registry.gojek.io/gofood/order-events-consumer:1.9.3"
        entrypoint = ["/app/consumer"]
        args = ["--batch-size=500", "--commit-interval=1s"]
      }

      env {
        KAFKA_BROKERS = "kafka-production-dc.service.consul:9092"
        KAFKA_TOPIC = "gofood.order-events"
        KAFKA_GROUP = "order-timeline"
        DB_MAX_CONNECTIONS = "10"
      }

      template {
        data = <<EOF
DATABASE_URL="{{ with nomadVar "nomad/jobs/order-events-consumer/timeline" }}{{ .url | print | replaceAll "\\" "\\\\" | replaceAll "\"" "\\\"" | replaceAll "\n" "\\n" | replaceAll "\t" "\\t" }}{{ end }}"
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
