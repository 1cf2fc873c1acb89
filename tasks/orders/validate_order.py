"""Task ``ValidateOrder``: validate the request, price it from the catalog, store it PENDING.

Input: the workflow state (the order request plus ``workflow.executionArn``).
Output: the priced order (``orderId, customerId, items[], total, currency, status,
createdAt``). Prices always come from the catalog, never from the client.
Raises ``InvalidOrder`` (permanent) with every problem found, and ``DuplicateOrder``
when another execution already placed this order id (the workflow then ends without
touching that order).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from tasks.common.models import (
    CamelModel,
    OrderRecord,
    OrderRequest,
    OrderStatus,
    PricedLine,
    format_timestamp,
    quantize_money,
)
from tasks.common.observability import bind_order, logger, metrics, task_handler
from tasks.common.repositories import (
    ACTIVE_STATUSES,
    OrderAlreadyExists,
    StoreUnavailable,
    unavailable_as,
)
from tasks.orders.deps import OrderTaskDeps, parse_or_invalid
from tasks.orders.errors import DuplicateOrder, InvalidOrder, InventoryUnavailable

__all__ = ["handler", "validate_order"]


class WorkflowContext(CamelModel):
    execution_arn: str | None = None


class _State(CamelModel):
    workflow: WorkflowContext = WorkflowContext()


def _merge_lines(request: OrderRequest) -> dict[str, int]:
    """Quantities per product, in first-seen order (a product listed twice is summed)."""
    merged: dict[str, int] = {}
    for line in request.items:
        merged[line.product_id] = merged.get(line.product_id, 0) + line.quantity
    return merged


def validate_order(event: dict[str, Any], deps: OrderTaskDeps) -> OrderRecord:
    order_id = event.get("orderId") if isinstance(event, dict) else None
    bind_order(order_id if isinstance(order_id, str) else None)
    request = parse_or_invalid(OrderRequest, event, "order")
    execution_arn = _State.model_validate(event).workflow.execution_arn

    quantities = _merge_lines(request)
    with unavailable_as(InventoryUnavailable):
        products = deps.catalog.get_products(list(quantities))

    problems: list[str] = []
    lines: list[PricedLine] = []
    for product_id, quantity in quantities.items():
        product = products.get(product_id)
        if product is None:
            problems.append(f"items: unknown product {product_id!r}")
            continue
        if product.currency != request.currency:
            problems.append(
                f"items: product {product_id!r} is sold in {product.currency}, "
                f"the order is in {request.currency}"
            )
            continue
        lines.append(
            PricedLine(
                product_id=product_id,
                name=product.name,
                quantity=quantity,
                unit_price=product.price,
                line_total=quantize_money(product.price * quantity),
            )
        )
    if problems:
        raise InvalidOrder("invalid order: " + "; ".join(problems), problems)

    now = format_timestamp(deps.clock())
    record = OrderRecord(
        order_id=request.order_id,
        customer_id=request.customer_id,
        status=OrderStatus.PENDING,
        items=lines,
        total=quantize_money(sum((line.line_total for line in lines), Decimal(0))),
        currency=request.currency,
        shipping_address=request.shipping_address,
        requested_at=format_timestamp(request.requested_at),
        created_at=now,
        updated_at=now,
        execution_arn=execution_arn,
    )
    try:
        return deps.orders.create(record)
    except StoreUnavailable as err:
        raise InventoryUnavailable(str(err)) from err
    except OrderAlreadyExists as duplicate:
        return _replayed(duplicate.existing, record)


def _replayed(existing: OrderRecord, attempted: OrderRecord) -> OrderRecord:
    """A retry of this same execution gets the stored order; anything else is a duplicate."""
    same_execution = existing.execution_arn == attempted.execution_arn
    if same_execution and existing.status in ACTIVE_STATUSES:
        logger.info("order already stored by an earlier attempt; continuing")
        return existing
    raise DuplicateOrder(
        f"invalid order: orderId {existing.order_id!r} is already used (status {existing.status})"
    )


@task_handler(OrderTaskDeps.from_settings)
def handler(event: dict[str, Any], context: LambdaContext, deps: OrderTaskDeps) -> dict[str, Any]:
    try:
        order = validate_order(event, deps)
    except InvalidOrder:
        metrics.add_metric(name="OrdersInvalid", unit=MetricUnit.Count, value=1)
        raise
    metrics.add_metric(name="OrdersValidated", unit=MetricUnit.Count, value=1)
    return order.model_dump(
        mode="json",
        include={"order_id", "customer_id", "items", "total", "currency", "status", "created_at"},
    )
