variable "name_prefix" {
  description = "Prefix of the table and bucket names, e.g. orders-prod."
  type        = string
}

variable "deletion_protection" {
  description = "Refuse to delete the tables (terraform destroy fails until this is false)."
  type        = bool
  default     = true
}
