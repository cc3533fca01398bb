resource "google_cloud_run_v2_service" "postback" {
  name                = var.name
  location            = var.region
  ingress             = "INGRESS_TRAFFIC_ALL"
  deletion_protection = false

  template {
    service_account                  = google_service_account.service.email
    max_instance_request_concurrency = var.concurrency
    timeout                          = "60s"

    scaling {
      min_instance_count = var.min_instances
      max_instance_count = var.max_instances
    }

    # Direct VPC egress: Cloud SQL's private IP is reached without a connector.
    vpc_access {
      egress = "PRIVATE_RANGES_ONLY"
      network_interfaces {
        network    = var.vpc_network
        subnetwork = var.vpc_subnetwork
      }
    }

    volumes {
      name = "cloudsql"
      cloud_sql_instance {
        instances = [google_sql_database_instance.main.connection_name]
      }
    }

    containers {
      image = var.image

      ports {
        container_port = 8080
      }

      resources {
        limits = {
          cpu    = "1"
          memory = "1Gi"
        }
        # The write batcher and the forwarding worker run between requests.
        cpu_idle          = false
        startup_cpu_boost = true
      }

      dynamic "env" {
        for_each = merge(local.common_env, {
          POSTBACK_PUBLIC_URL       = var.public_url
          POSTBACK_CLEANUP_INTERVAL = "0" # the cleanup job does it
        })
        content {
          name  = env.key
          value = env.value
        }
      }

      env {
        name = "DATABASE_URL"
        value_source {
          secret_key_ref {
            secret  = google_secret_manager_secret.database_url.secret_id
            version = "latest"
          }
        }
      }

      env {
        name = "POSTBACK_ADMIN_TOKEN"
        value_source {
          secret_key_ref {
            secret  = google_secret_manager_secret.admin_token.secret_id
            version = "latest"
          }
        }
      }

      volume_mounts {
        name       = "cloudsql"
        mount_path = "/cloudsql"
      }

      # Started: the process answers. Liveness never looks at the database, so an outage
      # does not restart instances that are keeping postbacks in their spool.
      startup_probe {
        http_get {
          path = "/health/live"
        }
        initial_delay_seconds = 2
        period_seconds        = 2
        timeout_seconds       = 2
        failure_threshold     = 30
      }

      liveness_probe {
        http_get {
          path = "/health/live"
        }
        period_seconds    = 15
        timeout_seconds   = 3
        failure_threshold = 4
      }
    }
  }

  depends_on = [
    google_project_iam_member.sql_client,
    google_secret_manager_secret_iam_member.database_url,
    google_secret_manager_secret_iam_member.admin_token,
    google_cloud_run_v2_job.job["migrate"],
  ]
}
