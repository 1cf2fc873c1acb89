# The approval queue with its dead-letter queue, the order events bus and the events
# dead-letter queue of the SAM template (Resources/ApprovalQueue,
# ApprovalDeadLetterQueue, OrderEventsBus, EventsDeadLetterQueue and its policy), plus
# the alarms operators rely on: a message in the approval dead-letter queue is an
# approval request that RecordApprovalRequest failed five times, so an order waits for
# nobody; a message in the events dead-letter queue is an order event (or a nightly
# sweep) that never started its state machine.

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_region" "current" {}

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

# Where the order events rule target and the nightly schedule put what they could not
# deliver after their retries (RetryPolicy in the state machine module's inputs).
resource "aws_sqs_queue" "events_dead_letter" {
  name                      = "${var.name_prefix}-EventsDeadLetter"
  message_retention_seconds = 1209600
  sqs_managed_sse_enabled   = true
}

# EventBridge delivers a rule target's dead letters under the queue's policy: only the
# rules of the order events bus, in this account. (Scheduler sends with its schedule's
# execution role instead; the state machine module grants it.)
data "aws_iam_policy_document" "events_dead_letter" {
  statement {
    sid       = "OrderEventsRuleTargets"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.events_dead_letter.arn]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["arn:${data.aws_partition.current.partition}:events:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:rule/${aws_cloudwatch_event_bus.order_events.name}/*"]
    }
  }
}

resource "aws_sqs_queue_policy" "events_dead_letter" {
  queue_url = aws_sqs_queue.events_dead_letter.id
  policy    = data.aws_iam_policy_document.events_dead_letter.json
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

resource "aws_cloudwatch_metric_alarm" "events_dead_letter" {
  alarm_name        = "${var.name_prefix}-EventsDeadLetter-messages"
  alarm_description = "Order events or nightly sweeps that could not start their state machine: no notification was sent, or the sweep did not run. Inspect the message attributes (ERROR_CODE), fix, then put the events again (or start the sweep by hand)."
  namespace         = "AWS/SQS"
  metric_name       = "ApproximateNumberOfMessagesVisible"
  dimensions = {
    QueueName = aws_sqs_queue.events_dead_letter.name
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
