# Secret Manager: the database URL (with its password) and the admin token. Cloud Run reads
# them as environment variables; nothing secret is in the service's configuration.

resource "google_secret_manager_secret" "database_url" {
  secret_id = "${var.name}-database-url"
  replication {
    auto {}
  }
  depends_on = [google_project_service.enabled]
}

resource "google_secret_manager_secret_version" "database_url" {
  secret      = google_secret_manager_secret.database_url.id
  secret_data = local.database_url
}

resource "random_password" "admin_token" {
  length  = 40
  special = false
}

resource "google_secret_manager_secret" "admin_token" {
  secret_id = "${var.name}-admin-token"
  replication {
    auto {}
  }
  depends_on = [google_project_service.enabled]
}

resource "google_secret_manager_secret_version" "admin_token" {
  secret      = google_secret_manager_secret.admin_token.id
  secret_data = random_password.admin_token.result
}
