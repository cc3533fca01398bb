# Least privilege: the service, the jobs and the scheduler each have their own account with
# only what they use.

resource "google_service_account" "service" {
  account_id   = "${var.name}-run"
  display_name = "Postback service (Cloud Run)"
}

resource "google_service_account" "jobs" {
  account_id   = "${var.name}-jobs"
  display_name = "Postback jobs: migrations, cleanup, sync, anomaly scans"
}

resource "google_service_account" "scheduler" {
  account_id   = "${var.name}-scheduler"
  display_name = "Starts the Postback jobs"
}

# Both connect to Cloud SQL through the Cloud Run socket.
resource "google_project_iam_member" "sql_client" {
  for_each = {
    service = google_service_account.service.email
    jobs    = google_service_account.jobs.email
  }
  project = var.project_id
  role    = "roles/cloudsql.client"
  member  = "serviceAccount:${each.value}"
}

resource "google_secret_manager_secret_iam_member" "database_url" {
  for_each = {
    service = google_service_account.service.email
    jobs    = google_service_account.jobs.email
  }
  secret_id = google_secret_manager_secret.database_url.id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${each.value}"
}

resource "google_secret_manager_secret_iam_member" "admin_token" {
  secret_id = google_secret_manager_secret.admin_token.id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.service.email}"
}

# Natural-language questions may fall back to Gemini on Vertex AI (NLQ_LLM_BASE_URL).
resource "google_project_iam_member" "vertex_user" {
  project = var.project_id
  role    = "roles/aiplatform.user"
  member  = "serviceAccount:${google_service_account.service.email}"
}

# The sync job loads into its dataset and runs load and merge jobs; nothing else in BigQuery.
resource "google_bigquery_dataset_iam_member" "sync_editor" {
  dataset_id = google_bigquery_dataset.warehouse.dataset_id
  role       = "roles/bigquery.dataEditor"
  member     = "serviceAccount:${google_service_account.jobs.email}"
}

resource "google_project_iam_member" "sync_job_user" {
  project = var.project_id
  role    = "roles/bigquery.jobUser"
  member  = "serviceAccount:${google_service_account.jobs.email}"
}

resource "google_cloud_run_v2_job_iam_member" "scheduler_runs" {
  for_each = google_cloud_run_v2_job.job
  name     = each.value.name
  location = var.region
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.scheduler.email}"
}

# Involve Asia's servers call the postback URL without Google credentials.
resource "google_cloud_run_v2_service_iam_member" "public" {
  name     = google_cloud_run_v2_service.postback.name
  location = var.region
  role     = "roles/run.invoker"
  member   = "allUsers"
}
