"""What the execution page is sent: its lean part, and what started an execution."""

from __future__ import annotations

import json

from workflows.console.views import event_rows, origin

PARENT = "arn:aws:states:us-east-1:123456789012:execution:OrderProcessingStateMachine:o-1"


def test_a_parent_execution_is_named_and_linked() -> None:
    assert origin(PARENT, "{}") == {
        "kind": "execution",
        "arn": PARENT,
        "machine": "OrderProcessingStateMachine",
        "name": "o-1",
    }


def test_a_rules_execution_names_its_event_and_who_put_it() -> None:
    event = {
        "id": "9a1f",
        "source": "orders",
        "detail-type": "OrderConfirmed",
        "resources": [
            PARENT,
            "arn:aws:states:us-east-1:123456789012:stateMachine:OrderProcessingStateMachine",
        ],
        "detail": {},
    }
    found = origin("rule OnConfirmed (OrderConfirmed)", json.dumps(event))
    assert found == {
        "kind": "rule",
        "text": "rule OnConfirmed (OrderConfirmed)",
        "event": "9a1f",
        "source": "orders",
        "putBy": PARENT,
        "putByName": "o-1",
    }


def test_anything_else_is_its_words() -> None:
    assert origin("StartExecution", "{}") == {"kind": "text", "text": "StartExecution"}
    assert origin("rule R (T)", "not json") == {"kind": "text", "text": "rule R (T)"}
    assert origin(None, "{}") is None


def test_an_event_without_a_name_belongs_to_the_state_before_it() -> None:
    events = [
        {"id": 1, "type": "ExecutionStarted", "timestamp": 0.0, "previousEventId": 0,
         "executionStartedEventDetails": {"input": "{}"}},
        {"id": 2, "type": "TaskStateEntered", "timestamp": 0.1, "previousEventId": 1,
         "stateEnteredEventDetails": {"name": "Charge", "input": "{}"}},
        {"id": 3, "type": "TaskScheduled", "timestamp": 0.2, "previousEventId": 2,
         "taskScheduledEventDetails": {"resource": "invoke", "parameters": "{}"}},
        {"id": 4, "type": "TaskStarted", "timestamp": 0.3, "previousEventId": 3},
    ]  # fmt: skip
    rows = event_rows(events)
    assert [r["step"] for r in rows] == ["", "Charge", "Charge", "Charge"]
    assert [r["details"] for r in rows] == [True, True, True, False]
    assert all("input" not in json.dumps(r) for r in rows)  # no payload in a row
