"""GET /orders/{orderId}: the stored order plus its workflow status."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from order_api_support import (
    APPROVER,
    CUSTOMER,
    FROZEN_NOW,
    OTHER_CUSTOMER,
    Aws,
    FakeStepFunctions,
    Invoke,
    StubJWKClient,
    TokenFactory,
    api_event,
    execution_arn_of,
    invoker,
    make_services,
    workflow_input,
)

from workflows.api.settings import ApiSettings

ORDER = "ord-20250131-0001"


def test_a_stored_order_with_its_running_workflow(
    call: Invoke, aws: Aws, tokens: TokenFactory
) -> None:
    assert call(api_event("post_orders", token=tokens.customer())).status == 202
    aws.put_order(ORDER, status="AWAITING_APPROVAL", approvalTaskToken="secret-task-token")

    answer = call(api_event("get_order", token=tokens.customer()))

    assert answer.status == 200
    data = answer.data
    assert data["orderId"] == ORDER
    assert data["customerId"] == CUSTOMER
    assert data["status"] == "AWAITING_APPROVAL"
    assert data["total"] == 42
    assert data["items"] == [{"productId": "sku-espresso-beans", "quantity": 2}]
    assert data["source"] == "store"
    workflow = data["workflow"]
    assert workflow["executionArn"] == execution_arn_of(ORDER)
    assert workflow["status"] == "RUNNING"
    assert workflow["currentState"] == "A State"  # the last state moto's history entered
    assert workflow["failedState"] is None
    assert "secret-task-token" not in json.dumps(answer.body)


def test_before_the_order_is_stored_it_comes_from_the_execution(
    call: Invoke, tokens: TokenFactory
) -> None:
    assert call(api_event("post_orders", token=tokens.customer())).status == 202
    answer = call(api_event("get_order", token=tokens.customer()))
    assert answer.status == 200
    data = answer.data
    assert data["source"] == "execution"
    assert data["status"] == "PENDING"
    assert data["currency"] == "EUR"
    assert data["createdAt"] == "2025-01-31T12:00:00.000Z"
    assert data["items"][0] == {"productId": "sku-espresso-beans", "quantity": 2}
    assert data["workflow"]["status"] == "RUNNING"
    assert "paymentToken" not in json.dumps(answer.body)
    assert "pm_tok_" not in json.dumps(answer.body)


def test_a_stored_order_without_execution_has_no_workflow(
    call: Invoke, aws: Aws, tokens: TokenFactory
) -> None:
    aws.put_order(ORDER, status="CONFIRMED", total="19.90")
    aws.table.update_item(
        Key={"PK": f"ORDER#{ORDER}", "SK": "ORDER"},
        UpdateExpression="SET #t = :t",
        ExpressionAttributeNames={"#t": "total"},
        ExpressionAttributeValues={":t": __import__("decimal").Decimal("19.90")},
    )
    answer = call(api_event("get_order", token=tokens.customer()))
    assert answer.status == 200
    assert answer.data["status"] == "CONFIRMED"
    assert answer.data["total"] == 19.9
    assert answer.data["workflow"] is None


@pytest.mark.parametrize("stored", [True, False])
def test_other_customers_orders_are_not_found(
    call: Invoke, aws: Aws, tokens: TokenFactory, stored: bool
) -> None:
    assert call(api_event("post_orders", token=tokens.customer())).status == 202
    if stored:
        aws.put_order(ORDER)
    answer = call(api_event("get_order", token=tokens.customer(OTHER_CUSTOMER)))
    assert answer.status == 404
    assert answer.error_code == "order_not_found"


@pytest.mark.parametrize("stored", [True, False])
def test_approvers_see_every_order(
    call: Invoke, aws: Aws, tokens: TokenFactory, stored: bool
) -> None:
    assert call(api_event("post_orders", token=tokens.customer())).status == 202
    if stored:
        aws.put_order(ORDER)
    answer = call(api_event("get_order", token=tokens.approver(APPROVER)))
    assert answer.status == 200
    assert answer.data["customerId"] == CUSTOMER


def test_an_unknown_order_is_not_found(call: Invoke, tokens: TokenFactory) -> None:
    answer = call(api_event("get_order", token=tokens.customer()))
    assert answer.status == 404
    assert answer.body == {
        "success": False,
        "data": None,
        "error": {
            "code": "order_not_found",
            "message": f"Order {ORDER} was not found.",
            "details": None,
        },
        "message": None,
    }


def test_a_malformed_order_id_is_a_validation_error(call: Invoke, tokens: TokenFactory) -> None:
    answer = call(api_event("get_order", token=tokens.customer(), path="/orders/not$valid"))
    assert answer.status == 422
    assert answer.body["error"]["details"][0]["loc"] == ["path", "orderId"]


def test_a_failed_workflow_reports_its_failed_state_and_error(
    settings: ApiSettings, aws: Aws, tokens: TokenFactory
) -> None:
    sfn = FakeStepFunctions()
    arn = execution_arn_of(ORDER)
    sfn.executions[arn] = {
        "executionArn": arn,
        "input": json.dumps(workflow_input(ORDER)),
        "status": "FAILED",
        "startDate": FROZEN_NOW,
        "stopDate": datetime(2025, 1, 31, 12, 0, 5, tzinfo=UTC),
        "error": "PaymentDeclined",
        "cause": "card declined",
    }
    sfn.histories[arn] = [
        {"id": 1, "type": "ExecutionStarted", "timestamp": FROZEN_NOW},
        {
            "id": 2,
            "type": "TaskStateEntered",
            "timestamp": FROZEN_NOW,
            "stateEnteredEventDetails": {"name": "ChargePayment"},
        },
        {"id": 3, "type": "TaskFailed", "timestamp": FROZEN_NOW},
        {"id": 4, "type": "ExecutionFailed", "timestamp": FROZEN_NOW},
    ]
    services = make_services(settings, sfn=sfn, table=aws.table, jwks=StubJWKClient([tokens.key]))
    answer = invoker(services)(api_event("get_order", token=tokens.customer()))

    assert answer.status == 200
    workflow = answer.data["workflow"]
    assert workflow == {
        "executionArn": arn,
        "status": "FAILED",
        "currentState": None,
        "failedState": "ChargePayment",
        "error": "PaymentDeclined",
        "cause": "card declined",
        "startDate": "2025-01-31T12:00:00Z",
        "stopDate": "2025-01-31T12:00:05Z",
    }
    assert answer.data["status"] is None
    history_call = dict(sfn.calls)["get_execution_history"]
    assert history_call["reverseOrder"] is True
    assert history_call["includeExecutionData"] is False
