"""Task ``ChargePayment``: capture the stored order's total with the payment token.

Input: the workflow state (``orderId``, ``paymentToken``). The amount is the
stored order's total (priced from the catalog), never a number from the payload.
Output: ``{orderId, chargeId, amount, currency, status}``.
Raises ``PaymentDeclined`` (permanent) or ``PaymentProviderUnavailable`` (transient).

A duplicate charge never charges twice: Powertools Idempotency keyed on the order
id returns the first result; below it, the provider sees the same idempotency key
(``charge:{orderId}``); and a stored payment record is returned as is.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from tasks.common.idempotency import run_idempotently
from tasks.common.models import (
    CamelModel,
    Identifier,
    NonEmptyStr,
    PaymentRecord,
    PaymentStatus,
    format_timestamp,
)
from tasks.common.observability import bind_order, logger, metrics, task_handler
from tasks.common.repositories import ACTIVE_STATUSES, unavailable_as
from tasks.orders.deps import OrderTaskDeps, parse_or_invalid
from tasks.orders.errors import InvalidOrder, PaymentDeclined, PaymentProviderUnavailable

__all__ = ["charge_payment", "handler"]


class ChargeRequest(CamelModel):
    order_id: Identifier
    payment_token: NonEmptyStr


def _result(record: PaymentRecord) -> dict[str, Any]:
    return record.model_dump(
        mode="json", include={"order_id", "charge_id", "amount", "currency", "status"}
    )


def charge_payment(event: dict[str, Any], deps: OrderTaskDeps) -> dict[str, Any]:
    request = parse_or_invalid(ChargeRequest, event, "charge request")
    bind_order(request.order_id)
    with unavailable_as(PaymentProviderUnavailable):
        order, existing = deps.payments.get_with_order(request.order_id)
    if order is None:
        raise InvalidOrder(f"order {request.order_id!r} does not exist")
    if existing is not None:
        if existing.status is not PaymentStatus.CAPTURED:
            raise InvalidOrder(f"order {request.order_id!r} was already {existing.status}")
        logger.info("payment already captured; returning it")
        return _result(existing)
    if order.status not in ACTIVE_STATUSES:
        raise InvalidOrder(f"order {request.order_id!r} is {order.status}; not charging it")

    idempotency_key = f"charge:{order.order_id}"
    charge = deps.gateway.charge(
        token=request.payment_token,
        amount=order.total,
        currency=order.currency,
        idempotency_key=idempotency_key,
    )
    # The provider deduplicates the key, so retrying re-reads the same charge.
    with unavailable_as(PaymentProviderUnavailable):
        record = deps.payments.save_captured(
            PaymentRecord(
                order_id=order.order_id,
                charge_id=charge.charge_id,
                amount=charge.amount,
                currency=charge.currency,
                status=PaymentStatus.CAPTURED,
                idempotency_key=idempotency_key,
                charged_at=format_timestamp(deps.clock()),
            )
        )
    logger.info("payment captured", extra={"charge_id": record.charge_id})
    return _result(record)


@task_handler(OrderTaskDeps.from_settings)
def handler(event: dict[str, Any], context: LambdaContext, deps: OrderTaskDeps) -> dict[str, Any]:
    parse_or_invalid(ChargeRequest, event, "charge request")
    try:
        result = run_idempotently(
            lambda payload: charge_payment(payload, deps),
            event,
            name="ChargePayment",
            key_expression="orderId",
            validation_expression="paymentToken",
            persistence=deps.idempotency,
            context=context,
            transient_error=PaymentProviderUnavailable,
        )
    except PaymentDeclined:
        metrics.add_metric(name="PaymentsDeclined", unit=MetricUnit.Count, value=1)
        raise
    metrics.add_metric(name="PaymentsCaptured", unit=MetricUnit.Count, value=1)
    return result
