"""Task ``RefundPayment`` (compensation): refund the order's captured payment, if any.

Input: the workflow state or a sweep item (``orderId``). Output:
``{orderId, refunded, refundId, amount}``; ``refunded`` is false when nothing was
captured. Idempotent: a REFUNDED payment is reported, not refunded again, and the
provider sees the key ``refund:{orderId}``. ``PaymentProviderUnavailable`` is transient.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from tasks.common.models import PaymentStatus, format_timestamp
from tasks.common.observability import bind_order, logger, metrics, task_handler
from tasks.common.repositories import unavailable_as
from tasks.orders.deps import OrderRef, OrderTaskDeps, parse_or_invalid
from tasks.orders.errors import PaymentProviderUnavailable

__all__ = ["handler", "refund_payment"]


def refund_payment(event: dict[str, Any], deps: OrderTaskDeps) -> dict[str, Any]:
    ref = parse_or_invalid(OrderRef, event, "refund request")
    bind_order(ref.order_id)
    with unavailable_as(PaymentProviderUnavailable):
        payment = deps.payments.get(ref.order_id)
        if payment is None:
            logger.info("no payment captured; nothing to refund")
            return {"orderId": ref.order_id, "refunded": False, "refundId": None, "amount": 0}
        if payment.status is PaymentStatus.CAPTURED:
            refund = deps.gateway.refund(
                charge_id=payment.charge_id,
                amount=payment.amount,
                idempotency_key=f"refund:{ref.order_id}",
            )
            updated = deps.payments.mark_refunded(
                ref.order_id, refund.refund_id, format_timestamp(deps.clock())
            )
            payment = updated or deps.payments.get(ref.order_id) or payment
            metrics.add_metric(name="PaymentsRefunded", unit=MetricUnit.Count, value=1)
    logger.info("payment refunded", extra={"charge_id": payment.charge_id})
    return {
        "orderId": ref.order_id,
        "refunded": True,
        "refundId": payment.refund_id,
        "amount": float(payment.amount),
    }


@task_handler(OrderTaskDeps.from_settings)
def handler(event: dict[str, Any], context: LambdaContext, deps: OrderTaskDeps) -> dict[str, Any]:
    return refund_payment(event, deps)
