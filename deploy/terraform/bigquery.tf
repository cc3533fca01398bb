# The warehouse the sync job fills (tables partitioned by conversion day, clustered by
# partner and offer, created by the sync itself) and Looker Studio reads.
resource "google_bigquery_dataset" "warehouse" {
  dataset_id  = replace(var.name, "-", "_")
  location    = var.bigquery_location
  description = "Postback conversions, synced incrementally from Cloud SQL"
  depends_on  = [google_project_service.enabled]
}
