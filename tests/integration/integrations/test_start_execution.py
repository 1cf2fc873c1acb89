"""``states:startExecution`` (request, ``.sync``, ``.sync:2``): injected runtime and boto3."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.integration.integrations.conftest import REGION, task_machine
from workflows.engine import StateMachine, StatesError, VirtualClock
from workflows.integrations import aws_integrations

CHILD = StateMachine(
    {
        "StartAt": "Check",
        "States": {
            "Check": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.amount", "NumericGreaterThan": 100, "Next": "Deny"}],
                "Default": "Approve",
            },
            "Approve": {"Type": "Pass", "Parameters": {"approved": True}, "End": True},
            "Deny": {"Type": "Fail", "Error": "TooExpensive", "Cause": "amount over 100"},
        },
    },
    name="Approval",
)


class FakeRuntime:
    """Runs the child on the engine, as the local runtime would, and records the calls."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any, str | None, bool]] = []
        self.parents: list[str | None] = []

    async def __call__(
        self,
        state_machine_arn: str,
        input: str,
        name: str | None,
        *,
        wait: bool,
        parent: str | None = None,
    ) -> Mapping[str, Any]:
        self.parents.append(parent)
        self.calls.append((state_machine_arn, json.loads(input), name, wait))
        if state_machine_arn != CHILD.arn:
            raise StatesError(
                "StepFunctions.StateMachineDoesNotExistException",
                f"State Machine Does Not Exist: '{state_machine_arn}'",
            )
        run_name = name or "child-run"
        arn = f"{CHILD.arn.replace(':stateMachine:', ':execution:')}:{run_name}"
        start = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
        if not wait:
            return {"executionArn": arn, "startDate": start}
        result = await CHILD.execute(json.loads(input), name=run_name, clock=VirtualClock())
        described: dict[str, Any] = {
            "executionArn": result.execution_arn,
            "stateMachineArn": CHILD.arn,
            "name": result.name,
            "status": result.status,
            "startDate": start,
            "stopDate": datetime(2024, 5, 1, 12, 0, 1, tzinfo=UTC),
            "input": input,
            "inputDetails": {"included": True},
        }
        if result.status == "SUCCEEDED":
            described["output"] = json.dumps(result.output)
            described["outputDetails"] = {"included": True}
        else:
            described["error"] = result.error
            described["cause"] = result.cause
        return described


def _parent(resource: str, **extra: Any) -> StateMachine:
    state: dict[str, Any] = {
        "Resource": resource,
        "Parameters": {
            "StateMachineArn": CHILD.arn,
            "Input": {"amount.$": "$.amount"},
            "Name.$": "$.name",
        },
    }
    if "Catch" in extra:
        state["Catch"] = extra["Catch"]
        return task_machine(state, Denied={"Type": "Pass", "End": True})
    return task_machine(state)


def test_request_response_returns_execution_arn_and_start_date() -> None:
    runtime = FakeRuntime()
    integrations = aws_integrations(start_execution=runtime)
    result = _parent("arn:aws:states:::states:startExecution").run(
        {"amount": 5, "name": "r1"}, integrations=integrations, clock=VirtualClock()
    )

    assert result.status == "SUCCEEDED", result.cause
    assert runtime.calls == [(CHILD.arn, {"amount": 5}, "r1", False)]
    assert runtime.parents == [result.execution_arn]  # the runtime is told whose Task it is
    assert list(result.output) == [
        "ExecutionArn",
        "SdkHttpMetadata",
        "SdkResponseMetadata",
        "StartDate",
    ]
    assert result.output["ExecutionArn"].endswith(":execution:Approval:r1")
    assert result.output["StartDate"] == 1714564800000


def test_sync_returns_describe_execution_with_output_as_json_text() -> None:
    result = _parent("arn:aws:states:::states:startExecution.sync").run(
        {"amount": 5, "name": "s1"},
        integrations=aws_integrations(start_execution=FakeRuntime()),
        clock=VirtualClock(),
    )

    assert result.status == "SUCCEEDED", result.cause
    output = result.output
    assert output["Status"] == "SUCCEEDED"
    assert output["Output"] == '{"approved": true}'
    assert output["Input"] == '{"amount":5}'
    assert output["OutputDetails"] == {"Included": True}
    assert output["StartDate"] == 1714564800000
    assert output["StopDate"] == 1714564801000
    assert output["StateMachineArn"] == CHILD.arn


def test_sync2_parses_input_and_output() -> None:
    result = _parent("arn:aws:states:::states:startExecution.sync:2").run(
        {"amount": 5, "name": "s2"},
        integrations=aws_integrations(start_execution=FakeRuntime()),
        clock=VirtualClock(),
    )

    assert result.status == "SUCCEEDED", result.cause
    assert result.output["Output"] == {"approved": True}
    assert result.output["Input"] == {"amount": 5}


def test_a_failed_child_fails_the_task_with_states_task_failed() -> None:
    parent = _parent(
        "arn:aws:states:::states:startExecution.sync:2",
        Catch=[{"ErrorEquals": ["States.TaskFailed"], "ResultPath": "$.error", "Next": "Denied"}],
    )
    result = parent.run(
        {"amount": 500, "name": "f1"},
        integrations=aws_integrations(start_execution=FakeRuntime()),
        clock=VirtualClock(),
    )

    assert result.status == "SUCCEEDED"
    assert result.output["error"]["Error"] == "States.TaskFailed"
    cause = json.loads(result.output["error"]["Cause"])
    assert cause["Status"] == "FAILED"
    assert cause["Error"] == "TooExpensive"
    assert cause["Cause"] == "amount over 100"
    assert cause["ExecutionArn"].endswith(":execution:Approval:f1")


def test_errors_raised_by_the_runtime_reach_the_execution() -> None:
    machine = task_machine(
        {
            "Resource": "arn:aws:states:::states:startExecution",
            "Parameters": {
                "StateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:X"
            },
        }
    )
    result = machine.run(
        {}, integrations=aws_integrations(start_execution=FakeRuntime()), clock=VirtualClock()
    )
    assert result.status == "FAILED"
    assert result.error == "StepFunctions.StateMachineDoesNotExistException"


# ------------------------------------------------------------- boto3 (moto) path


@pytest.fixture
def moto_child(aws: boto3.Session) -> tuple[Any, str]:
    sfn = aws.client("stepfunctions")
    arn = sfn.create_state_machine(
        name="Child",
        definition=json.dumps({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}}),
        roleArn="arn:aws:iam::123456789012:role/sfn",
    )["stateMachineArn"]
    return sfn, arn


def test_request_response_through_boto3(moto_child: tuple[Any, str]) -> None:
    sfn, arn = moto_child
    integrations = aws_integrations(lambda: boto3.Session(region_name=REGION))
    machine = task_machine(
        {
            "Resource": "arn:aws:states:::states:startExecution",
            "Parameters": {"StateMachineArn": arn, "Input": {"a": 1}, "Name": "via-boto"},
        }
    )
    result = machine.run({}, integrations=integrations, clock=VirtualClock())

    assert result.status == "SUCCEEDED", result.cause
    assert result.output["ExecutionArn"].endswith(":execution:Child:via-boto")
    assert isinstance(result.output["StartDate"], int)
    assert result.output["SdkHttpMetadata"]["HttpStatusCode"] == 200
    described = sfn.describe_execution(executionArn=result.output["ExecutionArn"])
    assert json.loads(described["input"]) == {"a": 1}


async def test_sync_through_boto3_polls_until_the_child_ends(moto_child: tuple[Any, str]) -> None:
    sfn, arn = moto_child
    integrations = aws_integrations(lambda: boto3.Session(region_name=REGION))
    machine = task_machine(
        {
            "Resource": "arn:aws:states:::states:startExecution.sync",
            "Parameters": {"StateMachineArn": arn, "Name": "polled"},
        }
    )
    execution = asyncio.ensure_future(
        machine.execute({}, integrations=integrations, clock=VirtualClock())
    )
    child_arn = arn.replace(":stateMachine:", ":execution:") + ":polled"
    for _ in range(500):  # moto never finishes an execution by itself: stop it
        await asyncio.sleep(0.01)
        try:
            sfn.stop_execution(executionArn=child_arn, error="Stopped", cause="by the test")
            break
        except sfn.exceptions.ExecutionDoesNotExist:
            continue
    result = await asyncio.wait_for(execution, 30)

    assert result.status == "FAILED"
    assert result.error == "States.TaskFailed"
    cause = json.loads(result.cause or "{}")
    assert cause["Status"] == "ABORTED"
    assert cause["ExecutionArn"] == child_arn


def test_missing_state_machine_through_boto3(aws: boto3.Session) -> None:
    integrations = aws_integrations(lambda: boto3.Session(region_name=REGION))
    machine = task_machine(
        {
            "Resource": "arn:aws:states:::states:startExecution",
            "Parameters": {
                "StateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:Nope"
            },
        }
    )
    result = machine.run({}, integrations=integrations, clock=VirtualClock())
    assert result.status == "FAILED"
    assert result.error == "StepFunctions.StateMachineDoesNotExistException"
    assert (
        "(Service: AWSStepFunctions; Status Code: 400; Error Code: StateMachineDoesNotExist;"
        in (result.cause or "")
    )


# ------------------------------------------------------------ as AWS answers it


def test_sync_results_carry_the_redrive_fields_aws_returns() -> None:
    result = _parent("arn:aws:states:::states:startExecution.sync").run(
        {"amount": 5, "name": "r2"},
        integrations=aws_integrations(start_execution=FakeRuntime()),
        clock=VirtualClock(),
    )
    assert result.status == "SUCCEEDED", result.cause
    assert list(result.output) == [
        "ExecutionArn",
        "Input",
        "InputDetails",
        "Name",
        "Output",
        "OutputDetails",
        "RedriveCount",
        "RedriveStatus",
        "RedriveStatusReason",
        "StartDate",
        "StateMachineArn",
        "Status",
        "StopDate",
    ]
    assert result.output["RedriveCount"] == 0
    assert result.output["RedriveStatus"] == "NOT_REDRIVABLE"
    assert result.output["RedriveStatusReason"] == "Execution is SUCCEEDED and cannot be redriven"

    failed = _parent("arn:aws:states:::states:startExecution.sync:2").run(
        {"amount": 500, "name": "r3"},
        integrations=aws_integrations(start_execution=FakeRuntime()),
        clock=VirtualClock(),
    )
    cause = json.loads(failed.cause or "{}")
    assert (cause["RedriveCount"], cause["RedriveStatus"]) == (0, "REDRIVABLE")
    assert "RedriveStatusReason" not in cause


def test_sync_tasks_see_their_task_token() -> None:
    runtime = FakeRuntime()
    machine = task_machine(
        {
            "Resource": "arn:aws:states:::states:startExecution.sync:2",
            "Parameters": {
                "StateMachineArn": CHILD.arn,
                "Input": {"amount": 1, "parentToken.$": "$$.Task.Token"},
            },
        }
    )
    result = machine.run(
        {}, integrations=aws_integrations(start_execution=runtime), clock=VirtualClock()
    )
    assert result.status == "SUCCEEDED", result.cause
    ((_, child_input, _, wait),) = runtime.calls
    assert wait is True
    assert re.fullmatch(r"[0-9a-f]{64}", child_input["parentToken"])
    kinds = [event["type"] for event in result.history]
    assert "TaskSubmitted" not in kinds  # only callbacks wait for their token


def test_a_null_input_starts_the_child_without_one() -> None:
    runtime = FakeRuntime()
    machine = task_machine(
        {
            "Resource": "arn:aws:states:::states:startExecution",
            "Parameters": {"StateMachineArn": CHILD.arn, "Input": None},
        }
    )
    result = machine.run(
        {}, integrations=aws_integrations(start_execution=runtime), clock=VirtualClock()
    )
    assert result.status == "SUCCEEDED", result.cause
    assert runtime.calls[0][1] == {}


def test_request_response_metadata_is_step_functions_answer() -> None:
    result = _parent("arn:aws:states:::states:startExecution").run(
        {"amount": 5, "name": "m1"},
        integrations=aws_integrations(start_execution=FakeRuntime()),
        clock=VirtualClock(),
    )
    http = result.output["SdkHttpMetadata"]
    assert list(http["AllHttpHeaders"]) == [
        "x-amzn-RequestId",
        "connection",
        "Content-Length",
        "Date",
        "Content-Type",
    ]
    body = f'{{"executionArn":"{result.output["ExecutionArn"]}","startDate":1.7145648E9}}'
    assert http["HttpHeaders"]["Content-Length"] == str(len(body))
    assert http["HttpHeaders"]["connection"] == "keep-alive"


def test_a_runtime_client_error_gets_the_sdk_suffix() -> None:
    async def missing(
        state_machine_arn: str, input: str, name: str | None, *, wait: bool, parent: str | None
    ) -> Any:
        raise ClientError(
            {
                "Error": {
                    "Code": "StateMachineDoesNotExist",
                    "Message": f"State Machine Does Not Exist: '{state_machine_arn}'",
                },
                "ResponseMetadata": {"HTTPStatusCode": 400, "RequestId": "req-9"},
            },
            "StartExecution",
        )

    gone = "arn:aws:states:us-east-1:123456789012:stateMachine:Gone"
    machine = task_machine(
        {
            "Resource": "arn:aws:states:::states:startExecution.sync",
            "Parameters": {"StateMachineArn": gone},
        }
    )
    result = machine.run(
        {}, integrations=aws_integrations(start_execution=missing), clock=VirtualClock()
    )
    assert result.error == "StepFunctions.StateMachineDoesNotExistException"
    assert result.cause == (
        f"State Machine Does Not Exist: '{gone}' (Service: AWSStepFunctions; Status Code: 400; "
        "Error Code: StateMachineDoesNotExist; Request ID: req-9; Proxy: null)"
    )
