# The SAM template's Outputs first (same names in snake_case), then the rest operators use.

output "api_url" {
  description = "Base URL of the orders API (SAM output ApiUrl)."
  value       = module.api.url
}

output "order_processing_state_machine_arn" {
  description = "ARN of the OrderProcessing state machine (SAM output OrderProcessingStateMachineArn)."
  value       = module.order_processing.arn
}

output "orders_table_name" {
  description = "Name of the single table (SAM output OrdersTableName)."
  value       = module.data.orders_table_name
}

output "notification_state_machine_arn" {
  description = "ARN of the Notification state machine."
  value       = module.notification.arn
}

output "stuck_order_sweep_state_machine_arn" {
  description = "ARN of the StuckOrderSweep state machine."
  value       = module.stuck_order_sweep.arn
}

output "order_export_sweep_state_machine_arn" {
  description = "ARN of the OrderExportSweep state machine (Distributed Map over an export)."
  value       = module.order_export_sweep.arn
}

output "order_exports_bucket_name" {
  description = "Bucket the order exports are put in; the sweep writes its results under sweep-results/."
  value       = module.data.order_exports_bucket_name
}

output "approval_queue_url" {
  description = "URL of the approval queue."
  value       = module.messaging.approval_queue_url
}

output "approval_dead_letter_queue_url" {
  description = "URL of the approval dead-letter queue (redrive from here after a fix)."
  value       = module.messaging.approval_dead_letter_queue_url
}

output "events_dead_letter_queue_url" {
  description = "URL of the dead-letter queue of the order events rule and the nightly schedule (events that could not start their state machine)."
  value       = module.messaging.events_dead_letter_queue_url
}

output "event_bus_name" {
  description = "Name of the order events bus."
  value       = module.messaging.event_bus_name
}

output "function_names" {
  description = "Lambda function names by SAM logical id without Function."
  value       = merge({ for key, fn in module.function : key => fn.name }, { Api = module.api_function.name })
}
