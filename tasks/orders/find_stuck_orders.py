"""Task ``FindStuckOrders`` (sweep): orders stuck in an active status past a deadline.

Queries GSI1 (``GSI1PK = STATUS#PENDING``, ``GSI1SK < cutoff``) and the same for
AWAITING_APPROVAL with a longer deadline. Input: the schedule's event (ignored,
except an optional ``limit``). Output: ``{orders[], count, checkedAt}``, each
order ``{orderId, customerId, status, createdAt}``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from tasks.common.models import OrderRecord, OrderStatus, format_timestamp
from tasks.common.observability import logger, metrics, task_handler
from tasks.common.repositories import unavailable_as
from tasks.orders.deps import OrderTaskDeps
from tasks.orders.errors import InventoryUnavailable

__all__ = ["find_stuck_orders", "handler"]


def find_stuck_orders(event: dict[str, Any], deps: OrderTaskDeps) -> dict[str, Any]:
    settings = deps.settings
    limit = settings.sweep_batch_limit
    requested = event.get("limit") if isinstance(event, dict) else None
    if isinstance(requested, int) and not isinstance(requested, bool) and requested > 0:
        limit = min(limit, requested)
    now = deps.clock()
    deadlines = (
        (OrderStatus.PENDING, timedelta(minutes=settings.stuck_pending_minutes)),
        (OrderStatus.AWAITING_APPROVAL, timedelta(hours=settings.stuck_approval_hours)),
    )
    found: list[OrderRecord] = []
    with unavailable_as(InventoryUnavailable):
        for status, age in deadlines:
            if len(found) >= limit:
                break
            cutoff = format_timestamp(now - age)
            found.extend(deps.orders.find_by_status(status, cutoff, limit - len(found)))
    logger.info("stuck orders found", extra={"count": len(found)})
    return {
        "orders": [
            {
                "orderId": o.order_id,
                "customerId": o.customer_id,
                "status": str(o.status),
                "createdAt": o.created_at,
            }
            for o in found
        ],
        "count": len(found),
        "checkedAt": format_timestamp(now),
    }


@task_handler(OrderTaskDeps.from_settings)
def handler(event: dict[str, Any], context: LambdaContext, deps: OrderTaskDeps) -> dict[str, Any]:
    result = find_stuck_orders(event, deps)
    metrics.add_metric(name="StuckOrdersFound", unit=MetricUnit.Count, value=result["count"])
    return result
