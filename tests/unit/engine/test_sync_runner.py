"""``StateMachine.run`` keeps one loop per thread, yet each call starts clean."""

from __future__ import annotations

import asyncio
import contextvars
import threading
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


def test_parallel_branches_still_run_their_handlers_in_threads() -> None:
    branches = [{"StartAt": name, "States": {name: LOOK}} for name in ("Left", "Right")]
    machine = StateMachine(
        {
            "StartAt": "Both",
            "States": {"Both": {"Type": "Parallel", "Branches": branches, "End": True}},
        }
    )
    result = machine.run({}, lambdas={"look": _where})
    assert all(name.startswith("handler") for name in result.output)


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
