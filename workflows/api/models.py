"""Payload models of the HTTP API and of the order workflow input.

Wire names are camelCase (``orderId``); Python names are snake_case. Request models
forbid unknown fields, so a ``customerId`` in a body is rejected: the customer id comes
from the token, never from the body.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, StrictInt
from pydantic.alias_generators import to_camel

# Order ids double as execution names, so they stay inside AWS's name alphabet.
ORDER_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
MAX_ITEMS = 50

Currency = Literal["EUR", "USD", "GBP"]
OrderStatus = Literal["PENDING", "AWAITING_APPROVAL", "CONFIRMED", "REJECTED", "CANCELLED"]
ExecutionStatus = Literal[
    "RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED", "PENDING_REDRIVE"
]
Decision = Literal["APPROVE", "REJECT"]
OrderId = Annotated[str, Field(pattern=ORDER_ID_PATTERN, examples=["ord-7f3a9c"])]
Text = Annotated[str, Field(min_length=1, max_length=200)]


class _Wire(BaseModel):
    """Base of every API model: camelCase on the wire, constructible by Python names."""

    model_config = ConfigDict(
        alias_generator=to_camel, validate_by_name=True, validate_by_alias=True
    )


class _Request(_Wire):
    """Base of request bodies: unknown fields and type coercions are errors."""

    model_config = ConfigDict(extra="forbid", strict=True)


class OrderItem(_Request):
    product_id: Annotated[str, Field(min_length=1, max_length=64, examples=["sku-123"])]
    quantity: Annotated[StrictInt, Field(ge=1, le=10_000)]


class ShippingAddress(_Request):
    name: Text
    line1: Text
    city: Text
    postal_code: Annotated[str, Field(min_length=1, max_length=20)]
    country: Annotated[
        str, Field(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2", examples=["DE"])
    ]


class CreateOrderRequest(_Request):
    """Body of ``POST /orders``. ``orderId`` is optional: it is generated when absent."""

    order_id: OrderId | None = None
    items: Annotated[list[OrderItem], Field(min_length=1, max_length=MAX_ITEMS)]
    currency: Currency
    payment_token: Annotated[
        SecretStr, Field(min_length=1, max_length=512, description="Opaque payment token.")
    ]
    shipping_address: ShippingAddress


class OrderWorkflowInput(_Wire):
    """What ``POST /orders`` starts the order state machine with (the workflow's contract)."""

    model_config = ConfigDict(extra="ignore")

    order_id: str
    customer_id: str
    items: list[OrderItem]
    currency: Currency
    payment_token: str
    shipping_address: ShippingAddress
    requested_at: str = Field(description="ISO-8601 UTC, e.g. 2025-01-31T12:00:00.000Z")


class OrderAccepted(_Wire):
    """Data of the ``202`` answer of ``POST /orders``."""

    order_id: str
    execution_arn: str
    status: ExecutionStatus = Field(description="Status of the order's workflow execution.")
    start_date: datetime | None = None


class WorkflowView(_Wire):
    """Where the order's workflow execution is."""

    execution_arn: str
    status: ExecutionStatus
    current_state: str | None = Field(
        default=None, description="The state the execution is in while RUNNING."
    )
    failed_state: str | None = Field(
        default=None, description="The last state entered when the execution did not succeed."
    )
    error: str | None = None
    cause: str | None = None
    start_date: datetime | None = None
    stop_date: datetime | None = None


class OrderView(_Wire):
    """Data of ``GET /orders/{orderId}``: the stored order plus its workflow status."""

    order_id: str
    customer_id: str
    status: OrderStatus | None = Field(
        description="Order status; null when the order is not stored yet and its workflow ended."
    )
    total: float | None = None
    currency: str | None = None
    items: list[dict[str, Any]]
    shipping_address: dict[str, Any] | None = None
    created_at: str | None = None
    updated_at: str | None = None
    source: Literal["store", "execution"] = Field(
        description="`store`: read from the orders table; `execution`: from the workflow input."
    )
    workflow: WorkflowView | None = None


class ApprovalRequest(_Request):
    """Body of ``POST /orders/{orderId}/approval``."""

    decision: Decision
    reason: Annotated[str, Field(min_length=1, max_length=1000)] | None = None


class ApprovalResult(_Wire):
    order_id: str
    decision: Decision
    approver: str


class HistoryEvent(_Wire):
    """One GetExecutionHistory event; the ``*EventDetails`` member is passed through as is."""

    model_config = ConfigDict(extra="allow")

    id: int
    type: str
    previous_event_id: int | None = None
    timestamp: str = Field(description="ISO-8601")


class HistoryPage(_Wire):
    events: list[HistoryEvent]
    next_token: str | None = Field(default=None, description="Pass as `nextToken` for more.")
