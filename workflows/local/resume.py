"""Executions that were RUNNING when `workflows up` stopped continue where they were.

At start (after the lock and the ports are held), each execution stored as RUNNING
runs again from the start of its definition, under its own ARN and start time, on a
``History`` holding its stored events: what it records again is matched instead of
added, Tasks that ended are answered from the history (nothing completed runs twice),
and its clock reads the stored timestamps, so Waits, retries' back-off and timeouts
keep their original deadlines. Once it is past its stored events it goes on live. The
history shows no restart. See docs/decisions/0007-resume-by-replaying-history.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Callable, Coroutine, Iterator
from typing import TYPE_CHECKING, Any, Final

from workflows.engine.clock import Clock
from workflows.engine.history import History
from workflows.engine.replay import Replay
from workflows.local.store import ExecutionRow, ExecutionStore

if TYPE_CHECKING:
    from workflows.local.executions import ExecutionService, _Machine

__all__ = ["ReplayClock", "resume_running", "stored_events"]

log = logging.getLogger(__name__)

_PAGE: Final = 1000
_TERMINAL: Final = {
    "ExecutionSucceeded": "SUCCEEDED",
    "ExecutionFailed": "FAILED",
    "ExecutionTimedOut": "TIMED_OUT",
    "ExecutionAborted": "ABORTED",
}
MACHINE_GONE_CAUSE: Final = (
    "the local runtime stopped while it was running and its state machine no longer exists"
)


class ReplayClock:
    """The clock of an execution that replays: the stored time while stored events are
    still to be matched, then ``inner``'s. A sleep started before the first new event
    ends at the stored moment it started from plus its length, so a Wait entered (a
    Task started, an execution started) before the restart keeps its deadline."""

    def __init__(self, inner: Clock, replay: Replay) -> None:
        self._inner = inner
        self._replay = replay
        self._woke = 0.0  # the deadline of the latest sleep that ended while replaying

    def now(self) -> float:
        replay = self._replay
        if replay.live or not replay.pending:
            return self._inner.now()
        return max(replay.moment, self._woke)

    def sleep(self, seconds: float) -> Coroutine[Any, Any, None]:
        # the deadline is fixed when the sleep is asked for, not when its coroutine first
        # runs: the execution's timeout is asked for at its start, and the replay may
        # have reached its first new event before that coroutine is scheduled
        replay = self._replay
        if replay.live:
            return self._inner.sleep(seconds)
        return self._sleep_until(max(replay.moment, self._woke) + seconds)

    async def _sleep_until(self, deadline: float) -> None:
        await self._inner.sleep(max(0.0, deadline - self._inner.now()))
        self._woke = max(self._woke, deadline)

    @contextlib.contextmanager
    def busy(self) -> Iterator[None]:
        with self._inner.busy():
            yield


def stored_events(store: ExecutionStore, execution_arn: str) -> list[dict[str, Any]]:
    """Every stored event of an execution, oldest first."""
    events: list[dict[str, Any]] = []
    while True:
        page = store.events(
            execution_arn, after_id=events[-1]["id"] if events else None, limit=_PAGE
        )
        events.extend(page)
        if len(page) < _PAGE:
            return events


async def resume_running(service: ExecutionService) -> list[str]:
    """Continue every execution stored as RUNNING; returns the ARNs of those resumed.

    All are read first and then started together, with no await in between: a parent
    whose in-flight ``states:startExecution`` is performed again finds its child
    already running (and answered as StartExecution answers the same start).
    """
    store = service.store
    ready: list[tuple[ExecutionRow, _Machine, History]] = []
    for row in await asyncio.to_thread(store.running):
        events = await asyncio.to_thread(stored_events, store, row.arn)
        if events and events[-1]["type"] in _TERMINAL:
            # it ended, and the process stopped before the end reached its row
            await asyncio.to_thread(_finish_from, store, row, events[-1])
            continue
        entry = service.machine_of_execution(row)
        if entry is None:
            await asyncio.to_thread(store.abort, row.arn, MACHINE_GONE_CAUSE)
            continue
        _answer_again(service, await asyncio.to_thread(store.task_answers, row.arn))
        ready.append((row, entry, History.resumed(events)))
    for row, entry, history in ready:
        assert history.replay is not None
        clock = ReplayClock(service.app.execution_clock, history.replay)
        service.run_again(row, entry, history, clock)
        log.info("resumed %s after %d stored events", row.arn, len(history))
    return [row.arn for row, _, _ in ready]


def _answer_again(service: ExecutionService, answers: dict[str, dict[str, Any]]) -> None:
    """SendTaskSuccess/Failure calls acknowledged before the stop whose Task had not
    recorded their end: applied once the replay issues their token again."""
    tokens = service.app.tokens
    for token, answer in answers.items():
        apply: Callable[[], None]
        if "output" in answer:
            apply = functools.partial(tokens.succeed, token, answer["output"])
        else:
            apply = functools.partial(tokens.fail, token, answer.get("error"), answer.get("cause"))
        tokens.answer_when_issued(token, apply)


def _finish_from(store: ExecutionStore, row: ExecutionRow, event: dict[str, Any]) -> None:
    details = next((v for k, v in event.items() if k.endswith("EventDetails")), None) or {}
    status = _TERMINAL[event["type"]]
    store.finish_execution(
        row.arn,
        status,
        stop_date=float(event["timestamp"]),
        output=details.get("output") if status == "SUCCEEDED" else None,
        error=details.get("error"),
        cause=details.get("cause"),
    ).result()
