"""Task ``ReserveInventory``: take the stock of every line of the stored order, atomically.

Input: the workflow state (``orderId``). Output: ``{orderId, reservations[], reservedAt}``.
Raises ``OutOfStock`` (permanent, nothing was reserved) or ``InventoryUnavailable``
(transient, retried).

Idempotent by its own writes, without a Powertools Idempotency record: the stock and
the reservation items change in one transaction, each reservation written only if it
does not exist yet. A repeated invocation (a Step Functions retry, an at-least-once
duplicate, a retry after a sandbox crashed mid-way) whose transaction finds the
reservations returns them as stored (the same result: lines, quantities and
``reservedAt`` of the attempt that committed) and takes no stock; two at once conflict
in DynamoDB and the loser retries (``InventoryUnavailable``) into the same answer. A
record would cost two more DynamoDB writes per order and guard nothing external
(``tests/unit/tasks/test_inventory_tasks.py``). ChargePayment and the sends keep theirs:
they guard effects outside the table.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from tasks.common.models import format_timestamp
from tasks.common.observability import bind_order, logger, metrics, task_handler
from tasks.common.repositories import ACTIVE_STATUSES, InsufficientStock, StoreUnavailable
from tasks.orders.deps import OrderRef, OrderTaskDeps, parse_or_invalid
from tasks.orders.errors import InvalidOrder, InventoryUnavailable, OutOfStock

__all__ = ["handler", "reserve_inventory"]


def reserve_inventory(event: dict[str, Any], deps: OrderTaskDeps) -> dict[str, Any]:
    ref = parse_or_invalid(OrderRef, event, "reservation request")
    bind_order(ref.order_id)
    try:
        order = deps.orders.get(ref.order_id)
        if order is None:
            raise InvalidOrder(f"order {ref.order_id!r} does not exist")
        if order.status not in ACTIVE_STATUSES:
            raise InvalidOrder(f"order {ref.order_id!r} is {order.status}; nothing to reserve")
        now = format_timestamp(deps.clock())
        reservations = deps.inventory.reserve(
            order.order_id, [(line.product_id, line.quantity) for line in order.items], now
        )
    except InsufficientStock as err:
        raise OutOfStock(err.product_id, err.requested) from err
    except StoreUnavailable as err:
        raise InventoryUnavailable(str(err)) from err
    logger.info("inventory reserved", extra={"lines": len(reservations)})
    return {
        "orderId": order.order_id,
        "reservations": [{"productId": r.product_id, "quantity": r.quantity} for r in reservations],
        "reservedAt": reservations[0].reserved_at if reservations else now,
    }


@task_handler(OrderTaskDeps.from_settings)
def handler(event: dict[str, Any], context: LambdaContext, deps: OrderTaskDeps) -> dict[str, Any]:
    try:
        result = reserve_inventory(event, deps)
    except OutOfStock:
        metrics.add_metric(name="OrdersOutOfStock", unit=MetricUnit.Count, value=1)
        raise
    metrics.add_metric(name="InventoryReserved", unit=MetricUnit.Count, value=1)
    return result
