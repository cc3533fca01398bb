# One Cloud Run job per piece of scheduled work, each the service's image with another
# command; Cloud Scheduler starts them. `migrate` runs once per deploy (docs/deploy-gcp.md);
# the service also migrates at start under an advisory lock, so the order cannot break it.

variable "enable_anomaly_job" {
  description = "Schedule `postback anomalies scan` as a job; off by default because the service scans every minute itself (POSTBACK_ANOMALY_INTERVAL, one instance at a time). Turn it on with POSTBACK_ANOMALY_INTERVAL=0 on the service."
  type        = bool
  default     = false
}

locals {
  jobs = merge(
    {
      migrate = { args = ["migrate"], schedule = null }
      cleanup = { args = ["cleanup"], schedule = var.cleanup_schedule }
      sync = {
        args     = ["sync", "--to", "bigquery://${var.project_id}/${google_bigquery_dataset.warehouse.dataset_id}"]
        schedule = var.sync_schedule
      }
    },
    var.enable_anomaly_job ? {
      anomalies = { args = ["anomalies", "scan"], schedule = var.anomaly_schedule }
    } : {},
  )
  scheduled = { for name, job in local.jobs : name => job if job.schedule != null }
}

resource "google_cloud_run_v2_job" "job" {
  for_each            = local.jobs
  name                = "${var.name}-${each.key}"
  location            = var.region
  deletion_protection = false

  template {
    task_count = 1
    template {
      service_account = google_service_account.jobs.email
      max_retries     = 1
      timeout         = "1800s"

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
        image   = var.image
        command = ["postback"]
        args    = each.value.args

        resources {
          limits = {
            cpu    = "1"
            memory = "1Gi"
          }
        }

        dynamic "env" {
          for_each = local.common_env
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

        volume_mounts {
          name       = "cloudsql"
          mount_path = "/cloudsql"
        }
      }
    }
  }

  depends_on = [
    google_project_iam_member.sql_client,
    google_secret_manager_secret_iam_member.database_url,
  ]
}

resource "google_cloud_scheduler_job" "job" {
  for_each  = local.scheduled
  name      = "${var.name}-${each.key}"
  region    = var.region
  schedule  = each.value.schedule
  time_zone = var.time_zone

  http_target {
    http_method = "POST"
    uri         = "https://run.googleapis.com/v2/${google_cloud_run_v2_job.job[each.key].id}:run"
    oauth_token {
      service_account_email = google_service_account.scheduler.email
      scope                 = "https://www.googleapis.com/auth/cloud-platform"
    }
  }

  depends_on = [google_cloud_run_v2_job_iam_member.scheduler_runs]
}
