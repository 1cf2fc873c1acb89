variable "name" {
  description = "REST API name, e.g. orders-prod-api."
  type        = string
}

variable "function_name" {
  description = "Name of the API Lambda function (workflows.api.app.handler)."
  type        = string
}

variable "function_invoke_arn" {
  description = "Invoke ARN of the API Lambda function."
  type        = string
}

variable "resource_path" {
  description = "Resource path (SAM Api event Path); one greedy segment."
  type        = string
  default     = "/{proxy+}"

  validation {
    condition     = can(regex("^/[^/]+$", var.resource_path))
    error_message = "resource_path must be a single segment such as /{proxy+}."
  }
}

variable "http_method" {
  description = "HTTP method (SAM Api event Method); ANY for all."
  type        = string
  default     = "ANY"
}

variable "stage_name" {
  description = "Stage name; SAM's implicit API deploys to Prod."
  type        = string
  default     = "Prod"
}

variable "endpoint_type" {
  description = "EDGE (SAM's default for the implicit API), REGIONAL or PRIVATE."
  type        = string
  default     = "EDGE"
}

variable "throttling_burst_limit" {
  description = "Stage-wide burst limit (requests); -1 leaves the account limit, as SAM does."
  type        = number
  default     = -1
}

variable "throttling_rate_limit" {
  description = "Stage-wide steady rate (requests per second); -1 leaves the account limit, as SAM does."
  type        = number
  default     = -1
}
