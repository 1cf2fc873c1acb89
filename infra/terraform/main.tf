# The production estate of the order and notification workflows: the same resources as
# infra/sam/template.yaml (the one description of the app; SAM is for local development
# and quick deploys). tests/unit/infra/test_terraform_parity.py parses both and fails
# when they declare different functions, state machines, substitutions, tables, queues,
# rules, schedules, API routes or permissions. Change both together.

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_region" "current" {}

locals {
  name = "orders-${var.stage}"

  # Globals/Function/Environment/Variables of the SAM template.
  common_environment = {
    ORDERS_TABLE                 = module.data.orders_table_name
    IDEMPOTENCY_TABLE            = module.data.idempotency_table_name
    POWERTOOLS_SERVICE_NAME      = "orders"
    POWERTOOLS_METRICS_NAMESPACE = "Workflows"
    SENDER_EMAIL                 = var.sender_email
  }

  # The actions of SAM's DynamoDBCrudPolicy and DynamoDBReadPolicy templates.
  dynamodb_crud_actions = [
    "dynamodb:GetItem",
    "dynamodb:DeleteItem",
    "dynamodb:PutItem",
    "dynamodb:Scan",
    "dynamodb:Query",
    "dynamodb:UpdateItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:BatchGetItem",
    "dynamodb:DescribeTable",
    "dynamodb:ConditionCheckItem",
  ]
  dynamodb_read_actions = [
    "dynamodb:GetItem",
    "dynamodb:Scan",
    "dynamodb:Query",
    "dynamodb:BatchGetItem",
    "dynamodb:DescribeTable",
  ]

  # One grant per SAM policy (template or inline statement), named in local.functions
  # and passed to the state machines.
  grants = {
    orders_crud = {
      actions   = local.dynamodb_crud_actions
      resources = [module.data.orders_table_arn, "${module.data.orders_table_arn}/index/*"]
    }
    orders_read = {
      actions   = local.dynamodb_read_actions
      resources = [module.data.orders_table_arn, "${module.data.orders_table_arn}/index/*"]
    }
    idempotency_crud = {
      actions   = local.dynamodb_crud_actions
      resources = [module.data.idempotency_table_arn, "${module.data.idempotency_table_arn}/index/*"]
    }
    # SESCrudPolicy on the sender identity.
    sender_email = {
      actions = [
        "ses:GetIdentityVerificationAttributes",
        "ses:SendEmail",
        "ses:SendRawEmail",
        "ses:VerifyEmailIdentity",
      ]
      resources = ["arn:${data.aws_partition.current.partition}:ses:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:identity/${var.sender_email}"]
    }
    # SMS to a phone number has no resource to scope to.
    sns_publish = {
      actions   = ["sns:Publish"]
      resources = ["*"]
    }
    # Push: register the device token with a platform application of this account and
    # region (var.push_platform_application_arn may be empty), then publish to that
    # endpoint.
    push_endpoint_create = {
      actions   = ["sns:CreatePlatformEndpoint"]
      resources = ["arn:${data.aws_partition.current.partition}:sns:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:app/*"]
    }
    push_endpoint_publish = {
      actions   = ["sns:Publish"]
      resources = ["arn:${data.aws_partition.current.partition}:sns:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:endpoint/*"]
    }
    # What SAM grants an SQS event source's function (AWSLambdaSQSQueueExecutionRole),
    # scoped to the queue.
    approval_queue_poll = {
      actions   = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"]
      resources = [module.messaging.approval_queue_arn]
    }
    # SQSSendMessagePolicy (sqs:SendMessage*), without the batch action nobody uses.
    approval_queue_send = {
      actions   = ["sqs:SendMessage"]
      resources = [module.messaging.approval_queue_arn]
    }
    # EventBridgePutEventsPolicy.
    order_events_put = {
      actions   = ["events:PutEvents"]
      resources = [module.messaging.event_bus_arn]
    }
  }

  # The task functions (every AWS::Serverless::Function but ApiFunction), keyed by the
  # SAM logical id without "Function"; grants as the SAM function's Policies,
  # environment as its own Environment/Variables (added to local.common_environment).
  functions = {
    ValidateOrder = {
      handler = "tasks.orders.validate_order.handler"
      grants  = ["orders_crud"]
    }
    ReserveInventory = {
      handler = "tasks.orders.reserve_inventory.handler"
      grants  = ["orders_crud", "idempotency_crud"]
    }
    ReleaseInventory = {
      handler = "tasks.orders.release_inventory.handler"
      grants  = ["orders_crud", "idempotency_crud"]
    }
    ChargePayment = {
      handler = "tasks.orders.charge_payment.handler"
      grants  = ["orders_crud", "idempotency_crud"]
    }
    RefundPayment = {
      handler = "tasks.orders.refund_payment.handler"
      grants  = ["orders_crud", "idempotency_crud"]
    }
    MarkOrderRejected = {
      handler = "tasks.orders.mark_order_rejected.handler"
      grants  = ["orders_crud"]
    }
    FindStuckOrders = {
      handler = "tasks.orders.find_stuck_orders.handler"
      grants  = ["orders_read"]
    }
    CancelOrder = {
      handler = "tasks.orders.cancel_order.handler"
      grants  = ["orders_crud"]
    }
    RecordApprovalRequest = {
      handler = "tasks.orders.record_approval_request.handler"
      grants  = ["orders_crud", "approval_queue_poll"]
    }
    LoadPreferences = {
      handler = "tasks.notifications.load_preferences.handler"
      grants  = ["orders_read"]
    }
    RenderMessage = {
      handler = "tasks.notifications.render_message.handler"
      grants  = []
    }
    SendEmail = {
      handler = "tasks.notifications.send_email.handler"
      grants  = ["sender_email", "idempotency_crud"]
    }
    SendSms = {
      handler = "tasks.notifications.send_sms.handler"
      grants  = ["sns_publish", "idempotency_crud"]
    }
    SendPush = {
      handler = "tasks.notifications.send_push.handler"
      grants  = ["push_endpoint_create", "push_endpoint_publish", "idempotency_crud"]
      environment = {
        PUSH_PLATFORM_APPLICATION_ARN = var.push_platform_application_arn
      }
    }
    RecordDeliveries = {
      handler = "tasks.notifications.record_deliveries.handler"
      grants  = ["orders_crud"]
    }
  }

  # OrderExportSweep's Distributed Map: the export it reads, the result files it writes
  # (under its ResultWriter Prefix) and its child executions. The machine's ARN is
  # built from its name ("${local.name}-OrderExportSweep", spelled with var.stage): a
  # reference to the module would depend on itself.
  export_sweep_grants = {
    exports_read = {
      actions   = ["s3:GetObject"]
      resources = ["arn:${data.aws_partition.current.partition}:s3:::${module.data.order_exports_bucket_name}/*"]
    }
    exports_list = {
      actions   = ["s3:ListBucket"]
      resources = ["arn:${data.aws_partition.current.partition}:s3:::${module.data.order_exports_bucket_name}"]
    }
    results_write = {
      actions   = ["s3:PutObject"]
      resources = ["arn:${data.aws_partition.current.partition}:s3:::${module.data.order_exports_bucket_name}/sweep-results/*"]
    }
    children_start = {
      actions   = ["states:StartExecution"]
      resources = ["arn:${data.aws_partition.current.partition}:states:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:stateMachine:orders-${var.stage}-OrderExportSweep"]
    }
    children_read = {
      actions   = ["states:DescribeExecution", "states:StopExecution"]
      resources = ["arn:${data.aws_partition.current.partition}:states:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:execution:orders-${var.stage}-OrderExportSweep/*"]
    }
  }

  # The API function's grants name the order state machine, which invokes the task
  # functions, which use local.grants: kept apart so that nothing depends on itself.
  api_grants = {
    # StepFunctionsExecutionPolicy.
    start_order_processing = {
      actions   = ["states:StartExecution"]
      resources = [module.order_processing.arn]
    }
    # The API only reads OrderProcessing executions.
    order_executions = {
      actions   = ["states:DescribeExecution", "states:GetExecutionHistory"]
      resources = ["arn:${data.aws_partition.current.partition}:states:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:execution:${module.order_processing.name}:*"]
    }
    # Task tokens name no resource.
    task_tokens = {
      actions   = ["states:SendTaskSuccess", "states:SendTaskFailure"]
      resources = ["*"]
    }
  }
}

# -------------------------------------------------------------------- code

# One zip of the repository for every function, as CodeUri: ../../ in SAM. Third-party
# packages come from var.dependency_layer_arns.
data "archive_file" "code" {
  type        = "zip"
  source_dir  = "${path.root}/../.."
  output_path = "${path.root}/.build/workflows.zip"
  excludes = [
    ".git",
    ".venv",
    ".workflows",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    ".hypothesis",
    "bench",
    "build",
    "docs",
    "examples",
    "infra",
    "tests",
    "workflows.egg-info",
    "**/__pycache__/**",
  ]
}

# -------------------------------------------------------------------- data

module "data" {
  source = "./modules/data"

  name_prefix         = local.name
  deletion_protection = var.deletion_protection
}

# --------------------------------------------------------------- messaging

module "messaging" {
  source = "./modules/messaging"

  name_prefix    = local.name
  event_bus_name = local.name
  alarm_actions  = var.alarm_actions
}

# --------------------------------------------------------------- functions

module "function" {
  source   = "./modules/lambda_function"
  for_each = local.functions

  name               = "${local.name}-${each.key}"
  handler            = each.value.handler
  package_path       = data.archive_file.code.output_path
  package_hash       = data.archive_file.code.output_base64sha256
  layers             = var.dependency_layer_arns
  environment        = merge(local.common_environment, lookup(each.value, "environment", {}))
  policy_statements  = [for grant in each.value.grants : local.grants[grant]]
  log_retention_days = var.log_retention_days
}

# RecordApprovalRequestFunction's SQS event.
resource "aws_lambda_event_source_mapping" "approval_requests" {
  event_source_arn        = module.messaging.approval_queue_arn
  function_name           = module.function["RecordApprovalRequest"].arn
  batch_size              = 10
  function_response_types = ["ReportBatchItemFailures"]
}

module "api_function" {
  source = "./modules/lambda_function"

  name         = "${local.name}-Api"
  handler      = "workflows.api.app.handler"
  package_path = data.archive_file.code.output_path
  package_hash = data.archive_file.code.output_base64sha256
  layers       = var.dependency_layer_arns
  environment = merge(local.common_environment, {
    ORDER_STATE_MACHINE_ARN = module.order_processing.arn
    JWT_ISSUER              = var.jwt_issuer
    JWT_AUDIENCE            = var.jwt_audience
    JWT_JWKS_URL            = var.jwt_jwks_url
  })
  policy_statements = [
    local.grants.orders_read,
    local.api_grants.start_order_processing,
    local.api_grants.order_executions,
    local.api_grants.task_tokens,
  ]
  log_retention_days = var.log_retention_days
}

# ------------------------------------------------------------------ API

module "api" {
  source = "./modules/api"

  name                = "${local.name}-api"
  function_name       = module.api_function.name
  function_invoke_arn = module.api_function.invoke_arn
  resource_path       = "/{proxy+}"
  http_method         = "ANY"
}

# ------------------------------------------------------------ state machines

module "order_processing" {
  source = "./modules/state_machine"

  name = "${local.name}-OrderProcessing"
  definition = templatefile("${path.root}/../../state_machines/order_processing.asl.json", {
    ValidateOrderFunctionArn     = module.function["ValidateOrder"].arn
    ReserveInventoryFunctionArn  = module.function["ReserveInventory"].arn
    ReleaseInventoryFunctionArn  = module.function["ReleaseInventory"].arn
    ChargePaymentFunctionArn     = module.function["ChargePayment"].arn
    RefundPaymentFunctionArn     = module.function["RefundPayment"].arn
    MarkOrderRejectedFunctionArn = module.function["MarkOrderRejected"].arn
    OrdersTableName              = module.data.orders_table_name
    ApprovalQueueUrl             = module.messaging.approval_queue_url
    EventBusName                 = module.messaging.event_bus_name
    ApprovalThreshold            = var.approval_threshold
  })
  invoke_function_arns = [
    module.function["ValidateOrder"].arn,
    module.function["ReserveInventory"].arn,
    module.function["ReleaseInventory"].arn,
    module.function["ChargePayment"].arn,
    module.function["RefundPayment"].arn,
    module.function["MarkOrderRejected"].arn,
  ]
  policy_statements = [
    local.grants.orders_crud,
    local.grants.approval_queue_send,
    local.grants.order_events_put,
  ]
  alarm_actions               = var.alarm_actions
  failed_executions_threshold = var.order_failed_executions_threshold
  log_level                   = var.state_machine_log_level
  log_retention_days          = var.log_retention_days
}

module "notification" {
  source = "./modules/state_machine"

  name = "${local.name}-Notification"
  definition = templatefile("${path.root}/../../state_machines/notification.asl.json", {
    LoadPreferencesFunctionArn  = module.function["LoadPreferences"].arn
    RenderMessageFunctionArn    = module.function["RenderMessage"].arn
    SendEmailFunctionArn        = module.function["SendEmail"].arn
    SendSmsFunctionArn          = module.function["SendSms"].arn
    SendPushFunctionArn         = module.function["SendPush"].arn
    RecordDeliveriesFunctionArn = module.function["RecordDeliveries"].arn
  })
  invoke_function_arns = [
    module.function["LoadPreferences"].arn,
    module.function["RenderMessage"].arn,
    module.function["SendEmail"].arn,
    module.function["SendSms"].arn,
    module.function["SendPush"].arn,
    module.function["RecordDeliveries"].arn,
  ]
  event_rules = {
    OrderEvents = {
      event_bus_name = module.messaging.event_bus_name
      event_pattern = {
        source        = ["orders.workflow"]
        "detail-type" = ["OrderConfirmed", "OrderRejected", "OrderCancelled"]
      }
      retry_policy = {
        maximum_retry_attempts       = 20
        maximum_event_age_in_seconds = 3600
      }
      dead_letter_queue_arn = module.messaging.events_dead_letter_queue_arn
    }
  }
  alarm_actions      = var.alarm_actions
  log_level          = var.state_machine_log_level
  log_retention_days = var.log_retention_days
}

module "stuck_order_sweep" {
  source = "./modules/state_machine"

  name = "${local.name}-StuckOrderSweep"
  definition = templatefile("${path.root}/../../state_machines/stuck_order_sweep.asl.json", {
    FindStuckOrdersFunctionArn  = module.function["FindStuckOrders"].arn
    CancelOrderFunctionArn      = module.function["CancelOrder"].arn
    ReleaseInventoryFunctionArn = module.function["ReleaseInventory"].arn
    RefundPaymentFunctionArn    = module.function["RefundPayment"].arn
    EventBusName                = module.messaging.event_bus_name
  })
  invoke_function_arns = [
    module.function["FindStuckOrders"].arn,
    module.function["CancelOrder"].arn,
    module.function["ReleaseInventory"].arn,
    module.function["RefundPayment"].arn,
  ]
  policy_statements = [
    local.grants.order_events_put,
  ]
  schedules = {
    Nightly = {
      expression = "cron(0 3 * * ? *)"
      timezone   = "UTC"
      retry_policy = {
        maximum_retry_attempts       = 20
        maximum_event_age_in_seconds = 3600
      }
      dead_letter_queue_arn = module.messaging.events_dead_letter_queue_arn
    }
  }
  alarm_actions      = var.alarm_actions
  log_level          = var.state_machine_log_level
  log_retention_days = var.log_retention_days
}

module "order_export_sweep" {
  source = "./modules/state_machine"

  name = "${local.name}-OrderExportSweep"
  definition = templatefile("${path.root}/../../state_machines/order_export_sweep.asl.json", {
    ExportBucket           = module.data.order_exports_bucket_name
    CancelOrderFunctionArn = module.function["CancelOrder"].arn
  })
  invoke_function_arns = [
    module.function["CancelOrder"].arn,
  ]
  policy_statements = [
    local.export_sweep_grants.exports_read,
    local.export_sweep_grants.exports_list,
    local.export_sweep_grants.results_write,
    local.export_sweep_grants.children_start,
    local.export_sweep_grants.children_read,
  ]
  alarm_actions      = var.alarm_actions
  log_level          = var.state_machine_log_level
  log_retention_days = var.log_retention_days
}
