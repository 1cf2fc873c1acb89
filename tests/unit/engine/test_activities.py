"""Activity tasks: a worker polls for the work and answers on the task token."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from workflows.engine import StateMachine, TaskTokens, VirtualClock
from workflows.engine.activities import Activities
from workflows.engine.lambdas import InProcessLambdas
from workflows.engine.tasks import TaskRunner

ACTIVITY = "arn:aws:states:us-east-1:123456789012:activity:pack-order"


def machine(**task: Any) -> StateMachine:
    return StateMachine(
        {
            "StartAt": "Pack",
            "States": {
                "Pack": {
                    "Type": "Task",
                    "Resource": ACTIVITY,
                    "Parameters": {"order.$": "$.id"},
                    **task,
                    "End": True,
                }
            },
        }
    )


def runner() -> TaskRunner:
    return TaskRunner(InProcessLambdas({}), None, TaskTokens(), Activities())


def types(result: Any) -> list[str]:
    return [event["type"] for event in result.history]


async def test_a_worker_takes_the_input_and_its_answer_is_the_result() -> None:
    tasks = runner()

    async def worker() -> None:
        polled = await tasks.activities.poll(ACTIVITY, "packer-1", timeout=60)
        assert polled is not None
        token, data = polled
        assert data == {"order": 7}
        tasks.tokens.succeed(token, {"packed": data["order"]})

    work = asyncio.ensure_future(worker())
    result = await machine().execute({"id": 7}, runner=tasks, clock=VirtualClock())
    await work
    assert result.status == "SUCCEEDED"
    assert result.output == {"packed": 7}
    assert types(result) == [
        "ExecutionStarted",
        "TaskStateEntered",
        "ActivityScheduled",
        "ActivityStarted",
        "ActivitySucceeded",
        "TaskStateExited",
        "ExecutionSucceeded",
    ]
    scheduled = result.history[2]["activityScheduledEventDetails"]
    assert scheduled["resource"] == ACTIVITY
    assert json.loads(scheduled["input"]) == {"order": 7}
    assert result.history[3]["activityStartedEventDetails"] == {"workerName": "packer-1"}


async def test_a_worker_failure_fails_the_task_with_its_error() -> None:
    tasks = runner()

    async def worker() -> None:
        polled = await tasks.activities.poll(ACTIVITY, "packer-1", timeout=60)
        assert polled is not None
        tasks.tokens.fail(polled[0], "OutOfBoxes", "no boxes left")

    work = asyncio.ensure_future(worker())
    result = await machine().execute({"id": 7}, runner=tasks, clock=VirtualClock())
    await work
    assert (result.status, result.error, result.cause) == ("FAILED", "OutOfBoxes", "no boxes left")
    assert types(result)[-2:] == ["ActivityFailed", "ExecutionFailed"]


async def test_work_nobody_took_times_out_and_is_withdrawn() -> None:
    tasks = runner()
    result = await machine(TimeoutSeconds=30).execute({"id": 7}, runner=tasks, clock=VirtualClock())
    assert (result.status, result.error) == ("FAILED", "States.Timeout")
    assert types(result)[-2:] == ["ActivityTimedOut", "ExecutionFailed"]
    assert tasks.activities.waiting(ACTIVITY) == 0
    assert await tasks.activities.poll(ACTIVITY, "late", timeout=0.01) is None


async def test_a_poll_with_no_work_answers_nothing_after_its_timeout() -> None:
    assert await Activities().poll(ACTIVITY, "idle", timeout=0.01) is None
