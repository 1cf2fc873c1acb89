"""A readable timeline of an execution, built from its history events.

Used by ``workflows run`` (and anything else that shows an execution to a person):
one line per state with its offset from the start, duration and outcome, plus
lines for retries, caught errors, Map iterations and the final result.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = ["Step", "human", "render_timeline", "steps_of"]


@dataclass
class Step:
    name: str
    type: str
    entered: datetime
    depth: int
    exited: datetime | None = None
    status: str = "running"  # running | succeeded | failed | caught
    notes: list[str] = field(default_factory=list)
    attempts: int = 0


def steps_of(events: list[dict[str, Any]]) -> list[Step]:
    """One Step per state entered, in order; nested branches get a larger depth."""
    steps: list[Step] = []
    open_by_event: dict[int, Step] = {}  # the step each event id belongs to
    depth_by_event: dict[int, int] = {}
    for event in events:
        kind: str = event["type"]
        event_id: int = event["id"]
        previous: int = event["previousEventId"]
        depth = depth_by_event.get(previous, 0)
        owner = open_by_event.get(previous)
        if kind.endswith("StateEntered"):
            details = event["stateEnteredEventDetails"]
            step = Step(details["name"], kind[: -len("StateEntered")], event["timestamp"], depth)
            steps.append(step)
            owner = step
        elif kind.endswith("StateExited") and owner is not None:
            owner.exited = event["timestamp"]
            if owner.status == "running":
                owner.status = "succeeded"
        elif kind in ("ParallelStateStarted", "MapIterationStarted"):
            depth += 1
            if kind == "MapIterationStarted" and owner is not None:
                index = event["mapIterationStartedEventDetails"]["index"]
                owner.notes.append(f"iteration {index} started")
        elif kind in ("TaskScheduled", "LambdaFunctionScheduled") and owner is not None:
            owner.attempts += 1
            if owner.attempts > 1:
                owner.notes.append(f"retry #{owner.attempts - 1}")
        elif (
            kind.endswith(("Failed", "TimedOut"))
            and owner is not None
            and kind != "ExecutionFailed"
        ):
            error = _details(event).get("error")
            if error:
                owner.notes.append(f"{kind}: {error}")
            owner.status = "failed"
            owner.exited = event["timestamp"]
        if kind == "ExecutionFailed" and owner is not None and owner.status == "running":
            owner.status = "failed"
            owner.exited = event["timestamp"]
        if kind in ("MapIterationSucceeded", "MapIterationFailed", "ParallelStateSucceeded"):
            depth = max(0, depth - 1)
        depth_by_event[event_id] = depth
        if owner is not None:
            open_by_event[event_id] = owner
    for index, step in enumerate(steps):
        # a failure followed by another state at the same level was caught
        if step.status == "failed" and any(s.depth <= step.depth for s in steps[index + 1 :]):
            step.status = "caught"
    return steps


_MARK = {"succeeded": "ok ", "failed": "ERR", "caught": "!! ", "running": "..."}


def _details(event: dict[str, Any]) -> dict[str, Any]:
    for key, value in event.items():
        if key.endswith("EventDetails") and isinstance(value, dict):
            return value
    return {}


def human(seconds: float) -> str:
    """A duration as a person reads it: 0.4 ms, 12 ms, 3.2 s, 5 min, 24 h."""
    if seconds < 0.001:
        return f"{seconds * 1000:.2f} ms"
    if seconds < 1:
        return f"{seconds * 1000:.1f} ms"
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.0f} h"


def render_timeline(events: list[dict[str, Any]], *, collapse_iterations: int = 3) -> str:
    """The timeline as text; Map iterations beyond ``collapse_iterations`` are summarised."""
    if not events:
        return "(no events)"
    start: datetime = events[0]["timestamp"]
    lines = []
    lines.append(f"{'at':>10}  {'':3} {'state':<48}{'took':>10}")
    for step in _collapse(steps_of(events), collapse_iterations):
        offset = human((step.entered - start).total_seconds())
        took = ""
        if step.exited is not None:
            took = human((step.exited - step.entered).total_seconds())
        indent = "  " * step.depth
        label = f"{indent}{step.name}" + (f" ({step.type})" if step.type else "")
        lines.append(f"{offset:>10}  {_MARK.get(step.status, '   ')} {label:<48}{took:>10}")
        lines.extend(f"{'':16}{indent}  - {note}" for note in step.notes if "iteration" not in note)
    last = events[-1]
    kind = last["type"]
    details = _details(last)
    total = human((last["timestamp"] - start).total_seconds())
    if kind == "ExecutionSucceeded":
        lines.append(f"{total:>10}  SUCCEEDED")
    elif kind == "ExecutionFailed":
        lines.append(f"{total:>10}  FAILED  {details.get('error')}: {details.get('cause')}")
    else:
        lines.append(f"{total:>10}  {kind}")
    return "\n".join(lines)


def _collapse(steps: list[Step], keep: int) -> list[Step]:
    """Keep the first ``keep`` steps at each nested depth run; count the rest."""
    out: list[Step] = []
    hidden = 0
    run_depth = 0
    run_count = 0
    for step in steps:
        if step.depth > 0 and step.depth == run_depth:
            run_count += 1
        else:
            if hidden:
                out.append(Step(f"... {hidden} more nested states", "", out[-1].entered, run_depth))
                hidden = 0
            run_depth, run_count = step.depth, 1
        if step.depth > 0 and run_count > keep * 4 and step.status == "succeeded":
            hidden += 1
            continue
        out.append(step)
    if hidden:
        out.append(Step(f"... {hidden} more nested states", "", out[-1].entered, run_depth))
    return out
