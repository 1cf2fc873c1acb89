"""A Lambda Task without Retry, Catch or TimeoutSeconds steps through ``step_now`` (no
coroutine while its handler runs on the loop thread): whatever its handler does, the
execution must end and record exactly what ``astep`` gives."""

from __future__ import annotations

import re
from typing import Any

import pytest

from workflows.engine import StateMachine
from workflows.engine.errors import StatesError
from workflows.engine.states.task import TaskState

ARN = "arn:aws:lambda:us-east-1:123456789012:function:"


async def _later(value: Any) -> Any:
    return value


def _async_handler(event: Any, context: Any) -> Any:
    return _later({"async": event})


async def _coroutine_handler(event: Any, context: Any) -> Any:
    return {"coroutine": event}


def _mutates(event: Any, context: Any) -> Any:
    event["x"] = "changed"
    event.clear()
    return {"kept": True}


def _raises(event: Any, context: Any) -> Any:
    raise ValueError("no")


def _times_out(event: Any, context: Any) -> Any:
    raise StatesError("States.Timeout", "said the handler")


HANDLERS: dict[str, Any] = {
    "dict": lambda event, context: {"got": event, "n": 1},
    "text": lambda event, context: "plain text",
    "list": lambda event, context: [1, "a", None],
    "none": lambda event, context: None,
    "json_bytes": lambda event, context: b'{"b": 1}',
    "text_bytes": lambda event, context: b"not json",
    "not_json": lambda event, context: {"s": {1, 2}},
    "too_large": lambda event, context: {"big": "x" * (300 * 1024)},
    "raises": _raises,
    "times_out": _times_out,
    "awaitable": _async_handler,
    "async_def": _coroutine_handler,
    "mutates": _mutates,
    "missing": None,
}

SHAPES = {
    "lone": {
        "StartAt": "T",
        "States": {"T": {"Type": "Task", "Resource": ARN + "F", "ResultPath": "$.r", "End": True}},
    },
    "parameters": {
        "StartAt": "T",
        "States": {
            "T": {
                "Type": "Task",
                "Resource": ARN + "F",
                "Parameters": {"x.$": "$.x", "k": 1},
                "ResultSelector": {"all.$": "$"},
                "End": True,
            }
        },
    },
    "parallel": {
        "StartAt": "P",
        "States": {
            "P": {
                "Type": "Parallel",
                "Branches": [
                    {
                        "StartAt": "A",
                        "States": {"A": {"Type": "Task", "Resource": ARN + "F", "End": True}},
                    },
                    {
                        "StartAt": "B",
                        "States": {"B": {"Type": "Task", "Resource": ARN + "G", "End": True}},
                    },
                ],
                "End": True,
            }
        },
    },
}

_IDS = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _not_eager(machine: StateMachine) -> StateMachine:
    def walk(states: dict[str, Any]) -> None:
        for state in states.values():
            if isinstance(state, TaskState):
                assert state.eager
                state.eager = False
            for branch in getattr(state, "branches", ()):
                walk(branch.states)

    walk(machine._machine.states)
    return machine


def _seen(machine: StateMachine, handler: Any, mode: str) -> Any:
    lambdas = {} if handler is None else {"F": handler, "G": lambda event, context: {"g": 1}}
    result = machine.run({"x": [1, {"y": "z"}]}, lambdas=lambdas, handler_mode=mode)  # type: ignore[arg-type]
    events = [
        {key: value for key, value in event.items() if key != "timestamp"}
        for event in result.history
    ]
    return _IDS.sub("ID", repr((result.status, result.error, result.cause, result.output, events)))


@pytest.mark.parametrize("mode", ["thread", "inline"])
@pytest.mark.parametrize("shape", sorted(SHAPES))
@pytest.mark.parametrize("kind", sorted(HANDLERS))
def test_step_now_records_what_astep_records(kind: str, shape: str, mode: str) -> None:
    definition = SHAPES[shape]
    eager = _seen(StateMachine(definition), HANDLERS[kind], mode)
    assert eager == _seen(_not_eager(StateMachine(definition)), HANDLERS[kind], mode)
