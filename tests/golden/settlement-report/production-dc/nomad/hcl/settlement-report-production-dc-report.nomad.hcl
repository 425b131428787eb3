job "settlement-report-production-dc-report" {
  type = "batch"
  region = "jkt"
  namespace = "payments"
  datacenters = ["jkt-cbn1", "jkt-tbs1"]

  meta {
    app = "settlement-report"
    team = "payments"
    env = "production-dc"
    description = "Nightly merchant settlement reports, uploaded to object storage."
  }

  periodic {
    cron = "30 2 * * *"
    prohibit_overlap = true
    time_zone = "Asia/Jakarta"
    enabled = true
  }

  group "report" {
    count = 1

    ephemeral_disk {
      size = 20780
    }

    restart {
      attempts = 2
      delay = "15s"
      interval = "24h"
      mode = "fail"
    }

    reschedule {
      attempts = 0
      unlimited = false
    }

    task "report" {
      driver = "docker"
      kill_timeout = "30s"

      config {
        image = "registry.gojek.io/payments/settlement-report:3.2.1"
        args = ["generate", "--day=yesterday"]
        volumes = ["local/volumes/scratch:/var/tmp/report"]
      }

      env {
        S3_BUCKET = "gojek-settlement-report-reports-production-dc"
        REPORT_PREFIX = "settlements/"
      }

      template {
        data = <<EOF
LEDGER_DATABASE_URL="{{ with nomadVar "nomad/jobs/settlement-report/ledger" }}{{ .url | print | replaceAll "\\" "\\\\" | replaceAll "\"" "\\\"" | replaceAll "\n" "\\n" | replaceAll "\t" "\\t" }}{{ end }}"
EOF
        destination = "secrets/env/LEDGER_DATABASE_URL.env"
        change_mode = "restart"
        env = true
      }

      template {
        data = <<EOF
S3_ENDPOINT="{{ with nomadVar "nomad/jobs/settlement-report/reports" }}{{ .endpoint | print | replaceAll "\\" "\\\\" | replaceAll "\"" "\\\"" | replaceAll "\n" "\\n" | replaceAll "\t" "\\t" }}{{ end }}"
EOF
        destination = "secrets/env/S3_ENDPOINT.env"
        change_mode = "restart"
        env = true
      }

      template {
        data = <<EOF
AWS_REGION="{{ with nomadVar "nomad/jobs/settlement-report/reports" }}{{ .region | print | replaceAll "\\" "\\\\" | replaceAll "\"" "\\\"" | replaceAll "\n" "\\n" | replaceAll "\t" "\\t" }}{{ end }}"
EOF
        destination = "secrets/env/AWS_REGION.env"
        change_mode = "restart"
        env = true
      }

      template {
        data = <<EOF
AWS_ACCESS_KEY_ID="{{ with nomadVar "nomad/jobs/settlement-report/reports" }}{{ .accessKeyId | print | replaceAll "\\" "\\\\" | replaceAll "\"" "\\\"" | replaceAll "\n" "\\n" | replaceAll "\t" "\\t" }}{{ end }}"
EOF
        destination = "secrets/env/AWS_ACCESS_KEY_ID.env"
        change_mode = "restart"
        env = true
      }

      template {
        data = <<EOF
AWS_SECRET_ACCESS_KEY="{{ with nomadVar "nomad/jobs/settlement-report/reports" }}{{ .secretAccessKey | print | replaceAll "\\" "\\\\" | replaceAll "\"" "\\\"" | replaceAll "\n" "\\n" | replaceAll "\t" "\\t" }}{{ end }}"
EOF
        destination = "secrets/env/AWS_SECRET_ACCESS_KEY.env"
        change_mode = "restart"
        env = true
      }

      resources {
        cpu = 2600
        memory = 2048
      }
    }
  }
}
