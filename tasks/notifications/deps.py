"""What the notification tasks need, with production defaults built from settings."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tasks.common import aws
from tasks.common.idempotency import dynamodb_persistence
from tasks.common.models import (
    Amount,
    CamelModel,
    Channel,
    DeliveryStatus,
    NonEmptyStr,
    describe_validation_error,
    utc_now,
)
from tasks.common.repositories import (
    DeliveryRepository,
    DynamoDeliveryRepository,
    DynamoPreferencesRepository,
    PreferencesRepository,
)
from tasks.common.settings import NotificationSettings, load_settings
from tasks.notifications.errors import InvalidNotificationEvent

if TYPE_CHECKING:
    from tasks.common.idempotency import BasePersistenceLayer

__all__ = [
    "DeliveryResult",
    "NotificationDeps",
    "NotificationEvent",
    "OrderEventDetail",
    "OutboundMessage",
    "SendRequest",
    "parse_or_invalid",
]

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class NotificationDeps:
    settings: NotificationSettings
    preferences: PreferencesRepository
    deliveries: DeliveryRepository
    idempotency_factory: Callable[[], BasePersistenceLayer]
    ses_factory: Callable[[], Any] = field(default=functools.partial(aws.client, "ses"))
    sns_factory: Callable[[], Any] = field(default=functools.partial(aws.client, "sns"))
    clock: Callable[[], datetime] = field(default=utc_now)

    @classmethod
    def from_settings(cls, settings: NotificationSettings | None = None) -> NotificationDeps:
        settings = settings or load_settings(NotificationSettings)
        table = settings.orders_table  # the repositories share the sandbox's client
        return cls(
            settings=settings,
            preferences=DynamoPreferencesRepository(table),
            deliveries=DynamoDeliveryRepository(table),
            idempotency_factory=functools.partial(dynamodb_persistence, settings.idempotency_table),
        )

    # Clients are built only by the tasks that use them.
    @functools.cached_property
    def ses(self) -> Any:
        return self.ses_factory()

    @functools.cached_property
    def sns(self) -> Any:
        return self.sns_factory()

    @functools.cached_property
    def idempotency(self) -> BasePersistenceLayer:
        return self.idempotency_factory()


# ------------------------------------------------------------------------ payloads


class OrderEventDetail(CamelModel):
    """``detail`` of OrderConfirmed / OrderRejected / OrderCancelled events."""

    order_id: str | None = None
    customer_id: str | None = None
    total: Amount | None = None
    currency: str | None = None
    reason: str | None = None


class NotificationEvent(BaseModel):
    """The EventBridge event the notification machine is started with."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True, defer_build=True)

    id: NonEmptyStr
    detail_type: NonEmptyStr = Field(alias="detail-type")
    source: str = ""
    time: str | None = None
    detail: OrderEventDetail


class OutboundMessage(CamelModel):
    channel: Channel
    recipient: NonEmptyStr
    subject: str | None = None
    body: NonEmptyStr


class SendRequest(CamelModel):
    """One Map iteration: the rendered message plus what identifies the delivery."""

    event_id: NonEmptyStr
    event_type: NonEmptyStr
    order_id: str | None = None
    message: OutboundMessage


class DeliveryResult(CamelModel):
    channel: Channel
    status: DeliveryStatus
    message_id: str | None = None
    error: str | None = None
    cause: str | None = None


def parse_or_invalid(model: type[M], event: Mapping[str, Any] | Any, what: str) -> M:
    try:
        return model.model_validate(event)
    except ValidationError as err:
        problems = "; ".join(describe_validation_error(err))
        raise InvalidNotificationEvent(f"invalid {what}: {problems}") from None
