"""Replaying an execution recorded by Step Functions against a definition."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from workflows.engine import StateMachine, VirtualClock
from workflows.testing import replay
from workflows.testing.replay import answers_of

FN = "arn:aws:lambda:us-east-1:123456789012:function:"

RESERVE = {"Type": "Task", "Resource": FN + "reserve", "End": True}
DEFINITION: dict[str, Any] = {
    "StartAt": "Validate",
    "States": {
        "Validate": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": "validate", "Payload.$": "$"},
            "ResultSelector": {"ok.$": "$.Payload.ok", "items.$": "$.Payload.items"},
            "Retry": [{"ErrorEquals": ["Flaky"], "IntervalSeconds": 1}],
            "Next": "Both",
        },
        "Both": {
            "Type": "Parallel",
            "Branches": [
                {
                    "StartAt": "Each",
                    "States": {
                        "Each": {
                            "Type": "Map",
                            "ItemsPath": "$.items",
                            "ItemProcessor": {
                                "StartAt": "Reserve",
                                "States": {
                                    "Reserve": {
                                        "Type": "Task",
                                        "Resource": FN + "reserve",
                                        "End": True,
                                    }
                                },
                            },
                            "End": True,
                        }
                    },
                },
                {"StartAt": "Note", "States": {"Note": {"Type": "Pass", "End": True}}},
            ],
            "Next": "Enough?",
        },
        "Enough?": {
            "Type": "Choice",
            "Choices": [{"Variable": "$[0][1].count", "NumericGreaterThan": 1, "Next": "Big"}],
            "Default": "Small",
        },
        "Big": {"Type": "Succeed"},
        "Small": {"Type": "Succeed"},
    },
}

calls = {"validate": 0}


def validate(event: Any, context: Any) -> Any:
    calls["validate"] += 1
    if calls["validate"] == 1:
        raise RuntimeError("first call fails")  # not retried: Retry is on Flaky only
    return {"ok": True, "items": event["items"]}


def reserve(event: Any, context: Any) -> Any:
    return {"sku": event["sku"], "count": event["n"]}


def recorded(tmp_path: Path) -> Path:
    """An execution's history as `aws stepfunctions get-execution-history` exports it."""
    calls["validate"] = 1  # succeed at once
    result = StateMachine(DEFINITION).run(
        {"items": [{"sku": "a", "n": 1}, {"sku": "b", "n": 2}]},
        clock=VirtualClock(),
        lambdas={"validate": validate, "reserve": reserve},
        handler_mode="inline",
    )
    assert result.status == "SUCCEEDED", result.cause
    document = {
        "events": [
            {**event, "timestamp": event["timestamp"].isoformat()} for event in result.history
        ]
    }
    path = tmp_path / "history.json"
    path.write_text(json.dumps(document, indent=2, default=str))
    return path


def test_the_unchanged_definition_replays_to_the_recorded_history(tmp_path: Path) -> None:
    replayed = replay(recorded(tmp_path), DEFINITION)
    assert replayed.matches, str(replayed.divergence)
    assert replayed.result.status == "SUCCEEDED"
    recorded_events = json.loads(recorded(tmp_path).read_text())["events"]
    assert len(replayed.result.history) == len(recorded_events)


def test_answers_are_taken_per_state_in_recorded_order(tmp_path: Path) -> None:
    events = json.loads(recorded(tmp_path).read_text())["events"]
    answers = answers_of(events)
    assert set(answers) == {"Validate", "Reserve"}
    assert [a.value for a in answers["Reserve"]] == [  # type: ignore[union-attr]
        {"sku": "a", "count": 1},
        {"sku": "b", "count": 2},
    ]


def test_an_edited_definition_shows_where_it_leaves_the_recorded_path(tmp_path: Path) -> None:
    edited = json.loads(json.dumps(DEFINITION))
    edited["States"]["Enough?"]["Choices"][0]["NumericGreaterThan"] = 5
    replayed = replay(recorded(tmp_path), edited)
    assert not replayed.matches
    divergence = replayed.divergence
    assert divergence is not None
    assert divergence.recorded is not None
    assert divergence.local is not None
    assert divergence.recorded["stateEnteredEventDetails"]["name"] == "Big"
    assert divergence.local["stateEnteredEventDetails"]["name"] == "Small"
    assert "'Big'" in str(divergence)
    assert "'Small'" in str(divergence)


def test_a_recorded_failure_is_replayed_as_the_same_failure(tmp_path: Path) -> None:
    calls["validate"] = 0  # the first call raises
    result = StateMachine(DEFINITION).run(
        {"items": []},
        clock=VirtualClock(),
        lambdas={"validate": validate, "reserve": reserve},
        handler_mode="inline",
    )
    assert result.status == "FAILED"
    document = [
        {**event, "timestamp": datetime.isoformat(event["timestamp"])} for event in result.history
    ]
    replayed = replay(json.dumps(document), DEFINITION)
    assert replayed.matches, str(replayed.divergence)
    assert (replayed.result.error, replayed.result.cause) == (result.error, result.cause)
