"""Step Functions and DynamoDB throttling and outages become 429/503 with Retry-After."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError
from botocore.stub import ANY, Stubber
from order_api_support import (
    CUSTOMER,
    REGION,
    STATE_MACHINE_ARN,
    FakeStepFunctions,
    StubJWKClient,
    TokenFactory,
    api_event,
    client_error,
    invoker,
    make_services,
    order_body,
)

from workflows.api.settings import ApiSettings


class EmptyTable:
    def get_item(self, **kwargs: Any) -> dict[str, Any]:
        return {}


@pytest.fixture
def stubbed(aws_env: None) -> Any:
    client = boto3.client("stepfunctions", region_name=REGION)
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


@pytest.mark.parametrize(
    ("code", "status", "retry_after"),
    [
        ("ThrottlingException", 429, "1"),
        ("TooManyRequestsException", 429, "1"),
        ("ServiceUnavailable", 503, "5"),
        ("InternalServerError", 503, "5"),
    ],
)
def test_start_execution_throttled(
    stubbed: Any,
    settings: ApiSettings,
    tokens: TokenFactory,
    code: str,
    status: int,
    retry_after: str,
) -> None:
    client, stubber = stubbed
    expected = {
        "stateMachineArn": STATE_MACHINE_ARN,
        "name": "ord-20250131-0001",
        "input": ANY,
    }
    stubber.add_client_error(
        "start_execution",
        service_error_code=code,
        http_status_code=status,
        expected_params=expected,
    )
    services = make_services(
        settings, sfn=client, table=EmptyTable(), jwks=StubJWKClient([tokens.key])
    )

    answer = invoker(services)(api_event("post_orders", token=tokens.customer()))

    assert answer.status == status
    assert answer.headers["retry-after"] == retry_after
    assert answer.body["success"] is False
    assert answer.body["error"]["details"] == {"service": "Step Functions", "awsErrorCode": code}


def test_the_exact_start_execution_call(
    stubbed: Any, settings: ApiSettings, tokens: TokenFactory
) -> None:
    client, stubber = stubbed
    workflow_input = {
        "orderId": "ord-20250131-0001",
        "customerId": CUSTOMER,
        **{k: v for k, v in order_body().items() if k != "orderId"},
        "requestedAt": "2025-01-31T12:00:00.000Z",
    }
    stubber.add_response(
        "start_execution",
        {"executionArn": "arn:aws:states:eu-west-1:1:execution:M:x", "startDate": 0},
        {"stateMachineArn": STATE_MACHINE_ARN, "name": "ord-20250131-0001", "input": ANY},
    )
    sent: list[dict[str, Any]] = []
    client.meta.events.register(
        "provide-client-params.stepfunctions.StartExecution",
        lambda params, **_: sent.append(params),
    )
    services = make_services(
        settings, sfn=client, table=EmptyTable(), jwks=StubJWKClient([tokens.key])
    )
    assert invoker(services)(api_event("post_orders", token=tokens.customer())).status == 202
    assert json.loads(sent[0]["input"]) == workflow_input


def test_describe_throttled_on_get(
    stubbed: Any, settings: ApiSettings, tokens: TokenFactory
) -> None:
    client, stubber = stubbed
    stubber.add_client_error("describe_execution", service_error_code="ThrottlingException")
    services = make_services(
        settings, sfn=client, table=EmptyTable(), jwks=StubJWKClient([tokens.key])
    )
    answer = invoker(services)(api_event("get_order", token=tokens.customer()))
    assert answer.status == 429
    assert answer.headers["retry-after"] == "1"


def test_dynamodb_throttled(aws_env: None, settings: ApiSettings, tokens: TokenFactory) -> None:
    table = boto3.resource("dynamodb", region_name=REGION).Table("orders")
    with Stubber(table.meta.client) as stubber:
        stubber.add_client_error(
            "get_item", service_error_code="ProvisionedThroughputExceededException"
        )
        services = make_services(
            settings, sfn=FakeStepFunctions(), table=table, jwks=StubJWKClient([tokens.key])
        )
        answer = invoker(services)(api_event("get_order", token=tokens.customer()))
    assert answer.status == 429
    assert answer.body["error"]["details"]["service"] == "DynamoDB"


def test_an_unreachable_endpoint_is_a_503(settings: ApiSettings, tokens: TokenFactory) -> None:
    sfn = FakeStepFunctions(
        failures={"start_execution": EndpointConnectionError(endpoint_url="http://127.0.0.1:9")}
    )
    services = make_services(
        settings, sfn=sfn, table=EmptyTable(), jwks=StubJWKClient([tokens.key])
    )
    answer = invoker(services)(api_event("post_orders", token=tokens.customer()))
    assert answer.status == 503
    assert answer.headers["retry-after"] == "5"


def test_throttled_approval(settings: ApiSettings, tokens: TokenFactory) -> None:
    class AwaitingTable:
        def get_item(self, **kwargs: Any) -> dict[str, Any]:
            item = {"status": "AWAITING_APPROVAL", "approvalTaskToken": "t", "customerId": "c"}
            return {"Item": item}

    sfn = FakeStepFunctions(failures={"send_task_success": client_error("ThrottlingException")})
    services = make_services(
        settings, sfn=sfn, table=AwaitingTable(), jwks=StubJWKClient([tokens.key])
    )
    answer = invoker(services)(api_event("post_order_approval", token=tokens.approver()))
    assert answer.status == 429
    assert answer.headers["retry-after"] == "1"


def test_other_aws_errors_are_a_500_without_details(
    settings: ApiSettings, tokens: TokenFactory
) -> None:
    sfn = FakeStepFunctions(
        failures={"start_execution": client_error("AccessDeniedException", "not authorized")}
    )
    services = make_services(
        settings, sfn=sfn, table=EmptyTable(), jwks=StubJWKClient([tokens.key])
    )
    answer = invoker(services)(api_event("post_orders", token=tokens.customer()))
    assert answer.status == 500
    assert answer.body["error"] == {
        "code": "internal_error",
        "message": "Something went wrong on our side.",
        "details": None,
    }
