"""What the DynamoDB adapters store and return, through the low-level client.

They used to go through boto3 ``Table`` resources; they now convert attribute values
with boto3's own ``TypeSerializer``/``TypeDeserializer``. Each test reads what was
written through a ``Table`` resource too (the old path), so a difference in what is
stored or returned (numbers, nested maps, missing attributes) fails here.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tasks.common.models import (
    CustomerPreferences,
    Delivery,
    DeliveryStatus,
    OrderRecord,
    OrderStatus,
    PaymentRecord,
    PaymentStatus,
    PricedLine,
    ShippingAddress,
)
from tasks.common.repositories import (
    DynamoCatalogRepository,
    DynamoDeliveryRepository,
    DynamoOrderRepository,
    DynamoPaymentRepository,
    DynamoPreferencesRepository,
    order_key,
)

ORDERS_TABLE = "workflows-orders"  # the ``table`` fixture creates it


def _order(order_id: str, created_at: str = "2025-06-02T09:30:01Z") -> OrderRecord:
    return OrderRecord(
        order_id=order_id,
        customer_id="CUST-1001",
        status=OrderStatus.PENDING,
        items=[
            PricedLine(
                product_id="SKU-MUG-02",
                name="Stoneware mug, set of 4",
                quantity=2,
                unit_price=Decimal("24.50"),
                line_total=Decimal("49.00"),
            )
        ],
        total=Decimal("49.00"),
        currency="EUR",
        shipping_address=ShippingAddress(
            name="Ada Lovelace",
            line1="12 St James's Square",
            city="London",
            postal_code="SW1Y 4JH",
            country="GB",
        ),
        requested_at="2025-06-02T09:30:00Z",
        created_at=created_at,
        updated_at=created_at,
    )


def _stored(table: Any, key: dict[str, str]) -> dict[str, Any]:
    item: dict[str, Any] = table.get_item(Key=key, ConsistentRead=True)["Item"]
    return item


def test_an_order_is_stored_and_read_back_as_a_table_resource_would(table: Any) -> None:
    orders = DynamoOrderRepository(ORDERS_TABLE)
    order = _order("ORD-R1")
    assert orders.create(order) == order
    stored = _stored(table, order_key("ORD-R1"))
    assert stored == {
        **order.model_dump(mode="python", exclude_none=True),
        "PK": "ORDER#ORD-R1",
        "SK": "ORDER",
        "GSI1PK": "STATUS#PENDING",
        "GSI1SK": order.created_at,
    }
    assert stored["total"] == Decimal("49.00")  # numbers are Decimal both ways
    read = orders.get("ORD-R1")
    assert read == order
    assert read is not None
    assert isinstance(read.total, Decimal)
    assert orders.get("ORD-NONE") is None


def test_transitions_return_the_updated_order_or_none(table: Any) -> None:
    orders = DynamoOrderRepository(ORDERS_TABLE)
    orders.create(_order("ORD-R2"))
    waiting = orders.mark_awaiting_approval("ORD-R2", "token-1", "2025-06-02T10:00:00Z")
    assert waiting is not None
    assert (waiting.status, waiting.approval_task_token) == (
        OrderStatus.AWAITING_APPROVAL,
        "token-1",
    )
    rejected = orders.mark_rejected("ORD-R2", "too big", "2025-06-02T11:00:00Z")
    assert rejected is not None
    assert (rejected.status, rejected.rejection_reason) == (OrderStatus.REJECTED, "too big")
    assert rejected.approval_task_token is None
    assert rejected == OrderRecord.model_validate(
        {
            k: v
            for k, v in _stored(table, order_key("ORD-R2")).items()
            if k not in {"PK", "SK", "GSI1PK", "GSI1SK"}
        }
    )
    assert orders.mark_cancelled("ORD-R2", "late", "2025-06-02T12:00:00Z") is None
    assert orders.mark_cancelled("ORD-NONE", "late", "2025-06-02T12:00:00Z") is None


def test_find_by_status_lists_the_oldest_first_up_to_the_limit(table: Any) -> None:
    orders = DynamoOrderRepository(ORDERS_TABLE)
    for day in range(1, 6):
        orders.create(_order(f"ORD-D{day}", created_at=f"2025-06-0{day}T00:00:00Z"))
    found = orders.find_by_status(OrderStatus.PENDING, "2025-06-05T00:00:00Z", 3)
    assert [o.order_id for o in found] == ["ORD-D1", "ORD-D2", "ORD-D3"]
    assert found[0] == _order("ORD-D1", created_at="2025-06-01T00:00:00Z")
    assert orders.find_by_status(OrderStatus.REJECTED, "2025-06-05T00:00:00Z", 3) == []


def test_products_come_back_by_id_and_unknown_ids_are_left_out(table: Any) -> None:
    catalog = DynamoCatalogRepository(ORDERS_TABLE)
    products = catalog.get_products(["SKU-MUG-02", "SKU-NOPE", "SKU-MUG-02"])
    assert list(products) == ["SKU-MUG-02"]
    assert products["SKU-MUG-02"].price == Decimal("24.50")
    stored = _stored(table, {"PK": "PRODUCT#SKU-MUG-02", "SK": "PRODUCT"})
    assert products["SKU-MUG-02"].available == stored["available"] == 300


def test_a_payment_is_saved_once_and_read_with_its_order(table: Any) -> None:
    payments = DynamoPaymentRepository(ORDERS_TABLE)
    DynamoOrderRepository(ORDERS_TABLE).create(_order("ORD-R3"))
    assert payments.get_with_order("ORD-R3") == (_order("ORD-R3"), None)
    record = PaymentRecord(
        order_id="ORD-R3",
        charge_id="ch_1",
        amount=Decimal("49.00"),
        currency="EUR",
        status=PaymentStatus.CAPTURED,
        idempotency_key="charge:ORD-R3",
        charged_at="2025-06-02T09:31:00Z",
    )
    assert payments.save_captured(record) == record
    again = record.model_copy(update={"charge_id": "ch_2"})
    assert payments.save_captured(again) == record, "the stored one wins"
    assert payments.get_with_order("ORD-R3") == (_order("ORD-R3"), record)
    refunded = payments.mark_refunded("ORD-R3", "re_1", "2025-06-02T09:40:00Z")
    assert refunded is not None
    assert (refunded.status, refunded.refund_id) == (PaymentStatus.REFUNDED, "re_1")
    assert payments.get("ORD-R3") == refunded
    assert payments.mark_refunded("ORD-R3", "re_2", "2025-06-02T09:41:00Z") is None
    assert payments.get_with_order("ORD-NONE") == (None, None)


def test_preferences_round_trip_with_what_is_missing_left_out(table: Any) -> None:
    preferences = DynamoPreferencesRepository(ORDERS_TABLE)
    saved = CustomerPreferences(customer_id="CUST-9", email="x@example.com", channels=["email"])
    preferences.put(saved)
    assert preferences.get("CUST-9") == saved
    stored = _stored(table, {"PK": "CUSTOMER#CUST-9", "SK": "PREFERENCES"})
    assert "phone" not in stored
    assert preferences.get("CUST-NONE") is None


def test_deliveries_are_written_in_batches_and_a_repeated_key_keeps_the_last(
    table: Any,
) -> None:
    def delivery(event_type: str, status: DeliveryStatus) -> Delivery:
        return Delivery(
            order_id="ORD-R4",
            event_type=event_type,
            channel="email",
            status=status,
            recorded_at="2025-06-02T09:50:00Z",
        )

    deliveries = [delivery(f"Event{i}", DeliveryStatus.SENT) for i in range(30)]
    deliveries.append(delivery("Event0", DeliveryStatus.FAILED))
    DynamoDeliveryRepository(ORDERS_TABLE).record(deliveries)
    items = table.query(
        KeyConditionExpression="PK = :pk AND begins_with(SK, :sk)",
        ExpressionAttributeValues={":pk": "ORDER#ORD-R4", ":sk": "NOTIFICATION#"},
    )["Items"]
    assert len(items) == 30
    first = _stored(table, {"PK": "ORDER#ORD-R4", "SK": "NOTIFICATION#Event0#email"})
    assert first["status"] == "FAILED"
