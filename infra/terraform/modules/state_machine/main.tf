# One Step Functions state machine (AWS::Serverless::StateMachine in SAM) with its own
# role, X-Ray tracing, execution logging, the alarms on failed and timed-out executions
# operators rely on, and the state machine's events: EventBridge rules and EventBridge
# Scheduler schedules that start it, each with a role that may start only this state
# machine, a retry policy and a dead-letter queue for what still fails.
# The definition arrives rendered: the root module calls templatefile() on
# state_machines/<name>.asl.json, the same file SAM reads.

data "aws_caller_identity" "current" {}

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["states.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

resource "aws_iam_role" "this" {
  name               = "${var.name}-sfn"
  assume_role_policy = data.aws_iam_policy_document.assume.json
}

data "aws_iam_policy_document" "this" {
  # LambdaInvokePolicy of SAM: the function and its versions and aliases.
  dynamic "statement" {
    for_each = length(var.invoke_function_arns) > 0 ? [1] : []

    content {
      sid       = "InvokeTaskFunctions"
      actions   = ["lambda:InvokeFunction"]
      resources = flatten([for arn in var.invoke_function_arns : [arn, "${arn}:*"]])
    }
  }

  dynamic "statement" {
    for_each = var.policy_statements

    content {
      actions   = statement.value.actions
      resources = statement.value.resources
    }
  }

  statement {
    sid = "XRay"
    actions = [
      "xray:PutTraceSegments",
      "xray:PutTelemetryRecords",
      "xray:GetSamplingRules",
      "xray:GetSamplingTargets",
    ]
    resources = ["*"]
  }

  # Execution logging goes through CloudWatch Logs vended log delivery, which supports
  # no resource-level permissions (Step Functions developer guide, "IAM policies for
  # logging to CloudWatch Logs").
  statement {
    sid = "LogDelivery"
    actions = [
      "logs:CreateLogDelivery",
      "logs:GetLogDelivery",
      "logs:UpdateLogDelivery",
      "logs:DeleteLogDelivery",
      "logs:ListLogDeliveries",
      "logs:PutResourcePolicy",
      "logs:DescribeResourcePolicies",
      "logs:DescribeLogGroups",
    ]
    resources = ["*"]
  }
}

resource "aws_iam_role_policy" "this" {
  name   = "${var.name}-sfn"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.this.json
}

resource "aws_cloudwatch_log_group" "this" {
  # The /aws/vendedlogs/ prefix keeps the log resource policy small.
  name              = "/aws/vendedlogs/states/${var.name}"
  retention_in_days = var.log_retention_days
}

resource "aws_sfn_state_machine" "this" {
  name       = var.name
  type       = var.type
  role_arn   = aws_iam_role.this.arn
  definition = var.definition

  tracing_configuration {
    enabled = true
  }

  logging_configuration {
    log_destination = "${aws_cloudwatch_log_group.this.arn}:*"
    level           = var.log_level
    # Execution data holds customer data (addresses, phone numbers): not in logs.
    include_execution_data = false
  }

  depends_on = [aws_iam_role_policy.this]
}

resource "aws_cloudwatch_metric_alarm" "failed_executions" {
  alarm_name          = "${var.name}-failed-executions"
  alarm_description   = "Executions of ${var.name} failed. Open the failed executions in the Step Functions console; the error names the cause."
  namespace           = "AWS/States"
  metric_name         = "ExecutionsFailed"
  dimensions          = { StateMachineArn = aws_sfn_state_machine.this.arn }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  threshold           = var.failed_executions_threshold
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "timed_out_executions" {
  alarm_name          = "${var.name}-timed-out-executions"
  alarm_description   = "Executions of ${var.name} timed out. Open them in the Step Functions console."
  namespace           = "AWS/States"
  metric_name         = "ExecutionsTimedOut"
  dimensions          = { StateMachineArn = aws_sfn_state_machine.this.arn }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  threshold           = 1
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions
}

# ------------------------------------------------------------ EventBridge rules

data "aws_iam_policy_document" "start_execution" {
  statement {
    actions   = ["states:StartExecution"]
    resources = [aws_sfn_state_machine.this.arn]
  }
}

data "aws_iam_policy_document" "events_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

resource "aws_iam_role" "events" {
  count              = length(var.event_rules) > 0 ? 1 : 0
  name               = "${var.name}-events"
  assume_role_policy = data.aws_iam_policy_document.events_assume.json
}

resource "aws_iam_role_policy" "events" {
  count  = length(var.event_rules) > 0 ? 1 : 0
  name   = "${var.name}-start-execution"
  role   = aws_iam_role.events[0].id
  policy = data.aws_iam_policy_document.start_execution.json
}

resource "aws_cloudwatch_event_rule" "this" {
  for_each       = var.event_rules
  name           = "${var.name}-${each.key}"
  event_bus_name = each.value.event_bus_name
  event_pattern  = jsonencode(each.value.event_pattern)
}

resource "aws_cloudwatch_event_target" "this" {
  for_each       = var.event_rules
  rule           = aws_cloudwatch_event_rule.this[each.key].name
  event_bus_name = each.value.event_bus_name
  target_id      = "state-machine"
  arn            = aws_sfn_state_machine.this.arn
  role_arn       = aws_iam_role.events[0].arn

  retry_policy {
    maximum_retry_attempts       = each.value.retry_policy.maximum_retry_attempts
    maximum_event_age_in_seconds = each.value.retry_policy.maximum_event_age_in_seconds
  }

  # EventBridge sends under the queue's policy (the messaging module's).
  dead_letter_config {
    arn = each.value.dead_letter_queue_arn
  }
}

# ----------------------------------------------------------------- schedules

data "aws_iam_policy_document" "scheduler_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["scheduler.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

resource "aws_iam_role" "scheduler" {
  count              = length(var.schedules) > 0 ? 1 : 0
  name               = "${var.name}-scheduler"
  assume_role_policy = data.aws_iam_policy_document.scheduler_assume.json
}

# Scheduler delivers dead letters with the schedule's execution role (what SAM adds to
# the role it generates for a ScheduleV2 event with a DeadLetterConfig).
data "aws_iam_policy_document" "scheduler" {
  source_policy_documents = [data.aws_iam_policy_document.start_execution.json]

  dynamic "statement" {
    for_each = length(var.schedules) > 0 ? [1] : []

    content {
      sid       = "DeadLetterQueue"
      actions   = ["sqs:SendMessage"]
      resources = distinct([for schedule in var.schedules : schedule.dead_letter_queue_arn])
    }
  }
}

resource "aws_iam_role_policy" "scheduler" {
  count  = length(var.schedules) > 0 ? 1 : 0
  name   = "${var.name}-start-execution"
  role   = aws_iam_role.scheduler[0].id
  policy = data.aws_iam_policy_document.scheduler.json
}

resource "aws_scheduler_schedule" "this" {
  for_each                     = var.schedules
  name                         = "${var.name}-${each.key}"
  schedule_expression          = each.value.expression
  schedule_expression_timezone = each.value.timezone

  flexible_time_window {
    mode = "OFF"
  }

  target {
    arn      = aws_sfn_state_machine.this.arn
    role_arn = aws_iam_role.scheduler[0].arn

    retry_policy {
      maximum_retry_attempts       = each.value.retry_policy.maximum_retry_attempts
      maximum_event_age_in_seconds = each.value.retry_policy.maximum_event_age_in_seconds
    }

    dead_letter_config {
      arn = each.value.dead_letter_queue_arn
    }
  }
}
