"""The timeline `workflows run` prints, read from histories linked as AWS links them."""

from __future__ import annotations

from typing import Any

from tests.unit.test_trace import FAILS_BESIDE_A_WAIT
from workflows.engine import StateMachine, VirtualClock
from workflows.timeline import render_timeline, steps_of


def run(definition: dict[str, Any], data: Any) -> Any:
    return StateMachine(definition).run(data, clock=VirtualClock())


def summary(result: Any) -> list[tuple[str, int, str]]:
    return [(s.name, s.depth, s.status) for s in steps_of(result.history)]


INNER = {"StartAt": "Leaf", "States": {"Leaf": {"Type": "Pass", "End": True}}}


def test_nested_map_iterations_sit_under_their_map() -> None:
    definition = {
        "StartAt": "Outer",
        "States": {
            "Outer": {
                "Type": "Map",
                "MaxConcurrency": 1,
                "ItemProcessor": {
                    "StartAt": "Inner",
                    "States": {
                        "Inner": {"Type": "Map", "ItemProcessor": INNER, "End": True},
                    },
                },
                "Next": "Done",
            },
            "Done": {"Type": "Pass", "End": True},
        },
    }
    result = run(definition, [[1, 2], [3]])
    assert summary(result) == [
        ("Outer", 0, "succeeded"),
        ("Inner", 1, "succeeded"),
        ("Leaf", 2, "succeeded"),
        ("Leaf", 2, "succeeded"),
        ("Inner", 1, "succeeded"),
        ("Leaf", 2, "succeeded"),
        ("Done", 0, "succeeded"),
    ]
    outer = steps_of(result.history)[0]
    assert outer.notes == ["iteration 0 started", "iteration 1 started"]


def test_a_caught_failure_shows_as_caught_and_the_catcher_runs_at_the_same_level() -> None:
    definition = {
        "StartAt": "P",
        "States": {
            "P": {
                "Type": "Parallel",
                "Branches": [{"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "E"}}}],
                "Catch": [{"ErrorEquals": ["E"], "Next": "Recover"}],
                "End": True,
            },
            "Recover": {"Type": "Pass", "End": True},
        },
    }
    result = run(definition, {})
    assert summary(result) == [
        ("P", 0, "caught"),
        ("F", 1, "failed"),
        ("Recover", 0, "succeeded"),
    ]
    text = render_timeline(result.history)
    assert "!!  P (Parallel)" in text
    assert "SUCCEEDED" in text


def test_a_retried_map_counts_its_attempts_and_ends_failed() -> None:
    definition = {
        "StartAt": "M",
        "States": {
            "M": {
                "Type": "Map",
                "ItemProcessor": {
                    "StartAt": "F",
                    "States": {"F": {"Type": "Fail", "Error": "E", "Cause": "c"}},
                },
                "Retry": [{"ErrorEquals": ["E"], "MaxAttempts": 1}],
                "End": True,
            }
        },
    }
    result = run(definition, [1])
    steps = steps_of(result.history)
    assert steps[0].name == "M"
    assert steps[0].status == "failed"
    assert "retry #1" in steps[0].notes
    assert [s.depth for s in steps] == [0, 1, 1]
    assert render_timeline(result.history).splitlines()[-1].strip().startswith("1.0 s  FAILED")


def test_a_branch_cut_off_by_its_sibling_s_failure_is_marked_so_and_no_none_is_printed() -> None:
    definition = {
        "StartAt": "Both",
        "States": {
            "Both": {
                "Type": "Parallel",
                "Branches": FAILS_BESIDE_A_WAIT,
                "End": True,
            }
        },
    }
    result = run(definition, {})
    assert summary(result) == [
        ("Both", 0, "failed"),
        ("Fails", 1, "failed"),
        ("Waits", 1, "cancelled"),
    ]
    lines = render_timeline(result.history).splitlines()
    assert lines[3].split()[2:5] == ["--", "Waits", "(Wait)"]
    assert lines[-1].split() == ["0.00", "ms", "FAILED", "E"]  # no cause: no "None"
