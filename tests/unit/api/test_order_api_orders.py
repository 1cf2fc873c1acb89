"""POST /orders against moto's Step Functions."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any

import pytest
from order_api_support import (
    CUSTOMER,
    FROZEN_NOW,
    OTHER_CUSTOMER,
    Aws,
    Invoke,
    TokenFactory,
    api_event,
    execution_arn_of,
    invoker,
    make_services,
    order_body,
)

from workflows.api.settings import ApiSettings


def test_placing_an_order_starts_the_workflow(call: Invoke, aws: Aws, tokens: TokenFactory) -> None:
    answer = call(api_event("post_orders", token=tokens.customer()))

    assert answer.status == 202
    assert answer.headers["location"] == "/orders/ord-20250131-0001"
    assert answer.body == {
        "success": True,
        "data": {
            "orderId": "ord-20250131-0001",
            "executionArn": execution_arn_of("ord-20250131-0001"),
            "status": "RUNNING",
            "startDate": answer.data["startDate"],
        },
        "error": None,
        "message": "Order accepted.",
    }
    [execution] = aws.executions()
    assert execution["name"] == "ord-20250131-0001"
    assert aws.execution_input(execution["executionArn"]) == {
        **order_body(),
        "customerId": CUSTOMER,
        "requestedAt": "2025-01-31T12:00:00.000Z",
    }


def test_the_customer_comes_from_the_token_never_the_body(
    call: Invoke, aws: Aws, tokens: TokenFactory
) -> None:
    event = api_event("post_orders", token=tokens.customer(), body=order_body(customerId="x"))
    answer = call(event)
    assert answer.status == 422
    assert answer.body["error"]["details"] == [
        {
            "loc": ["body", "customerId"],
            "type": "extra_forbidden",
            "message": answer.body["error"]["details"][0]["message"],
        }
    ]
    assert aws.executions() == []


def test_an_order_id_is_generated_when_absent(call: Invoke, aws: Aws, tokens: TokenFactory) -> None:
    body = order_body()
    del body["orderId"]
    answer = call(api_event("post_orders", token=tokens.customer(), body=body))
    assert answer.status == 202
    assert answer.data["orderId"] == "ord-generated-0001"
    assert [e["name"] for e in aws.executions()] == ["ord-generated-0001"]


def test_repeating_a_request_returns_the_same_execution(
    call: Invoke, aws: Aws, tokens: TokenFactory
) -> None:
    first = call(api_event("post_orders", token=tokens.customer()))
    second = call(api_event("post_orders", token=tokens.customer()))
    assert first.status == second.status == 202
    assert first.data["executionArn"] == second.data["executionArn"]
    assert len(aws.executions()) == 1


def test_a_later_repeat_is_replayed_not_restarted(
    aws: Aws, settings: ApiSettings, tokens: TokenFactory
) -> None:
    """A retry minutes later has another requestedAt: AWS says the name exists, the API
    compares the orders and answers with the existing execution."""
    now = [FROZEN_NOW]
    services = make_services(
        settings, sfn=aws.sfn, table=aws.table, jwks=None, clock=lambda: now[0]
    )
    invoke = invoker(_with_jwks(services, tokens))
    first = invoke(api_event("post_orders", token=tokens.customer()))
    now[0] = FROZEN_NOW + timedelta(minutes=3)
    again = invoke(api_event("post_orders", token=tokens.customer()))

    assert again.status == 202
    assert again.headers["idempotent-replayed"] == "true"
    assert again.data["executionArn"] == first.data["executionArn"]
    assert again.data["status"] == "RUNNING"
    assert len(aws.executions()) == 1
    assert aws.execution_input(first.data["executionArn"])["requestedAt"] == (
        "2025-01-31T12:00:00.000Z"
    )


def test_the_same_order_id_with_other_content_is_a_conflict(
    call: Invoke, aws: Aws, tokens: TokenFactory
) -> None:
    assert call(api_event("post_orders", token=tokens.customer())).status == 202
    changed = order_body(currency="USD")
    answer = call(api_event("post_orders", token=tokens.customer(), body=changed))
    assert answer.status == 409
    assert answer.error_code == "order_conflict"
    assert len(aws.executions()) == 1


def test_another_customer_reusing_an_order_id_is_a_conflict(
    call: Invoke, aws: Aws, tokens: TokenFactory
) -> None:
    assert call(api_event("post_orders", token=tokens.customer())).status == 202
    answer = call(api_event("post_orders", token=tokens.customer(OTHER_CUSTOMER)))
    assert answer.status == 409
    assert "customer-1" not in json.dumps(answer.body)


def test_an_idempotency_key_names_the_execution(
    call: Invoke, aws: Aws, tokens: TokenFactory
) -> None:
    body = order_body()
    del body["orderId"]

    def place(subject: str) -> Any:
        event = api_event(
            "post_orders",
            token=tokens.customer(subject),
            body=body,
            headers={"Idempotency-Key": "checkout-7c1e"},
        )
        return call(event)

    first, repeat, other = place(CUSTOMER), place(CUSTOMER), place(OTHER_CUSTOMER)
    assert first.status == repeat.status == other.status == 202
    assert first.data["orderId"] == repeat.data["orderId"]
    assert first.data["orderId"].startswith("ord-")
    assert other.data["orderId"] != first.data["orderId"]  # keys are scoped to the caller
    assert len(aws.executions()) == 2


def test_an_order_id_in_the_body_wins_over_the_idempotency_key(
    call: Invoke, tokens: TokenFactory
) -> None:
    event = api_event("post_orders", token=tokens.customer(), headers={"Idempotency-Key": "k"})
    assert call(event).data["orderId"] == "ord-20250131-0001"


def test_an_oversized_idempotency_key_is_invalid(call: Invoke, tokens: TokenFactory) -> None:
    event = api_event(
        "post_orders", token=tokens.customer(), headers={"Idempotency-Key": "k" * 300}
    )
    answer = call(event)
    assert answer.status == 422
    assert answer.body["error"]["details"][0]["loc"] == ["header", "idempotency-key"]


@pytest.mark.parametrize(
    ("raw_body", "status", "code"),
    [
        pytest.param("{not json", 400, "malformed_json", id="malformed"),
        pytest.param('{"a": 1', 400, "malformed_json", id="truncated"),
        pytest.param("[" * 5000 + "]" * 5000, 400, "json_too_deep", id="deeply-nested"),
        pytest.param('{"a":' * 33 + "1" + "}" * 33, 400, "json_too_deep", id="nested-objects"),
        pytest.param("", 422, "validation_error", id="empty"),
        pytest.param("[]", 422, "validation_error", id="array"),
        pytest.param("null", 422, "validation_error", id="null"),
        pytest.param('"text"', 422, "validation_error", id="string"),
    ],
)
def test_bodies_that_are_not_an_order(
    call: Invoke, aws: Aws, tokens: TokenFactory, raw_body: str, status: int, code: str
) -> None:
    answer = call(api_event("post_orders", token=tokens.customer(), raw_body=raw_body))
    assert (answer.status, answer.error_code) == (status, code)
    assert answer.body["success"] is False
    assert aws.executions() == []


@pytest.mark.parametrize(
    "content_type",
    [
        None,
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/jsonp",
    ],
)
def test_only_json_is_accepted(
    call: Invoke, aws: Aws, tokens: TokenFactory, content_type: str | None
) -> None:
    event = api_event(
        "post_orders", token=tokens.customer(), headers={"Content-Type": content_type}
    )
    answer = call(event)
    assert answer.status == 415
    assert answer.error_code == "unsupported_media_type"
    assert aws.executions() == []


@pytest.mark.parametrize(
    "content_type", ["application/json; charset=utf-8", "APPLICATION/JSON", "Application/Json ;x=y"]
)
def test_json_media_type_variants(call: Invoke, tokens: TokenFactory, content_type: str) -> None:
    event = api_event(
        "post_orders", token=tokens.customer(), headers={"Content-Type": content_type}
    )
    assert call(event).status == 202


def test_a_base64_encoded_body_is_accepted(call: Invoke, tokens: TokenFactory) -> None:
    event = api_event("post_orders", token=tokens.customer())
    event["body"] = base64.b64encode(event["body"].encode()).decode()
    event["isBase64Encoded"] = True
    assert call(event).status == 202


def test_a_body_over_the_limit_is_refused(call: Invoke, aws: Aws, tokens: TokenFactory) -> None:
    body = order_body(shippingAddress={"name": "x" * 70_000})
    answer = call(api_event("post_orders", token=tokens.customer(), body=body))
    assert answer.status == 413
    assert answer.body["error"]["details"] == {"maxBytes": 65536}
    assert aws.executions() == []


def test_the_body_limit_is_configurable(
    aws: Aws, settings: ApiSettings, tokens: TokenFactory
) -> None:
    from order_api_support import StubJWKClient

    small = settings.model_copy(update={"max_body_bytes": 100})
    services = make_services(small, sfn=aws.sfn, table=aws.table, jwks=StubJWKClient([tokens.key]))
    answer = invoker(services)(api_event("post_orders", token=tokens.customer()))
    assert answer.status == 413


@pytest.mark.parametrize(
    ("change", "loc"),
    [
        ({"items": []}, ["body", "items"]),
        ({"items": [{"productId": "p", "quantity": 0}]}, ["body", "items", 0, "quantity"]),
        ({"items": [{"productId": "p", "quantity": "2"}]}, ["body", "items", 0, "quantity"]),
        ({"items": [{"productId": "p", "quantity": 1}] * 51}, ["body", "items"]),
        ({"items": [{"productId": "", "quantity": 1}]}, ["body", "items", 0, "productId"]),
        ({"currency": "JPY"}, ["body", "currency"]),
        ({"paymentToken": ""}, ["body", "paymentToken"]),
        ({"orderId": "has spaces"}, ["body", "orderId"]),
        ({"orderId": "x" * 65}, ["body", "orderId"]),
        (
            {
                "shippingAddress": {
                    "name": "A",
                    "line1": "B",
                    "city": "C",
                    "postalCode": "1",
                    "country": "gb",
                }
            },
            ["body", "shippingAddress", "country"],
        ),
        (
            {"shippingAddress": {"name": "A", "line1": "B", "city": "C", "country": "GB"}},
            ["body", "shippingAddress", "postalCode"],
        ),
        ({"requestedAt": "2020-01-01T00:00:00Z"}, ["body", "requestedAt"]),
    ],
)
def test_validation_errors_name_the_failing_field(
    call: Invoke, aws: Aws, tokens: TokenFactory, change: dict[str, Any], loc: list[Any]
) -> None:
    answer = call(api_event("post_orders", token=tokens.customer(), body=order_body(**change)))
    assert answer.status == 422
    assert answer.error_code == "validation_error"
    assert loc in [detail["loc"] for detail in answer.body["error"]["details"]]
    assert aws.executions() == []


def test_a_missing_field_is_reported(call: Invoke, tokens: TokenFactory) -> None:
    body = order_body()
    del body["currency"]
    answer = call(api_event("post_orders", token=tokens.customer(), body=body))
    assert answer.status == 422
    [detail] = answer.body["error"]["details"]
    assert detail["loc"] == ["body", "currency"]
    assert detail["type"] == "missing"


def test_validation_errors_do_not_echo_the_payment_token(
    call: Invoke, tokens: TokenFactory
) -> None:
    body = order_body(paymentToken=12345678901234)
    answer = call(api_event("post_orders", token=tokens.customer(), body=body))
    assert answer.status == 422
    assert "12345678901234" not in json.dumps(answer.body)


def test_unknown_routes_are_404(call: Invoke, tokens: TokenFactory) -> None:
    answer = call(api_event("get_order", token=tokens.customer(), path="/nothing/here"))
    assert answer.status == 404
    assert answer.error_code == "route_not_found"
    assert answer.body["success"] is False


def _with_jwks(services: Any, tokens: TokenFactory) -> Any:
    from dataclasses import replace

    from order_api_support import StubJWKClient

    verifier = replace(services.verifier, jwks=StubJWKClient([tokens.key]))
    return replace(services, verifier=verifier)
