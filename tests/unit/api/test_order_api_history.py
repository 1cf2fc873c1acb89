"""GET /executions/{executionArn}/history: events, paginated, secrets masked."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest
from order_api_support import (
    ACCOUNT,
    FROZEN_NOW,
    OTHER_CUSTOMER,
    REGION,
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
ARN = execution_arn_of(ORDER)


def _history(arn: str = ARN, *, encode: bool = True, **kwargs: object) -> dict[str, object]:
    segment = quote(arn, safe="") if encode else arn
    return api_event("get_execution_history", path=f"/executions/{segment}/history", **kwargs)  # type: ignore[arg-type]


def test_the_history_of_an_own_execution(call: Invoke, tokens: TokenFactory) -> None:
    assert call(api_event("post_orders", token=tokens.customer())).status == 202
    answer = call(api_event("get_execution_history", token=tokens.customer()))

    assert answer.status == 200
    events = answer.data["events"]
    assert [event["type"] for event in events] == [
        "ExecutionStarted",
        "PassStateEntered",
        "PassStateExited",
        "ExecutionSucceeded",
    ]
    assert events[0]["timestamp"] == "2020-01-01T00:00:00.000Z"
    assert events[0]["id"] == 1
    assert events[0]["previousEventId"] == 0
    assert events[1]["stateEnteredEventDetails"]["name"] == "A State"
    assert answer.data["nextToken"] is None


@pytest.mark.parametrize("encode", [True, False])
def test_the_arn_may_be_url_encoded_or_not(
    call: Invoke, tokens: TokenFactory, encode: bool
) -> None:
    assert call(api_event("post_orders", token=tokens.customer())).status == 202
    answer = call(_history(encode=encode, token=tokens.customer()))
    assert answer.status == 200


def test_other_customers_executions_are_not_found(call: Invoke, tokens: TokenFactory) -> None:
    assert call(api_event("post_orders", token=tokens.customer())).status == 202
    answer = call(api_event("get_execution_history", token=tokens.customer(OTHER_CUSTOMER)))
    assert answer.status == 404
    assert answer.error_code == "execution_not_found"


def test_approvers_read_every_execution(call: Invoke, tokens: TokenFactory) -> None:
    assert call(api_event("post_orders", token=tokens.customer())).status == 202
    assert call(api_event("get_execution_history", token=tokens.approver())).status == 200


@pytest.mark.parametrize(
    "arn",
    [
        pytest.param(execution_arn_of("ord-missing"), id="no-such-execution"),
        pytest.param(
            f"arn:aws:states:{REGION}:{ACCOUNT}:execution:PayrollWorkflow:{ORDER}",
            id="other-state-machine",
        ),
        pytest.param(f"arn:aws:states:us-east-1:{ACCOUNT}:execution:OrderWorkflow:x", id="region"),
        pytest.param("not-an-arn", id="garbage"),
    ],
)
def test_unknown_or_foreign_executions_are_not_found(
    call: Invoke, tokens: TokenFactory, arn: str
) -> None:
    for token in (tokens.customer(), tokens.approver()):
        answer = call(_history(arn, token=token))
        assert answer.status == 404
        assert answer.error_code == "execution_not_found"


@pytest.mark.parametrize(
    ("query", "loc"),
    [
        ({"limit": "0"}, ["query", "limit"]),
        ({"limit": "1001"}, ["query", "limit"]),
        ({"limit": "ten"}, ["query", "limit"]),
        ({"reverseOrder": "sideways"}, ["query", "reverseOrder"]),
    ],
)
def test_invalid_query_parameters(
    call: Invoke, tokens: TokenFactory, query: dict[str, str], loc: list[str]
) -> None:
    answer = call(api_event("get_execution_history", token=tokens.approver(), query=query))
    assert answer.status == 422
    assert answer.body["error"]["details"][0]["loc"] == loc


@pytest.fixture
def paged(
    settings: ApiSettings, aws: Aws, tokens: TokenFactory
) -> tuple[Invoke, FakeStepFunctions]:
    sfn = FakeStepFunctions()
    sfn.executions[ARN] = {
        "executionArn": ARN,
        "input": json.dumps(workflow_input(ORDER)),
        "status": "RUNNING",
        "startDate": FROZEN_NOW,
    }
    sfn.histories[ARN] = [
        {
            "id": 1,
            "type": "ExecutionStarted",
            "previousEventId": 0,
            "timestamp": FROZEN_NOW,
            "executionStartedEventDetails": {"input": json.dumps(workflow_input(ORDER))},
        },
        {
            "id": 2,
            "type": "TaskStateEntered",
            "previousEventId": 1,
            "timestamp": FROZEN_NOW,
            "stateEnteredEventDetails": {"name": "WaitForApproval", "input": "{}"},
        },
        {
            "id": 3,
            "type": "TaskScheduled",
            "previousEventId": 2,
            "timestamp": FROZEN_NOW,
            "taskScheduledEventDetails": {
                "resource": "invoke.waitForTaskToken",
                "parameters": '{"FunctionName":"request-approval","Payload":'
                '{"orderId":"ord-1","taskToken":"AQC-secret-task-token"}}',
            },
        },
    ]
    services = make_services(settings, sfn=sfn, table=aws.table, jwks=StubJWKClient([tokens.key]))
    return invoker(services), sfn


def test_history_is_paginated(
    paged: tuple[Invoke, FakeStepFunctions], tokens: TokenFactory
) -> None:
    invoke, sfn = paged
    first = invoke(
        api_event("get_execution_history", token=tokens.customer(), query={"limit": "2"})
    )
    assert first.status == 200
    assert [event["id"] for event in first.data["events"]] == [1, 2]
    token = first.data["nextToken"]
    assert token

    second = invoke(
        api_event(
            "get_execution_history",
            token=tokens.customer(),
            query={"limit": "2", "nextToken": token},
        )
    )
    assert [event["id"] for event in second.data["events"]] == [3]
    assert second.data["nextToken"] is None
    requests = [request for operation, request in sfn.calls if operation == "get_execution_history"]
    assert requests[-1] == {
        "executionArn": ARN,
        "maxResults": 2,
        "reverseOrder": False,
        "includeExecutionData": True,
        "nextToken": token,
    }


def test_history_in_reverse(paged: tuple[Invoke, FakeStepFunctions], tokens: TokenFactory) -> None:
    invoke, _ = paged
    query = {"reverseOrder": "true"}
    answer = invoke(api_event("get_execution_history", token=tokens.customer(), query=query))
    assert [event["id"] for event in answer.data["events"]] == [3, 2, 1]


def test_an_invalid_next_token_is_a_validation_error(
    paged: tuple[Invoke, FakeStepFunctions], tokens: TokenFactory
) -> None:
    invoke, _ = paged
    query = {"nextToken": "forged"}
    answer = invoke(api_event("get_execution_history", token=tokens.customer(), query=query))
    assert answer.status == 422
    assert answer.body["error"]["details"][0]["loc"] == ["query", "nextToken"]


def test_secrets_in_history_are_masked(
    paged: tuple[Invoke, FakeStepFunctions], tokens: TokenFactory
) -> None:
    invoke, _ = paged
    answer = invoke(api_event("get_execution_history", token=tokens.customer()))
    text = json.dumps(answer.body)
    assert "pm_tok_" not in text
    assert "AQC-secret-task-token" not in text
    started = json.loads(answer.data["events"][0]["executionStartedEventDetails"]["input"])
    assert started["paymentToken"] == "***"
    assert started["orderId"] == ORDER
    assert answer.data["events"][0]["timestamp"] == "2025-01-31T12:00:00.000Z"
