job "driver-location-production-dc" {
  type = "service"
  region = "jkt"
  namespace = "fulfilment"
  datacenters = ["jkt-cbn1", "jkt-tbs1"]
  meta = {
    app = "driver-location"
    team = "fulfilment"
    env = "production-dc"
    description = "Receives driver GPS pings and serves the latest location of each driver."
    tier = "critical"
    "ojek.dev/runbook" = "https://wiki.gojek.io/fulfilment/driver-location"
  }

  group "web" {
    count = 6

    network {
      mode = "bridge"

      port "http" {
        to = 8080
      }

      port "metrics" {
        to = 9090
      }
    }

    service {
      name = "driver-location-web"
      port = "http"
      provider = "consul"
      tags = ["traefik.enable=true", "traefik.http.routers.driver-location-production-dc-web-0.rule=Host(`driver-location.dc.gojek.io`) && PathPrefix(`/v1`)", "traefik.http.routers.driver-location-production-dc-web-0.tls=true"]

      check {
        name = "web-liveness"
        type = "http"
        path = "/healthz"
        port = "http"
        interval = "10s"
        timeout = "2s"

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

    service {
      name = "driver-location-web-metrics"
      port = "metrics"
      provider = "consul"
    }

    scaling {
      min = 6
      max = 60
      enabled = true

      policy {
        check "cpu" {
          source = "nomad-apm"
          query = "avg_cpu-allocated"

          strategy "target-value" {
            target = 65
          }
        }
      }
    }

    update {
      max_parallel = 2
      auto_revert = true
      health_check = "checks"
      min_healthy_time = "10s"
      healthy_deadline = "5m"
      progress_deadline = "10m"
    }

    migrate {
      max_parallel = 1
      health_check = "checks"
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
        image = "registry.gojek.io/fulfilment/driver-location:2.14.0"
        args = ["serve", "--listen=:8080"]
      }

      env {
        KAFKA_BROKERS = "kafka-production-dc.service.consul:9092"
        KAFKA_TOPIC = "driver-location-pings"
        LOG_LEVEL = "info"
        GOMAXPROCS = "2"
      }

      template {
        data = <<EOF
DATABASE_URL="{{ with nomadVar "nomad/jobs/driver-location/db" }}{{ .url | print | replaceAll "\\" "\\\\" | replaceAll "\"" "\\\"" | replaceAll "\n" "\\n" | replaceAll "\t" "\\t" }}{{ end }}"
EOF
        destination = "secrets/env/DATABASE_URL.env"
        change_mode = "restart"
        env = true
      }

      template {
        data = <<EOF
REDIS_URL="{{ with nomadVar "nomad/jobs/driver-location/cache" }}{{ .url | print | replaceAll "\\" "\\\\" | replaceAll "\"" "\\\"" | replaceAll "\n" "\\n" | replaceAll "\t" "\\t" }}{{ end }}"
EOF
        destination = "secrets/env/REDIS_URL.env"
        change_mode = "restart"
        env = true
      }

      resources {
        cpu = 1300
        memory = 512
        memory_max = 1024
      }
    }
  }
}
