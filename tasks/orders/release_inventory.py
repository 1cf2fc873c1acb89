"""Task ``ReleaseInventory`` (compensation): give back whatever the order still holds.

Input: the workflow state or a sweep item (``orderId``). Output:
``{orderId, released[]}``. Idempotent by construction: only reservations still
RESERVED are released, each in its own conditional transaction, so a retry or a
second compensation releases nothing twice. ``InventoryUnavailable`` is transient.
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

__all__ = ["handler", "release_inventory"]


def release_inventory(event: dict[str, Any], deps: OrderTaskDeps) -> dict[str, Any]:
    ref = parse_or_invalid(OrderRef, event, "release request")
    bind_order(ref.order_id)
    with unavailable_as(InventoryUnavailable):
        released = deps.inventory.release(ref.order_id, format_timestamp(deps.clock()))
    logger.info("inventory released", extra={"lines": len(released)})
    return {
        "orderId": ref.order_id,
        "released": [{"productId": r.product_id, "quantity": r.quantity} for r in released],
    }


@task_handler(OrderTaskDeps.from_settings)
def handler(event: dict[str, Any], context: LambdaContext, deps: OrderTaskDeps) -> dict[str, Any]:
    result = release_inventory(event, deps)
    metrics.add_metric(name="InventoryReleased", unit=MetricUnit.Count, value=1)
    return result
