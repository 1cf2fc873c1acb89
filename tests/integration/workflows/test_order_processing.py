"""Every path of the order workflow, end to end (engine + real handlers + moto)."""

from __future__ import annotations

import asyncio
from typing import Any

from tasks.orders.payments import shared_fake_gateway
from tests.integration.workflows.conftest import (
    example_order,
    order_item,
    stock,
    table,
)
from workflows.local.app import LocalApp
from workflows.testing import states_entered, task_attempts

EXPENSIVE = [{"productId": "SKU-ESPRESSO-05", "quantity": 1}]  # 1299 EUR, above the threshold


async def place(app: LocalApp, order: dict[str, Any]) -> Any:
    result = await app.execute("order_processing", order)
    await app.drain()
    return result


async def test_happy_path_confirms_publishes_and_notifies(app: LocalApp) -> None:
    order = example_order()
    kettles = stock("SKU-KETTLE-01")
    result = await place(app, order)
    assert result.status == "SUCCEEDED", result.cause
    assert order_item(order["orderId"])["status"] == "CONFIRMED"
    assert stock("SKU-KETTLE-01") == kettles - 1
    assert "PublishOrderConfirmed" in states_entered(result)
    notification = [r for r in app.records if r.state_machine == "NotificationStateMachine"]
    assert len(notification) == 1, "the OrderConfirmed event started the notification workflow"
    assert notification[0].result.status == "SUCCEEDED"


async def test_out_of_stock_is_rejected_without_reserving(app: LocalApp) -> None:
    order = example_order(items=[{"productId": "SKU-FILTER-06", "quantity": 1}])
    result = await place(app, order)
    assert result.status == "FAILED"
    assert result.error == "OutOfStock"
    assert order_item(order["orderId"])["status"] == "REJECTED"
    assert "ReleaseInventory" not in states_entered(result)


async def test_unknown_product_is_rejected_with_a_reason(app: LocalApp) -> None:
    order = example_order(items=[{"productId": "SKU-NOPE", "quantity": 1}])
    result = await place(app, order)
    assert result.status == "FAILED"
    assert "SKU-NOPE" in (result.cause or "")


async def test_invalid_order_is_rejected_not_crashed_on(app: LocalApp) -> None:
    order = example_order(items=[{"productId": "SKU-MUG-02", "quantity": -2}])
    result = await place(app, order)
    assert result.status == "FAILED"
    assert result.error == "InvalidOrder"
    assert "quantity" in (result.cause or "")


async def test_declined_payment_releases_the_inventory(app: LocalApp) -> None:
    order = example_order(paymentToken="tok_decline")
    mugs = stock("SKU-MUG-02")
    result = await place(app, order)
    assert result.status == "FAILED"
    assert result.error == "PaymentDeclined"
    assert stock("SKU-MUG-02") == mugs, "the reserved mugs went back on the shelf"
    assert order_item(order["orderId"])["status"] == "REJECTED"
    entered = states_entered(result)
    assert entered.index("ReleaseInventory") > entered.index("ChargePayment")
    assert "RefundPayment" not in entered


async def test_flaky_payment_is_retried_with_backoff_then_succeeds(app: LocalApp) -> None:
    order = example_order(paymentToken="tok_flaky")
    result = await place(app, order)
    assert result.status == "SUCCEEDED", result.cause
    assert task_attempts(result, "ChargePayment") == 3, "two transient failures, then success"
    gateway = shared_fake_gateway(2)
    key = f"charge:{order['orderId']}"
    assert key in gateway.charges, "the order was charged"
    assert gateway.charge_attempts[key] == 3


async def test_duplicate_charge_is_suppressed(app: LocalApp) -> None:
    order = example_order()
    first = await place(app, order)
    assert first.status == "SUCCEEDED"
    gateway = shared_fake_gateway(2)
    captured = gateway.captured_count
    # the same order again (a retried request): validation refuses the duplicate order
    # and nothing is charged a second time
    second = await place(app, dict(order))
    assert second.status == "FAILED"
    assert gateway.captured_count == captured


async def wait_for_token(app: LocalApp, order_id: str) -> str:
    # The test is work in progress for the virtual clock: while it polls, the 24-hour
    # approval timeout must not be skipped to.
    with app.clock.busy():
        for _ in range(500):
            key = {"PK": f"ORDER#{order_id}", "SK": "ORDER"}
            item = table().get_item(Key=key).get("Item") or {}
            if item.get("approvalTaskToken"):
                return str(item["approvalTaskToken"])
            await asyncio.sleep(0.01)
    raise AssertionError("the approval request never reached the approval queue consumer")


async def test_approval_granted_then_charged(app: LocalApp) -> None:
    order = example_order(items=EXPENSIVE)
    run = asyncio.ensure_future(app.execute("order_processing", order))
    token = await wait_for_token(app, order["orderId"])
    assert order_item(order["orderId"])["status"] == "AWAITING_APPROVAL"
    app.tokens.succeed(token, {"approved": True, "approver": "manager-1"})
    result = await run
    await app.drain()
    assert result.status == "SUCCEEDED", result.cause
    assert order_item(order["orderId"])["status"] == "CONFIRMED"


async def test_approval_rejected_releases_inventory(app: LocalApp) -> None:
    order = example_order(items=EXPENSIVE)
    machines = stock("SKU-ESPRESSO-05")
    run = asyncio.ensure_future(app.execute("order_processing", order))
    token = await wait_for_token(app, order["orderId"])
    app.tokens.fail(token, "ApprovalRejected", "too expensive for this customer")
    result = await run
    await app.drain()
    assert result.status == "FAILED"
    assert stock("SKU-ESPRESSO-05") == machines
    assert order_item(order["orderId"])["status"] == "REJECTED"


async def test_approval_timeout_rejects_after_24_virtual_hours(app: LocalApp) -> None:
    order = example_order(items=EXPENSIVE)
    result = await place(app, order)  # nobody answers
    assert result.status == "FAILED"
    timed_out = [e for e in result.history if e["type"] == "TaskTimedOut"]
    assert timed_out
    assert timed_out[0]["taskTimedOutEventDetails"]["error"] == "States.Timeout"
    waited = result.history[-1]["timestamp"] - result.history[0]["timestamp"]
    assert waited.total_seconds() >= 86400
    assert order_item(order["orderId"])["status"] == "REJECTED"


async def test_failure_after_charging_refunds_then_releases(app: LocalApp) -> None:
    """DynamoDB keeps throttling the confirmation: the captured payment is refunded."""
    from workflows.engine import StatesError
    from workflows.engine.tasks import TaskRequest

    attempts = 0

    async def throttled(request: TaskRequest) -> Any:
        nonlocal attempts
        attempts += 1
        raise StatesError(
            "DynamoDB.ProvisionedThroughputExceededException", "Rate of requests exceeds"
        )

    app.runner.integrations["dynamodb:updateItem"] = throttled
    order = example_order()
    beans = stock("SKU-BEANS-03")
    gateway = shared_fake_gateway(2)
    refunds = len(gateway.refunds)
    result = await place(app, order)
    assert result.status == "FAILED"
    assert attempts == 5, "the first try and its 4 retries"
    entered = states_entered(result)
    assert entered.index("RefundPayment") < entered.index("ReleaseInventory")
    assert len(gateway.refunds) == refunds + 1, "no captured payment is left behind"
    assert stock("SKU-BEANS-03") == beans, "no reserved stock is left behind"
    assert order_item(order["orderId"])["status"] == "REJECTED"
