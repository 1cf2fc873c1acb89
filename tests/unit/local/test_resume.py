"""An execution cut short at any event and run again on its stored history ends as if
it had never stopped: the same events (none twice, no restart), the same result, and
no Task that had ended is performed again (workflows/local/resume.py)."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from workflows.engine import StateMachine, TaskTokens, VirtualClock
from workflows.engine.history import History
from workflows.engine.machine import ExecutionResult
from workflows.engine.tasks import TaskRequest
from workflows.local.resume import ReplayClock

START = datetime(2026, 1, 1, tzinfo=UTC).timestamp()
INVOKE = "arn:aws:states:::lambda:invoke"
QUEUE_WAIT = "arn:aws:states:::sqs:sendMessage.waitForTaskToken"


def fn_arn(name: str) -> str:
    return f"arn:aws:lambda:us-east-1:123456789012:function:{name}"


class NotYet(Exception):
    pass


class Boom(Exception):
    pass


def flaky(event: Any, context: Any) -> Any:
    """Fails on the first two attempts (it is told its retry count), then answers it."""
    if event["retry"] < 2:
        raise NotYet(f"retry {event['retry']}")
    return event["retry"]


def boom(event: Any, context: Any) -> Any:
    raise Boom("always")


SEQUENTIAL = {
    "StartAt": "Charge",
    "States": {
        "Charge": {"Type": "Task", "Resource": fn_arn("Charge"), "Next": "Hold"},
        "Hold": {"Type": "Wait", "Seconds": 5, "Next": "Flaky"},
        "Flaky": {
            "Type": "Task",
            "Resource": INVOKE,
            "Parameters": {"FunctionName": "Flaky", "Payload": {"retry.$": "$$.State.RetryCount"}},
            "ResultSelector": {"r.$": "$.Payload"},
            "ResultPath": "$.flaky",
            "Retry": [{"ErrorEquals": ["NotYet"], "IntervalSeconds": 3, "MaxAttempts": 3}],
            "Next": "Route",
        },
        "Route": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.flaky.r", "NumericEquals": 2, "Next": "Boom"}],
            "Default": "Done",
        },
        "Boom": {
            "Type": "Task",
            "Resource": fn_arn("Boom"),
            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": None, "Next": "Done"}],
            "Next": "Done",
        },
        "Done": {"Type": "Pass", "End": True},
    },
}

BRANCH_TASK = {"Type": "Task", "Resource": fn_arn("Charge"), "End": True}
CONCURRENT = {
    "StartAt": "Both",
    "States": {
        "Both": {
            "Type": "Parallel",
            "Branches": [
                {"StartAt": "Left", "States": {"Left": BRANCH_TASK}},
                {
                    "StartAt": "Pause",
                    "States": {
                        "Pause": {"Type": "Wait", "Seconds": 2, "Next": "Right"},
                        "Right": BRANCH_TASK,
                    },
                },
            ],
            "Next": "Each",
        },
        "Each": {
            "Type": "Map",
            "ItemsPath": "$[0].items",
            "MaxConcurrency": 2,
            "ItemProcessor": {"StartAt": "Item", "States": {"Item": BRANCH_TASK}},
            "End": True,
        },
    },
}


class Counted:
    """The functions of a test, counting their invocations."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()

    def handlers(self) -> dict[str, Callable[[Any, Any], Any]]:
        def charge(event: Any, context: Any) -> Any:
            self.calls["Charge"] += 1
            return {"charged": True, "items": [1, 2, 3]}

        def counted_flaky(event: Any, context: Any) -> Any:
            self.calls["Flaky"] += 1
            return flaky(event, context)

        def counted_boom(event: Any, context: Any) -> Any:
            self.calls["Boom"] += 1
            return boom(event, context)

        return {"Charge": charge, "Flaky": counted_flaky, "Boom": counted_boom}


def shape(events: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """What a user compares in two histories: ids, links, kinds and states."""
    shaped = []
    for event in events:
        details: dict[str, Any] = (
            next((v for k, v in event.items() if k.endswith("EventDetails")), {}) or {}
        )
        shaped.append((event["id"], event["previousEventId"], event["type"], details.get("name")))
    return shaped


def attempts_in_flight(events: list[dict[str, Any]]) -> int:
    """Task attempts started and not ended in ``events`` (performed again on resume)."""
    started = sum(e["type"] in ("LambdaFunctionStarted", "TaskStarted") for e in events)
    ended = sum(
        e["type"].startswith(("LambdaFunction", "Task"))
        and e["type"].endswith(("Succeeded", "Failed", "TimedOut"))
        and not e["type"].endswith(("StateSucceeded", "StateFailed"))
        for e in events
    )
    return int(started - ended)


async def resume(
    machine: StateMachine, stored: list[dict[str, Any]], **run: Any
) -> tuple[ExecutionResult, list[dict[str, Any]]]:
    """Run the execution again on ``stored``; returns its result and the new events."""
    history = History.resumed(stored)
    heard: list[dict[str, Any]] = []
    history.subscribe(heard.append)
    assert history.replay is not None
    later = VirtualClock(stored[-1]["timestamp"].timestamp() + 60)
    result = await machine.execute(
        {"order": 7}, name="cut", history=history, clock=ReplayClock(later, history.replay), **run
    )
    return result, heard


async def uninterrupted(definition: dict[str, Any]) -> tuple[StateMachine, ExecutionResult]:
    machine = StateMachine(definition)
    result = await machine.execute(
        {"order": 7}, name="cut", lambdas=Counted().handlers(), clock=VirtualClock(START)
    )
    return machine, result


async def test_a_sequential_execution_cut_at_any_event_ends_as_if_never_stopped() -> None:
    machine, whole = await uninterrupted(SEQUENTIAL)
    assert whole.status == "SUCCEEDED", whole.error
    events = whole.history
    for cut in range(1, len(events) - 1):
        functions = Counted()
        result, heard = await resume(machine, events[:cut], lambdas=functions.handlers())
        assert (result.status, result.output) == (whole.status, whole.output), cut
        assert shape(result.history) == shape(events), f"cut after event {cut}"
        # only what was not stored is recorded, and told to listeners
        assert [e["id"] for e in heard] == list(range(cut + 1, len(events) + 1))
        assert result.history[:cut] == events[:cut], "stored events are kept as they were"
        assert result.start_date == whole.start_date
        stored = events[:cut]
        ended_later = [e for e in events[cut:] if e["type"] == "LambdaFunctionStarted"]
        performed = sum(functions.calls.values())
        assert performed == len(ended_later) + attempts_in_flight(stored) + sum(
            e["type"] == "TaskStarted" for e in events[cut:]
        ), f"cut after event {cut}: a Task that ended ran again ({functions.calls})"


async def test_retries_keep_their_count_across_a_restart() -> None:
    machine, whole = await uninterrupted(SEQUENTIAL)
    events = whole.history
    # cut right after the first failed attempt of Flaky
    first_failure = next(i for i, e in enumerate(events) if e["type"] == "TaskFailed")
    functions = Counted()
    result, _ = await resume(machine, events[: first_failure + 1], lambdas=functions.handlers())
    assert result.output == whole.output
    # two more attempts of Flaky (retries 1 and 2), not three: the count went on
    assert functions.calls["Flaky"] == 2
    assert functions.calls["Charge"] == 0


async def test_parallel_branches_and_map_iterations_keep_what_they_finished() -> None:
    machine, whole = await uninterrupted(CONCURRENT)
    assert whole.status == "SUCCEEDED", whole.error
    events = whole.history
    for cut in range(1, len(events) - 1):
        functions = Counted()
        result, heard = await resume(machine, events[:cut], lambdas=functions.handlers())
        assert (result.status, result.output) == (whole.status, whole.output), cut
        kinds = Counter((e["type"], shape([e])[0][3]) for e in result.history)
        assert kinds == Counter((e["type"], shape([e])[0][3]) for e in events), cut
        assert [e["id"] for e in heard] == list(range(cut + 1, len(result.history) + 1))
        finished_before = sum(e["type"] == "LambdaFunctionSucceeded" for e in events[:cut])
        assert functions.calls["Charge"] == 5 - finished_before, cut


async def test_a_wait_keeps_its_original_deadline() -> None:
    machine = StateMachine(
        {
            "StartAt": "Hold",
            "States": {"Hold": {"Type": "Wait", "Seconds": 100, "End": True}},
        }
    )
    whole = await machine.execute({"order": 7}, name="cut", clock=VirtualClock(START))
    entered = whole.history[:2]
    history = History.resumed(entered)
    assert history.replay is not None
    # the process comes back 30 s after the Wait was entered: 70 s are left
    later = VirtualClock(entered[-1]["timestamp"].timestamp() + 30)
    result = await machine.execute(
        {"order": 7}, name="cut", history=history, clock=ReplayClock(later, history.replay)
    )
    exited = result.history[2]
    waited = exited["timestamp"].timestamp() - entered[-1]["timestamp"].timestamp()
    assert exited["type"] == "WaitStateExited"
    assert waited == pytest.approx(100, abs=0.5)


async def test_the_execution_timeout_counts_from_the_original_start() -> None:
    machine = StateMachine(
        {
            "TimeoutSeconds": 10,
            "StartAt": "Hold",
            "States": {"Hold": {"Type": "Wait", "Seconds": 100, "End": True}},
        }
    )
    whole = await machine.execute({"order": 7}, name="cut", clock=VirtualClock(START))
    stored = whole.history[:2]  # started, Hold entered: then the process stopped
    history = History.resumed(stored)
    assert history.replay is not None
    later = VirtualClock(START + 30)  # back after the 10 s allowed
    result = await machine.execute(
        {"order": 7}, name="cut", history=history, clock=ReplayClock(later, history.replay)
    )
    assert result.status == "TIMED_OUT"
    assert [e["type"] for e in result.history] == [
        "ExecutionStarted",
        "WaitStateEntered",
        "ExecutionTimedOut",
    ]


async def test_a_callback_task_waits_again_on_the_same_token() -> None:
    machine = StateMachine(
        {
            "StartAt": "Approve",
            "States": {
                "Approve": {
                    "Type": "Task",
                    "Resource": QUEUE_WAIT,
                    "Parameters": {"QueueUrl": "q", "MessageBody": {"token.$": "$$.Task.Token"}},
                    "End": True,
                }
            },
        }
    )
    sent: list[str] = []

    async def send(request: TaskRequest) -> Any:
        sent.append(request.parameters["MessageBody"]["token"])
        return {"MessageId": "m"}

    first = History()
    run = asyncio.ensure_future(
        machine.execute(
            {"order": 7},
            name="cut",
            history=first,
            integrations={"sqs:sendMessage": send},
            tokens=TaskTokens(),
        )
    )
    while not any(e["type"] == "TaskSubmitted" for e in first):
        await asyncio.sleep(0.01)
    run.cancel()  # the process stops while the approval waits
    stored = [e for e in first if e["type"] != "TaskStateAborted"]
    stored = [e for e in stored if not e["type"].startswith("Execution") or e["id"] == 1]
    history = History.resumed(stored)
    assert history.replay is not None
    tokens = TaskTokens()  # a new process: nothing is outstanding until the replay
    resumed = asyncio.ensure_future(
        machine.execute(
            {"order": 7},
            name="cut",
            history=history,
            clock=ReplayClock(VirtualClock(), history.replay),
            integrations={"sqs:sendMessage": send},
            tokens=tokens,
        )
    )
    while tokens.owner(sent[0]) is None:
        await asyncio.sleep(0.01)
    tokens.succeed(sent[0], {"approved": True})
    result = await resumed
    assert result.status == "SUCCEEDED"
    assert result.output == {"approved": True}
    assert len(sent) == 1, "the message with the token is not sent again"
    # what happens after the restart is stamped with the time it happens
    submitted_at = stored[-1]["timestamp"]
    assert result.history[-1]["timestamp"] > submitted_at
    assert [e["type"] for e in result.history].count("TaskSubmitted") == 1


async def test_a_changed_definition_aborts_with_a_cause_that_says_so() -> None:
    _, whole = await uninterrupted(SEQUENTIAL)
    states: dict[str, Any] = dict(SEQUENTIAL["States"])  # type: ignore[arg-type]
    states["Pause"] = states.pop("Hold")  # renamed while an execution ran
    states["Charge"] = {**states["Charge"], "Next": "Pause"}
    changed = {**SEQUENTIAL, "States": states}
    stored = whole.history[:8]  # past Charge, into Hold
    result, _ = await resume(StateMachine(changed), stored, lambdas=Counted().handlers())
    assert result.status == "ABORTED"
    assert result.cause is not None
    assert "definition changed" in result.cause
    assert "'Hold'" in result.cause
    assert "'Pause'" in result.cause
    last = result.history[-1]
    assert last["type"] == "ExecutionAborted"
    assert last["id"] == len(stored) + 1


async def test_a_redriven_execution_counts_its_timeout_from_the_redrive() -> None:
    machine = StateMachine(
        {
            "TimeoutSeconds": 10,
            "StartAt": "Quick",
            "States": {
                "Quick": {
                    "Type": "Pass",
                    "Result": {"count.$": "$$.Execution.RedriveCount"},
                    "Next": "Hold",
                },
                "Hold": {"Type": "Wait", "Seconds": 20, "End": True},
            },
        }
    )
    first = await machine.execute({"order": 7}, name="cut", clock=VirtualClock(START))
    assert first.status == "TIMED_OUT"
    redriven_at = START + 3600
    redriven = {
        "timestamp": datetime.fromtimestamp(redriven_at, UTC),
        "type": "ExecutionRedriven",
        "id": len(first.history) + 1,
        "previousEventId": len(first.history),
        "executionRedrivenEventDetails": {"redriveCount": 1},
    }
    history = History.resumed([*first.history, redriven], redriven=True)
    assert history.replay is not None
    history.replay.redriven_at = redriven_at
    again = await machine.execute(
        {"order": 7},
        name="cut",
        history=history,
        clock=ReplayClock(VirtualClock(redriven_at), history.replay),
    )
    assert again.status == "TIMED_OUT"
    new = again.history[len(first.history) + 1 :]
    assert [e["type"] for e in new] == ["WaitStateEntered", "ExecutionTimedOut"]
    timed_out = new[-1]["timestamp"].timestamp()
    assert timed_out == pytest.approx(redriven_at + 10, abs=0.5), "10 s after the redrive"
    # Quick had finished: it is not run again (its events are the stored ones)
    assert [e["type"] for e in again.history].count("PassStateEntered") == 1
