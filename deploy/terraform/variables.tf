variable "project_id" {
  description = "The Google Cloud project to deploy into."
  type        = string
}

variable "region" {
  description = "Region of Cloud Run, Cloud SQL, the jobs and the BigQuery dataset."
  type        = string
  default     = "asia-southeast1"
}

variable "name" {
  description = "Prefix of every resource's name."
  type        = string
  default     = "postback"
}

variable "image" {
  description = "The service's image, e.g. asia-southeast1-docker.pkg.dev/PROJECT/postback/postback:TAG."
  type        = string
}

variable "public_url" {
  description = "The service's public base URL given to Involve Asia (POSTBACK_PUBLIC_URL); empty until a domain is mapped."
  type        = string
  default     = ""
}

variable "db_tier" {
  description = "Cloud SQL machine tier. db-f1-micro allows 25 connections, db-g1-small 50, db-custom-1-3840 100."
  type        = string
  default     = "db-g1-small"
}

variable "db_max_connections" {
  description = "The tier's connection limit: max_instances x (write + read + job pools + 2) must stay below it (see docs/deploy-gcp.md)."
  type        = number
  default     = 50
}

variable "db_disk_gb" {
  type    = number
  default = 10
}

variable "db_deletion_protection" {
  type    = bool
  default = true
}

variable "min_instances" {
  description = "Instances kept warm: 1 keeps postbacks answered without a cold start."
  type        = number
  default     = 1
}

variable "max_instances" {
  type    = number
  default = 4
}

variable "concurrency" {
  description = "Requests one instance takes at once (Cloud Run's containerConcurrency)."
  type        = number
  default     = 80
}

variable "write_pool_size" {
  type    = number
  default = 2
}

variable "read_pool_size" {
  type    = number
  default = 5
}

variable "vpc_network" {
  description = "The VPC whose private range Cloud SQL's private IP and Direct VPC egress use."
  type        = string
  default     = "default"
}

variable "vpc_subnetwork" {
  description = "Subnet for Cloud Run's Direct VPC egress."
  type        = string
  default     = "default"
}

variable "sync_schedule" {
  description = "Cron (Cloud Scheduler) of the BigQuery sync job."
  type        = string
  default     = "*/15 * * * *"
}

variable "cleanup_schedule" {
  type    = string
  default = "17 3 * * *"
}

variable "anomaly_schedule" {
  type    = string
  default = "* * * * *"
}

variable "time_zone" {
  description = "Time zone of the schedules and of the service's reports."
  type        = string
  default     = "Asia/Kuala_Lumpur"
}

variable "bigquery_location" {
  type    = string
  default = "asia-southeast1"
}
