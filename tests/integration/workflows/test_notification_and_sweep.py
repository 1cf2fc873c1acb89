"""The notification workflow (started by order events) and the scheduled sweep."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import boto3

from tasks.common.models import (
    OrderRecord,
    OrderStatus,
    PricedLine,
    ShippingAddress,
    format_timestamp,
)
from tasks.common.repositories import DynamoOrderRepository
from tests.integration.workflows.conftest import example_order, order_item, table
from workflows.local.app import LocalApp


def deliveries(order_id: str) -> dict[str, Any]:
    items = table().query(
        KeyConditionExpression="PK = :pk AND begins_with(SK, :sk)",
        ExpressionAttributeValues={":pk": f"ORDER#{order_id}", ":sk": "NOTIFICATION#"},
    )["Items"]
    return {item["SK"]: item for item in items}


def emails_sent() -> int:
    return int(boto3.client("ses", region_name="us-east-1").get_send_quota()["SentLast24Hours"])


async def test_one_failing_channel_does_not_fail_the_others(app: LocalApp) -> None:
    order = example_order()  # CUST-1001 wants email, sms and push; push is rejected
    before = emails_sent()
    result = await app.execute("order_processing", order)
    await app.drain()
    assert result.status == "SUCCEEDED"
    [notification] = [
        r.result for r in app.records if r.state_machine == "NotificationStateMachine"
    ]
    assert notification.status == "SUCCEEDED"
    recorded = deliveries(order["orderId"])
    statuses = {sk.rsplit("#", 1)[-1]: item["status"] for sk, item in recorded.items()}
    assert statuses["email"] == "SENT"
    assert statuses["sms"] == "SENT"
    assert statuses["push"] == "FAILED"
    assert emails_sent() == before + 1


async def test_rejected_order_notifies_the_customer(app: LocalApp) -> None:
    order = example_order(customerId="CUST-1002", paymentToken="tok_decline")
    result = await app.execute("order_processing", order)
    await app.drain()
    assert result.status == "FAILED"
    started = [r for r in app.records if r.state_machine == "NotificationStateMachine"]
    assert [r.started_by for r in started] == ["rule OrderEvents (OrderRejected)"]
    assert started[0].result.status == "SUCCEEDED"
    event = started[0].result.input
    assert event["detail-type"] == "OrderRejected"
    assert event["detail"]["orderId"] == order["orderId"]


def stuck_order(minutes_old: int) -> str:
    created = format_timestamp(datetime.now(UTC) - timedelta(minutes=minutes_old))
    order_id = f"ORD-STUCK-{minutes_old}"
    DynamoOrderRepository(table()).create(
        OrderRecord(
            order_id=order_id,
            customer_id="CUST-1002",
            status=OrderStatus.PENDING,
            items=[
                PricedLine(
                    product_id="SKU-MUG-02",
                    name="Stoneware mug, set of 4",
                    quantity=1,
                    unit_price=Decimal("24.50"),
                    line_total=Decimal("24.50"),
                )
            ],
            total=Decimal("24.50"),
            currency="EUR",
            shipping_address=ShippingAddress.model_validate(
                json.loads(
                    '{"name": "B", "line1": "1 A St", "city": "Berlin", '
                    '"postalCode": "10115", "country": "DE"}'
                )
            ),
            requested_at=created,
            created_at=created,
            updated_at=created,
        )
    )
    return order_id


async def test_sweep_cancels_stuck_orders_and_leaves_fresh_ones(app: LocalApp) -> None:
    stuck = stuck_order(minutes_old=180)
    fresh = stuck_order(minutes_old=5)
    result = await app.execute("stuck_order_sweep", {"source": "aws.scheduler"})
    await app.drain()
    assert result.status == "SUCCEEDED", result.cause
    assert order_item(stuck)["status"] == "CANCELLED"
    assert order_item(fresh)["status"] == "PENDING"
    cancelled = [
        r.result.input["detail"]["orderId"]
        for r in app.records
        if r.state_machine == "NotificationStateMachine"
    ]
    assert cancelled == [stuck], "the OrderCancelled event notified the customer"
