"""Task ``RecordDeliveries``: store one delivery item per channel, sent or failed.

Input: the state (the EventBridge event plus ``deliveries[]``, the Map's results).
Writes ``PK=ORDER#{orderId}, SK=NOTIFICATION#{eventType}#{channel}``. Output:
``{orderId, sent, failed}``.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from tasks.common.models import CamelModel, Delivery, DeliveryStatus, format_timestamp
from tasks.common.observability import bind_order, logger, metrics, task_handler
from tasks.common.repositories import unavailable_as
from tasks.notifications.deps import (
    DeliveryResult,
    NotificationDeps,
    NotificationEvent,
    parse_or_invalid,
)
from tasks.notifications.errors import NotificationProviderUnavailable

__all__ = ["handler", "record_deliveries"]


class _State(CamelModel):
    deliveries: list[DeliveryResult] = []


def record_deliveries(event: dict[str, Any], deps: NotificationDeps) -> dict[str, Any]:
    notification = parse_or_invalid(NotificationEvent, event, "order event")
    results = parse_or_invalid(_State, event, "delivery results").deliveries
    order_id = notification.detail.order_id
    bind_order(order_id)
    sent = sum(1 for r in results if r.status is DeliveryStatus.SENT)
    failed = len(results) - sent
    if order_id and results:
        now = format_timestamp(deps.clock())
        deliveries = [
            Delivery(
                order_id=order_id,
                event_type=notification.detail_type,
                channel=r.channel,
                status=r.status,
                message_id=r.message_id,
                error=r.error,
                cause=(r.cause or "")[:1000] or None,
                recorded_at=now,
            )
            for r in results
        ]
        with unavailable_as(NotificationProviderUnavailable):
            deps.deliveries.record(deliveries)
    logger.info("deliveries recorded", extra={"sent": sent, "failed": failed})
    metrics.add_metric(name="NotificationsFailed", unit=MetricUnit.Count, value=failed)
    return {"orderId": order_id, "sent": sent, "failed": failed}


@task_handler(NotificationDeps.from_settings)
def handler(
    event: dict[str, Any], context: LambdaContext, deps: NotificationDeps
) -> dict[str, Any]:
    return record_deliveries(event, deps)
