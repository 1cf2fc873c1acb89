"""What the execution page is sent: its lean part, and what started an execution."""

from __future__ import annotations

import json

from workflows.console.server import templates
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


def test_an_ended_execution_says_why_it_cannot_be_redriven_unless_it_succeeded() -> None:
    template = templates().get_template("_redrive.html")
    arn = f"{PARENT}-x"
    failed = {"executionArn": arn, "status": "FAILED", "redriveStatus": "NOT_REDRIVABLE",
              "redriveStatusReason": "Execution history event limit exceeded"}  # fmt: skip
    shown = template.render(execution=failed)
    assert "Not redrivable: Execution history event limit exceeded" in shown
    assert "<form" not in shown
    reason = "Execution is SUCCEEDED and cannot be redriven"
    succeeded = {**failed, "status": "SUCCEEDED", "redriveStatusReason": reason}
    assert "Not redrivable" not in template.render(execution=succeeded)
    redrivable = {**failed, "redriveStatus": "REDRIVABLE"}
    assert 'action="/executions/' in template.render(execution=redrivable)
