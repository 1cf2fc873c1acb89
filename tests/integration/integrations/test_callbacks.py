"""Callbacks and heartbeats of ``sqs:sendMessage.waitForTaskToken``, as AWS records them."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import boto3
import pytest

from tests.integration.integrations.conftest import task_machine
from workflows.engine import ServiceIntegration, TaskTokens, VirtualClock

SILENT_WORKER: dict[str, Any] = {
    "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
    "Parameters": {
        "QueueUrl.$": "$.queueUrl",
        "MessageBody": {"taskToken.$": "$$.Task.Token"},
    },
    "HeartbeatSeconds": 5,
    "TimeoutSeconds": 600,
}


@pytest.fixture
def queue_url(aws: boto3.Session) -> str:
    url: str = aws.client("sqs").create_queue(QueueName="work")["QueueUrl"]
    return url


def run(
    integrations: dict[str, ServiceIntegration], url: str, state: dict[str, Any], **more: Any
) -> Any:
    machine = task_machine(state, **more)
    return machine.run(
        {"queueUrl": url}, integrations=integrations, clock=VirtualClock(), tokens=TaskTokens()
    )


def test_a_missed_heartbeat_is_recorded_as_states_timeout(
    queue_url: str, integrations: dict[str, ServiceIntegration]
) -> None:
    result = run(integrations, queue_url, SILENT_WORKER)

    assert result.status == "FAILED"
    assert (result.error, result.cause) == ("States.Timeout", None)
    timed_out, failed = result.history[-2:]
    assert timed_out["type"] == "TaskTimedOut"
    assert timed_out["taskTimedOutEventDetails"] == {
        "error": "States.Timeout",
        "resource": "sendMessage.waitForTaskToken",
        "resourceType": "sqs",
    }
    assert failed["executionFailedEventDetails"] == {"error": "States.Timeout"}
    scheduled = next(e for e in result.history if e["type"] == "TaskScheduled")
    assert scheduled["taskScheduledEventDetails"]["heartbeatInSeconds"] == 5


@pytest.mark.parametrize("name", ["States.HeartbeatTimeout", "States.Timeout"])
def test_catch_on_heartbeat_timeout_or_timeout_catches_a_missed_heartbeat(
    queue_url: str, integrations: dict[str, ServiceIntegration], name: str
) -> None:
    state = {
        **SILENT_WORKER,
        "Catch": [{"ErrorEquals": [name], "ResultPath": "$.error", "Next": "Late"}],
        "Next": "OnTime",
    }
    result = run(
        integrations,
        queue_url,
        state,
        Late={"Type": "Pass", "End": True},
        OnTime={"Type": "Succeed"},
    )
    assert result.status == "SUCCEEDED", result.cause
    # a timeout has no cause; the catcher gets "" for it, as AWS binds it (lambda:invoke)
    assert result.output["error"] == {"Error": "States.Timeout", "Cause": ""}


def test_retry_on_heartbeat_timeout_retries_a_missed_heartbeat(
    queue_url: str, integrations: dict[str, ServiceIntegration]
) -> None:
    state = {
        **SILENT_WORKER,
        "Retry": [{"ErrorEquals": ["States.HeartbeatTimeout"], "MaxAttempts": 2}],
    }
    result = run(integrations, queue_url, state)
    assert result.error == "States.Timeout"
    kinds = [event["type"] for event in result.history]
    assert kinds.count("TaskScheduled") == 3  # the first attempt and two retries
    assert kinds.count("TaskTimedOut") == 3


def test_retry_on_heartbeat_timeout_leaves_a_task_timeout_alone(
    queue_url: str, integrations: dict[str, ServiceIntegration]
) -> None:
    state = {
        **{k: v for k, v in SILENT_WORKER.items() if k != "HeartbeatSeconds"},
        "Retry": [{"ErrorEquals": ["States.HeartbeatTimeout"], "MaxAttempts": 2}],
    }
    result = run(integrations, queue_url, state)
    assert result.error == "States.Timeout"
    assert [event["type"] for event in result.history].count("TaskScheduled") == 1


async def test_send_task_failure_without_error_or_cause_gives_the_catcher_nulls(
    aws: boto3.Session, queue_url: str, integrations: dict[str, ServiceIntegration]
) -> None:
    tokens = TaskTokens()
    state = {
        **SILENT_WORKER,
        "HeartbeatSeconds": 500,
        "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Failed"}],
        "Next": "Failed",
    }
    machine = task_machine(state, Failed={"Type": "Pass", "End": True})
    clock = VirtualClock()
    execution = asyncio.ensure_future(
        machine.execute(
            {"queueUrl": queue_url}, integrations=integrations, clock=clock, tokens=tokens
        )
    )
    sqs = aws.client("sqs")
    # the test polls in real time: hold the virtual clock, or the heartbeat would pass meanwhile
    with clock.busy():
        for _ in range(500):
            messages = sqs.receive_message(QueueUrl=queue_url).get("Messages", [])
            if messages:
                break
            await asyncio.sleep(0.01)
    tokens.fail(json.loads(messages[0]["Body"])["taskToken"], None, None)
    result = await asyncio.wait_for(execution, 10)

    assert result.status == "SUCCEEDED", result.cause
    assert result.output["error"] == {"Error": None, "Cause": None}
    failed = next(e for e in result.history if e["type"] == "TaskFailed")
    assert failed["taskFailedEventDetails"] == {
        "resource": "sendMessage.waitForTaskToken",
        "resourceType": "sqs",
    }
