# Postback on Google Cloud: Cloud SQL (PostgreSQL, private IP) reached from Cloud Run through
# Direct VPC egress and the Cloud SQL socket; secrets in Secret Manager; Cloud Run jobs for
# migrations, cleanup, sync and anomaly scans, started by Cloud Scheduler; a BigQuery dataset
# for the warehouse sync. docs/deploy-gcp.md walks through it step by step.

locals {
  services = [
    "run.googleapis.com",
    "sqladmin.googleapis.com",
    "secretmanager.googleapis.com",
    "cloudscheduler.googleapis.com",
    "bigquery.googleapis.com",
    "servicenetworking.googleapis.com",
    "compute.googleapis.com",
    "artifactregistry.googleapis.com",
    "aiplatform.googleapis.com",
  ]
  socket       = "/cloudsql/${google_sql_database_instance.main.connection_name}"
  database_url = "postgresql://${google_sql_user.app.name}:${random_password.db.result}@/${google_sql_database.app.name}?host=${local.socket}"
  common_env = {
    POSTBACK_TIMEZONE        = var.time_zone
    POSTBACK_GCP_PROJECT     = var.project_id
    POSTBACK_SYNC_TO         = "bigquery://${var.project_id}/${google_bigquery_dataset.warehouse.dataset_id}"
    POSTBACK_WRITE_POOL_SIZE = tostring(var.write_pool_size)
    POSTBACK_READ_POOL_SIZE  = tostring(var.read_pool_size)
  }
}

resource "google_project_service" "enabled" {
  for_each           = toset(local.services)
  service            = each.value
  disable_on_destroy = false
}

resource "google_artifact_registry_repository" "images" {
  repository_id = var.name
  location      = var.region
  format        = "DOCKER"
  depends_on    = [google_project_service.enabled]
}
