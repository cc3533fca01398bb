output "service_url" {
  value = google_cloud_run_v2_service.postback.uri
}

output "postback_url" {
  description = "Base of the postback URLs to give Involve Asia (the admin shows each partner's)."
  value       = "${var.public_url != "" ? var.public_url : google_cloud_run_v2_service.postback.uri}/postback/"
}

output "sql_connection_name" {
  value = google_sql_database_instance.main.connection_name
}

output "sql_private_ip" {
  value = google_sql_database_instance.main.private_ip_address
}

output "admin_token_secret" {
  description = "gcloud secrets versions access latest --secret=THIS"
  value       = google_secret_manager_secret.admin_token.secret_id
}

output "bigquery_dataset" {
  value = google_bigquery_dataset.warehouse.dataset_id
}
