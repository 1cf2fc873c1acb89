variable "name" {
  description = "State machine name, e.g. orders-prod-OrderProcessing (also names its roles, log group and alarm)."
  type        = string
}

variable "definition" {
  description = "The rendered ASL: templatefile() of state_machines/<name>.asl.json in the root module."
  type        = string
}

variable "type" {
  description = "STANDARD or EXPRESS (SAM: Type)."
  type        = string
  default     = "STANDARD"
}

variable "invoke_function_arns" {
  description = "The Lambda functions the definition's Task states invoke (SAM: one LambdaInvokePolicy each)."
  type        = list(string)
  default     = []
}

variable "policy_statements" {
  description = "Service integrations of the definition besides Lambda (SAM: the other Policies)."
  type = list(object({
    actions   = list(string)
    resources = list(string)
  }))
  default = []
}

variable "event_rules" {
  description = "EventBridge rules that start an execution (SAM: Events of Type EventBridgeRule), by event name, with the target's RetryPolicy and DeadLetterConfig."
  type = map(object({
    event_bus_name = string
    event_pattern  = any
    retry_policy = object({
      maximum_retry_attempts       = number
      maximum_event_age_in_seconds = number
    })
    dead_letter_queue_arn = string
  }))
  default = {}
}

variable "schedules" {
  description = "EventBridge Scheduler schedules that start an execution (SAM: Events of Type ScheduleV2), by event name, with the target's RetryPolicy and DeadLetterConfig."
  type = map(object({
    expression = string
    timezone   = string
    retry_policy = object({
      maximum_retry_attempts       = number
      maximum_event_age_in_seconds = number
    })
    dead_letter_queue_arn = string
  }))
  default = {}
}

variable "alarm_actions" {
  description = "ARNs notified when the failed- or timed-out-executions alarm changes state."
  type        = list(string)
}

variable "failed_executions_threshold" {
  description = "Failed executions within five minutes that raise the alarm."
  type        = number
  default     = 1
}

variable "log_level" {
  description = "Execution logging level: ALL, ERROR, FATAL or OFF."
  type        = string
  default     = "ERROR"

  validation {
    condition     = contains(["ALL", "ERROR", "FATAL", "OFF"], var.log_level)
    error_message = "log_level must be ALL, ERROR, FATAL or OFF."
  }
}

variable "log_retention_days" {
  description = "How long execution logs are kept."
  type        = number
  default     = 30
}
