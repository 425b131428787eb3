job "ledger-store-production-dc" {
  type = "service"
  region = "jkt"
  namespace = "payments"
  datacenters = ["jkt-cbn1", "jkt-tbs1"]

  meta {
    app = "ledger-store"
    team = "payments"
    env = "production-dc"
    description = "Replicated append-only ledger storage (Raft), internal gRPC only."
  }

  group "api" {
    count = 3

    network {
      mode = "bridge"

      port "grpc" {
        to = 7000
      }

      port "raft" {
        to = 7001
      }
    }

    service {
      name = "ledger-store-api"
      port = "grpc"
      provider = "consul"

      check {
        name = "api-readiness"
        type = "grpc"
        grpc_service = "ledger.v1.Store"
        port = "grpc"
        interval = "5s"
        timeout = "1s"
      }
    }

    service {
      name = "ledger-store-api-raft"
      port = "raft"
      provider = "consul"

      check {
        name = "api-liveness"
        type = "tcp"
        port = "raft"
        interval = "10s"
        timeout = "1s"

        check_restart {
          limit = 6
        }
      }
    }

    volume "data" {
      type = "host"
      source = "ledger-store-data"
      read_only = false
      per_alloc = true
    }

    update {
      max_parallel = 1
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

    task "api" {
      driver = "docker"
      user = "10001"
      kill_timeout = "1m"

      config {
        image = "registry.gojek.io/payments/ledger-store:0.8.0"
        args = ["--data-dir=/var/lib/ledger", "--peers-from-dns"]
        readonly_rootfs = true

        mount {
          type = "tmpfs"
          target = "/tmp"
          readonly = false

          tmpfs_options {
            size = 268435456
          }
        }
      }

      volume_mount {
        volume = "data"
        destination = "/var/lib/ledger"
        read_only = false
      }

      resources {
        cpu = 5200
        memory = 4096
      }
    }
  }
}
