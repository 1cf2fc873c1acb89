"""RedriveExecution on the local Step Functions endpoint, with a real boto3 client: a
failed execution continues from the state that failed once its cause is fixed (here: a
queue that did not exist yet), finished work is not done again, and DescribeExecution /
ListExecutions tell the redrive as AWS does."""

from __future__ import annotations

import json
import uuid
from typing import Any

import boto3
import pytest

from tests.integration.local import test_sfn_api as base
from tests.integration.local.test_sfn_api import create_machine, wait_status, wait_until

moto_endpoint = base.moto_endpoint
store_path = base.store_path
runtime = base.runtime
sfn = base.sfn


@pytest.fixture
def sqs(moto_endpoint: str) -> Any:
    return boto3.client(
        "sqs",
        endpoint_url=moto_endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def queue_url(moto_endpoint: str, name: str) -> str:
    """The URL a queue named ``name`` gets once created (it need not exist yet)."""
    return f"{moto_endpoint}/123456789012/{name}"


def send_to(url: str, name: str = "Send", **more: Any) -> dict[str, Any]:
    return {
        "Type": "Task",
        "Resource": "arn:aws:states:::sqs:sendMessage",
        "Parameters": {"QueueUrl": url, "MessageBody.$": "States.JsonToString($)"},
        "ResultPath": None,
        **more,
    }


def messages(sqs: Any, url: str) -> list[str]:
    """The messages waiting in a queue, taken off it."""
    found: list[str] = []
    while True:
        answer = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
        batch = answer.get("Messages", [])
        if not batch:
            return found
        for message in batch:
            found.append(message["Body"])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def history(sfn: Any, arn: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = sfn.get_execution_history(executionArn=arn, maxResults=1000)[
        "events"
    ]
    return events


def test_a_failed_execution_continues_from_the_state_that_failed(
    sfn: Any, sqs: Any, moto_endpoint: str
) -> None:
    name = f"later-{uuid.uuid4().hex[:8]}"
    url = queue_url(moto_endpoint, name)
    machine = create_machine(
        sfn,
        {
            "StartAt": "Prepare",
            "States": {
                "Prepare": {"Type": "Pass", "Result": {"order": 7}, "Next": "Send"},
                "Send": send_to(url, Next="Count"),
                "Count": {
                    "Type": "Pass",
                    "Parameters": {"order.$": "$.order", "redrives.$": "$$.Execution.RedriveCount"},
                    "End": True,
                },
            },
        },
    )
    arn = sfn.start_execution(stateMachineArn=machine, name="first")["executionArn"]
    failed = wait_status(sfn, arn)
    assert failed["status"] == "FAILED"
    assert (failed["redriveCount"], failed["redriveStatus"]) == (0, "REDRIVABLE")
    assert "redriveStatusReason" not in failed
    assert "redriveDate" not in failed
    before = history(sfn, arn)

    sqs.create_queue(QueueName=name)  # the cause is fixed
    redriven = sfn.redrive_execution(executionArn=arn)
    assert redriven["redriveDate"] >= failed["stopDate"]
    done = wait_status(sfn, arn, "SUCCEEDED", "FAILED")
    assert done["status"] == "SUCCEEDED", done
    assert json.loads(done["output"]) == {"order": 7, "redrives": 1}
    assert done["redriveCount"] == 1
    assert done["redriveDate"] == redriven["redriveDate"]
    assert done["redriveStatus"] == "NOT_REDRIVABLE"
    assert done["redriveStatusReason"] == "Execution is SUCCEEDED and cannot be redriven"
    assert messages(sqs, url) == ['{"order":7}']

    events = history(sfn, arn)
    assert events[: len(before)] == before, "the first attempt's history is kept as it was"
    assert [e["id"] for e in events] == list(range(1, len(events) + 1))
    kinds = [e["type"] for e in events]
    redrive_at = kinds.index("ExecutionRedriven")
    assert redrive_at == len(before)
    assert events[redrive_at]["executionRedrivenEventDetails"] == {"redriveCount": 1}
    assert events[redrive_at]["previousEventId"] == len(before)
    after = events[redrive_at + 1 :]
    entered = [
        e["stateEnteredEventDetails"]["name"] for e in after if "stateEnteredEventDetails" in e
    ]
    assert entered == ["Send", "Count"], "Prepare succeeded: it is not run again"
    assert kinds[-1] == "ExecutionSucceeded"

    listed = sfn.list_executions(stateMachineArn=machine)["executions"]
    assert [(e["name"], e["redriveCount"]) for e in listed] == [("first", 1)]
    assert listed[0]["redriveDate"] == redriven["redriveDate"]
    only_redriven = sfn.list_executions(stateMachineArn=machine, redriveFilter="REDRIVEN")
    assert [e["name"] for e in only_redriven["executions"]] == ["first"]
    not_redriven = sfn.list_executions(stateMachineArn=machine, redriveFilter="NOT_REDRIVEN")
    assert not_redriven["executions"] == []


def test_only_the_failed_branch_and_map_iteration_run_again(
    sfn: Any, sqs: Any, moto_endpoint: str
) -> None:
    ready = f"ready-{uuid.uuid4().hex[:8]}"
    later = f"later-{uuid.uuid4().hex[:8]}"
    sqs.create_queue(QueueName=ready)
    machine = create_machine(
        sfn,
        {
            "StartAt": "Both",
            "States": {
                "Both": {
                    "Type": "Parallel",
                    "Branches": [
                        {
                            "StartAt": "Ready",
                            "States": {
                                "Ready": send_to(queue_url(moto_endpoint, ready), "Ready", End=True)
                            },
                        },
                        {
                            # the other branch and item 0 end before item 1 fails (a
                            # branch or iteration that a failure cuts off runs again)
                            "StartAt": "Pause",
                            "States": {
                                "Pause": {"Type": "Wait", "Seconds": 1, "Next": "Each"},
                                "Each": {
                                    "Type": "Map",
                                    "ItemsPath": "$.queues",
                                    "MaxConcurrency": 1,
                                    "ItemProcessor": {
                                        "StartAt": "Item",
                                        "States": {
                                            "Item": {
                                                "Type": "Task",
                                                "Resource": "arn:aws:states:::sqs:sendMessage",
                                                "Parameters": {
                                                    "QueueUrl.$": "$",
                                                    "MessageBody": "item",
                                                },
                                                "ResultPath": None,
                                                "End": True,
                                            }
                                        },
                                    },
                                    "End": True,
                                },
                            },
                        },
                    ],
                    "End": True,
                }
            },
        },
    )
    queues = [queue_url(moto_endpoint, ready), queue_url(moto_endpoint, later)]
    arn = sfn.start_execution(
        stateMachineArn=machine, name="parts", input=json.dumps({"queues": queues})
    )["executionArn"]
    assert wait_status(sfn, arn)["status"] == "FAILED"
    assert len(messages(sqs, queues[0])) == 2, "the Parallel branch and Map item 0 sent"

    sqs.create_queue(QueueName=later)
    sfn.redrive_execution(executionArn=arn)
    assert wait_status(sfn, arn, "SUCCEEDED", "FAILED")["status"] == "SUCCEEDED"
    assert messages(sqs, queues[0]) == [], "what had succeeded was not sent again"
    assert messages(sqs, queues[1]) == ["item"]
    events = history(sfn, arn)
    redrive_at = [e["type"] for e in events].index("ExecutionRedriven")
    again = [
        (e["type"], (e.get("mapIterationStartedEventDetails") or {}).get("index"))
        for e in events[redrive_at + 1 :]
        if e["type"] in ("MapIterationStarted", "TaskStateEntered", "TaskScheduled")
    ]
    assert again == [("TaskStateEntered", None), ("TaskScheduled", None)]


def test_an_aborted_execution_is_redriven_and_its_timeout_starts_again(sfn: Any) -> None:
    machine = create_machine(
        sfn,
        {
            "TimeoutSeconds": 30,
            "StartAt": "Hold",
            "States": {
                "Hold": {"Type": "Wait", "Seconds": 1, "Next": "Approve"},
                "Approve": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                    "Parameters": {"QueueUrl": "nowhere", "MessageBody.$": "$$.Task.Token"},
                    "End": True,
                },
            },
        },
    )
    arn = sfn.start_execution(stateMachineArn=machine, name="stopped")["executionArn"]
    sfn.stop_execution(executionArn=arn, error="Operator", cause="by hand")
    stopped = wait_status(sfn, arn)
    assert (stopped["status"], stopped["redriveStatus"]) == ("ABORTED", "REDRIVABLE")
    sfn.redrive_execution(executionArn=arn)
    assert sfn.describe_execution(executionArn=arn)["status"] in ("RUNNING", "FAILED")
    failed = wait_status(sfn, arn, "FAILED", "TIMED_OUT", "SUCCEEDED")
    # the queue does not exist: the Task fails (it does not time out at 30 s of the
    # original start: the machine's timeout counts from the redrive)
    assert failed["status"] == "FAILED"
    assert failed["redriveCount"] == 1
    kinds = [e["type"] for e in history(sfn, arn)]
    assert kinds.count("ExecutionRedriven") == 1
    assert kinds.index("ExecutionAborted") < kinds.index("ExecutionRedriven")


def test_calls_that_cannot_redrive_get_aws_errors(sfn: Any) -> None:
    machine = create_machine(
        sfn, {"StartAt": "Echo", "States": {"Echo": {"Type": "Pass", "End": True}}}
    )
    done = sfn.start_execution(stateMachineArn=machine, name="fine")["executionArn"]
    assert wait_status(sfn, done)["status"] == "SUCCEEDED"
    with pytest.raises(sfn.exceptions.ExecutionNotRedrivable) as succeeded:
        sfn.redrive_execution(executionArn=done)
    assert "Execution is SUCCEEDED and cannot be redriven" in str(succeeded.value)

    waiting = create_machine(
        sfn, {"StartAt": "Hold", "States": {"Hold": {"Type": "Wait", "Seconds": 3600, "End": True}}}
    )
    running = sfn.start_execution(stateMachineArn=waiting, name="busy")["executionArn"]
    described = sfn.describe_execution(executionArn=running)
    assert described["redriveStatus"] == "NOT_REDRIVABLE"
    assert described["redriveStatusReason"] == "Execution is RUNNING and cannot be redriven"
    with pytest.raises(sfn.exceptions.ExecutionNotRedrivable):
        sfn.redrive_execution(executionArn=running)
    sfn.stop_execution(executionArn=running)

    missing = done.rsplit(":", 1)[0] + ":missing"
    with pytest.raises(sfn.exceptions.ExecutionDoesNotExist):
        sfn.redrive_execution(executionArn=missing)
    with pytest.raises(sfn.exceptions.InvalidArn):
        sfn.redrive_execution(executionArn="not-an-arn")
    with pytest.raises(sfn.exceptions.ClientError) as bad_filter:
        sfn.list_executions(stateMachineArn=machine, redriveFilter="SOMETIMES")
    assert bad_filter.value.response["Error"]["Code"] == "ValidationException"


def test_a_client_token_makes_the_redrive_idempotent(sfn: Any) -> None:
    machine = create_machine(
        sfn,
        {"StartAt": "Stop", "States": {"Stop": {"Type": "Fail", "Error": "Nope"}}},
    )
    arn = sfn.start_execution(stateMachineArn=machine, name="twice")["executionArn"]
    assert wait_status(sfn, arn)["status"] == "FAILED"
    first = sfn.redrive_execution(executionArn=arn, clientToken="token-1")
    wait_until(lambda: sfn.describe_execution(executionArn=arn)["status"] == "FAILED")
    again = sfn.redrive_execution(executionArn=arn, clientToken="token-1")
    assert again["redriveDate"] == first["redriveDate"]
    assert sfn.describe_execution(executionArn=arn)["redriveCount"] == 1
