"""Task ``RenderMessages``: one message per channel the customer wants and can receive.

Input: the state (the EventBridge event plus ``preferences``). Output:
``{messages: [{channel, recipient, subject, body}]}``. Channels without contact
details are skipped. Templates exist per event type and locale (``en``, ``de``;
anything else falls back to ``en``).
"""

from __future__ import annotations

from string import Template
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from tasks.common.models import CamelModel, CustomerPreferences
from tasks.common.observability import bind_order, logger, task_handler
from tasks.notifications.deps import (
    NotificationDeps,
    NotificationEvent,
    OrderEventDetail,
    OutboundMessage,
    parse_or_invalid,
)
from tasks.notifications.errors import InvalidNotificationEvent

__all__ = ["TEMPLATES", "handler", "render_messages"]

SMS_LIMIT = 160

# (event type, locale) -> (subject, body); $order, $amount, $reason are filled in.
TEMPLATES: dict[tuple[str, str], tuple[str, str]] = {
    ("OrderConfirmed", "en"): (
        "Your order $order is confirmed",
        "Thank you! Your order $order ($amount) is confirmed and will ship soon.",
    ),
    ("OrderRejected", "en"): (
        "Your order $order could not be completed",
        "We are sorry: your order $order could not be completed ($reason). "
        "You have not been charged.",
    ),
    ("OrderCancelled", "en"): (
        "Your order $order was cancelled",
        "Your order $order was cancelled and any payment refunded.",
    ),
    ("OrderConfirmed", "de"): (
        "Ihre Bestellung $order ist bestätigt",
        "Vielen Dank! Ihre Bestellung $order ($amount) ist bestätigt.",
    ),
    ("OrderRejected", "de"): (
        "Ihre Bestellung $order konnte nicht abgeschlossen werden",
        "Leider konnte Ihre Bestellung $order nicht abgeschlossen werden ($reason). "
        "Es wurde nichts belastet.",
    ),
    ("OrderCancelled", "de"): (
        "Ihre Bestellung $order wurde storniert",
        "Ihre Bestellung $order wurde storniert; Zahlungen werden erstattet.",
    ),
}


class _State(CamelModel):
    preferences: CustomerPreferences


def _fill(text: str, detail: OrderEventDetail) -> str:
    amount = f"{detail.total} {detail.currency}" if detail.total is not None else "-"
    return Template(text).safe_substitute(
        order=detail.order_id or "-", amount=amount, reason=detail.reason or "-"
    )


def render_messages(event: dict[str, Any], deps: NotificationDeps) -> list[OutboundMessage]:
    notification = parse_or_invalid(NotificationEvent, event, "order event")
    preferences = parse_or_invalid(_State, event, "notification state").preferences
    bind_order(notification.detail.order_id)
    locale = preferences.locale.split("-")[0].lower()
    template = TEMPLATES.get((notification.detail_type, locale)) or TEMPLATES.get(
        (notification.detail_type, "en")
    )
    if template is None:
        raise InvalidNotificationEvent(f"no template for event {notification.detail_type!r}")
    subject, body = (_fill(part, notification.detail) for part in template)
    recipients = {
        "email": preferences.email,
        "sms": preferences.phone,
        "push": preferences.push_token,
    }
    messages: list[OutboundMessage] = []
    for channel in dict.fromkeys(preferences.channels):
        recipient = recipients[channel]
        if not recipient:
            logger.info("channel chosen but no contact detail; skipped", extra={"channel": channel})
            continue
        text = body if channel != "sms" else body[:SMS_LIMIT]
        messages.append(
            OutboundMessage(channel=channel, recipient=recipient, subject=subject, body=text)
        )
    return messages


@task_handler(NotificationDeps.from_settings)
def handler(
    event: dict[str, Any], context: LambdaContext, deps: NotificationDeps
) -> dict[str, Any]:
    messages = render_messages(event, deps)
    return {"messages": [m.model_dump(mode="json") for m in messages]}
