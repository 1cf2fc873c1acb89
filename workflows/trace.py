"""What happened to each state of an execution, read from its history events.

``trace(events)`` turns GetExecutionHistory's events into ``Visit``s (one per time
a state was entered, with its input, output, attempts, error and the Map iteration
it ran in) and tells each state's outcome: succeeded, failed, caught, retried,
running, cancelled or not entered. The console colours its graph with it and
``workflows run --report`` writes it; like ``graph`` it imports nothing of the
runtime, so the testing plugin can use it for coverage.

Events are read by type and by their ``previousEventId`` links, never by
position: an event belongs to the state whose events it follows, and an event
that closes a Map or Parallel state, or one of its iterations, is matched to the
open state it names (or to the nearest open state of that type).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

__all__ = [
    "Attempt",
    "Iteration",
    "Trace",
    "Visit",
    "details_of",
    "epoch",
    "status_of",
    "trace",
]

# what a state's colour says, in the order a person reads them
STATUSES: Final = (
    "succeeded",
    "failed",
    "caught",
    "retried",
    "running",
    "cancelled",
    "not entered",
)

_ATTEMPT_START: Final = ("TaskScheduled", "LambdaFunctionScheduled", "ActivityScheduled")
_ATTEMPT_FAILED: Final = (
    "TaskFailed",
    "TaskTimedOut",
    "TaskStartFailed",
    "TaskSubmitFailed",
    "LambdaFunctionFailed",
    "LambdaFunctionTimedOut",
    "LambdaFunctionStartFailed",
    "LambdaFunctionScheduleFailed",
    "ActivityFailed",
    "ActivityTimedOut",
    "ActivityScheduleFailed",
)
_ATTEMPT_SUCCEEDED: Final = ("TaskSucceeded", "LambdaFunctionSucceeded", "ActivitySucceeded")
_ATTEMPT_STARTED: Final = ("TaskStarted", "LambdaFunctionStarted", "ActivityStarted")
_CONTAINER_EVENTS: Final = {
    "MapStateStarted": "Map",
    "MapStateSucceeded": "Map",
    "MapStateFailed": "Map",
    "MapStateAborted": "Map",
    "ParallelStateStarted": "Parallel",
    "ParallelStateSucceeded": "Parallel",
    "ParallelStateFailed": "Parallel",
    "ParallelStateAborted": "Parallel",
}
_ITERATION_END: Final = {
    "MapIterationSucceeded": "succeeded",
    "MapIterationFailed": "failed",
    "MapIterationAborted": "cancelled",
}
_EXECUTION_END: Final = {
    "ExecutionSucceeded": "SUCCEEDED",
    "ExecutionFailed": "FAILED",
    "ExecutionTimedOut": "TIMED_OUT",
    "ExecutionAborted": "ABORTED",
}


def epoch(timestamp: Any) -> float:
    """An event's timestamp as epoch seconds (datetime, number or ISO text)."""
    if isinstance(timestamp, datetime):
        return timestamp.timestamp()
    if isinstance(timestamp, int | float):
        return float(timestamp)
    return datetime.fromisoformat(str(timestamp)).timestamp()


def details_of(event: Mapping[str, Any]) -> dict[str, Any]:
    """The ``*EventDetails`` of an event ({} when it has none)."""
    for key, value in event.items():
        if key.endswith("EventDetails") and isinstance(value, dict):
            return value
    return {}


@dataclass
class Attempt:
    """One try of a Task: scheduled, maybe started, then succeeded or failed."""

    number: int  # 1 for the first try
    scheduled_at: float
    resource: str | None = None
    parameters: str | None = None  # JSON text, as TaskScheduled carries it
    started_at: float | None = None
    ended_at: float | None = None
    outcome: str = "running"  # running | succeeded | failed | waiting
    failed_as: str | None = None  # the event that failed it: TaskFailed, TaskTimedOut, ...
    error: str | None = None
    cause: str | None = None
    result: str | None = None  # JSON text of the service's result
    delay: float | None = None  # seconds waited after the previous attempt failed
    event_ids: list[int] = field(default_factory=list)


@dataclass
class Visit:
    """One time a state was entered."""

    name: str
    type: str
    entered_id: int
    entered_at: float
    iteration: tuple[tuple[str, int], ...]  # the Map iterations it ran in: ((map, index), ...)
    container: Visit | None = None  # the Parallel/Map visit it runs inside
    input: str | None = None
    output: str | None = None
    exited_at: float | None = None
    exited_id: int | None = None
    attempts: list[Attempt] = field(default_factory=list)
    error: str | None = None
    cause: str | None = None
    failed: bool = False  # its last attempt (or the state itself) failed
    caught: bool = False  # ... and a Catcher took over
    cancelled: bool = False
    redriven: bool = False  # it failed or was cancelled, and a redrive ran it again
    assigned_variables: dict[str, Any] | None = None
    iterations: dict[int, str] = field(default_factory=dict)  # Map: index -> status
    starts: int = 0  # Map/Parallel: how many times it started (more than once when retried)
    stopped_at: float | None = None  # when it last failed (a Retrier may rerun it) or was cut off
    failed_as: str | None = None  # ... and the event that said so: MapStateFailed, ...
    next: str | None = None  # the state entered after it in the same scope
    event_ids: list[int] = field(default_factory=list)

    @property
    def open(self) -> bool:
        return self.exited_at is None and not self.failed and not self.cancelled

    @property
    def status(self) -> str:
        if self.redriven:  # one more attempt: the redrive's visit says how it went
            return "retried"
        if self.cancelled:
            return "cancelled"
        if self.failed:
            return "caught" if self.caught else "failed"
        if self.exited_at is None:
            return "running"
        if len(self.attempts) > 1:
            return "retried"
        return "succeeded"

    @property
    def duration(self) -> float | None:
        end = self.exited_at
        if end is None and self.attempts and self.attempts[-1].ended_at is not None:
            end = self.attempts[-1].ended_at
        return None if end is None else end - self.entered_at

    @property
    def waiting_for_token(self) -> bool:
        """A ``.waitForTaskToken`` task whose token was sent out and not answered yet."""
        last = self.attempts[-1] if self.attempts else None
        return (
            last is not None
            and last.outcome in ("running", "waiting")
            and (last.resource or "").endswith(".waitForTaskToken")
            and self.open
        )

    def to_dict(self, start: float) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "status": self.status,
            "iteration": [list(step) for step in self.iteration],
            "container": None if self.container is None else self.container.name,
            "enteredId": self.entered_id,
            "exitedId": self.exited_id,
            "enteredAt": self.entered_at - start,
            "exitedAt": None if self.exited_at is None else self.exited_at - start,
            "duration": self.duration,
            "input": self.input,
            "output": self.output,
            "error": self.error,
            "cause": self.cause,
            "assignedVariables": self.assigned_variables,
            "waitingForToken": self.waiting_for_token,
            "next": self.next,
            "iterations": {str(i): s for i, s in sorted(self.iterations.items())},
            "attempts": [
                {
                    "number": a.number,
                    "resource": a.resource,
                    "parameters": a.parameters,
                    "scheduledAt": a.scheduled_at - start,
                    "endedAt": None if a.ended_at is None else a.ended_at - start,
                    "duration": None if a.ended_at is None else a.ended_at - a.scheduled_at,
                    "outcome": a.outcome,
                    "error": a.error,
                    "cause": a.cause,
                    "result": a.result,
                    "delay": a.delay,
                }
                for a in self.attempts
            ],
        }


@dataclass
class Iteration:
    map_state: str
    index: int
    status: str
    path: tuple[tuple[str, int], ...]  # the iteration path of the states inside it


@dataclass
class Trace:
    visits: list[Visit]
    status: str  # the execution's: RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED
    start: float
    stop: float | None
    error: str | None = None
    cause: str | None = None
    input: str | None = None
    output: str | None = None

    def iterations(self) -> list[Iteration]:
        """Every Map iteration with its status, in the order they started."""
        found: list[Iteration] = []
        for visit in self.visits:
            if visit.type != "Map":
                continue
            for index, status in visit.iterations.items():
                path = (*visit.iteration, (visit.name, index))
                found.append(Iteration(visit.name, index, status, path))
        return found

    def state_statuses(
        self, iteration: tuple[tuple[str, int], ...] | None = None
    ) -> dict[str, str]:
        """Each state's outcome; inside Maps, of the iteration given (default: all merged)."""
        merged: dict[str, str] = {}
        for visit in self.visits:
            if iteration is not None and not _within(visit.iteration, iteration):
                continue
            merged[visit.name] = _merge(merged.get(visit.name), visit.status)
        return merged

    def path(self) -> list[tuple[str, str]]:
        """The transitions taken (source, target), each once."""
        taken: dict[tuple[str, str], None] = {}
        for visit in self.visits:
            if visit.next is not None:
                taken[(visit.name, visit.next)] = None
        return list(taken)

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "start": self.start,
            "stop": self.stop,
            "error": self.error,
            "cause": self.cause,
            "visits": [v.to_dict(self.start) for v in self.visits],
            "statuses": self.state_statuses(),
            "path": [list(step) for step in self.path()],
            "iterations": [
                {
                    "map": it.map_state,
                    "index": it.index,
                    "status": it.status,
                    "path": [list(step) for step in it.path],
                }
                for it in self.iterations()
            ],
        }


def _within(visit_path: tuple[tuple[str, int], ...], selected: tuple[tuple[str, int], ...]) -> bool:
    """Whether a visit is shown when ``selected`` iterations are picked.

    A visit outside every Map is always shown; one inside a Map is shown when the
    selection picks its iteration (states of Maps the selection does not mention
    are merged over all their iterations).
    """
    picked = dict(selected)
    return all(picked.get(name, index) == index for name, index in visit_path)


# a state seen several times (a loop, or merged Map iterations) shows its most telling outcome
_PRECEDENCE: Final = {
    "running": 0,
    "failed": 1,
    "cancelled": 2,
    "caught": 3,
    "retried": 4,
    "succeeded": 5,
}


def _merge(old: str | None, new: str) -> str:
    if old is None:
        return new
    return old if _PRECEDENCE.get(old, 9) <= _PRECEDENCE.get(new, 9) else new


def status_of(statuses: Mapping[str, str], name: str) -> str:
    return statuses.get(name, "not entered")


def trace(events: Iterable[Mapping[str, Any]]) -> Trace:
    """Read history events (any order of arrival; sorted by id here)."""
    ordered = sorted(events, key=lambda e: int(e["id"]))
    reader = _Reader()
    for event in ordered:
        reader.read(event)
    return reader.finish()


class _Reader:
    def __init__(self) -> None:
        self.visits: list[Visit] = []
        self.owner: dict[int, Visit | None] = {}  # event id -> the visit it belongs to
        self.kind: dict[int, str] = {}
        self.status = "RUNNING"
        self.start: float | None = None
        self.stop: float | None = None
        self.error: str | None = None
        self.cause: str | None = None
        self.input: str | None = None
        self.output: str | None = None
        self.pending_delay: dict[int, float] = {}  # id(visit) -> time its last attempt failed
        self.iteration_index: dict[int, int] = {}  # MapIterationStarted event id -> index
        # (id(Map visit), index) -> the event id its iteration last started at
        self.iteration_start: dict[tuple[int, int], int] = {}
        self.container_start: dict[int, int] = {}  # id(Map/Parallel visit) -> last started id

    def read(self, event: Mapping[str, Any]) -> None:
        event_id = int(event["id"])
        kind = str(event["type"])
        previous = int(event.get("previousEventId") or 0)
        at = epoch(event["timestamp"])
        details = details_of(event)
        self.kind[event_id] = kind
        if self.start is None:
            self.start = at
        owner = self.owner.get(previous)
        visit: Visit | None
        if kind == "ExecutionStarted":
            self.input = details.get("input")
            self.owner[event_id] = None
            return
        if kind in _EXECUTION_END:
            self._execution_end(kind, details, at)
            self.owner[event_id] = owner
            return
        if kind == "ExecutionRedriven":
            self._redriven()
            self.owner[event_id] = owner
            return
        if kind.endswith("StateEntered"):
            visit = self._enter(kind, details, event_id, previous, owner, at)
            self.owner[event_id] = visit
            return
        if kind.endswith("StateExited"):
            visit = self._climb(owner, lambda v: v.name == details.get("name"))
            if visit is None:
                visit = self._latest_open(details.get("name"))
            if visit is not None:
                visit.exited_at, visit.exited_id = at, event_id
                visit.output = details.get("output", visit.output)
                if isinstance(details.get("assignedVariables"), dict):
                    visit.assigned_variables = details["assignedVariables"]
                visit.event_ids.append(event_id)
            self.owner[event_id] = visit
            return
        if kind == "EvaluationFailed":
            # it links to the event before the state's entered event, and names the state
            visit = self._latest_open(details.get("state")) or owner
            self._task_event(kind, details, event_id, visit, at)
            self.owner[event_id] = visit
            return
        if kind in _CONTAINER_EVENTS:
            wanted = _CONTAINER_EVENTS[kind]
            visit = self._climb(owner, lambda v: v.type == wanted and v.exited_at is None)
            if visit is not None:
                visit.event_ids.append(event_id)
                # only this attempt's states: a Retrier runs a Map or Parallel again
                this_attempt = self._inside(visit, self.container_start.get(id(visit), 0))
                if kind.endswith("Started"):
                    visit.starts += 1
                    self.container_start[id(visit)] = event_id
                    if visit.starts > 1:
                        # AWS records no failed event for the attempt before, whose
                        # states inside failed or were cut off
                        self._close(this_attempt, True, {}, at)
                if kind.endswith(("Failed", "Aborted")):
                    self._close(this_attempt, kind.endswith("Failed"), details, at)
                if kind.endswith("Failed"):
                    visit.failed = True
                    visit.stopped_at = at
                    # the event that carried the error (not MapStateFailed after EvaluationFailed)
                    if details.get("error") or visit.failed_as is None:
                        visit.failed_as = kind
                    visit.error = visit.error or details.get("error")
                    visit.cause = visit.cause or details.get("cause")
                elif kind.endswith("Aborted"):
                    visit.cancelled = True
            self.owner[event_id] = visit
            return
        if kind == "MapIterationStarted" or kind in _ITERATION_END:
            name = details.get("name")
            visit = self._climb(owner, lambda v: v.type == "Map" and v.name == name and v.open)
            index = details.get("index")
            if visit is not None and isinstance(index, int):
                visit.event_ids.append(event_id)
                visit.iterations[index] = _ITERATION_END.get(kind, "running")
                if kind == "MapIterationStarted":
                    self.iteration_index[event_id] = index
                    self.iteration_start[(id(visit), index)] = event_id
                elif kind != "MapIterationSucceeded":
                    inside = (*visit.iteration, (visit.name, index))
                    # a retried Map runs index 0 again: only this run of the iteration
                    since = self.iteration_start.get((id(visit), index), 0)
                    scope = [
                        v
                        for v in self.visits
                        if v.iteration[: len(inside)] == inside and v.entered_id > since
                    ]
                    self._close(scope, kind == "MapIterationFailed", details, at)
            self.owner[event_id] = visit
            return
        self._task_event(kind, details, event_id, owner, at)
        self.owner[event_id] = owner

    def _enter(
        self,
        kind: str,
        details: Mapping[str, Any],
        event_id: int,
        previous: int,
        owner: Visit | None,
        at: float,
    ) -> Visit:
        before = self.kind.get(previous)
        if owner is not None and before == "MapIterationStarted":
            container: Visit | None = owner
            index = self.iteration_index.get(previous, 0)
            iteration = (*owner.iteration, (owner.name, index))
        elif owner is not None and before == "ParallelStateStarted":
            container, iteration = owner, owner.iteration
        elif owner is not None:
            container, iteration = owner.container, owner.iteration
            if owner.next is None:
                owner.next = str(details.get("name"))
            if owner.failed:
                owner.caught = True  # the state after a failure in the same scope is a catcher
        else:
            container, iteration = None, ()
        visit = Visit(
            name=str(details.get("name")),
            type=kind[: -len("StateEntered")],
            entered_id=event_id,
            entered_at=at,
            iteration=iteration,
            container=container,
            input=details.get("input"),
            event_ids=[event_id],
        )
        self.visits.append(visit)
        return visit

    def _task_event(
        self,
        kind: str,
        details: Mapping[str, Any],
        event_id: int,
        owner: Visit | None,
        at: float,
    ) -> None:
        if owner is None:
            return
        owner.event_ids.append(event_id)
        if kind in _ATTEMPT_START:
            failed_at = self.pending_delay.pop(id(owner), None)
            resource = details.get("resource")
            if details.get("resourceType") and resource:
                resource = f"{details['resourceType']}:{resource}"
            new = Attempt(
                number=len(owner.attempts) + 1,
                scheduled_at=at,
                resource=resource,
                parameters=details.get("parameters"),
                delay=None if failed_at is None else max(0.0, at - failed_at),
                event_ids=[event_id],
            )
            owner.attempts.append(new)
            owner.failed = False  # a retry: the earlier failure did not end the state
            owner.error = owner.cause = None
            return
        attempt = owner.attempts[-1] if owner.attempts else None
        if attempt is not None:
            attempt.event_ids.append(event_id)
        if kind in _ATTEMPT_STARTED and attempt is not None:
            attempt.started_at = at
        elif kind == "TaskSubmitted" and attempt is not None:
            attempt.outcome = "waiting"
        elif kind in _ATTEMPT_SUCCEEDED and attempt is not None:
            attempt.outcome, attempt.ended_at = "succeeded", at
            attempt.result = details.get("output")
        elif kind in _ATTEMPT_FAILED:
            if attempt is not None:
                attempt.outcome, attempt.ended_at = "failed", at
                attempt.failed_as = kind
                attempt.error, attempt.cause = details.get("error"), details.get("cause")
            owner.failed = True
            owner.stopped_at, owner.failed_as = at, kind
            owner.error, owner.cause = details.get("error"), details.get("cause")
            self.pending_delay[id(owner)] = at
        elif kind.endswith("StateAborted"):
            # a sibling branch failed and AWS cut this state off (TaskStateAborted, ...)
            owner.cancelled = True
            owner.stopped_at = at
        elif kind.endswith("Failed") and "error" in details:
            # e.g. a Fail state's or an evaluation's failure recorded against the state
            owner.failed = True
            owner.stopped_at, owner.failed_as = at, kind
            owner.error, owner.cause = details.get("error"), details.get("cause")

    def _execution_end(self, kind: str, details: Mapping[str, Any], at: float) -> None:
        self.status = _EXECUTION_END[kind]
        self.stop = at
        self.error, self.cause = details.get("error"), details.get("cause")
        self.output = details.get("output")
        self._close(self.visits, kind == "ExecutionFailed", details, at)

    def _redriven(self) -> None:
        """The execution runs again from what did not finish: those visits are superseded."""
        self.status = "RUNNING"
        self.stop = self.error = self.cause = self.output = None
        for visit in self.visits:
            if visit.cancelled or (visit.failed and not visit.caught):
                visit.redriven = True

    def _inside(self, container: Visit, since: int = 0) -> list[Visit]:
        """The visits that ran inside a Parallel or Map visit (at any depth), entered
        after the event ``since``."""
        found = []
        for visit in self.visits:
            if visit.entered_id <= since:
                continue
            outer = visit.container
            while outer is not None and outer is not container:
                outer = outer.container
            if outer is container:
                found.append(visit)
        return found

    def _close(
        self, scope: list[Visit], failed: bool, details: Mapping[str, Any], at: float
    ) -> None:
        """A scope ended (execution, iteration, branch) while some of its states were open.

        Open Map/Parallel states share its fate. Of the other open states, when the
        scope failed and no state in it had failed already, an open Fail state, or else
        the last state entered (an error in Pass or Choice), is where the failure
        happened; the rest were cancelled, as AWS cancels the siblings of a failed branch.
        """
        still_open = [v for v in scope if v.open]
        others = [v for v in still_open if v.type not in ("Map", "Parallel")]
        culprit: Visit | None = None
        already = any(v.failed and not v.caught for v in scope if v not in still_open)
        if failed and others and not already:
            # a Fail state failed it if one is open; otherwise the last state entered
            culprit = max(others, key=lambda v: (v.type == "Fail", v.entered_id))
        for visit in still_open:
            visit.stopped_at = at
            if visit is culprit or (failed and visit.type in ("Map", "Parallel")):
                visit.failed = True
                visit.error = visit.error or details.get("error")
                visit.cause = visit.cause or details.get("cause")
            else:
                visit.cancelled = True
        for visit in scope:
            for index, status in list(visit.iterations.items()):
                if status == "running":
                    visit.iterations[index] = "failed" if failed else "cancelled"

    def _climb(self, visit: Visit | None, wanted: Any) -> Visit | None:
        while visit is not None and not wanted(visit):
            visit = visit.container
        return visit

    def _latest_open(self, name: Any) -> Visit | None:
        for visit in reversed(self.visits):
            if visit.name == name and visit.exited_at is None:
                return visit
        return None

    def finish(self) -> Trace:
        start = self.start if self.start is not None else 0.0
        return Trace(
            visits=self.visits,
            status=self.status,
            start=start,
            stop=self.stop,
            error=self.error,
            cause=self.cause,
            input=self.input,
            output=self.output,
        )
