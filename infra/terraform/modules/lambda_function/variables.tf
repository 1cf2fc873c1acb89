variable "name" {
  description = "Function name, e.g. orders-prod-ValidateOrder (also names its role and log group)."
  type        = string
}

variable "handler" {
  description = "Python handler, module.path.function (as Handler in the SAM template)."
  type        = string
}

variable "package_path" {
  description = "Path of the zip of the repository (archive_file in the root module)."
  type        = string
}

variable "package_hash" {
  description = "Base64 SHA-256 of the zip, so that a code change updates the function."
  type        = string
}

variable "layers" {
  description = "Layer ARNs that provide the third-party dependencies (pydantic, Powertools, PyJWT)."
  type        = list(string)
  default     = []
}

variable "environment" {
  description = "Environment variables: the SAM Globals plus the function's own."
  type        = map(string)
}

variable "policy_statements" {
  description = "What the function may do besides logging and tracing: one entry per SAM policy."
  type = list(object({
    actions   = list(string)
    resources = list(string)
  }))
  default = []
}

variable "runtime" {
  description = "Lambda runtime (SAM Globals: Runtime)."
  type        = string
  default     = "python3.12"
}

variable "architecture" {
  description = "Instruction set (SAM Globals: Architectures)."
  type        = string
  default     = "arm64"
}

variable "timeout" {
  description = "Timeout in seconds (SAM Globals: Timeout)."
  type        = number
  default     = 30
}

variable "memory_size" {
  description = "Memory in MB (SAM Globals: MemorySize)."
  type        = number
  default     = 256
}

variable "log_retention_days" {
  description = "How long the function's logs are kept."
  type        = number
  default     = 30
}
