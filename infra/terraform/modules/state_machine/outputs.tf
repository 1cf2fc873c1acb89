output "arn" {
  description = "State machine ARN."
  value       = aws_sfn_state_machine.this.arn
}

output "name" {
  description = "State machine name."
  value       = aws_sfn_state_machine.this.name
}

output "role_name" {
  description = "Name of the state machine's execution role."
  value       = aws_iam_role.this.name
}

output "failed_executions_alarm_arn" {
  description = "ARN of the failed-executions alarm."
  value       = aws_cloudwatch_metric_alarm.failed_executions.arn
}

output "timed_out_executions_alarm_arn" {
  description = "ARN of the timed-out-executions alarm."
  value       = aws_cloudwatch_metric_alarm.timed_out_executions.arn
}
