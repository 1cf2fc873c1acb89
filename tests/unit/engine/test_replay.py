"""The replay of a stored history (workflows/engine/replay.py): how recorded events are
matched, how Task attempts are answered, which events a redrive runs again, and how the
token of a callback is found in the stored parameters."""

from __future__ import annotations

from typing import Any

import pytest

from workflows.engine import StateMachine, VirtualClock
from workflows.engine.history import History
from workflows.engine.replay import (
    Replay,
    ReplayDiverged,
    raw_event,
    redrivable_events,
    stored_token,
    with_token,
)

TOKEN = "a" * 64
OLD = "b" * 64


def fn_arn(name: str) -> str:
    return f"arn:aws:lambda:us-east-1:123456789012:function:{name}"


def recorded(
    definition: dict[str, Any], lambdas: dict[str, Any], input: Any = None
) -> list[dict[str, Any]]:
    result = StateMachine(definition).run(input or {"n": 1}, lambdas=lambdas, clock=VirtualClock())
    return result.history


def names(events: list[dict[str, Any]], ids: set[int]) -> list[tuple[str, Any]]:
    """(type, state name or Map index) of the events with ``ids``, in order."""
    shown = []
    for event in events:
        if event["id"] in ids:
            details: dict[str, Any] = (
                next((v for k, v in event.items() if k.endswith("EventDetails")), {}) or {}
            )
            shown.append((event["type"], details.get("index", details.get("name"))))
    return shown


def test_raw_event_reads_back_the_json_text_of_a_stored_event() -> None:
    stored = {
        "timestamp": 12.5,
        "type": "TaskScheduled",
        "id": 3,
        "previousEventId": 2,
        "taskScheduledEventDetails": {
            "resource": "sendMessage",
            "parameters": '{"QueueUrl":"q","n":1}',
        },
    }
    assert raw_event(stored) == (
        "TaskScheduled",
        12.5,
        2,
        {"resource": "sendMessage", "parameters": {"QueueUrl": "q", "n": 1}},
    )
    entered = {
        "timestamp": 1.0,
        "type": "PassStateEntered",
        "id": 2,
        "previousEventId": 0,
        "stateEnteredEventDetails": {"name": "P", "input": "[1]", "inputDetails": {}},
    }
    assert raw_event(entered)[3] == {"name": "P", "input": [1]}


def test_matching_returns_stored_ids_and_new_events_go_live() -> None:
    replay = Replay(
        [
            ("ExecutionStarted", 1.0, 0, {}),
            ("PassStateEntered", 2.0, 0, {"name": "A"}),
        ]
    )
    assert replay.match("ExecutionStarted", 0, {}) == 1
    assert replay.match("PassStateEntered", 0, {"name": "A"}) == 2
    assert (replay.moment, replay.live) == (2.0, False)
    assert replay.match("PassStateExited", 2, {"name": "A"}) is None
    assert replay.live
    assert replay.pending == 0


def test_a_different_state_where_the_history_has_another_is_a_changed_definition() -> None:
    replay = Replay([("ExecutionStarted", 1.0, 0, {}), ("PassStateEntered", 2.0, 0, {"name": "A"})])
    replay.match("ExecutionStarted", 0, {})
    with pytest.raises(ReplayDiverged, match=r"'A'.*'B'"):
        replay.match("PassStateEntered", 0, {"name": "B"})
    # what follows is recorded as new: the execution can record its abort
    assert replay.match("ExecutionAborted", 0, {}) is None


def test_map_iterations_are_matched_by_index_whatever_they_link_to() -> None:
    replay = Replay(
        [
            ("MapStateStarted", 1.0, 0, {}),
            ("MapIterationStarted", 2.0, 1, {"name": "M", "index": 0}),
            ("MapIterationStarted", 3.0, 1, {"name": "M", "index": 1}),
        ]
    )
    replay.match("MapStateStarted", 0, {})
    assert replay.match("MapIterationStarted", 9, {"name": "M", "index": 1}) == 3
    assert replay.match("MapIterationStarted", 1, {"name": "M", "index": 0}) == 2


def test_an_attempt_that_ended_is_answered_and_one_in_flight_is_not_consumed() -> None:
    replay = Replay(
        [
            ("TaskStarted", 1.0, 0, {}),
            ("TaskSubmitted", 2.0, 1, {"output": {"MessageId": "m"}}),
            ("TaskSucceeded", 3.0, 2, {"output": {"ok": True}}),
            ("TaskStarted", 4.0, 10, {}),
            ("TaskSubmitted", 5.0, 4, {"output": {"MessageId": "n"}}),
        ]
    )
    ended = replay.answer(1)
    assert ended is not None
    assert (ended.event_id, ended.succeeded, ended.details) == (3, True, {"output": {"ok": True}})
    waiting = replay.answer(4)
    assert waiting is not None
    assert (waiting.event_type, waiting.ended) == ("TaskSubmitted", False)
    assert replay.happened_after(4), "the submitted event is still to be matched"
    assert replay.answer(99) is None


CAUGHT = {
    "StartAt": "T",
    "States": {
        "T": {
            "Type": "Task",
            "Resource": fn_arn("Boom"),
            "Catch": [{"ErrorEquals": ["KeyError"], "ResultPath": "$.error", "Next": "Caught"}],
            "End": True,
        },
        "Caught": {"Type": "Pass", "End": True},
    },
}


async def test_a_failed_attempt_is_answered_with_its_stored_error() -> None:
    def boom(event: Any, context: Any) -> Any:
        raise KeyError("x")

    whole = await StateMachine(CAUGHT).execute(
        {"n": 1}, lambdas={"Boom": boom}, clock=VirtualClock()
    )
    events = whole.history
    assert events[4]["type"] == "LambdaFunctionFailed"
    history = History.resumed(events[:5])  # the process stopped right after the failure
    calls: list[Any] = []
    result = await StateMachine(CAUGHT).execute(
        {"n": 1},
        lambdas={"Boom": lambda event, context: calls.append(event)},
        clock=VirtualClock(),
        history=history,
    )
    assert calls == [], "the function had answered: it is not called again"
    assert result.succeeded
    assert result.output["error"]["Error"] == "KeyError"
    assert [e["type"] for e in result.history][5:] == [
        "TaskStateExited",
        "PassStateEntered",
        "PassStateExited",
        "ExecutionSucceeded",
    ]


def test_a_redrive_replays_what_finished_and_runs_the_failed_state_again() -> None:
    events = recorded(
        {
            "StartAt": "First",
            "States": {
                "First": {"Type": "Pass", "Next": "T"},
                "T": {"Type": "Task", "Resource": fn_arn("Boom"), "End": True},
            },
        },
        {"Boom": lambda event, context: (_ for _ in ()).throw(ValueError("no"))},
    )
    kept = redrivable_events([raw_event(e) for e in events])
    assert names(events, kept) == [
        ("ExecutionStarted", None),
        ("PassStateEntered", "First"),
        ("PassStateExited", "First"),
    ]


def test_a_redrive_keeps_the_branches_and_iterations_that_ended() -> None:
    def item(event: Any, context: Any) -> Any:
        if event == 1:
            raise ValueError("item 1")
        return event

    events = recorded(
        {
            "StartAt": "Both",
            "States": {
                "Both": {
                    "Type": "Parallel",
                    "Branches": [
                        {"StartAt": "Left", "States": {"Left": {"Type": "Pass", "End": True}}},
                        {
                            "StartAt": "Each",
                            "States": {
                                "Each": {
                                    "Type": "Map",
                                    "ItemsPath": "$.items",
                                    "MaxConcurrency": 1,
                                    "ItemProcessor": {
                                        "StartAt": "Item",
                                        "States": {
                                            "Item": {
                                                "Type": "Task",
                                                "Resource": fn_arn("Item"),
                                                "End": True,
                                            }
                                        },
                                    },
                                    "End": True,
                                }
                            },
                        },
                    ],
                    "End": True,
                }
            },
        },
        {"Item": item},
        {"items": [0, 1]},
    )
    assert events[-1]["type"] == "ExecutionFailed"
    kept = redrivable_events([raw_event(e) for e in events])
    dropped = {e["id"] for e in events} - kept
    # item 1's Task, and what its failure recorded after it, run again
    assert names(events, dropped) == [
        ("TaskStateEntered", "Item"),
        ("LambdaFunctionScheduled", None),
        ("LambdaFunctionStarted", None),
        ("LambdaFunctionFailed", None),
        ("MapIterationFailed", 1),
        ("MapStateFailed", None),
        ("ParallelStateFailed", None),
        ("ExecutionFailed", None),
    ]
    # the Parallel, the Map, item 0 and the other branch are replayed
    assert ("MapIterationSucceeded", 0) in names(events, kept)
    assert ("PassStateExited", "Left") in names(events, kept)
    assert ("MapIterationStarted", 1) in names(events, kept)


def test_the_token_of_a_callback_is_found_where_the_payload_holds_the_new_one() -> None:
    payload = {"QueueUrl": "q", "MessageBody": {"token": TOKEN, "text": f"approve {TOKEN} now"}}
    stored = {"QueueUrl": "q", "MessageBody": {"token": OLD, "text": f"approve {OLD} now"}}
    assert stored_token(payload, stored, TOKEN) == OLD
    assert stored_token([1, {"t": f"x{TOKEN}"}], [1, {"t": f"x{OLD}"}], TOKEN) == OLD
    assert stored_token({"QueueUrl": "q"}, {"QueueUrl": "q"}, TOKEN) is None
    assert with_token(payload, TOKEN, OLD) == stored


def test_a_replayed_state_sees_the_redrive_count_of_its_own_attempt() -> None:
    replay = Replay(
        [
            ("ExecutionStarted", 1.0, 0, {}),
            ("ExecutionFailed", 2.0, 1, {}),
            ("ExecutionRedriven", 3.0, 2, {"redriveCount": 1}),
            ("ExecutionFailed", 4.0, 3, {}),
            ("ExecutionRedriven", 5.0, 4, {"redriveCount": 2}),
        ]
    )
    assert replay.redrive_count == 2
    assert [replay.redrives_before(event_id) for event_id in (2, 4, 6)] == [0, 1, 2]
