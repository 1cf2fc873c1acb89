from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from tasks.orders import (
    cancel_order,
    charge_payment,
    find_stuck_orders,
    mark_order_rejected,
    record_approval_request,
    reserve_inventory,
)


def _order(table: Any, order_id: str = "ORD-2025-000123") -> dict[str, Any]:
    item: dict[str, Any] = table.get_item(Key={"PK": f"ORDER#{order_id}", "SK": "ORDER"})["Item"]
    return item


def _lambda_cause(error_type: str, message: str) -> str:
    return json.dumps({"errorMessage": message, "errorType": error_type, "stackTrace": []})


def test_reject_marks_the_order_and_explains_a_lambda_error(
    placed_order: Any, order_deps: Any, lambda_context: Any, table: Any
) -> None:
    state = placed_order()
    state["error"] = {
        "Error": "OutOfStock",
        "Cause": _lambda_cause("OutOfStock", "product 'SKU-MUG-02' is out of stock"),
    }
    result = mark_order_rejected.handler(state, lambda_context, deps=order_deps)

    assert result == {
        "orderId": "ORD-2025-000123",
        "customerId": "CUST-1001",
        "status": "REJECTED",
        "error": "OutOfStock",
        "reason": "product 'SKU-MUG-02' is out of stock",
    }
    stored = _order(table)
    assert stored["status"] == "REJECTED"
    assert stored["GSI1PK"] == "STATUS#REJECTED"
    assert stored["rejectionReason"] == "product 'SKU-MUG-02' is out of stock"


@pytest.mark.parametrize(
    ("caught", "error", "reason"),
    [
        ({"Error": "States.Timeout", "Cause": ""}, "ApprovalTimedOut", "within 24 hours"),
        ({"Error": "ApprovalRejected", "Cause": "too risky"}, "ApprovalRejected", "too risky"),
        (None, "OrderRejected", "the order was rejected"),
    ],
)
def test_reject_names_approval_outcomes(
    placed_order: Any, order_deps: Any, caught: Any, error: str, reason: str
) -> None:
    state = placed_order()
    if caught is not None:
        state["error"] = caught
    result = mark_order_rejected.mark_order_rejected(state, order_deps)
    assert result["error"] == error
    assert reason in result["reason"]


def test_reject_tolerates_an_order_that_was_never_stored(
    order_deps: Any, lambda_context: Any
) -> None:
    state = {
        "orderId": 42,
        "error": {"Error": "InvalidOrder", "Cause": _lambda_cause("InvalidOrder", "bad")},
    }
    result = mark_order_rejected.handler(state, lambda_context, deps=order_deps)
    assert result["orderId"] is None
    assert result["error"] == "InvalidOrder"
    assert result["reason"] == "bad"


def test_a_duplicate_execution_never_rejects_the_original_order(
    placed_order: Any, order_deps: Any, fixture: Any, table: Any
) -> None:
    state = placed_order()
    state["workflow"]["executionArn"] += "-duplicate"
    state["error"] = {"Error": "InvalidOrder", "Cause": "orderId already used"}
    mark_order_rejected.mark_order_rejected(state, order_deps)
    assert _order(table)["status"] == "PENDING"


def _sqs_event(fixture: Any, *bodies: str) -> dict[str, Any]:
    records = []
    for index, body in enumerate(bodies):
        record = fixture("sqs_record_template.json")
        record["messageId"] = f"message-{index}"
        record["body"] = body
        records.append(record)
    return {"Records": records}


def test_the_approval_consumer_stores_the_task_token(
    placed_order: Any, order_deps: Any, lambda_context: Any, fixture: Any, table: Any
) -> None:
    placed_order()
    message = fixture("approval_request_message.json")
    event = _sqs_event(fixture, json.dumps(message))
    result = record_approval_request.handler(event, lambda_context, deps=order_deps)

    assert result == {"batchItemFailures": []}
    stored = _order(table)
    assert stored["status"] == "AWAITING_APPROVAL"
    assert stored["approvalTaskToken"] == message["TaskToken"]
    assert stored["GSI1PK"] == "STATUS#AWAITING_APPROVAL"


def test_the_approval_consumer_reports_partial_batch_failures(
    placed_order: Any, order_deps: Any, lambda_context: Any, fixture: Any, table: Any
) -> None:
    placed_order()
    good = fixture("approval_request_message.json")
    unknown_order = {**good, "orderId": "ORD-UNKNOWN"}
    no_token = {k: v for k, v in good.items() if k != "TaskToken"}
    event = _sqs_event(
        fixture, json.dumps(good), "not json", json.dumps(unknown_order), json.dumps(no_token)
    )

    result = record_approval_request.handler(event, lambda_context, deps=order_deps)

    assert result == {
        "batchItemFailures": [
            {"itemIdentifier": "message-1"},
            {"itemIdentifier": "message-2"},
            {"itemIdentifier": "message-3"},
        ]
    }
    assert _order(table)["status"] == "AWAITING_APPROVAL"


def test_a_batch_that_fails_entirely_is_retried_whole(
    order_deps: Any, lambda_context: Any, fixture: Any
) -> None:
    with pytest.raises(BatchProcessingError):
        record_approval_request.handler(_sqs_event(fixture, "{}"), lambda_context, deps=order_deps)


def test_the_approval_consumer_ignores_a_settled_order(
    placed_order: Any, order_deps: Any, lambda_context: Any, fixture: Any, table: Any
) -> None:
    placed_order()
    order_deps.orders.mark_cancelled("ORD-2025-000123", "test", "2025-06-02T10:00:00.000Z")
    event = _sqs_event(fixture, json.dumps(fixture("approval_request_message.json")))
    result = record_approval_request.handler(event, lambda_context, deps=order_deps)
    assert result == {"batchItemFailures": []}
    assert _order(table)["status"] == "CANCELLED"


def test_the_sweep_finds_only_orders_stuck_past_the_deadline(
    placed_order: Any, order_deps: Any, lambda_context: Any, fixture: Any, clock: Any
) -> None:
    placed_order()  # created at NOW
    clock.now += timedelta(minutes=30)
    placed_order(orderId="ORD-RECENT", workflow={"executionArn": "arn:recent"})
    event = fixture("sweep_schedule_event.json")

    clock.now += timedelta(minutes=40)  # first order is 70 minutes old, second 40
    result = find_stuck_orders.handler(event, lambda_context, deps=order_deps)

    assert [o["orderId"] for o in result["orders"]] == ["ORD-2025-000123"]
    assert result["orders"][0] == {
        "orderId": "ORD-2025-000123",
        "customerId": "CUST-1001",
        "status": "PENDING",
        "createdAt": "2025-06-02T09:30:01.000Z",
    }


def test_cancel_claims_an_active_order_once(
    placed_order: Any, order_deps: Any, lambda_context: Any, table: Any
) -> None:
    placed_order()
    item = {"orderId": "ORD-2025-000123", "status": "PENDING"}
    first = cancel_order.handler(item, lambda_context, deps=order_deps)
    second = cancel_order.handler(item, lambda_context, deps=order_deps)

    assert first["cancelled"] is True
    assert first["customerId"] == "CUST-1001"
    assert first["previousStatus"] == "PENDING"
    assert second["cancelled"] is False
    assert _order(table)["status"] == "CANCELLED"


def test_a_cancelled_order_is_neither_reserved_nor_charged(
    placed_order: Any, order_deps: Any, gateway: Any
) -> None:
    state = placed_order()
    cancel_order.cancel_order(state, order_deps)
    with pytest.raises(Exception, match="CANCELLED"):
        reserve_inventory.reserve_inventory(state, order_deps)
    with pytest.raises(Exception, match="CANCELLED"):
        charge_payment.charge_payment(state, order_deps)
    assert gateway.captured_count == 0
