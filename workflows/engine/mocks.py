"""Mocked Task responses, in the format of AWS Step Functions Local's mock config.

A test replaces what a Task state's resource would answer, per invocation, without
running it: ``Return`` a result or ``Throw`` an error. The config file AWS documents
for Step Functions Local works as it is::

    {"StateMachines": {"Orders": {"TestCases": {"Declined": {"ChargePayment": "Declined"}}}},
     "MockedResponses": {"Declined": {"0": {"Throw": {"Error": "PaymentDeclined",
                                                       "Cause": "card declined"}}}}}

Keys count the invocations of that state in one execution from 0 (``"1-2"`` is a
range); past the last key the last response repeats. History records the Task's
events as if the resource had answered, so timelines and assertions on history look
exactly as with the real resource.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["MockConfigError", "MockPlan", "MockSession", "MockedResponse", "Return", "Throw"]


class MockConfigError(ValueError):
    """A mock config that cannot be used; the message says where in it."""


@dataclass(frozen=True)
class Return:
    """The resource answers ``value`` (for ``lambda:invoke``: the whole Invoke response)."""

    value: Any


@dataclass(frozen=True)
class Throw:
    """The resource fails with ``error`` and ``cause``."""

    error: str
    cause: str | None = None


Response = Return | Throw
_RANGE = re.compile(r"^(\d+)(?:-(\d+))?$")


@dataclass(frozen=True)
class MockedResponse:
    """The answers for invocation 0, 1, 2, ... of one state (the last one repeats)."""

    answers: tuple[Response, ...]

    def for_invocation(self, index: int) -> Response:
        return self.answers[min(index, len(self.answers) - 1)]

    @classmethod
    def parse(cls, spec: Any, where: str) -> MockedResponse:
        if not isinstance(spec, Mapping) or not spec:
            raise MockConfigError(f"{where}: expected an object of invocation numbers")
        slots: dict[int, Response] = {}
        for key, answer in spec.items():
            match = _RANGE.match(str(key))
            if not match:
                raise MockConfigError(f"{where}/{key}: a key is an invocation number or 'N-M'")
            first = int(match.group(1))
            last = int(match.group(2) or first)
            if last < first:
                raise MockConfigError(f"{where}/{key}: the range ends before it starts")
            response = _parse_answer(answer, f"{where}/{key}")
            for index in range(first, last + 1):
                if index in slots:
                    raise MockConfigError(f"{where}/{key}: invocation {index} is given twice")
                slots[index] = response
        expected = list(range(len(slots)))
        if sorted(slots) != expected:
            missing = sorted(set(range(max(slots) + 1)) - set(slots))
            raise MockConfigError(f"{where}: invocations {missing} have no response")
        return cls(tuple(slots[i] for i in expected))


def _parse_answer(answer: Any, where: str) -> Response:
    if not isinstance(answer, Mapping) or len(answer) != 1:
        raise MockConfigError(f"{where}: expected exactly one of 'Return' or 'Throw'")
    kind, value = next(iter(answer.items()))
    if kind == "Return":
        return Return(value)
    if kind == "Throw":
        if not isinstance(value, Mapping) or not isinstance(value.get("Error"), str):
            raise MockConfigError(f"{where}/Throw: 'Error' (a string) is required")
        cause = value.get("Cause")
        if cause is not None and not isinstance(cause, str):
            raise MockConfigError(f"{where}/Throw/Cause: must be a string")
        return Throw(value["Error"], cause)
    raise MockConfigError(f"{where}: unknown response kind {kind!r} (use 'Return' or 'Throw')")


MockSpec = MockedResponse | Response | Sequence[Response]


@dataclass(frozen=True)
class MockPlan:
    """Which states are mocked and how; immutable, shared by every execution it serves."""

    states: Mapping[str, MockedResponse]

    @classmethod
    def of(cls, mocks: Mapping[str, MockSpec]) -> MockPlan:
        """From Python: ``{"State": Return(...)}``, a Throw, or a list answered in turn."""
        states: dict[str, MockedResponse] = {}
        for name, spec in mocks.items():
            if isinstance(spec, MockedResponse):
                states[name] = spec
            elif isinstance(spec, Return | Throw):
                states[name] = MockedResponse((spec,))
            elif (
                isinstance(spec, Sequence)
                and spec
                and all(isinstance(s, Return | Throw) for s in spec)
            ):
                states[name] = MockedResponse(tuple(spec))
            else:
                raise MockConfigError(
                    f"mock for state {name!r}: give a Return, a Throw or a non-empty list of them"
                )
        return cls(states)

    @classmethod
    def from_config(
        cls, config: Mapping[str, Any] | str | Path, state_machine: str, test_case: str
    ) -> MockPlan:
        """One test case of an AWS Step Functions Local mock config (a dict or a file)."""
        if isinstance(config, str | Path):
            try:
                config = json.loads(Path(config).read_text())
            except (OSError, json.JSONDecodeError) as exc:
                raise MockConfigError(f"cannot read mock config {config}: {exc}") from None
        assert isinstance(config, Mapping)
        machines = config.get("StateMachines") or {}
        if state_machine not in machines:
            known = ", ".join(sorted(machines)) or "none"
            raise MockConfigError(f"StateMachines: no {state_machine!r} (known: {known})")
        cases = (machines[state_machine] or {}).get("TestCases") or {}
        if test_case not in cases:
            known = ", ".join(sorted(cases)) or "none"
            raise MockConfigError(
                f"StateMachines/{state_machine}/TestCases: no {test_case!r} (known: {known})"
            )
        responses = config.get("MockedResponses") or {}
        states: dict[str, MockedResponse] = {}
        for state_name, response_name in cases[test_case].items():
            if response_name not in responses:
                raise MockConfigError(
                    f"StateMachines/{state_machine}/TestCases/{test_case}/{state_name}: "
                    f"no MockedResponses entry {response_name!r}"
                )
            states[state_name] = MockedResponse.parse(
                responses[response_name], f"MockedResponses/{response_name}"
            )
        return cls(states)

    def session(self) -> MockSession:
        return MockSession(self)


class MockSession:
    """The invocation counts of one execution."""

    __slots__ = ("_counts", "_plan")

    def __init__(self, plan: MockPlan) -> None:
        self._plan = plan
        self._counts: Counter[str] = Counter()

    def next(self, state_name: str) -> Response | None:
        """The answer for this invocation of ``state_name``; None if it is not mocked."""
        mocked = self._plan.states.get(state_name)
        if mocked is None:
            return None
        index = self._counts[state_name]
        self._counts[state_name] = index + 1
        return mocked.for_invocation(index)
