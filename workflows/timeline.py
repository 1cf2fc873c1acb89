"""A readable timeline of an execution, built from its history events.

Used by ``workflows run`` (and anything else that shows an execution to a person):
one line per state with its offset from the start, duration and outcome, plus
lines for retries, caught errors, Map iterations and the final result.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

from workflows.trace import Visit, details_of, epoch, trace

__all__ = ["Step", "human", "readable_cause", "render_timeline", "steps_of"]


@dataclass
class Step:
    name: str
    type: str
    entered: float  # epoch seconds
    depth: int
    exited: float | None = None
    status: str = "running"  # running | succeeded | failed | caught | cancelled
    notes: list[str] = field(default_factory=list)
    attempts: int = 0
    parent: Step | None = field(default=None, repr=False)


def steps_of(events: list[dict[str, Any]]) -> list[Step]:
    """One Step per state entered, in order; states inside a Map or Parallel are nested.

    Read through ``trace`` (the console's and the testing plugin's reading of a
    history), so all three agree on what happened to each state.
    """
    steps: list[Step] = []
    made: dict[int, Step] = {}  # id(visit) -> its step
    for visit in trace(events).visits:
        parent = made.get(id(visit.container)) if visit.container is not None else None
        step = Step(
            visit.name,
            visit.type,
            visit.entered_at,
            parent.depth + 1 if parent else 0,
            parent=parent,
            # a state a Retrier ran again and that then succeeded is marked as succeeded,
            # with its retries in its notes
            status="succeeded" if visit.status == "retried" else visit.status,
        )
        if visit.type == "Fail":  # a Fail state fails where it is entered
            step.exited = visit.entered_at
        elif visit.exited_at is not None:
            step.exited = visit.exited_at
        elif visit.failed or visit.cancelled:
            step.exited = visit.stopped_at
        step.notes = _notes(visit)
        step.attempts = len(visit.attempts) or visit.starts
        made[id(visit)] = step
        steps.append(step)
    return steps


def _notes(visit: Visit) -> list[str]:
    notes = [f"iteration {index} started" for index in visit.iterations]
    for attempt in visit.attempts:
        if attempt.number > 1:
            notes.append(f"retry #{attempt.number - 1}")
        if attempt.outcome == "failed" and attempt.error:
            notes.append(f"{attempt.failed_as}: {attempt.error}")
    notes.extend(f"retry #{retry}" for retry in range(1, visit.starts))
    if visit.failed and visit.error and not visit.attempts and visit.failed_as:
        notes.append(f"{visit.failed_as}: {visit.error}")
    return notes


_MARK = {"succeeded": "ok ", "failed": "ERR", "caught": "!! ", "running": "...", "cancelled": "-- "}


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
    start = epoch(events[0]["timestamp"])
    lines = []
    lines.append(f"{'at':>10}  {'':3} {'state':<48}{'took':>10}")
    for step in _collapse(steps_of(events), collapse_iterations):
        offset = human(step.entered - start)
        took = ""
        if step.exited is not None:
            took = human(step.exited - step.entered)
        indent = "  " * step.depth
        label = f"{indent}{step.name}" + (f" ({step.type})" if step.type else "")
        lines.append(f"{offset:>10}  {_MARK.get(step.status, '   ')} {label:<48}{took:>10}")
        lines.extend(f"{'':16}{indent}  - {note}" for note in step.notes if "iteration" not in note)
    last = events[-1]
    kind = last["type"]
    details = details_of(last)
    total = human(epoch(last["timestamp"]) - start)
    if kind == "ExecutionSucceeded":
        lines.append(f"{total:>10}  SUCCEEDED")
    elif kind == "ExecutionFailed":
        cause = readable_cause(details.get("cause"))
        failure = ": ".join(str(part) for part in (details.get("error"), cause) if part is not None)
        lines.append(f"{total:>10}  FAILED  {failure}".rstrip())
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
