"""Events kept with a tuple of their details' values read as the details dict would.

While nothing replays or listens, ``run_machine``, ``Frame.enter`` and an eager Lambda
Task append a state's entry and exit and the Task's events with a tuple in place of
the details dict (``history.StoredEvent``); ``History.add``, taken as soon as anything
listens, keeps the dict. Both must give the same GetExecutionHistory events, in every
shape of machine.
"""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime
from typing import Any

import pytest

from workflows.engine import StateMachine, VirtualClock
from workflows.engine.history import History

START = datetime(2024, 1, 1, tzinfo=UTC)
_IDS = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
TASK = "arn:aws:lambda:us-east-1:123456789012:function:F"

MACHINES: dict[str, dict[str, Any]] = {
    "pass_choice_task": {
        "StartAt": "P",
        "States": {
            "P": {"Type": "Pass", "Parameters": {"a.$": "$.x"}, "Next": "C"},
            "C": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.a", "NumericEquals": 1, "Next": "T"}],
                "Default": "Fail",
            },
            "T": {"Type": "Task", "Resource": TASK, "ResultPath": "$.r", "Next": "W"},
            "W": {"Type": "Wait", "Seconds": 5, "Next": "Done"},
            "Done": {"Type": "Succeed"},
            "Fail": {"Type": "Fail", "Error": "E", "Cause": "c"},
        },
    },
    "parallel_and_map": {
        "StartAt": "Par",
        "States": {
            "Par": {
                "Type": "Parallel",
                "Branches": [
                    {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}},
                    {
                        "StartAt": "B",
                        "States": {"B": {"Type": "Task", "Resource": TASK, "End": True}},
                    },
                ],
                "Next": "Each",
            },
            "Each": {
                "Type": "Map",
                "ItemsPath": "$[0].items",
                "ItemProcessor": {"StartAt": "I", "States": {"I": {"Type": "Pass", "End": True}}},
                "End": True,
            },
        },
    },
    "assign_and_catch": {
        "StartAt": "Set",
        "States": {
            "Set": {"Type": "Pass", "Assign": {"v.$": "$.x"}, "Next": "Boom"},
            "Boom": {
                "Type": "Task",
                "Resource": "arn:aws:lambda:us-east-1:123456789012:function:Raises",
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "After"}],
                "End": True,
            },
            "After": {"Type": "Pass", "End": True},
        },
    },
}


def _raises(event: Any, context: Any) -> Any:
    raise ValueError("no")


LAMBDAS = {"F": lambda event, context: {"f": event}, "Raises": _raises}


def _events(definition: dict[str, Any], listened: bool, mode: str) -> list[dict[str, Any]]:
    history = History()
    if listened:  # a listener: History.add, and details dicts, for every event
        history.subscribe_raw(lambda event_id, raw: None)
        assert history.direct is None
    machine = StateMachine(definition)

    async def execution() -> Any:
        return await machine.execute(
            {"x": 1, "items": [1, 2]},
            lambdas=LAMBDAS,
            clock=VirtualClock(START),
            history=history,
            handler_mode=mode,  # type: ignore[arg-type]
            name="same",
        )

    result = asyncio.run(execution())
    return [
        {key: value for key, value in event.items() if key != "timestamp"}
        for event in result.history
    ]


@pytest.mark.parametrize("mode", ["thread", "inline"])
@pytest.mark.parametrize("shape", sorted(MACHINES))
def test_events_kept_as_tuples_read_as_recorded_dicts(shape: str, mode: str) -> None:
    direct = _events(MACHINES[shape], False, mode)
    assert any("stateEnteredEventDetails" in event for event in direct)
    listened = _events(MACHINES[shape], True, mode)
    assert _without_request_ids(direct) == _without_request_ids(listened)


def _without_request_ids(events: list[dict[str, Any]]) -> str:
    # (an error document's request id differs between runs)
    return _IDS.sub("ID", repr(events))
