"""The paths of the project's workflows that only failures take, driven with the plugin.

The real definitions of ``state_machines/`` run with their Task states answered by
mocks (``workflows.run(..., mocks=...)``), so a throttled Lambda, an approval queue
that is down, a payment provider that stays down, a compensation that fails or a
notification channel nobody can send on happen on demand. Each test checks what
the business sees: the order confirmed or rejected and why, the stock released,
the payment refunded, the customer notified, and what the next sweep will redo.
Together with the happy paths of test_order_processing.py and
test_notification_and_sweep.py they take every state and every Choice, Catch and
Retry edge of the definitions (``make check`` fails below 100%).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from workflows.testing import (
    Return,
    Throw,
    assert_path,
    assert_state,
    contains,
    inspect,
)

REPO = Path(__file__).resolve().parents[3]
ORDER = json.loads((REPO / "examples" / "order.json").read_text())
THRESHOLD = {"ApprovalThreshold": "500"}
THROTTLED = Throw("Lambda.TooManyRequestsException", "Rate exceeded")


def payload(**fields: Any) -> Return:
    """What lambda:invoke answers for a function that returned ``fields``."""
    return Return({"StatusCode": 200, "Payload": fields})


def validated(total: float) -> Return:
    return payload(
        orderId=ORDER["orderId"],
        customerId=ORDER["customerId"],
        items=ORDER["items"],
        total=total,
        currency="EUR",
        status="PENDING",
        createdAt="2026-01-01T00:00:00Z",
    )


RESERVED = payload(reservations=[{"productId": "SKU-KETTLE-01", "quantity": 1}], reservedAt="t")
CHARGED = payload(chargeId="ch_1", amount=90, currency="EUR", status="CAPTURED")
REFUNDED = payload(refunded=True, refundId="rf_1")
RELEASED = payload(released=True)
PUBLISHED = Return({"FailedEntryCount": 0, "Entries": [{"EventId": "e-1"}]})


def rejected(error: str) -> Return:
    return payload(
        orderId=ORDER["orderId"], customerId=ORDER["customerId"], error=error, reason="because"
    )


def compensations(**changes: Any) -> dict[str, Any]:
    """Mocks for the compensation steps that succeed, with ``changes`` on top."""
    return {
        "RefundPayment": REFUNDED,
        "ReleaseInventory": RELEASED,
        "RejectOrder": rejected("PaymentProviderUnavailable"),
        "PublishOrderRejected": PUBLISHED,
        **changes,
    }


def process_order(workflows: Any, mocks: dict[str, Any]) -> Any:
    """order_processing on ORDER, with the approval threshold, its Tasks answered by ``mocks``."""
    return workflows.run("order_processing", ORDER, substitutions=THRESHOLD, mocks=mocks)


# --------------------------------------------------------------------- order processing


def test_an_order_above_the_threshold_survives_a_throttled_call_at_every_step(workflows):
    result = process_order(
        workflows,
        {
            "ValidateOrder": [THROTTLED, validated(1299)],
            "ReserveInventory": [THROTTLED, RESERVED],
            "RequestApproval": [
                Throw("SQS.SdkClientException", "connection reset"),
                Return({"approved": True, "approver": "manager-1"}),
            ],
            "ChargePayment": [THROTTLED, CHARGED],
            "ConfirmOrder": [Throw("DynamoDB.ThrottlingException", "slow down"), Return({})],
            "PublishOrderConfirmed": [Throw("EventBridge.InternalException", "oops"), PUBLISHED],
        },
    )
    assert result.status == "SUCCEEDED", result.cause
    assert_path(
        result,
        ["RequestApproval", "WasApproved", "ChargePayment", "OrderConfirmed"],
        exact=False,
    )
    run = inspect(result)
    steps = ["ValidateOrder", "ReserveInventory", "RequestApproval", "ChargePayment"]
    for step in [*steps, "ConfirmOrder", "PublishOrderConfirmed"]:
        assert [a.outcome for a in run.state(step).attempts] == ["failed", "succeeded"], step


def test_an_approver_answering_approved_false_rejects_the_order_and_releases_the_stock(
    workflows,
):
    result = process_order(
        workflows,
        {
            "ValidateOrder": validated(1299),
            "ReserveInventory": RESERVED,
            "RequestApproval": Return({"approved": False, "approver": "manager-1"}),
            **compensations(RejectOrder=rejected("ApprovalRejected")),
        },
    )
    assert result.status == "FAILED"
    assert result.error == "ApprovalRejected"
    assert_path(result, ["WasApproved", "RecordApprovalDeclined", "ReleaseInventory"], exact=False)
    assert_state(
        result,
        "RejectOrder",
        input=contains(
            {"error": {"Error": "ApprovalRejected", "Cause": "the approver declined the order"}}
        ),
    )
    assert "ChargePayment" not in inspect(result).path


def test_an_approval_queue_that_stays_down_rejects_the_order_and_releases_the_stock(workflows):
    down = Throw("SQS.AmazonSQSException", "The specified queue does not exist.")
    result = process_order(
        workflows,
        {
            "ValidateOrder": validated(1299),
            "ReserveInventory": RESERVED,
            "RequestApproval": [down, down, down, down],
            **compensations(RejectOrder=rejected("SQS.AmazonSQSException")),
        },
    )
    assert result.status == "FAILED"
    assert_state(result, "RequestApproval", status="caught", attempts=4)
    assert_path(result, ["RequestApproval", "ReleaseInventory", "RejectOrder"], exact=False)
    assert "ChargePayment" not in inspect(result).path


def test_an_approval_refused_with_send_task_failure_releases_the_stock(workflows):
    result = process_order(
        workflows,
        {
            "ValidateOrder": validated(1299),
            "ReserveInventory": RESERVED,
            "RequestApproval": Throw("ApprovalRejected", "not for this customer"),
            **compensations(RejectOrder=rejected("ApprovalRejected")),
        },
    )
    assert result.error == "ApprovalRejected"
    assert_state(result, "RequestApproval", status="caught", error="ApprovalRejected")
    assert "RecordApprovalDeclined" not in inspect(result).path


def test_a_stock_service_that_stays_down_releases_whatever_was_reserved(workflows):
    down = Throw("InventoryUnavailable", "DynamoDB is unavailable")
    result = process_order(
        workflows,
        {
            "ValidateOrder": validated(90),
            "ReserveInventory": [down] * 6,
            **compensations(RejectOrder=rejected("InventoryUnavailable")),
        },
    )
    assert result.status == "FAILED"
    assert_state(result, "ReserveInventory", status="caught", attempts=6)
    assert_path(result, ["ReserveInventory", "ReleaseInventory", "RejectOrder"], exact=False)
    assert "ChargePayment" not in inspect(result).path


def test_a_payment_provider_that_stays_down_refunds_then_releases(workflows):
    down = Throw("PaymentProviderUnavailable", "provider timed out")
    result = process_order(
        workflows,
        {
            "ValidateOrder": validated(90),
            "ReserveInventory": RESERVED,
            "ChargePayment": [down] * 5,
            **compensations(),
        },
    )
    assert result.status == "FAILED"
    assert result.error == "PaymentProviderUnavailable"
    assert_state(result, "ChargePayment", status="caught", attempts=5)
    # the charge may have been captured before the provider went quiet: refund first
    assert_path(
        result, ["ChargePayment", "RefundPayment", "ReleaseInventory", "RejectOrder"], exact=False
    )


def test_compensations_survive_a_throttled_call_at_every_step(workflows):
    result = process_order(
        workflows,
        {
            "ValidateOrder": validated(90),
            "ReserveInventory": RESERVED,
            "ChargePayment": Throw("PaymentProviderError", "unexpected answer"),
            "RefundPayment": [THROTTLED, REFUNDED],
            "ReleaseInventory": [THROTTLED, RELEASED],
            "RejectOrder": [THROTTLED, rejected("PaymentProviderError")],
            "PublishOrderRejected": [Throw("EventBridge.InternalException", "oops"), PUBLISHED],
        },
    )
    assert result.error == "PaymentProviderError"
    run = inspect(result)
    for step in ("RefundPayment", "ReleaseInventory", "RejectOrder", "PublishOrderRejected"):
        assert [a.outcome for a in run.state(step).attempts] == ["failed", "succeeded"], step


def test_a_rejection_that_cannot_be_published_still_rejects_the_order(workflows):
    down = Throw("EventBridge.InternalException", "EventBridge is unavailable")
    result = process_order(
        workflows,
        {
            "ValidateOrder": validated(90),
            "ReserveInventory": RESERVED,
            "ChargePayment": Throw("PaymentDeclined", "card declined"),
            **compensations(
                RejectOrder=rejected("PaymentDeclined"), PublishOrderRejected=[down] * 5
            ),
        },
    )
    assert result.status == "FAILED"
    assert result.error == "PaymentDeclined", (
        "the customer is told why, not that EventBridge failed"
    )
    assert_state(result, "PublishOrderRejected", status="caught", attempts=5)


def failing_compensation(step: str, **changes: Any) -> dict[str, Any]:
    down = Throw(
        "InventoryUnavailable" if step != "RefundPayment" else "PaymentProviderUnavailable"
    )
    return {
        "ValidateOrder": validated(90),
        "ReserveInventory": RESERVED,
        "ChargePayment": Throw("PaymentProviderError", "unexpected answer"),
        **compensations(**{step: [down] * 9}, **changes),
    }


@pytest.mark.parametrize(
    ("step", "skipped"),
    [
        ("RefundPayment", ["RejectOrder", "PublishOrderRejected"]),
        ("ReleaseInventory", ["RejectOrder"]),
        ("RejectOrder", ["PublishOrderRejected"]),
    ],
)
def test_a_compensation_that_keeps_failing_stops_as_compensation_failed_for_the_sweep(
    workflows, step, skipped
):
    result = process_order(workflows, failing_compensation(step))
    assert result.error == "CompensationFailed"
    assert_state(result, step, status="caught")
    path = inspect(result).path
    for later in skipped:
        assert later not in path, "the order stays active: the sweep compensates it"


def test_a_second_execution_for_the_same_order_changes_nothing(workflows):
    result = process_order(
        workflows,
        {"ValidateOrder": Throw("DuplicateOrder", "ORD-2025-000123 exists")},
    )
    assert result.error == "DuplicateOrder"
    assert inspect(result).path == ["LoadWorkflowContext", "ValidateOrder", "DuplicateOrder"]


# ------------------------------------------------------------------------ notification

EVENT = json.loads(
    (REPO / "tests" / "fixtures" / "tasks" / "order_confirmed_event.json").read_text()
)
PREFERENCES = payload(
    customerId="CUST-1001",
    email="ada@example.com",
    phone="+447700900123",
    pushToken="device-1",
    channels=["email", "sms", "push"],
    locale="en-GB",
)


def messages(*channels: str) -> Return:
    return payload(messages=[{"channel": c, "to": f"{c}-address", "body": "hi"} for c in channels])


def sent(channel: str) -> Return:
    return payload(channel=channel, status="SENT", messageId=f"{channel}-1")


def deliveries(result: Any) -> dict[str, dict[str, Any]]:
    """What RecordDeliveries was asked to store, by channel."""
    recorded = inspect(result).state("RecordDeliveries").input["deliveries"]
    return {d["channel"]: d for d in recorded}


def test_notifications_survive_a_throttled_call_at_every_step(workflows):
    result = workflows.run(
        "notification",
        EVENT,
        mocks={
            "LoadPreferences": [THROTTLED, PREFERENCES],
            "RenderMessages": [THROTTLED, messages("email", "sms", "push")],
            "SendEmail": [THROTTLED, sent("email")],
            "SendSms": [THROTTLED, sent("sms")],
            "SendPush": [THROTTLED, sent("push")],
            "RecordDeliveries": [THROTTLED, payload(sent=3, failed=0)],
        },
    )
    assert result.status == "SUCCEEDED", result.cause
    assert {c: d["status"] for c, d in deliveries(result).items()} == {
        "email": "SENT",
        "sms": "SENT",
        "push": "SENT",
    }
    assert_state(result, "RecordDeliveries", attempts=2)


def test_channels_that_fail_are_recorded_failed_and_the_others_are_still_sent(workflows):
    result = workflows.run(
        "notification",
        EVENT,
        mocks={
            "LoadPreferences": PREFERENCES,
            "RenderMessages": messages("email", "sms", "push", "pigeon"),
            "SendEmail": Throw("InvalidRecipient", "ada@example.com bounced"),
            "SendSms": [Throw("NotificationProviderUnavailable", "SNS is down")] * 4,
            "SendPush": sent("push"),
            "RecordDeliveries": payload(sent=1, failed=3),
        },
    )
    assert result.status == "SUCCEEDED", "one channel failing never fails the notification"
    recorded = deliveries(result)
    assert recorded["push"]["status"] == "SENT"
    assert recorded["email"] == contains({"status": "FAILED", "error": "InvalidRecipient"})
    assert recorded["sms"] == contains(
        {"status": "FAILED", "error": "NotificationProviderUnavailable"}
    )
    assert recorded["pigeon"] == contains({"status": "FAILED", "error": "UnsupportedChannel"})
    assert_state(result, "SendSms", attempts=4, status="caught")


# ---------------------------------------------------------------------- stuck-order sweep

STUCK = {"orderId": "ORD-STUCK-1", "customerId": "CUST-1002", "status": "PENDING", "createdAt": "t"}
FOUND = payload(orders=[STUCK], count=1, checkedAt="t")


def cancelled(done: bool) -> Return:
    return payload(
        orderId=STUCK["orderId"],
        customerId=STUCK["customerId"],
        cancelled=done,
        previousStatus="PENDING" if done else "CONFIRMED",
        reason="stuck past its deadline",
    )


def outcomes(result: Any) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = result.output["results"]
    return results


def test_the_sweep_survives_a_throttled_call_at_every_step(workflows):
    result = workflows.run(
        "stuck_order_sweep",
        {"source": "aws.scheduler"},
        mocks={
            "FindStuckOrders": [THROTTLED, FOUND],
            "CancelOrder": [THROTTLED, cancelled(True)],
            "RefundCancelledOrder": [THROTTLED, REFUNDED],
            "ReleaseCancelledOrderStock": [THROTTLED, RELEASED],
            "PublishOrderCancelled": [Throw("EventBridge.InternalException", "oops"), PUBLISHED],
        },
    )
    assert result.status == "SUCCEEDED", result.cause
    assert outcomes(result) == [{"orderId": "ORD-STUCK-1", "outcome": "CANCELLED"}]
    assert_state(result, "PublishOrderCancelled", attempts=2)


def test_an_order_that_moved_on_since_the_query_is_left_alone(workflows):
    result = workflows.run(
        "stuck_order_sweep",
        {"source": "aws.scheduler"},
        mocks={"FindStuckOrders": FOUND, "CancelOrder": cancelled(False)},
    )
    assert outcomes(result) == [{"orderId": "ORD-STUCK-1", "outcome": "SKIPPED"}]
    assert "RefundCancelledOrder" not in inspect(result).all_states


@pytest.mark.parametrize(
    ("step", "error"),
    [
        ("CancelOrder", "InventoryUnavailable"),
        ("RefundCancelledOrder", "PaymentProviderUnavailable"),
        ("ReleaseCancelledOrderStock", "InventoryUnavailable"),
        ("PublishOrderCancelled", "EventBridge.InternalException"),
    ],
)
def test_a_step_that_keeps_failing_is_reported_for_the_next_sweep(workflows, step, error):
    mocks: dict[str, Any] = {
        "FindStuckOrders": FOUND,
        "CancelOrder": cancelled(True),
        "RefundCancelledOrder": REFUNDED,
        "ReleaseCancelledOrderStock": RELEASED,
        "PublishOrderCancelled": PUBLISHED,
    }
    mocks[step] = [Throw(error, "still failing")] * 9
    result = workflows.run("stuck_order_sweep", {"source": "aws.scheduler"}, mocks=mocks)
    assert result.status == "SUCCEEDED", "one order failing never fails the sweep"
    [outcome] = outcomes(result)
    assert outcome == {
        "orderId": "ORD-STUCK-1",
        "outcome": "FAILED",
        "error": error,
        "cause": "still failing",
    }
    assert_state(result, step, status="caught")


# --------------------------------------------------------------------------- order quote


def test_a_quote_for_an_order_without_items_is_refused(workflows):
    result = workflows.run("order_quote", {"orderId": "ORD-1", "items": []})
    assert result.status == "FAILED"
    assert result.error == "InvalidOrder"


def test_a_quote_lists_each_line_after_holding_it_for_a_day(workflows):
    order = json.loads((REPO / "examples" / "order_quote.json").read_text())
    result = workflows.run("order_quote", order)
    assert result.status == "SUCCEEDED", result.cause
    assert result.output["quote"] == f"Q-{order['orderId']}"
    assert result.output["lineCount"] == len(order["items"])
    assert result.output["lines"][0].startswith("#1: ")
