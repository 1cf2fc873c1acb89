"""Task ``CancelOrder`` (sweep): claim a stuck order by marking it CANCELLED.

Input: one sweep item (``orderId``, optional ``status``/``createdAt``). Output:
``{orderId, customerId, cancelled, previousStatus, reason}``. The update is
conditional on the order still being PENDING or AWAITING_APPROVAL, so an order
that moved on meanwhile is left alone (``cancelled: false``) and the sweep does
not compensate it. Cancelling first and compensating after makes the claim the
single point of decision.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from tasks.common.models import format_timestamp
from tasks.common.observability import bind_order, logger, metrics, task_handler
from tasks.common.repositories import unavailable_as
from tasks.orders.deps import OrderRef, OrderTaskDeps, parse_or_invalid
from tasks.orders.errors import InventoryUnavailable

__all__ = ["CANCEL_REASON", "cancel_order", "handler"]

CANCEL_REASON = "the order was stuck past its deadline and was cancelled by the nightly sweep"


def cancel_order(event: dict[str, Any], deps: OrderTaskDeps) -> dict[str, Any]:
    ref = parse_or_invalid(OrderRef, event, "cancel request")
    bind_order(ref.order_id)
    with unavailable_as(InventoryUnavailable):
        before = deps.orders.get(ref.order_id)
        record = deps.orders.mark_cancelled(
            ref.order_id, CANCEL_REASON, format_timestamp(deps.clock())
        )
    cancelled = record is not None
    logger.info("stuck order checked", extra={"cancelled": cancelled})
    return {
        "orderId": ref.order_id,
        "customerId": before.customer_id if before else None,
        "cancelled": cancelled,
        "previousStatus": str(before.status) if before else None,
        "reason": CANCEL_REASON,
    }


@task_handler(OrderTaskDeps.from_settings)
def handler(event: dict[str, Any], context: LambdaContext, deps: OrderTaskDeps) -> dict[str, Any]:
    result = cancel_order(event, deps)
    if result["cancelled"]:
        metrics.add_metric(name="StuckOrdersCancelled", unit=MetricUnit.Count, value=1)
    return result
