# The approval queue with its dead-letter queue and the order events bus of the SAM
# template (Resources/ApprovalQueue, ApprovalDeadLetterQueue, OrderEventsBus), plus the
# alarm operators rely on: a message in the dead-letter queue is an approval request
# that RecordApprovalRequest failed five times, so an order waits for nobody.

resource "aws_sqs_queue" "approval_dead_letter" {
  name                      = "${var.name_prefix}-ApprovalDeadLetter"
  message_retention_seconds = 1209600
  sqs_managed_sse_enabled   = true
}

resource "aws_sqs_queue" "approval" {
  name = "${var.name_prefix}-Approval"
  # Six times the consumer's 30 s timeout (AWS guidance for Lambda event sources).
  visibility_timeout_seconds = 180
  sqs_managed_sse_enabled    = true

  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.approval_dead_letter.arn
    maxReceiveCount     = 5
  })
}

# Only the approval queue may use the dead-letter queue.
resource "aws_sqs_queue_redrive_allow_policy" "approval_dead_letter" {
  queue_url = aws_sqs_queue.approval_dead_letter.id

  redrive_allow_policy = jsonencode({
    redrivePermission = "byQueue"
    sourceQueueArns   = [aws_sqs_queue.approval.arn]
  })
}

resource "aws_cloudwatch_event_bus" "order_events" {
  name = var.event_bus_name
}

resource "aws_cloudwatch_metric_alarm" "approval_dead_letter" {
  alarm_name        = "${var.name_prefix}-ApprovalDeadLetter-messages"
  alarm_description = "Approval requests in the dead-letter queue: their orders wait for an approval nobody was asked for. Inspect, fix, then redrive to ${aws_sqs_queue.approval.name}."
  namespace         = "AWS/SQS"
  metric_name       = "ApproximateNumberOfMessagesVisible"
  dimensions = {
    QueueName = aws_sqs_queue.approval_dead_letter.name
  }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions
}
