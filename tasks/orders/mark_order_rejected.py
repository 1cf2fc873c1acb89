"""Task ``RejectOrder``: mark the order REJECTED and describe why, for the event and Fail.

Input: the workflow state, with the caught error at ``error`` (``{Error, Cause}``)
and ``workflow.executionArn``. Output: ``{orderId, customerId, status, error, reason}``
where ``error`` is the ASL error name (``States.Timeout`` becomes
``ApprovalTimedOut``) and ``reason`` a human sentence (the Lambda's
``errorMessage`` when the Cause is a Lambda error). Never fails on a malformed
state: an order that was never stored (invalid input) is simply not updated.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from tasks.common.models import CaughtError, format_timestamp
from tasks.common.observability import bind_order, logger, metrics, task_handler
from tasks.common.repositories import unavailable_as
from tasks.orders.deps import OrderTaskDeps
from tasks.orders.errors import InventoryUnavailable

__all__ = ["describe_failure", "handler", "mark_order_rejected"]

MAX_REASON = 2000
_FRIENDLY: dict[str, tuple[str, str]] = {
    "States.Timeout": ("ApprovalTimedOut", "no approval decision arrived within 24 hours"),
    "ApprovalRejected": ("ApprovalRejected", "the order was rejected by an approver"),
}


def _message_of(cause: str | None) -> str | None:
    """A Lambda error's Cause is JSON with ``errorMessage``; other causes are text."""
    if not cause:
        return None
    try:
        parsed = json.loads(cause)
    except ValueError:
        return cause
    if isinstance(parsed, dict) and isinstance(parsed.get("errorMessage"), str):
        return str(parsed["errorMessage"])
    return cause


def describe_failure(error: CaughtError | None) -> tuple[str, str]:
    """``(error name, reason)`` for the rejection event and the Fail state."""
    if error is None:
        return "OrderRejected", "the order was rejected"
    name, reason = _FRIENDLY.get(error.error, (error.error, ""))
    message = _message_of(error.cause)
    if reason and message:
        reason = f"{reason}: {message}"
    reason = reason or message or f"the order failed with {error.error}"
    return name, reason[:MAX_REASON]


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def mark_order_rejected(event: dict[str, Any], deps: OrderTaskDeps) -> dict[str, Any]:
    state = event if isinstance(event, dict) else {}
    order_id = _str_or_none(state.get("orderId"))
    customer_id = _str_or_none(state.get("customerId"))
    workflow = state.get("workflow")
    execution_arn = (
        _str_or_none(workflow.get("executionArn")) if isinstance(workflow, dict) else None
    )
    raw_error = state.get("error")
    try:
        error = CaughtError.model_validate(raw_error) if isinstance(raw_error, dict) else None
    except ValueError:
        error = None
    bind_order(order_id)
    name, reason = describe_failure(error)

    if order_id is not None:
        with unavailable_as(InventoryUnavailable):
            now = format_timestamp(deps.clock())
            record = deps.orders.mark_rejected(order_id, reason, now, execution_arn=execution_arn)
        if record is None:
            logger.info("order not stored or already settled; not marked rejected")
        else:
            customer_id = record.customer_id
    logger.info("order rejected", extra={"error": name})
    return {
        "orderId": order_id,
        "customerId": customer_id,
        "status": "REJECTED",
        "error": name,
        "reason": reason,
    }


@task_handler(OrderTaskDeps.from_settings)
def handler(event: dict[str, Any], context: LambdaContext, deps: OrderTaskDeps) -> dict[str, Any]:
    result = mark_order_rejected(event, deps)
    metrics.add_dimension(name="Reason", value=result["error"])
    metrics.add_metric(name="OrdersRejected", unit=MetricUnit.Count, value=1)
    return result
