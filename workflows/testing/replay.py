"""Replay an execution recorded by Step Functions against a definition, locally.

``replay(history, definition)`` takes a GetExecutionHistory document (what
``aws stepfunctions get-execution-history --output json`` prints, or its ``events``
list), answers every Task from the results and errors it recorded, in the order they
were recorded per state, and runs the definition on a virtual clock. With the
definition that produced the history, the local history is the recorded one event
for event; with an edited definition, ``divergence`` says where the new run leaves
the recorded path. So a production failure becomes a local test.

Callback tasks are answered with what their token received, so the local history
has no ``TaskSubmitted`` event where the recording has one; the comparison skips it.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from workflows.engine import StateMachine, VirtualClock
from workflows.engine.machine import ExecutionResult
from workflows.engine.mocks import MockPlan, Return, Throw
from workflows.trace import details_of, trace

__all__ = ["Divergence", "ReplayResult", "answers_of", "load_history", "replay"]

_SUCCEEDED: Final = ("TaskSucceeded", "LambdaFunctionSucceeded", "ActivitySucceeded")
_FAILED: Final = ("TaskFailed", "LambdaFunctionFailed", "ActivityFailed")
_TIMED_OUT: Final = ("TaskTimedOut", "LambdaFunctionTimedOut", "ActivityTimedOut")
# events a replayed run cannot produce the same way (see the module docstring)
_NOT_COMPARED: Final = frozenset({"TaskSubmitted"})
# details that differ between any two runs
_VOLATILE: Final = ("roleArn", "mapRunArn")
# values inside the data that differ between two executions of the same thing: the
# execution's ARN ($$.Execution.Id), times ($$.State.EnteredTime, ...), task tokens
_EXECUTION_ARN: Final = re.compile(r"arn:aws:states:[^:\s\"]*:\d*:execution:[^\s\"]+")
_TIMESTAMP: Final = re.compile(
    r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?"
)


@dataclass(frozen=True)
class Divergence:
    """Where the local run left the recorded one (``index`` into the compared events)."""

    index: int
    recorded: dict[str, Any] | None
    local: dict[str, Any] | None

    def __str__(self) -> str:
        return (
            f"event {self.index + 1}: recorded {_describe(self.recorded)}, "
            f"local run {_describe(self.local)}"
        )


def _describe(event: dict[str, Any] | None) -> str:
    if event is None:
        return "nothing (the history ended)"
    name = details_of(event).get("name")
    return f"{event['type']}" + (f" of {name!r}" if name else "")


@dataclass
class ReplayResult:
    result: ExecutionResult
    divergence: Divergence | None

    @property
    def matches(self) -> bool:
        return self.divergence is None


def load_history(source: str | Path | Mapping[str, Any] | Sequence[Any]) -> list[dict[str, Any]]:
    """The events of a GetExecutionHistory document (a path, its JSON text or value)."""
    value: Any = source
    is_text = isinstance(source, str) and source.lstrip().startswith(("{", "["))
    if isinstance(source, Path) or (isinstance(source, str) and not is_text):
        value = json.loads(Path(source).read_text())
    elif isinstance(source, str):
        value = json.loads(source)
    events = value.get("events") if isinstance(value, Mapping) else value
    if not isinstance(events, list) or not events:
        raise ValueError("a GetExecutionHistory document has a non-empty 'events' list")
    return sorted(events, key=lambda e: int(e["id"]))


def answers_of(events: Sequence[Mapping[str, Any]]) -> dict[str, list[Return | Throw]]:
    """What each Task state's resource answered, per state, in the recorded order."""
    answers: dict[str, list[Return | Throw]] = defaultdict(list)
    for visit in trace(events).visits:
        for attempt in visit.attempts:
            if attempt.outcome == "succeeded":
                result = json.loads(attempt.result) if attempt.result is not None else None
                answers[visit.name].append(Return(result))
            elif attempt.outcome == "failed":
                answers[visit.name].append(Throw(attempt.error or "", attempt.cause))
    return dict(answers)


def _input_of(events: Sequence[Mapping[str, Any]]) -> Any:
    started = details_of(events[0])
    text = started.get("input")
    return json.loads(text) if isinstance(text, str) else text


def _comparable(events: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    shown = []
    for event in events:
        if event["type"] in _NOT_COMPARED:
            continue
        details = {key: value for key, value in details_of(event).items() if key not in _VOLATILE}
        shown.append({"type": event["type"], "details": _unvaried(_parsed_texts(details))})
    tokens = _tokens(shown)
    return [_without_tokens(event, tokens) for event in shown]


def _unvaried(value: Any) -> Any:
    """``value`` with execution ARNs and timestamps replaced by what they stand for."""
    if isinstance(value, str):
        return _TIMESTAMP.sub("<time>", _EXECUTION_ARN.sub("<execution>", value))
    if isinstance(value, dict):
        return {key: _unvaried(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_unvaried(item) for item in value]
    return value


def _tokens(events: Sequence[Mapping[str, Any]]) -> set[str]:
    """The task tokens of a run: what a waiting Task's parameters carry under a *Token key."""
    found: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if isinstance(item, str) and key.lower().endswith("token") and len(item) > 16:
                    found.add(item)
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    for event in events:
        if event["type"] == "TaskScheduled" and ".waitForTaskToken" in str(
            event["details"].get("resource", "")
        ):
            walk(event["details"].get("parameters"))
    return found


def _without_tokens(value: Any, tokens: set[str]) -> Any:
    if not tokens:
        return value
    if isinstance(value, str):
        return "<task token>" if value in tokens else value
    if isinstance(value, dict):
        return {key: _without_tokens(item, tokens) for key, item in value.items()}
    if isinstance(value, list):
        return [_without_tokens(item, tokens) for item in value]
    return value


def _parsed_texts(details: dict[str, Any]) -> dict[str, Any]:
    parsed = {}
    for key, value in details.items():
        if key in ("input", "output", "parameters") and isinstance(value, str):
            with contextlib.suppress(ValueError):
                value = json.loads(value)
        parsed[key] = value
    return parsed


def replay(
    history: str | Path | Mapping[str, Any] | Sequence[Any],
    definition: Mapping[str, Any] | str | StateMachine,
) -> ReplayResult:
    """Run ``definition`` with every Task answered as the recorded execution's were."""
    events = load_history(history)
    machine = definition if isinstance(definition, StateMachine) else StateMachine(definition)
    plan = MockPlan.of({name: list(answers) for name, answers in answers_of(events).items()})
    result = machine.run(_input_of(events), clock=VirtualClock(), mocks=plan)
    local_events = result.history
    recorded, local = _comparable(events), _comparable(local_events)
    for index in range(max(len(recorded), len(local))):
        theirs = recorded[index] if index < len(recorded) else None
        ours = local[index] if index < len(local) else None
        if theirs != ours:
            return ReplayResult(
                result,
                Divergence(
                    index,
                    dict(events_at(events, index)) if theirs is not None else None,
                    dict(events_at(local_events, index)) if ours is not None else None,
                ),
            )
    return ReplayResult(result, None)


def events_at(events: Sequence[Mapping[str, Any]], index: int) -> Mapping[str, Any]:
    """The recorded event at ``index`` of the compared events."""
    compared = [e for e in events if e["type"] not in _NOT_COMPARED]
    return compared[index]
