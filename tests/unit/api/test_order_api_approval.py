"""POST /orders/{orderId}/approval: approvers answer the waiting task."""

from __future__ import annotations

import json
from typing import Any

import pytest
from order_api_support import (
    APPROVER,
    Aws,
    FakeStepFunctions,
    Invoke,
    Recording,
    StubJWKClient,
    TokenFactory,
    api_event,
    client_error,
    invoker,
    make_services,
)

from workflows.api.settings import ApiSettings

ORDER = "ord-20250131-0001"
TASK_TOKEN = "AQCEAAAAKgAAAAMAAAAA-task-token-secret"


@pytest.fixture
def recording(settings: ApiSettings, aws: Aws, tokens: TokenFactory) -> tuple[Invoke, Recording]:
    sfn = Recording(aws.sfn)
    services = make_services(settings, sfn=sfn, table=aws.table, jwks=StubJWKClient([tokens.key]))
    return invoker(services), sfn


def _approval(tokens: TokenFactory, body: dict[str, Any], subject: str = APPROVER) -> Any:
    return api_event("post_order_approval", token=tokens.approver(subject), body=body)


def test_approving_sends_task_success(
    recording: tuple[Invoke, Recording], aws: Aws, tokens: TokenFactory
) -> None:
    invoke, sfn = recording
    aws.put_order(ORDER, status="AWAITING_APPROVAL", approvalTaskToken=TASK_TOKEN)

    answer = invoke(_approval(tokens, {"decision": "APPROVE", "reason": "Known customer"}))

    assert answer.status == 200
    assert answer.body["data"] == {"orderId": ORDER, "decision": "APPROVE", "approver": APPROVER}
    [(operation, request)] = sfn.calls
    assert operation == "send_task_success"
    assert request["taskToken"] == TASK_TOKEN
    assert json.loads(request["output"]) == {
        "approved": True,
        "approver": APPROVER,
        "reason": "Known customer",
    }
    assert TASK_TOKEN not in json.dumps(answer.body)


@pytest.mark.parametrize(
    ("reason", "cause"),
    [("Address looks fraudulent", "Address looks fraudulent"), (None, f"Rejected by {APPROVER}")],
)
def test_rejecting_sends_task_failure(
    recording: tuple[Invoke, Recording],
    aws: Aws,
    tokens: TokenFactory,
    reason: str | None,
    cause: str,
) -> None:
    invoke, sfn = recording
    aws.put_order(ORDER, status="AWAITING_APPROVAL", approvalTaskToken=TASK_TOKEN)
    body: dict[str, Any] = {"decision": "REJECT"}
    if reason:
        body["reason"] = reason

    answer = invoke(_approval(tokens, body))

    assert answer.status == 200
    assert sfn.calls == [
        (
            "send_task_failure",
            {"taskToken": TASK_TOKEN, "error": "ApprovalRejected", "cause": cause},
        )
    ]


def test_an_unknown_order_is_not_found(
    recording: tuple[Invoke, Recording], tokens: TokenFactory
) -> None:
    invoke, sfn = recording
    answer = invoke(_approval(tokens, {"decision": "APPROVE"}))
    assert answer.status == 404
    assert sfn.calls == []


@pytest.mark.parametrize(
    "attributes",
    [
        {"status": "PENDING"},
        {"status": "CONFIRMED", "approvalTaskToken": TASK_TOKEN},
        {"status": "AWAITING_APPROVAL"},
    ],
)
def test_an_order_not_awaiting_approval_is_a_conflict(
    recording: tuple[Invoke, Recording],
    aws: Aws,
    tokens: TokenFactory,
    attributes: dict[str, Any],
) -> None:
    invoke, sfn = recording
    aws.put_order(ORDER, **attributes)
    answer = invoke(_approval(tokens, {"decision": "APPROVE"}))
    assert answer.status == 409
    assert answer.error_code == "not_awaiting_approval"
    assert sfn.calls == []


@pytest.mark.parametrize("code", ["TaskDoesNotExist", "TaskTimedOut", "InvalidToken"])
def test_a_task_that_is_gone_is_a_conflict(
    settings: ApiSettings, aws: Aws, tokens: TokenFactory, code: str
) -> None:
    aws.put_order(ORDER, status="AWAITING_APPROVAL", approvalTaskToken=TASK_TOKEN)
    sfn = FakeStepFunctions(failures={"send_task_success": client_error(code)})
    services = make_services(settings, sfn=sfn, table=aws.table, jwks=StubJWKClient([tokens.key]))
    answer = invoker(services)(_approval(tokens, {"decision": "APPROVE"}))
    assert answer.status == 409
    assert answer.error_code == "not_awaiting_approval"


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"decision": "MAYBE"}, ["body", "decision"]),
        ({}, ["body", "decision"]),
        ({"decision": "REJECT", "reason": "x" * 1001}, ["body", "reason"]),
        ({"decision": "APPROVE", "approver": "someone-else"}, ["body", "approver"]),
    ],
)
def test_invalid_decisions(
    call: Invoke, aws: Aws, tokens: TokenFactory, body: dict[str, Any], loc: list[str]
) -> None:
    aws.put_order(ORDER, status="AWAITING_APPROVAL", approvalTaskToken=TASK_TOKEN)
    answer = call(_approval(tokens, body))
    assert answer.status == 422
    assert loc in [detail["loc"] for detail in answer.body["error"]["details"]]


def test_malformed_json_is_a_bad_request(call: Invoke, tokens: TokenFactory) -> None:
    event = api_event("post_order_approval", token=tokens.approver(), raw_body="{'decision'")
    assert call(event).status == 400


def test_a_non_json_body_is_unsupported(call: Invoke, tokens: TokenFactory) -> None:
    event = api_event(
        "post_order_approval", token=tokens.approver(), headers={"Content-Type": "text/plain"}
    )
    assert call(event).status == 415


def test_an_oversized_body_is_refused(call: Invoke, tokens: TokenFactory) -> None:
    body = {"decision": "REJECT", "reason": "x" * 70_000}
    assert call(_approval(tokens, body)).status == 413
