"""pydantic models for every payload that crosses a boundary, and the stored records.

JSON field names are camelCase (the workflow's and DynamoDB's spelling); Python
attributes are snake_case. Money is ``Decimal`` in Python and DynamoDB and a JSON
number (two decimals) in state-machine payloads, so a Choice state can compare it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    StrictInt,
    StringConstraints,
    ValidationError,
)
from pydantic.alias_generators import to_camel

__all__ = [
    "MAX_ITEMS",
    "Amount",
    "CamelModel",
    "CaughtError",
    "Channel",
    "Currency",
    "CustomerPreferences",
    "Delivery",
    "DeliveryStatus",
    "Identifier",
    "NonEmptyStr",
    "OrderLine",
    "OrderRecord",
    "OrderRequest",
    "OrderStatus",
    "PaymentRecord",
    "PaymentStatus",
    "PricedLine",
    "Product",
    "Reservation",
    "ReservationStatus",
    "ShippingAddress",
    "describe_validation_error",
    "format_timestamp",
    "quantize_money",
    "utc_now",
]

MAX_ITEMS = 50
CENT = Decimal("0.01")


def quantize_money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _to_money(value: Decimal) -> Decimal:
    if not value.is_finite():
        raise ValueError("must be a finite number")
    return quantize_money(value)


def _money_json(value: Decimal) -> float | Decimal:
    return float(value)


Amount = Annotated[
    Decimal,
    Field(ge=0),
    AfterValidator(_to_money),
    PlainSerializer(_money_json, when_used="json"),
]
"""A non-negative amount of money with two decimals; a JSON number on the wire."""

NonEmptyStr = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Identifier = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=64, pattern=r"^[\w.:-]+$"),
]
Currency = Literal["EUR", "USD", "GBP"]
Channel = Literal["email", "sms", "push"]


def utc_now() -> datetime:
    return datetime.now(UTC)


def describe_validation_error(err: ValidationError) -> list[str]:
    """``["items.0.quantity: Input should be greater than or equal to 1", ...]``."""
    problems = []
    for e in err.errors(include_url=False):
        where = ".".join(str(p) for p in e["loc"]) or "input"
        problems.append(f"{where}: {e['msg']}")
    return problems


def format_timestamp(moment: datetime) -> str:
    """ISO-8601 in UTC with milliseconds and ``Z``: sorts as a string (GSI1SK)."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class CamelModel(BaseModel):
    """Accepts and emits camelCase JSON; ignores fields it does not own.

    Task Lambdas receive the whole state document (``"Payload.$": "$"``), so each
    input model picks the fields it needs and ignores the rest.
    """

    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        extra="ignore",
        frozen=True,
        defer_build=True,
    )

    def to_json_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class OrderStatus(StrEnum):
    PENDING = "PENDING"
    AWAITING_APPROVAL = "AWAITING_APPROVAL"
    CONFIRMED = "CONFIRMED"
    REJECTED = "REJECTED"
    CANCELLED = "CANCELLED"


# ------------------------------------------------------------------- workflow input


class ShippingAddress(CamelModel):
    name: NonEmptyStr
    line1: NonEmptyStr
    city: NonEmptyStr
    postal_code: NonEmptyStr
    country: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]


class OrderLine(CamelModel):
    product_id: Identifier
    quantity: Annotated[StrictInt, Field(ge=1, le=1000)]


class OrderRequest(CamelModel):
    """The order workflow's input, as the API (or a test) starts it."""

    order_id: Identifier
    customer_id: Identifier
    items: Annotated[list[OrderLine], Field(min_length=1, max_length=MAX_ITEMS)]
    currency: Currency
    payment_token: NonEmptyStr
    shipping_address: ShippingAddress
    requested_at: AwareDatetime


class CaughtError(CamelModel):
    """What a Catch puts at its ResultPath: ``{"Error": ..., "Cause": ...}``."""

    model_config = ConfigDict(
        extra="ignore", frozen=True, validate_by_name=True, validate_by_alias=True
    )

    error: str = Field(alias="Error", serialization_alias="Error")
    cause: str | None = Field(default=None, alias="Cause", serialization_alias="Cause")


# ------------------------------------------------------------------- stored records


class Product(CamelModel):
    product_id: Identifier
    name: NonEmptyStr
    price: Amount
    currency: Currency
    available: Annotated[int, Field(ge=0)]


class PricedLine(CamelModel):
    product_id: str
    name: str
    quantity: int
    unit_price: Amount
    line_total: Amount


class OrderRecord(CamelModel):
    order_id: str
    customer_id: str
    status: OrderStatus
    items: list[PricedLine]
    total: Amount
    currency: Currency
    shipping_address: ShippingAddress
    requested_at: str
    created_at: str
    updated_at: str
    execution_arn: str | None = None
    rejection_reason: str | None = None
    approval_task_token: str | None = None
    charge_id: str | None = None


class ReservationStatus(StrEnum):
    RESERVED = "RESERVED"
    RELEASED = "RELEASED"


class Reservation(CamelModel):
    order_id: str
    product_id: str
    quantity: int
    status: ReservationStatus
    reserved_at: str
    released_at: str | None = None


class PaymentStatus(StrEnum):
    CAPTURED = "CAPTURED"
    REFUNDED = "REFUNDED"


class PaymentRecord(CamelModel):
    order_id: str
    charge_id: str
    amount: Amount
    currency: Currency
    status: PaymentStatus
    idempotency_key: str
    charged_at: str
    refund_id: str | None = None
    refunded_at: str | None = None


class CustomerPreferences(CamelModel):
    customer_id: str
    email: str | None = None
    phone: str | None = None
    push_token: str | None = None
    channels: list[Channel] = Field(default_factory=list)
    locale: str = "en"


class DeliveryStatus(StrEnum):
    SENT = "SENT"
    FAILED = "FAILED"


class Delivery(CamelModel):
    order_id: str
    event_type: str
    channel: Channel
    status: DeliveryStatus
    message_id: str | None = None
    error: str | None = None
    cause: str | None = None
    recorded_at: str
