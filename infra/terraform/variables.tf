# The SAM template's Parameters (same names in snake_case, same defaults), then what
# only the production estate needs.

variable "stage" {
  description = "Deployment stage (SAM parameter Stage); names every resource orders-<stage>-*."
  type        = string
  default     = "dev"

  validation {
    condition     = contains(["dev", "staging", "prod"], var.stage)
    error_message = "stage must be dev, staging or prod."
  }
}

variable "approval_threshold" {
  description = "Order total above which a person must approve the order (SAM parameter ApprovalThreshold)."
  type        = number
  default     = 500
}

variable "jwt_issuer" {
  description = "Expected JWT issuer (SAM parameter JwtIssuer)."
  type        = string
  default     = "https://auth.example.com/"
}

variable "jwt_audience" {
  description = "Expected JWT audience (SAM parameter JwtAudience)."
  type        = string
  default     = "orders-api"
}

variable "jwt_jwks_url" {
  description = "JWKS URL for RS256 tokens (SAM parameter JwtJwksUrl)."
  type        = string
  default     = "https://auth.example.com/.well-known/jwks.json"
}

variable "sender_email" {
  description = "Verified SES identity the notifications are sent from (SAM parameter SenderEmail)."
  type        = string
  default     = "orders@example.com"
}

variable "push_platform_application_arn" {
  description = "SNS platform application (FCM/APNs) push notifications go through (SAM parameter PushPlatformApplicationArn). Empty: push is not configured and SendPush rejects push deliveries."
  type        = string
  default     = ""
}

variable "order_failed_executions_threshold" {
  description = "Failed OrderProcessing executions per five minutes that raise its alarm (SAM parameter OrderFailedExecutionsThreshold). Business rejections (out of stock, payment declined) end in a Fail state too, so production may want more than 1."
  type        = number
  default     = 1

  validation {
    condition     = var.order_failed_executions_threshold >= 1
    error_message = "order_failed_executions_threshold must be at least 1."
  }
}

# ------------------------------------------------------- production estate only

variable "region" {
  description = "AWS region of the estate."
  type        = string
}

variable "dependency_layer_arns" {
  description = "Lambda layers with the third-party packages, built for python3.12 arm64 from infra/sam/dependencies/requirements.txt (the file SAM builds its DependenciesLayer from); the repository zip holds only the project's code. See docs/infrastructure.md."
  type        = list(string)

  validation {
    condition     = length(var.dependency_layer_arns) > 0
    error_message = "The functions cannot import Powertools, pydantic or PyJWT without the dependency layer: build it from infra/sam/dependencies/requirements.txt (docs/infrastructure.md)."
  }
}

variable "alarm_actions" {
  description = "ARNs notified by the failed-execution, timed-out-execution and dead-letter alarms (the on-call SNS topic; SAM parameter AlarmTopicArn). An empty list creates alarms nobody hears."
  type        = list(string)
}

variable "log_retention_days" {
  description = "Retention of Lambda and state machine logs."
  type        = number
  default     = 30
}

variable "state_machine_log_level" {
  description = "Step Functions execution logging level (ALL, ERROR, FATAL, OFF)."
  type        = string
  default     = "ERROR"
}

variable "deletion_protection" {
  description = "Protect the DynamoDB tables from deletion."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Extra tags for every resource."
  type        = map(string)
  default     = {}
}
