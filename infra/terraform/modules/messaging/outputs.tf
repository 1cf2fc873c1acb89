output "approval_queue_url" {
  description = "URL of the approval queue (the ApprovalQueueUrl substitution)."
  value       = aws_sqs_queue.approval.url
}

output "approval_queue_arn" {
  description = "ARN of the approval queue."
  value       = aws_sqs_queue.approval.arn
}

output "approval_dead_letter_queue_url" {
  description = "URL of the approval dead-letter queue."
  value       = aws_sqs_queue.approval_dead_letter.url
}

output "events_dead_letter_queue_arn" {
  description = "ARN of the dead-letter queue of the order events rule target and the nightly schedule."
  value       = aws_sqs_queue.events_dead_letter.arn
}

output "events_dead_letter_queue_url" {
  description = "URL of the events dead-letter queue."
  value       = aws_sqs_queue.events_dead_letter.url
}

output "event_bus_name" {
  description = "Name of the order events bus (the EventBusName substitution)."
  value       = aws_cloudwatch_event_bus.order_events.name
}

output "event_bus_arn" {
  description = "ARN of the order events bus."
  value       = aws_cloudwatch_event_bus.order_events.arn
}

output "dead_letter_alarm_arn" {
  description = "ARN of the approval dead-letter queue alarm."
  value       = aws_cloudwatch_metric_alarm.approval_dead_letter.arn
}

output "events_dead_letter_alarm_arn" {
  description = "ARN of the events dead-letter queue alarm."
  value       = aws_cloudwatch_metric_alarm.events_dead_letter.arn
}
