"""SQS consumer of the approval queue: remember the task token on the order.

The order machine's ``RequestApproval`` state sends ``{TaskToken, orderId, ...}``
to the approval queue and waits. For each message this consumer stores the token
on the order and sets it AWAITING_APPROVAL, so the approval API
(``POST /orders/{id}/approval``) can later call SendTaskSuccess/SendTaskFailure.

Uses Powertools BatchProcessor: a bad or failing record is reported in
``batchItemFailures`` and redelivered alone; the rest of the batch is kept.
"""

from __future__ import annotations

import functools
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import Field

from tasks.common.models import Amount, CamelModel, Currency, Identifier, format_timestamp
from tasks.common.observability import bind_order, logger, metrics, task_handler
from tasks.orders.deps import OrderTaskDeps

__all__ = ["ApprovalRequestMessage", "OrderNotFound", "handler", "record_approval_request"]

processor = BatchProcessor(event_type=EventType.SQS)


class OrderNotFound(LookupError):
    """The message names an order that is not stored (yet): retry the record."""


class ApprovalRequestMessage(CamelModel):
    task_token: str = Field(alias="TaskToken", min_length=1)
    order_id: Identifier
    customer_id: str | None = None
    total: Amount | None = None
    currency: Currency | None = None
    execution_arn: str | None = None


def record_approval_request(record: SQSRecord, deps: OrderTaskDeps) -> None:
    message = ApprovalRequestMessage.model_validate_json(record.body)
    bind_order(message.order_id)
    now = format_timestamp(deps.clock())
    updated = deps.orders.mark_awaiting_approval(message.order_id, message.task_token, now)
    if updated is not None:
        logger.info("approval requested; task token stored")
        metrics.add_metric(name="ApprovalsRequested", unit=MetricUnit.Count, value=1)
        return
    existing = deps.orders.get(message.order_id)
    if existing is None:
        raise OrderNotFound(f"order {message.order_id!r} does not exist")
    # Already settled (e.g. cancelled by the sweep): nothing waits on this token any more.
    logger.warning(
        "order already settled; approval request ignored", extra={"status": existing.status}
    )


@task_handler(OrderTaskDeps.from_settings)
def handler(event: dict[str, Any], context: LambdaContext, deps: OrderTaskDeps) -> dict[str, Any]:
    response = process_partial_response(
        event=event,
        record_handler=functools.partial(record_approval_request, deps=deps),
        processor=processor,
        context=context,
    )
    return dict(response)
