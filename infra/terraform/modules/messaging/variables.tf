variable "name_prefix" {
  description = "Prefix of the queue and alarm names, e.g. orders-prod."
  type        = string
}

variable "event_bus_name" {
  description = "Name of the order events bus (SAM: orders-<Stage>)."
  type        = string
}

variable "alarm_actions" {
  description = "ARNs notified when a dead-letter queue alarm changes state (e.g. the on-call SNS topic)."
  type        = list(string)
}
