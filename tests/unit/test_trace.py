"""What each state did, read from real executions' histories (the engine runs them)."""

from __future__ import annotations

from typing import Any

import pytest

from workflows.engine import StateMachine, VirtualClock
from workflows.trace import trace

FLAKY = "arn:aws:lambda:us-east-1:123456789012:function:flaky"
INNER_PASS = {"StartAt": "Leaf", "States": {"Leaf": {"Type": "Pass", "End": True}}}
# a Parallel's branches: one fails at once, and cuts the other off (also test_timeline)
FAILS_BESIDE_A_WAIT = [
    {"StartAt": "Fails", "States": {"Fails": {"Type": "Fail", "Error": "E"}}},
    {"StartAt": "Waits", "States": {"Waits": {"Type": "Wait", "Seconds": 5, "End": True}}},
]


class Flaky(Exception):
    pass


def always_fails(event: Any, context: Any) -> Any:
    raise Flaky("the provider is down")


def run(definition: dict[str, Any], data: Any, **lambdas: Any) -> list[dict[str, Any]]:
    result = StateMachine(definition).run(data, lambdas=lambdas, clock=VirtualClock())
    return result.history


RETRY_THEN_CATCH = {
    "StartAt": "Charge",
    "States": {
        "Charge": {
            "Type": "Task",
            "Resource": FLAKY,
            "Retry": [{"ErrorEquals": ["Flaky"], "IntervalSeconds": 2, "MaxAttempts": 2}],
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Refund", "ResultPath": "$.e"}],
            "Next": "Done",
        },
        "Refund": {"Type": "Pass", "Next": "Done"},
        "Done": {"Type": "Succeed"},
    },
}


def test_retries_with_their_delays_then_a_catch() -> None:
    traced = trace(run(RETRY_THEN_CATCH, {}, flaky=always_fails))
    statuses = traced.state_statuses()
    assert statuses == {"Charge": "caught", "Refund": "succeeded", "Done": "succeeded"}
    charge = traced.visits[0]
    assert [a.outcome for a in charge.attempts] == ["failed", "failed", "failed"]
    assert [a.delay for a in charge.attempts] == [None, 2.0, 4.0]  # IntervalSeconds, doubled
    assert (charge.error, charge.next) == ("Flaky", "Refund")
    assert traced.path() == [("Charge", "Refund"), ("Refund", "Done")]
    assert traced.status == "SUCCEEDED"


def test_a_state_that_succeeds_after_a_retry_is_retried() -> None:
    calls: list[int] = []

    def second_time_lucky(event: Any, context: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise Flaky("once")
        return {"ok": True}

    traced = trace(run(RETRY_THEN_CATCH, {}, flaky=second_time_lucky))
    assert traced.state_statuses() == {"Charge": "retried", "Done": "succeeded"}
    charge = traced.visits[0]
    assert charge.attempts[-1].result == '{"ok":true}'
    assert traced.path() == [("Charge", "Done")]


MAP_WITH_A_FAILING_ITEM = {
    "StartAt": "Each",
    "States": {
        "Each": {
            "Type": "Map",
            "ItemsPath": "$.items",
            "ItemProcessor": {
                "StartAt": "Check",
                "States": {
                    "Check": {
                        "Type": "Choice",
                        "Choices": [{"Variable": "$", "NumericGreaterThan": 2, "Next": "TooBig"}],
                        "Default": "Fine",
                    },
                    "TooBig": {"Type": "Fail", "Error": "TooBig", "Cause": "above 2"},
                    "Fine": {"Type": "Pass", "End": True},
                },
            },
            "End": True,
        }
    },
}


def test_map_iterations_each_with_their_own_outcome() -> None:
    traced = trace(run(MAP_WITH_A_FAILING_ITEM, {"items": [1, 3, 2]}))
    assert traced.status == "FAILED"
    outcomes = {i.index: i.status for i in traced.iterations()}
    assert (outcomes[0], outcomes[1]) == ("succeeded", "failed")
    failed = next(i for i in traced.iterations() if i.status == "failed")
    inside = traced.state_statuses(failed.path)
    assert (inside["Check"], inside["TooBig"], inside.get("Fine")) == ("succeeded", "failed", None)
    first = traced.state_statuses((("Each", 0),))
    assert (first["Fine"], first.get("TooBig")) == ("succeeded", None)
    assert traced.state_statuses()["Each"] == "failed"
    too_big = next(v for v in traced.visits if v.name == "TooBig")
    assert too_big.iteration == (("Each", 1),)
    # the Fail state's error reaches the history only as the execution's
    assert (traced.error, traced.cause) == ("TooBig", "above 2")


def test_a_failed_parallel_branch_fails_the_state_and_the_execution() -> None:
    definition = {
        "StartAt": "Both",
        "States": {
            "Both": {
                "Type": "Parallel",
                "Branches": [
                    {"StartAt": "Ok", "States": {"Ok": {"Type": "Pass", "End": True}}},
                    {"StartAt": "No", "States": {"No": {"Type": "Fail", "Error": "E"}}},
                ],
                "End": True,
            }
        },
    }
    traced = trace(run(definition, {}))
    assert traced.state_statuses() == {"Both": "failed", "Ok": "succeeded", "No": "failed"}
    assert (traced.error, traced.status) == ("E", "FAILED")


def test_events_in_aws_order_and_shape_are_read_by_links_not_position() -> None:
    """AWS: the first state's entered event has previousEventId 0, and a caught failure
    records TaskStateExited before the catcher's entered event. Arrival order varies."""
    details = {"resourceType": "lambda", "resource": "invoke"}
    events = [
        {"id": 1, "previousEventId": 0, "timestamp": 10.0, "type": "ExecutionStarted",
         "executionStartedEventDetails": {"input": "{}"}},
        {"id": 2, "previousEventId": 0, "timestamp": 10.1, "type": "TaskStateEntered",
         "stateEnteredEventDetails": {"name": "Charge", "input": "{}"}},
        {"id": 3, "previousEventId": 2, "timestamp": 10.2, "type": "TaskScheduled",
         "taskScheduledEventDetails": {**details, "parameters": "{}"}},
        {"id": 4, "previousEventId": 3, "timestamp": 10.3, "type": "TaskStarted",
         "taskStartedEventDetails": details},
        {"id": 5, "previousEventId": 4, "timestamp": 10.4, "type": "TaskFailed",
         "taskFailedEventDetails": {**details, "error": "Declined", "cause": "no"}},
        {"id": 6, "previousEventId": 5, "timestamp": 10.5, "type": "TaskStateExited",
         "stateExitedEventDetails": {"name": "Charge", "output": "{}"}},
        {"id": 7, "previousEventId": 6, "timestamp": 10.6, "type": "PassStateEntered",
         "stateEnteredEventDetails": {"name": "Release", "input": "{}"}},
        {"id": 8, "previousEventId": 7, "timestamp": 10.7, "type": "PassStateExited",
         "stateExitedEventDetails": {"name": "Release", "output": "{}",
                                     "assignedVariables": {"released": "true"}}},
        {"id": 9, "previousEventId": 8, "timestamp": 10.8, "type": "ExecutionSucceeded",
         "executionSucceededEventDetails": {"output": "{}"}},
    ]  # fmt: skip
    traced = trace(reversed(events))
    assert traced.state_statuses() == {"Charge": "caught", "Release": "succeeded"}
    assert traced.path() == [("Charge", "Release")]
    release = traced.visits[1]
    assert release.assigned_variables == {"released": "true"}
    assert traced.visits[0].duration == pytest.approx(0.4)  # entered 10.1, exited 10.5


def test_an_execution_still_running_or_stopped() -> None:
    events = [
        {"id": 1, "previousEventId": 0, "timestamp": 1.0, "type": "ExecutionStarted"},
        {"id": 2, "previousEventId": 1, "timestamp": 1.0, "type": "WaitStateEntered",
         "stateEnteredEventDetails": {"name": "Hold", "input": "{}"}},
    ]  # fmt: skip
    assert trace(events).state_statuses() == {"Hold": "running"}
    aborted = {"id": 3, "previousEventId": 2, "timestamp": 2.0, "type": "ExecutionAborted"}
    stopped = trace([*events, aborted])
    assert (stopped.status, stopped.state_statuses()) == ("ABORTED", {"Hold": "cancelled"})


def test_a_redriven_execution_runs_its_failed_state_again() -> None:
    details = {"resourceType": "dynamodb", "resource": "putItem"}
    events = [
        {"id": 1, "previousEventId": 0, "timestamp": 1.0, "type": "ExecutionStarted"},
        {"id": 2, "previousEventId": 1, "timestamp": 1.1, "type": "TaskStateEntered",
         "stateEnteredEventDetails": {"name": "Save", "input": "{}"}},
        {"id": 3, "previousEventId": 2, "timestamp": 1.2, "type": "TaskScheduled",
         "taskScheduledEventDetails": {**details, "parameters": "{}"}},
        {"id": 4, "previousEventId": 3, "timestamp": 1.3, "type": "TaskFailed",
         "taskFailedEventDetails": {**details, "error": "NoTable"}},
        {"id": 5, "previousEventId": 4, "timestamp": 1.4, "type": "ExecutionFailed",
         "executionFailedEventDetails": {"error": "NoTable"}},
    ]  # fmt: skip
    assert trace(events).state_statuses() == {"Save": "failed"}
    again = [
        {"id": 6, "previousEventId": 5, "timestamp": 5.0, "type": "ExecutionRedriven",
         "executionRedrivenEventDetails": {"redriveCount": 1}},
        {"id": 7, "previousEventId": 6, "timestamp": 5.1, "type": "TaskStateEntered",
         "stateEnteredEventDetails": {"name": "Save", "input": "{}"}},
    ]  # fmt: skip
    running = trace([*events, *again])
    assert (running.status, running.error, running.stop) == ("RUNNING", None, None)
    assert running.state_statuses() == {"Save": "running"}
    done = [
        {"id": 8, "previousEventId": 7, "timestamp": 5.2, "type": "TaskSucceeded",
         "taskSucceededEventDetails": {**details, "output": "{}"}},
        {"id": 9, "previousEventId": 8, "timestamp": 5.3, "type": "TaskStateExited",
         "stateExitedEventDetails": {"name": "Save", "output": "{}"}},
        {"id": 10, "previousEventId": 9, "timestamp": 5.4, "type": "ExecutionSucceeded",
         "executionSucceededEventDetails": {"output": "{}"}},
    ]  # fmt: skip
    succeeded = trace([*events, *again, *done])
    assert succeeded.status == "SUCCEEDED"
    assert succeeded.state_statuses() == {"Save": "retried"}  # failed, then ran again
    assert [v.status for v in succeeded.visits] == ["retried", "succeeded"]


def test_an_evaluation_failure_belongs_to_the_state_it_names() -> None:
    """AWS links EvaluationFailed to the event before the failing state's entered event
    (here the Pass state's exit), and names the state in its details."""
    definition = {
        "QueryLanguage": "JSONata",
        "StartAt": "Start",
        "States": {
            "Start": {"Type": "Pass", "Output": "{% $states.input.items %}", "Next": "Each"},
            "Each": {"Type": "Map", "ItemProcessor": INNER_PASS, "End": True},
        },
    }
    history = run(definition, {"items": 1})
    assert [e["type"] for e in history][-3:] == [
        "EvaluationFailed",
        "MapStateFailed",
        "ExecutionFailed",
    ]
    traced = trace(history)
    assert traced.state_statuses() == {"Start": "succeeded", "Each": "failed"}
    assert traced.visits[1].error == "States.QueryEvaluationError"


def test_every_attempt_of_a_retried_parallel_shows_its_failed_branch() -> None:
    """AWS records no ParallelStateFailed between attempts: the next
    ParallelStateStarted is what says the attempt before failed."""
    definition = {
        "StartAt": "Both",
        "States": {
            "Both": {
                "Type": "Parallel",
                "Branches": FAILS_BESIDE_A_WAIT,
                "Retry": [{"ErrorEquals": ["E"], "MaxAttempts": 2, "IntervalSeconds": 1}],
                "End": True,
            }
        },
    }
    traced = trace(run(definition, {}))
    assert [(v.name, v.status) for v in traced.visits] == [
        ("Both", "failed"),
        ("Fails", "failed"),
        ("Waits", "cancelled"),
        ("Fails", "failed"),
        ("Waits", "cancelled"),
        ("Fails", "failed"),
        ("Waits", "cancelled"),
    ]
    assert traced.visits[0].starts == 3
