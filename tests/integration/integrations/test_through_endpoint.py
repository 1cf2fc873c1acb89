"""Service integrations through the Step Functions endpoint of ``workflows up``.

Machines are created over the endpoint's API (as a user would with boto3 or the AWS CLI)
and their Task states reach the local services on a moto server, as under
``workflows up``. The runtime is the one of ``tests/integration/local/test_sfn_api.py``.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from tests.integration.local.test_sfn_api import (
    Runtime,
    create_machine,
    moto_endpoint,
    store_path,
    wait_status,
    wait_until,
)
from workflows.engine.clock import RealClock, VirtualClock

__all__ = ["moto_endpoint", "store_path"]  # fixtures this module uses

REQUEST_ID = r"[0-9a-f-]{36}"
CHILD = {
    "StartAt": "Answer",
    "States": {
        "Answer": {
            "Type": "Pass",
            "Parameters": {"doubled.$": "States.MathAdd($.n, $.n)"},
            "End": True,
        }
    },
}


@pytest.fixture
def sfn(moto_endpoint: str, store_path: str) -> Iterator[Any]:
    runtime = Runtime(store_path, RealClock())
    yield runtime.client()
    runtime.stop()


@pytest.fixture
def virtual_sfn(moto_endpoint: str, store_path: str) -> Iterator[Any]:
    runtime = Runtime(store_path, VirtualClock())
    yield runtime.client()
    runtime.stop()


def task(resource: str, parameters: dict[str, Any], **more: Any) -> dict[str, Any]:
    return {"Type": "Task", "Resource": resource, "Parameters": parameters, **more}


def run_to_end(sfn: Any, definition: dict[str, Any], data: Any = None) -> dict[str, Any]:
    arn = create_machine(sfn, definition)
    execution = sfn.start_execution(stateMachineArn=arn, input=json.dumps(data or {}))
    return wait_status(sfn, execution["executionArn"])


def test_nested_executions_reach_machines_created_over_the_api(sfn: Any) -> None:
    child = create_machine(sfn, CHILD)
    parent = {
        "StartAt": "Sync",
        "States": {
            "Sync": task(
                "arn:aws:states:::states:startExecution.sync",
                {"StateMachineArn": child, "Input": {"n": 2}, "Name": "sync-child"},
                ResultPath="$.sync",
                Next="Sync2",
            ),
            "Sync2": task(
                "arn:aws:states:::states:startExecution.sync:2",
                {"StateMachineArn": child, "Input": {"n": 3, "token.$": "$$.Task.Token"}},
                ResultPath="$.sync2",
                Next="Fire",
            ),
            "Fire": task(
                "arn:aws:states:::states:startExecution",
                {"StateMachineArn": child, "Input": {"n": 4}},
                ResultPath="$.fired",
                End=True,
            ),
        },
    }
    done = run_to_end(sfn, parent)
    assert done["status"] == "SUCCEEDED", done.get("cause")
    output = json.loads(done["output"])

    sync = output["sync"]
    assert sync["Output"] == '{"doubled":4}'  # DescribeExecution's text
    assert sync["Status"] == "SUCCEEDED"
    assert sync["ExecutionArn"].endswith(":sync-child")
    assert isinstance(sync["StartDate"], int)
    assert isinstance(sync["StopDate"], int)
    assert sync["StopDate"] >= sync["StartDate"]
    assert (sync["RedriveCount"], sync["RedriveStatus"]) == (0, "NOT_REDRIVABLE")
    assert sync["RedriveStatusReason"] == "Execution is SUCCEEDED and cannot be redriven"
    assert output["sync2"]["Output"] == {"doubled": 6}  # parsed
    assert re.fullmatch(r"[0-9a-f]{64}", output["sync2"]["Input"]["token"])
    fired = output["fired"]
    assert set(fired) == {"ExecutionArn", "SdkHttpMetadata", "SdkResponseMetadata", "StartDate"}
    headers = fired["SdkHttpMetadata"]["HttpHeaders"]
    assert headers["connection"] == "keep-alive"
    assert headers["Content-Type"] == "application/x-amz-json-1.0"

    # the children are executions of the API like any other
    listed = {e["executionArn"] for e in sfn.list_executions(stateMachineArn=child)["executions"]}
    assert {sync["ExecutionArn"], output["sync2"]["ExecutionArn"], fired["ExecutionArn"]} <= listed
    wait_status(sfn, fired["ExecutionArn"])


def test_a_missing_machine_fails_with_the_sdk_suffix(sfn: Any) -> None:
    missing = "arn:aws:states:us-east-1:123456789012:stateMachine:NoSuchMachine"
    done = run_to_end(
        sfn,
        {
            "StartAt": "Start",
            "States": {
                "Start": task(
                    "arn:aws:states:::states:startExecution.sync",
                    {"StateMachineArn": missing},
                    End=True,
                )
            },
        },
    )
    assert done["error"] == "StepFunctions.StateMachineDoesNotExistException"
    assert re.fullmatch(
        rf"State Machine Does Not Exist: '{missing}' \(Service: AWSStepFunctions; "
        rf"Status Code: 400; Error Code: StateMachineDoesNotExist; Request ID: {REQUEST_ID}; "
        r"Proxy: null\)",
        done["cause"],
    )


def test_a_child_started_for_a_token_answers_its_parent(sfn: Any) -> None:
    child = create_machine(
        sfn, {"StartAt": "Wait", "States": {"Wait": {"Type": "Pass", "End": True}}}
    )
    parent = create_machine(
        sfn,
        {
            "StartAt": "Ask",
            "States": {
                "Ask": task(
                    "arn:aws:states:::states:startExecution.waitForTaskToken",
                    {"StateMachineArn": child, "Input": {"token.$": "$$.Task.Token"}},
                    End=True,
                )
            },
        },
    )
    execution = sfn.start_execution(stateMachineArn=parent, input="{}")["executionArn"]

    def child_input() -> dict[str, Any] | None:
        for listed in sfn.list_executions(stateMachineArn=child)["executions"]:
            described = sfn.describe_execution(executionArn=listed["executionArn"])
            return dict(json.loads(described["input"]))
        return None

    token = wait_until(child_input, what="the child execution")["token"]
    sfn.send_task_success(taskToken=token, output=json.dumps({"approved": True}))
    done = wait_status(sfn, execution)
    assert done["status"] == "SUCCEEDED"
    assert json.loads(done["output"]) == {"approved": True}


def test_optimized_results_carry_aws_headers_not_the_local_servers(sfn: Any) -> None:
    url = boto3.client("sqs", region_name="us-east-1").create_queue(
        QueueName=f"q-{uuid.uuid4().hex[:8]}"
    )["QueueUrl"]
    done = run_to_end(
        sfn,
        {
            "StartAt": "Send",
            "States": {
                "Send": task(
                    "arn:aws:states:::sqs:sendMessage",
                    {"QueueUrl": url, "MessageBody": {"hello": "world"}},
                    End=True,
                )
            },
        },
    )
    output = json.loads(done["output"])
    headers = output["SdkHttpMetadata"]["HttpHeaders"]
    assert set(headers) == {
        "connection",
        "Content-Length",
        "Content-Type",
        "Date",
        "x-amzn-RequestId",
    }
    assert "Werkzeug" not in json.dumps(output)
    assert headers["connection"] == "keep-alive"


def test_a_null_message_body_fails_as_sqs_fails_it(sfn: Any) -> None:
    url = boto3.client("sqs", region_name="us-east-1").create_queue(
        QueueName=f"q-{uuid.uuid4().hex[:8]}"
    )["QueueUrl"]
    done = run_to_end(
        sfn,
        {
            "StartAt": "Send",
            "States": {
                "Send": task(
                    "arn:aws:states:::sqs:sendMessage",
                    {"QueueUrl": url, "MessageBody.$": "$.body"},
                    End=True,
                )
            },
        },
        {"body": None},
    )
    assert done["error"] == "SQS.AmazonSQSException"
    assert done["cause"].startswith(
        "The request must contain the parameter MessageBody. (Service: AmazonSQS; "
        "Status Code: 400; Error Code: MissingParameter; Request ID: "
    )


def _token_task(url: str, **more: Any) -> dict[str, Any]:
    return task(
        "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
        {"QueueUrl": url, "MessageBody": {"token.$": "$$.Task.Token"}},
        **more,
    )


def test_a_missed_heartbeat_is_states_timeout_in_the_history(virtual_sfn: Any) -> None:
    sfn = virtual_sfn
    url = boto3.client("sqs", region_name="us-east-1").create_queue(
        QueueName=f"q-{uuid.uuid4().hex[:8]}"
    )["QueueUrl"]
    arn = create_machine(
        sfn,
        {"StartAt": "Ask", "States": {"Ask": _token_task(url, HeartbeatSeconds=5, End=True)}},
    )
    execution = sfn.start_execution(stateMachineArn=arn, input="{}")["executionArn"]
    done = wait_status(sfn, execution)
    assert (done["status"], done["error"]) == ("FAILED", "States.Timeout")
    events = sfn.get_execution_history(executionArn=execution)["events"]
    timed_out = next(e for e in events if e["type"] == "TaskTimedOut")
    assert timed_out["taskTimedOutEventDetails"]["error"] == "States.Timeout"


def test_send_task_failure_without_error_or_cause_reaches_the_catcher_as_nulls(sfn: Any) -> None:
    sqs = boto3.client("sqs", region_name="us-east-1")
    url = sqs.create_queue(QueueName=f"q-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    arn = create_machine(
        sfn,
        {
            "StartAt": "Ask",
            "States": {
                "Ask": _token_task(
                    url,
                    Catch=[{"ErrorEquals": ["States.ALL"], "Next": "Caught"}],
                    End=True,
                ),
                "Caught": {"Type": "Pass", "End": True},
            },
        },
    )
    execution = sfn.start_execution(stateMachineArn=arn, input="{}")["executionArn"]

    def message() -> list[dict[str, Any]]:
        received: list[dict[str, Any]] = sqs.receive_message(QueueUrl=url).get("Messages", [])
        return received

    [sent] = wait_until(message, what="the task token on the queue")
    sfn.send_task_failure(taskToken=json.loads(sent["Body"])["token"])
    done = wait_status(sfn, execution)
    assert done["status"] == "SUCCEEDED"
    assert json.loads(done["output"]) == {"Error": None, "Cause": None}


def test_a_parent_that_times_out_stops_its_sync_child(sfn: Any) -> None:
    # real time (one second): on a virtual clock the store's writer thread lets the
    # clock reach the parent's timeout before the child has started
    child = create_machine(
        sfn, {"StartAt": "Hold", "States": {"Hold": {"Type": "Wait", "Seconds": 3600, "End": True}}}
    )
    done = run_to_end(
        sfn,
        {
            "StartAt": "Start",
            "States": {
                "Start": task(
                    "arn:aws:states:::states:startExecution.sync",
                    {"StateMachineArn": child, "Name": "held"},
                    TimeoutSeconds=1,
                    End=True,
                )
            },
        },
    )
    assert (done["status"], done["error"]) == ("FAILED", "States.Timeout")
    child_arn = child.replace(":stateMachine:", ":execution:") + ":held"
    stopped = wait_status(sfn, child_arn)
    assert (stopped["status"], stopped.get("error")) == ("ABORTED", "States.Aborted")
