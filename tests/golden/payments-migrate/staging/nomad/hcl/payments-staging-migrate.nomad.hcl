job "payments-staging-migrate" {
  type = "batch"
  region = "jkt"
  namespace = "staging"
  datacenters = ["jkt-cbn1", "jkt-tbs1"]

  meta {
    app = "payments"
    team = "payments"
    env = "staging"
    description = "Payment intents API, and the job that migrates its schema."
  }

  group "migrate" {
    count = 1

    restart {
      attempts = 3
      delay = "15s"
      interval = "24h"
      mode = "fail"
    }

    reschedule {
      attempts = 0
      unlimited = false
    }

    task "migrate" {
      driver = "docker"
      kill_timeout = "30s"

      config {
        image = "registry.gojek.io/payments/payments:5.7.0"
        entrypoint = ["/app/payments"]
        args = ["migrate", "up"]
      }

      env {
        MIGRATION_LOCK_TIMEOUT = "60s"
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
      }
    }
  }
}
