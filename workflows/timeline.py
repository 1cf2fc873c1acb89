"""A readable timeline of an execution, built from its history events.

Used by ``workflows run`` (and anything else that shows an execution to a person):
one line per state with its offset from the start, duration and outcome, plus
lines for retries, caught errors, Map iterations and the final result.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import PurePath
from typing import Any

__all__ = ["Step", "human", "readable_cause", "render_timeline", "steps_of"]


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
    parent: Step | None = field(default=None, repr=False)


_CONTAINER_EVENTS = frozenset(
    {
        "MapStateSucceeded",
        "MapStateFailed",
        "MapStateAborted",
        "MapRunStarted",
        "MapRunSucceeded",
        "MapRunFailed",
        "MapRunAborted",
        "ParallelStateSucceeded",
        "ParallelStateFailed",
        "ParallelStateAborted",
    }
)
_ITERATION_EVENTS = frozenset(
    {"MapIterationStarted", "MapIterationSucceeded", "MapIterationFailed", "MapIterationAborted"}
)


def steps_of(events: list[dict[str, Any]]) -> list[Step]:
    """One Step per state entered, in order; states inside a Map or Parallel are nested.

    Events are attributed by following ``previousEventId`` as AWS links them: a state's
    own events link to its entered event; the first state of a branch or iteration links
    to the container's Started event; a container's Succeeded/Failed links to the last
    event of one of its branches, and the next Map iteration to the previous one's last
    state event. ``owner`` is the step an event belongs to, ``inside`` the container a
    state entered after it runs in.
    """
    steps: list[Step] = []
    owner: dict[int, Step | None] = {}
    inside: dict[int, Step | None] = {}
    for event in events:
        kind: str = event["type"]
        event_id: int = event["id"]
        previous: int = event["previousEventId"]
        details = _details(event)
        step: Step | None = owner.get(previous)
        container: Step | None = inside.get(previous)
        if kind.endswith("StateEntered"):
            parent = container
            step = Step(
                details["name"],
                kind[: -len("StateEntered")],
                event["timestamp"],
                parent.depth + 1 if parent else 0,
                parent=parent,
            )
            if step.type == "Fail":  # a Fail state fails where it is entered
                step.status, step.exited = "failed", step.entered
            steps.append(step)
            container = parent
        elif kind in _ITERATION_EVENTS:
            step = _open_step(steps, details.get("name"), "Map") or step
            container = step
            if kind == "MapIterationStarted" and step is not None:
                step.notes.append(f"iteration {details.get('index')} started")
        elif kind in ("MapStateStarted", "ParallelStateStarted"):
            if step is None or step.type not in ("Map", "Parallel") or step.exited:
                step = container
            container = step
            if step is not None:
                step.attempts += 1
                if step.attempts > 1:
                    step.notes.append(f"retry #{step.attempts - 1}")
        elif kind in _CONTAINER_EVENTS:
            step = container
        elif kind == "EvaluationFailed":
            step = _open_step(steps, details.get("state"), None) or step
            container = step
        elif kind.endswith("StateExited"):
            name = details.get("name")
            if step is None or step.name != name:
                step = container if container and container.name == name else None
                step = step or _open_step(steps, name, kind[: -len("StateExited")])
            if step is not None:
                step.exited = event["timestamp"]
                step.status = "caught" if step.status == "failed" else "succeeded"
            container = step.parent if step else None
        else:
            container = step.parent if step else container
        if step is not None and kind in ("TaskScheduled", "LambdaFunctionScheduled"):
            step.attempts += 1
            if step.attempts > 1:
                step.notes.append(f"retry #{step.attempts - 1}")
        elif (
            step is not None
            and kind.endswith(("Failed", "TimedOut"))
            and kind not in ("ExecutionFailed", "MapIterationFailed")
        ):
            error = details.get("error")
            if error:
                step.notes.append(f"{kind}: {error}")
            step.status = "failed"
            step.exited = event["timestamp"]
        elif kind == "ExecutionFailed" and step is not None and step.status == "running":
            step.status = "failed"
            step.exited = event["timestamp"]
        owner[event_id] = step
        inside[event_id] = container
    return steps


def _open_step(steps: list[Step], name: Any, kind: str | None) -> Step | None:
    """The newest step of that name (and type) that has not exited."""
    for step in reversed(steps):
        if step.name == name and (kind is None or step.type == kind) and step.exited is None:
            return step
    return None


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
        cause = readable_cause(details.get("cause"))
        lines.append(f"{total:>10}  FAILED  {details.get('error')}: {cause}")
    else:
        lines.append(f"{total:>10}  {kind}")
    return "\n".join(lines)


def readable_cause(cause: Any) -> Any:
    """A Lambda function error (the runtime's JSON error document) as a person reads it.

    ``{"errorMessage":"card declined","errorType":"PaymentDeclined","stackTrace":[...]}``
    becomes ``card declined (at handler.py:12 in charge)``: the message and the frame
    that raised. Any other cause is shown as it is.
    """
    if not isinstance(cause, str) or not cause.startswith('{"errorMessage"'):
        return cause
    try:
        document = json.loads(cause)
    except ValueError:
        return cause
    if not isinstance(document, dict) or "errorType" not in document:
        return cause
    message = str(document.get("errorMessage", ""))
    trace = document.get("stackTrace") or []
    frame = _FRAME.match(trace[-1]) if trace and isinstance(trace[-1], str) else None
    if frame is None:
        return message
    where = f"{PurePath(frame['file']).name}:{frame['line']} in {frame['name']}"
    return f"{message} (at {where})"


_FRAME = re.compile(r'\s*File "(?P<file>[^"]+)", line (?P<line>\d+), in (?P<name>\S+)')


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
