"""Assertions on what happened in a run: path, states, attempts, snapshots."""

from __future__ import annotations

from typing import Any

import pytest

from workflows.engine import StateMachine, VirtualClock
from workflows.testing import (
    ANY,
    Return,
    Throw,
    assert_path,
    assert_state,
    contains,
    inspect,
    snapshot,
)

FLOW = {
    "StartAt": "Price",
    "States": {
        "Price": {
            "Type": "Pass",
            "Parameters": {"total.$": "States.MathAdd($.a, $.b)"},
            "Assign": {"seen.$": "$.total"},
            "Next": "Charge",
        },
        "Charge": {
            "Type": "Task",
            "Resource": "arn:aws:lambda:us-east-1:123456789012:function:charge",
            "Retry": [{"ErrorEquals": ["Busy"], "IntervalSeconds": 2, "BackoffRate": 3}],
            "Next": "Lines",
        },
        "Lines": {
            "Type": "Map",
            "ItemsPath": "$.lines",
            "ItemProcessor": {
                "StartAt": "Line",
                "States": {"Line": {"Type": "Pass", "End": True}},
            },
            "Next": "Big?",
        },
        "Big?": {
            "Type": "Choice",
            "Choices": [{"Variable": "$[0]", "NumericGreaterThan": 1, "Next": "Review"}],
            "Default": "Done",
        },
        "Review": {"Type": "Succeed"},
        "Done": {"Type": "Succeed"},
    },
}


def run(**kw: Any) -> Any:
    charge = [Throw("Busy", "try again"), Throw("Busy", "again"), Return({"lines": [2, 3]})]
    return StateMachine(FLOW).run(
        {"a": 1, "b": 2}, clock=VirtualClock(), mocks={"Charge": charge}, **kw
    )


def test_the_path_and_each_states_input_and_output() -> None:
    view = inspect(run())
    assert view.path == ["Price", "Charge", "Lines", "Big?", "Review"]
    assert view.all_states == ["Price", "Charge", "Lines", "Line", "Line", "Big?", "Review"]
    price = view.state("Price")
    assert price.input == {"a": 1, "b": 2}
    assert price.output == {"total": 3}
    assert price.variables == {"seen": 3}
    assert price.next == "Charge"
    assert view.state("Line", iteration=1).input == 3


def test_attempts_and_the_delays_between_them() -> None:
    charge = inspect(run()).state("Charge")
    assert [a.outcome for a in charge.attempts] == ["failed", "failed", "succeeded"]
    assert [a.error for a in charge.attempts] == ["Busy", "Busy", None]
    assert charge.delays == [2.0, 6.0]
    assert charge.attempts[-1].result == {"lines": [2, 3]}


def test_assert_path_shows_where_the_run_left_the_expected_path() -> None:
    result = run()
    assert_path(result, ["Price", "Charge", "Lines", "Big?", "Review"])
    assert_path(result, ["Charge", "Review"], exact=False)
    with pytest.raises(AssertionError) as failure:
        assert_path(result, ["Price", "Charge", "Lines", "Big?", "Done"])
    message = str(failure.value)
    assert "step 4" in message
    assert "expected 'Done', went to 'Review'" in message
    with pytest.raises(AssertionError, match="'Done' was not entered"):
        assert_path(result, ["Charge", "Done"], exact=False)


def test_assert_state_with_values_matchers_and_predicates() -> None:
    result = run()
    assert_state(
        result,
        "Charge",
        status="retried",
        input=contains({"total": 3}),
        output={"lines": [2, 3]},
        attempts=3,
        error=ANY,
    )
    assert_state(result, "Price", output=lambda out: out["total"] > 2)
    with pytest.raises(AssertionError) as failure:
        assert_state(result, "Price", output={"total": 4})
    assert "output: expected {'total': 4}, was {'total': 3}" in str(failure.value)
    with pytest.raises(AssertionError, match="entered 0 time"):
        assert_state(result, "Done")


def test_a_snapshot_is_the_same_text_for_the_same_run() -> None:
    first, second = snapshot(run()), snapshot(run())
    assert first == second
    assert "timestamp" not in first
    assert first.splitlines()[0].startswith("  1   0 ExecutionStarted")
    assert '"name": "Charge"' in first
