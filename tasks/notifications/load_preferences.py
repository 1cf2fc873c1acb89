"""Task ``LoadPreferences``: the customer's contact details and chosen channels.

Input: the EventBridge event (``detail.customerId``). Output:
``{customerId, email, phone, pushToken, channels[], locale}``; every key is always
present (null when unknown) so ResultSelector paths never miss. A customer with no
stored preferences gets no channels, and the machine sends nothing.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from tasks.common.models import CustomerPreferences
from tasks.common.observability import bind_order, logger, task_handler
from tasks.common.repositories import unavailable_as
from tasks.notifications.deps import NotificationDeps, NotificationEvent, parse_or_invalid
from tasks.notifications.errors import NotificationProviderUnavailable

__all__ = ["handler", "load_preferences"]


def load_preferences(event: dict[str, Any], deps: NotificationDeps) -> CustomerPreferences:
    notification = parse_or_invalid(NotificationEvent, event, "order event")
    bind_order(notification.detail.order_id)
    customer_id = notification.detail.customer_id
    if not customer_id:
        logger.info("event names no customer; nobody to notify")
        return CustomerPreferences(customer_id="")
    with unavailable_as(NotificationProviderUnavailable):
        preferences = deps.preferences.get(customer_id)
    if preferences is None:
        logger.info("customer has no stored preferences; nobody to notify")
        return CustomerPreferences(customer_id=customer_id)
    return preferences


@task_handler(NotificationDeps.from_settings)
def handler(
    event: dict[str, Any], context: LambdaContext, deps: NotificationDeps
) -> dict[str, Any]:
    preferences = load_preferences(event, deps)
    return preferences.model_dump(mode="json")
