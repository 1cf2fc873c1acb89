"""What the order tasks need, with production defaults built from settings.

Handlers take ``deps: OrderTaskDeps | None``; a test passes its own (fake
gateway, fixed clock, a moto-backed table) instead of patching anything.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ValidationError

from tasks.common.idempotency import dynamodb_persistence
from tasks.common.models import CamelModel, Identifier, describe_validation_error, utc_now
from tasks.common.repositories import (
    CatalogRepository,
    DynamoCatalogRepository,
    DynamoInventoryRepository,
    DynamoOrderRepository,
    DynamoPaymentRepository,
    InventoryRepository,
    OrderRepository,
    PaymentRepository,
)
from tasks.common.settings import OrdersSettings, load_settings
from tasks.orders.errors import InvalidOrder
from tasks.orders.payments import PaymentGateway, shared_fake_gateway

if TYPE_CHECKING:
    from tasks.common.idempotency import BasePersistenceLayer

__all__ = ["OrderRef", "OrderTaskDeps", "describe_validation_error", "parse_or_invalid"]

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class OrderTaskDeps:
    settings: OrdersSettings
    orders: OrderRepository
    catalog: CatalogRepository
    inventory: InventoryRepository
    payments: PaymentRepository
    gateway: PaymentGateway
    idempotency: BasePersistenceLayer
    clock: Callable[[], datetime] = field(default=utc_now)

    @classmethod
    def from_settings(cls, settings: OrdersSettings | None = None) -> OrderTaskDeps:
        settings = settings or load_settings(OrdersSettings)
        table = settings.orders_table  # the repositories share the sandbox's client
        return cls(
            settings=settings,
            orders=DynamoOrderRepository(table),
            catalog=DynamoCatalogRepository(table),
            inventory=DynamoInventoryRepository(table),
            payments=DynamoPaymentRepository(table),
            gateway=shared_fake_gateway(settings.fake_payment_flaky_failures),
            idempotency=dynamodb_persistence(settings.idempotency_table),
        )


class OrderRef(CamelModel):
    """The one field every post-validation order task needs from the state."""

    order_id: Identifier


def parse_or_invalid(model: type[M], event: Mapping[str, Any] | Any, what: str) -> M:
    """Validate ``event`` into ``model`` or raise ``InvalidOrder`` listing every problem."""
    try:
        return model.model_validate(event)
    except ValidationError as err:
        problems = describe_validation_error(err)
        raise InvalidOrder(f"invalid {what}: " + "; ".join(problems), problems) from None
