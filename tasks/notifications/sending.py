"""What the three send tasks share: parsing, error translation, idempotency, metrics."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from tasks.common.aws import ClientError, error_code
from tasks.common.idempotency import run_idempotently
from tasks.common.models import Channel, DeliveryStatus
from tasks.common.observability import TaskHandler, bind_order, logger, metrics, task_handler
from tasks.notifications.deps import DeliveryResult, NotificationDeps, SendRequest, parse_or_invalid
from tasks.notifications.errors import (
    DeliveryRejected,
    InvalidNotificationEvent,
    NotificationProviderUnavailable,
)

__all__ = ["provider_error", "send_once", "send_task"]

_TRANSIENT_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "ServiceUnavailable",
        "InternalError",
        "InternalFailure",
        "InternalErrorException",
        "RequestTimeout",
        "KMSThrottlingException",
    }
)


def provider_error(err: ClientError, provider: str) -> Exception:
    """A ClientError from SES/SNS as the domain error the state machine matches."""
    code = error_code(err)
    message = err.response.get("Error", {}).get("Message", "")
    if code in _TRANSIENT_CODES:
        return NotificationProviderUnavailable(f"{provider} is unavailable: {code}")
    return DeliveryRejected(f"{provider} refused the message: {code}: {message}")


def send_once(
    event: dict[str, Any],
    context: LambdaContext | None,
    deps: NotificationDeps,
    *,
    channel: Channel,
    task_name: str,
    send: Callable[[SendRequest, NotificationDeps], str],
    check: Callable[[NotificationDeps], object] | None = None,
) -> dict[str, Any]:
    """Validate, then send at most once per (event id, channel); return the delivery.

    ``check(deps)`` raises when the function cannot send at all (its configuration):
    it runs before the idempotency record is taken, since a record taken only to be
    deleted again when the send fails costs two writes and protects nothing.
    """
    request = parse_or_invalid(SendRequest, event, "send request")
    if request.message.channel != channel:
        raise InvalidNotificationEvent(
            f"{task_name} sends {channel}, got a {request.message.channel} message"
        )
    bind_order(request.order_id)
    if check is not None:
        check(deps)

    def deliver(payload: dict[str, Any]) -> dict[str, Any]:
        message_id = send(request, deps)
        logger.info("message sent", extra={"channel": channel, "message_id": message_id})
        return DeliveryResult(
            channel=channel, status=DeliveryStatus.SENT, message_id=message_id
        ).model_dump(mode="json")

    result = run_idempotently(
        deliver,
        event,
        name=task_name,
        key_expression="[eventId, message.channel]",
        persistence=deps.idempotency,
        context=context,
        transient_error=NotificationProviderUnavailable,
        expires_after_seconds=24 * 3600,
    )
    metrics.add_dimension(name="Channel", value=channel)
    metrics.add_metric(name="NotificationsSent", unit=MetricUnit.Count, value=1)
    return result


def send_task(
    *,
    channel: Channel,
    task_name: str,
    send: Callable[[SendRequest, NotificationDeps], str],
    check: Callable[[NotificationDeps], object] | None = None,
) -> TaskHandler[NotificationDeps]:
    """The Lambda entry point of a send task: ``send_once`` with this channel, ``send``
    and ``check``."""

    @task_handler(NotificationDeps.from_settings)
    def handler(
        event: dict[str, Any], context: LambdaContext, deps: NotificationDeps
    ) -> dict[str, Any]:
        return send_once(
            event, context, deps, channel=channel, task_name=task_name, send=send, check=check
        )

    return handler
