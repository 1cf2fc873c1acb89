"""``StateMachine.run`` keeps one loop per thread, yet each call starts clean."""

from __future__ import annotations

import asyncio
import contextvars
import json
import threading
import time
from typing import Any

import pytest

from workflows.engine import StateMachine

SEEN: contextvars.ContextVar[str] = contextvars.ContextVar("seen", default="unset")

LOOK: dict[str, Any] = {
    "Type": "Task",
    "Resource": "arn:aws:lambda:us-east-1:123456789012:function:look",
    "End": True,
}
ONE_TASK = {"StartAt": "Look", "States": {"Look": LOOK}}


async def look(event: Any, context: Any) -> str:
    before = SEEN.get()
    SEEN.set("set by an earlier run")
    return before


def test_context_variables_set_by_one_run_do_not_reach_the_next() -> None:
    machine = StateMachine(ONE_TASK)
    first = machine.run({}, lambdas={"look": look})
    second = machine.run({}, lambdas={"look": look})
    assert (first.output, second.output) == ("unset", "unset")


def _where(event: Any, context: Any) -> str:
    return threading.current_thread().name


def test_a_handler_alone_on_the_loop_of_run_runs_on_the_calling_thread() -> None:
    result = StateMachine(ONE_TASK).run({}, lambdas={"look": _where})
    assert result.output == threading.current_thread().name


def _parallel(*branches: dict[str, Any]) -> StateMachine:
    return StateMachine(
        {
            "StartAt": "Both",
            "States": {"Both": {"Type": "Parallel", "Branches": list(branches), "End": True}},
        }
    )


def _branch(name: str, function: str = "look", **fields: Any) -> dict[str, Any]:
    task = {**LOOK, "Resource": LOOK["Resource"].replace(":look", f":{function}"), **fields}
    return {"StartAt": name, "States": {name: task}}


def test_parallel_branches_call_handlers_that_return_at_once_on_the_calling_thread() -> None:
    # no hop into the pool and back for each branch (sync_runner.Turns)
    result = _parallel(_branch("Left"), _branch("Right")).run({}, lambdas={"look": _where})
    assert result.output == [threading.current_thread().name] * 2


def test_parallel_branches_whose_handlers_block_still_overlap() -> None:
    # each handler waits for the other: only handlers that run at the same time pass
    meeting = threading.Barrier(2, timeout=10)

    def meet(event: Any, context: Any) -> str:
        meeting.wait()
        return "met"

    result = _parallel(_branch("Left"), _branch("Right")).run({}, lambdas={"look": meet})
    assert (result.status, result.output) == ("SUCCEEDED", ["met", "met"])


def test_a_branch_may_wait_for_a_later_one() -> None:
    ready = threading.Event()

    def waits(event: Any, context: Any) -> bool:
        return ready.wait(10)

    def signals(event: Any, context: Any) -> bool:
        ready.set()
        return True

    machine = _parallel(_branch("Left", "waits"), _branch("Right", "signals"))
    result = machine.run({}, lambdas={"waits": waits, "signals": signals})
    assert result.output == [True, True]


def test_handlers_of_a_nested_parallel_overlap_with_the_outer_branches() -> None:
    # the inner Parallel's handlers must not run before the outer second branch starts
    meeting = threading.Barrier(3, timeout=10)

    def meet(event: Any, context: Any) -> str:
        meeting.wait()
        return "met"

    inner = {
        "StartAt": "Inner",
        "States": {
            "Inner": {
                "Type": "Parallel",
                "Branches": [_branch("InnerLeft"), _branch("InnerRight")],
                "End": True,
            }
        },
    }
    result = _parallel(inner, _branch("Outer")).run({}, lambdas={"look": meet})
    assert (result.status, result.output) == ("SUCCEEDED", [["met", "met"], "met"])


def test_map_iterations_whose_handlers_block_still_overlap() -> None:
    meeting = threading.Barrier(3, timeout=10)

    def meet(event: Any, context: Any) -> int:
        meeting.wait()
        return int(event)

    machine = StateMachine(
        {
            "StartAt": "Each",
            "States": {"Each": {"Type": "Map", "ItemProcessor": _branch("Look"), "End": True}},
        }
    )
    result = machine.run([1, 2, 3], lambdas={"look": meet})
    assert (result.status, result.output) == ("SUCCEEDED", [1, 2, 3])


def test_a_timeout_in_a_branch_still_stops_a_handler_that_blocks() -> None:
    release = threading.Event()

    def blocks(event: Any, context: Any) -> str:
        release.wait(10)
        return "finished"

    machine = _parallel(_branch("Slow", "blocks", TimeoutSeconds=1), _branch("Quick"))
    try:
        result = machine.run({}, lambdas={"blocks": blocks, "look": _where})
    finally:
        release.set()
    assert (result.status, result.error) == ("FAILED", "States.Timeout")


def test_a_branch_handler_that_fails_reports_its_own_frames() -> None:
    def fails(event: Any, context: Any) -> Any:
        raise ValueError("no")

    machine = _parallel(_branch("Left", "fails"), _branch("Right"))
    result = machine.run({}, lambdas={"fails": fails, "look": _where})
    assert (result.status, result.error) == ("FAILED", "ValueError")
    assert result.cause is not None
    trace = json.loads(result.cause)["stackTrace"]
    assert len(trace) == 1
    assert trace[0].startswith(f'  File "{__file__}", line ')


def test_a_timeout_still_stops_a_handler_that_blocks() -> None:
    release = threading.Event()

    def blocks(event: Any, context: Any) -> str:
        release.wait(10)
        return "finished"

    task = {**LOOK, "TimeoutSeconds": 1}
    machine = StateMachine({"StartAt": "Look", "States": {"Look": task}})
    try:
        result = machine.run({}, lambdas={"look": blocks})
    finally:
        release.set()
    assert (result.status, result.error) == ("FAILED", "States.Timeout")


def test_a_handler_called_on_the_loop_may_call_run_itself() -> None:
    inner = StateMachine({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})

    def nested(event: Any, context: Any) -> Any:
        return inner.run({"from": "inside"}).output

    result = StateMachine(ONE_TASK).run({}, lambdas={"look": nested})
    assert (result.status, result.output) == ("SUCCEEDED", {"from": "inside"})


async def test_run_from_a_coroutine_is_still_refused() -> None:
    with pytest.raises(RuntimeError, match="running event loop"):
        StateMachine(ONE_TASK).run({}, lambdas={"look": _where})


def test_a_handler_called_on_the_loop_may_run_its_own_event_loop() -> None:
    async def work() -> str:
        return "done"

    def uses_asyncio_run(event: Any, context: Any) -> str:
        return asyncio.run(work())

    result = StateMachine(ONE_TASK).run({}, lambdas={"look": uses_asyncio_run})
    assert (result.status, result.output) == ("SUCCEEDED", "done")


# ---------------------------------------------------- run()'s first step without a task


async def _in_a_task(event: Any, context: Any) -> bool:
    async with asyncio.timeout(5):  # needs the current task ("inside a task")
        return asyncio.current_task() is not None


def _returning_a_coroutine(event: Any, context: Any) -> Any:
    return _in_a_task(event, context)


@pytest.mark.parametrize("mode", ["thread", "inline"])
@pytest.mark.parametrize("handler", [_in_a_task, _returning_a_coroutine])
def test_an_async_handler_in_run_finds_a_current_task(handler: Any, mode: Any) -> None:
    # run() takes an execution's first step without a task; a handler's own coroutine
    # still runs in one (asyncio.timeout, sniffio's detection need it)
    result = StateMachine(ONE_TASK).run({}, lambdas={"look": handler}, handler_mode=mode)
    assert (result.status, result.output) == ("SUCCEEDED", True)


def test_branches_that_wait_still_take_turns_on_the_calling_thread() -> None:
    # the first branch waits (a Wait state): the Parallel then waits for its branches
    # in a task made after run()'s taskless first step; the other branches' handlers
    # are still called on the loop thread (that task is marked as waiting for its
    # branches), not handed to the pool
    waits = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 0, "End": True}}}
    machine = _parallel(waits, _branch("A"), _branch("B"))
    result = machine.run({}, lambdas={"look": _where})
    assert result.status == "SUCCEEDED"
    assert result.output[1:] == [threading.current_thread().name] * 2


def test_handlers_still_queued_when_a_map_fails_never_run() -> None:
    # A queued handler's call is its own future (sync_runner.QueuedCall): cancelling the
    # iteration that waits for it withdraws it from the pool, as run_in_executor does.
    calls: list[int] = []

    def each(event: Any, context: Any) -> int:
        calls.append(event)
        if event == 0:
            raise ValueError("the first fails")
        time.sleep(0.05)
        return int(event)

    machine = StateMachine(
        {
            "StartAt": "Each",
            "States": {"Each": {"Type": "Map", "ItemProcessor": _branch("Look"), "End": True}},
        }
    )
    result = machine.run(list(range(60)), lambdas={"look": each})
    time.sleep(0.5)  # what the pool would still run after run() returned
    assert (result.status, result.error) == ("FAILED", "ValueError")
    assert len(calls) < 30
