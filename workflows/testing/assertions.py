"""Questions a test asks about a run, answered from its history.

``inspect(result)`` reads the execution's events once (through the console's
``trace``, the same reading the console and ``--report`` show) and answers: the path
taken, and for any state (any entry of it: the n-th visit, a Map iteration) its
input, output, variables, error, cause and attempts with the delays between them.

``assert_path`` and ``assert_state`` fail with messages that show what happened
instead; ``snapshot`` is a compact, stable text of a history (no timestamps, no
random ids) for snapshot tests.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from workflows.engine.machine import ExecutionResult
from workflows.trace import Trace, Visit, details_of, trace

__all__ = [
    "ANY",
    "Inspection",
    "StateView",
    "assert_path",
    "assert_state",
    "contains",
    "inspect",
    "snapshot",
]


class _Any:
    def __eq__(self, other: object) -> bool:
        return True

    def __repr__(self) -> str:
        return "ANY"

    __hash__ = object.__hash__


ANY: Final[Any] = _Any()


class contains:
    """Matches a dict that has at least these keys with these values (nested too)."""

    def __init__(self, expected: dict[str, Any]) -> None:
        self.expected = expected

    def __eq__(self, other: object) -> bool:
        return _contains(other, self.expected)

    def __repr__(self) -> str:
        return f"contains({self.expected!r})"

    __hash__ = object.__hash__


def _contains(actual: Any, expected: Any) -> bool:
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(
            key in actual and _contains(actual[key], value) for key, value in expected.items()
        )
    return bool(actual == expected)


def _parsed(text: str | None) -> Any:
    return None if text is None else json.loads(text)


@dataclass(frozen=True)
class Attempt:
    """One call of a Task's resource: how it ended and how long was waited before it."""

    number: int
    outcome: str
    error: str | None
    cause: str | None
    delay: float | None
    result: Any


@dataclass(frozen=True)
class StateView:
    """One entry of a state: what went in, what came out, what went wrong."""

    name: str
    type: str
    status: str
    input: Any
    output: Any
    error: str | None
    cause: str | None
    variables: dict[str, Any] | None
    attempts: list[Attempt]
    iteration: tuple[tuple[str, int], ...]
    next: str | None

    @property
    def delays(self) -> list[float]:
        """Seconds waited before each retry."""
        return [a.delay for a in self.attempts if a.delay is not None]


def _view(visit: Visit) -> StateView:
    variables = None
    if visit.assigned_variables is not None:
        variables = {
            name: json.loads(value) if isinstance(value, str) else value
            for name, value in visit.assigned_variables.items()
        }
    return StateView(
        name=visit.name,
        type=visit.type,
        status=visit.status,
        input=_parsed(visit.input),
        output=_parsed(visit.output),
        error=visit.error,
        cause=visit.cause,
        variables=variables,
        attempts=[
            Attempt(a.number, a.outcome, a.error, a.cause, a.delay, _parsed(a.result))
            for a in visit.attempts
        ],
        iteration=visit.iteration,
        next=visit.next,
    )


class Inspection:
    """What happened in one execution (``inspect(result)``)."""

    def __init__(self, result: ExecutionResult) -> None:
        self.result = result
        self.trace: Trace = trace(result.history)

    @property
    def path(self) -> list[str]:
        """The states of the top level, in the order they were entered."""
        return [v.name for v in self.trace.visits if v.container is None]

    @property
    def all_states(self) -> list[str]:
        """Every state entered, nested ones too (Map iterations, Parallel branches)."""
        return [v.name for v in self.trace.visits]

    def visits(self, name: str) -> list[StateView]:
        return [_view(v) for v in self.trace.visits if v.name == name]

    def state(
        self, name: str, *, nth: int = 0, iteration: int | tuple[tuple[str, int], ...] | None = None
    ) -> StateView:
        """The ``nth`` entry of state ``name`` (in Map iteration ``iteration`` if given)."""
        candidates = [v for v in self.trace.visits if v.name == name]
        if iteration is not None:
            candidates = [v for v in candidates if _in_iteration(v, iteration)]
        if nth >= len(candidates):
            raise AssertionError(
                f"state {name!r} was entered {len(candidates)} time(s)"
                + (f" in iteration {iteration}" if iteration is not None else "")
                + f"; the path was {self.all_states}"
            )
        return _view(candidates[nth])


def _in_iteration(visit: Visit, iteration: int | tuple[tuple[str, int], ...]) -> bool:
    if isinstance(iteration, int):
        return bool(visit.iteration) and visit.iteration[-1][1] == iteration
    return visit.iteration[: len(iteration)] == tuple(iteration)


def inspect(result: ExecutionResult) -> Inspection:
    return Inspection(result)


def assert_path(
    result: ExecutionResult, expected: Sequence[str], *, nested: bool = False, exact: bool = True
) -> None:
    """The states entered, in order: the top level (``nested``: every state). With
    ``exact=False`` the expected states need only appear in that order."""
    view = inspect(result)
    actual = view.all_states if nested else view.path
    if exact:
        if list(actual) == list(expected):
            return
        where = next(
            (i for i, (a, e) in enumerate(zip(actual, expected, strict=False)) if a != e),
            min(len(actual), len(expected)),
        )
        raise AssertionError(
            f"the path left the expected one at step {where}: "
            f"expected {_at(expected, where)}, went to {_at(actual, where)}\n"
            f"  expected: {list(expected)}\n  actual:   {list(actual)}"
        )
    position = 0
    for state in expected:
        try:
            position = actual.index(state, position) + 1
        except ValueError:
            raise AssertionError(
                f"{state!r} was not entered after step {position} of the path {list(actual)}"
            ) from None


def _at(states: Sequence[str], index: int) -> str:
    return repr(states[index]) if index < len(states) else "the end"


_UNSET: Final[Any] = object()


def assert_state(
    result: ExecutionResult,
    name: str,
    *,
    nth: int = 0,
    iteration: int | tuple[tuple[str, int], ...] | None = None,
    status: Any = _UNSET,
    input: Any = _UNSET,
    output: Any = _UNSET,
    error: Any = _UNSET,
    cause: Any = _UNSET,
    variables: Any = _UNSET,
    attempts: Any = _UNSET,
) -> StateView:
    """Check an entry of ``name``; each expected value is a value, ``ANY``, ``contains(...)``
    or a predicate. Returns the entry for further checks."""
    view = inspect(result).state(name, nth=nth, iteration=iteration)
    checks: dict[str, tuple[Any, Any]] = {
        "status": (status, view.status),
        "input": (input, view.input),
        "output": (output, view.output),
        "error": (error, view.error),
        "cause": (cause, view.cause),
        "variables": (variables, view.variables),
        "attempts": (attempts, len(view.attempts)),
    }
    wrong = []
    for field, (expected, actual) in checks.items():
        if expected is _UNSET:
            continue
        ok = expected(actual) if _is_predicate(expected) else expected == actual
        if not ok:
            wrong.append(f"  {field}: expected {expected!r}, was {actual!r}")
    if wrong:
        raise AssertionError(f"state {name!r} (entry {nth}):\n" + "\n".join(wrong))
    return view


def _is_predicate(value: Any) -> bool:
    return isinstance(value, Callable) and not isinstance(value, type | _Any | contains)  # type: ignore[arg-type]


_ARN: Final = re.compile(r"arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:\d{12}:[^\s\"',]+")
_UUID: Final = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
)
_DETAIL_KEYS: Final = ("name", "error", "cause", "input", "output", "parameters", "resource")


def snapshot(result: ExecutionResult) -> str:
    """One line per event: id, previous id, type, and its telling details; ARNs and UUIDs
    replaced by placeholders numbered in order of appearance, no timestamps."""
    names: dict[str, str] = {}

    def stable(text: str) -> str:
        def arn(match: re.Match[str]) -> str:
            return names.setdefault(match.group(0), f"<arn:{len(names) + 1}>")

        def uid(match: re.Match[str]) -> str:
            return names.setdefault(match.group(0), f"<uuid:{len(names) + 1}>")

        return _UUID.sub(uid, _ARN.sub(arn, text))

    lines = []
    for event in result.history:
        details = details_of(event)
        shown: dict[str, Any] = {k: details[k] for k in _DETAIL_KEYS if k in details}
        if "index" in details:
            shown["index"] = details["index"]
        line = f"{event['id']:>3} {event['previousEventId']:>3} {event['type']}"
        if shown:
            line += " " + json.dumps(shown, ensure_ascii=False, sort_keys=True)
        lines.append(stable(line))
    return "\n".join(lines)
