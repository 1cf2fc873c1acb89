"""Coverage of definitions: which states and transitions a suite went through."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from workflows.engine import StateMachine, VirtualClock
from workflows.engine.machine import observe_child_executions, observe_executions
from workflows.testing import Return, Throw
from workflows.testing.coverage import Coverage

pytest_plugins = ["pytester"]

DEFINITION: dict[str, Any] = {
    "StartAt": "Route",
    "States": {
        "Route": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.kind", "StringEquals": "bulk", "Next": "Each"}],
            "Default": "Charge",
        },
        "Charge": {
            "Type": "Task",
            "Resource": "${ChargeFunctionArn}",
            "Retry": [{"ErrorEquals": ["Busy"], "MaxAttempts": 2}],
            "Catch": [{"ErrorEquals": ["Declined"], "Next": "Refuse"}],
            "Next": "Done",
        },
        "Each": {
            "Type": "Map",
            "ItemsPath": "$.items",
            "ItemProcessor": {
                "StartAt": "One",
                "States": {"One": {"Type": "Pass", "End": True}},
            },
            "Next": "Done",
        },
        "Refuse": {"Type": "Fail", "Error": "Refused"},
        "Done": {"Type": "Succeed"},
    },
}
FILLED = json.loads(
    json.dumps(DEFINITION).replace(
        "${ChargeFunctionArn}", "arn:aws:lambda:us-east-1:123456789012:function:charge"
    )
)


@pytest.fixture
def coverage(tmp_path: Path) -> Any:
    (tmp_path / "payment.asl.json").write_text(json.dumps(DEFINITION))
    collected = Coverage(tmp_path)
    undo = observe_executions(collected.observe)
    yield collected
    undo()


DISTRIBUTED: dict[str, Any] = {
    "StartAt": "Fan",
    "States": {
        "Fan": {
            "Type": "Map",
            "ItemsPath": "$.items",
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
                "StartAt": "Work",
                "States": {
                    "Work": {
                        "Type": "Task",
                        "Resource": "arn:aws:states:::lambda:invoke",
                        "Parameters": {"FunctionName": "work", "Payload.$": "$"},
                        "Retry": [{"ErrorEquals": ["Busy"], "MaxAttempts": 2}],
                        "End": True,
                    }
                },
            },
            "End": True,
        }
    },
}


def test_the_child_executions_of_a_distributed_map_cover_its_states(tmp_path: Path) -> None:
    (tmp_path / "fan.asl.json").write_text(json.dumps(DISTRIBUTED))
    collected = Coverage(tmp_path)
    undo = [
        observe_executions(collected.observe),
        observe_child_executions(collected.observe_child),
    ]
    try:
        result = StateMachine(DISTRIBUTED).run(
            {"items": [1, 2]},
            clock=VirtualClock(),
            mocks={"Work": [Throw("Busy"), Return({"Payload": 1}), Return({"Payload": 2})]},
        )
    finally:
        for stop in undo:
            stop()
    assert result.status == "SUCCEEDED", result.cause
    entry = collected.files["fan"]
    assert entry.executions == 1  # the children are not executions of the file
    assert entry.states_hit == {"Fan", "Work"}
    assert entry.percent == 100


def run(data: Any, charge: Any = None) -> None:
    StateMachine(FILLED).run(data, clock=VirtualClock(), mocks={"Charge": charge or Return(1)})


def test_states_and_transitions_taken_are_counted(coverage: Coverage) -> None:
    run({"kind": "single"})
    entry = coverage.files["payment"]
    assert entry.executions == 1
    assert entry.states_hit == {"Route", "Charge", "Done"}
    assert sorted(entry.missed_states) == ["Each", "One", "Refuse"]
    assert "Route -> Charge (default)" not in entry.missed_edges
    assert "Charge -> Done (next)" not in entry.missed_edges
    assert 'Route -> Each (choice [$.kind == "bulk"])' in entry.missed_edges or any(
        e.startswith("Route -> Each (choice") for e in entry.missed_edges
    )
    assert 0 < entry.percent < 100


def test_every_path_together_covers_everything(coverage: Coverage) -> None:
    run({"kind": "single"})
    run({"kind": "single"}, [Throw("Busy"), Return(1)])
    run({"kind": "single"}, Throw("Declined"))
    run({"kind": "bulk", "items": [1, 2]})
    entry = coverage.files["payment"]
    assert entry.missed_states == []
    assert entry.missed_edges == []
    assert entry.percent == 100.0
    assert coverage.percent == 100.0


def test_executions_of_other_definitions_are_not_counted(coverage: Coverage) -> None:
    StateMachine({"StartAt": "X", "States": {"X": {"Type": "Pass", "End": True}}}).run({})
    assert coverage.files["payment"].executions == 0


def test_the_pytest_options_report_and_fail_under(pytester: pytest.Pytester) -> None:
    machines = pytester.mkdir("state_machines")
    (machines / "payment.asl.json").write_text(json.dumps(DEFINITION))
    pytester.makepyfile(
        test_payment="""
        from workflows.testing import Return

        def test_single(workflows):
            result = workflows.run("payment", {"kind": "single"}, mocks={"Charge": Return(1)})
            assert result.status == "SUCCEEDED"
        """
    )
    result = pytester.runpytest(
        "--workflows-cov",
        "--workflows-cov-report=term",
        "--workflows-cov-report=json:cov/coverage.json",
        "--workflows-cov-fail-under=90",
        "-p",
        "no:cacheprovider",
    )
    result.stdout.fnmatch_lines(
        ["*workflow definition coverage*", "payment *", "*missed state: Each*", "*below 90*"]
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    written = json.loads((pytester.path / "cov" / "coverage.json").read_text())
    assert written["definitions"]["payment"]["executions"] == 1
    assert 0 < written["percent"] < 90


SAME_TARGETS: dict[str, Any] = {
    "StartAt": "Route",
    "States": {
        "Route": {
            "Type": "Choice",
            "Choices": [
                {"Variable": "$.total", "NumericLessThan": 0, "Next": "Refuse"},
                {"Variable": "$.total", "NumericGreaterThan": 1000, "Next": "Refuse"},
            ],
            "Default": "Charge",
        },
        "Charge": {
            "Type": "Task",
            "Resource": "arn:aws:lambda:us-east-1:123456789012:function:charge",
            "TimeoutSeconds": 5,
            "Catch": [
                {"ErrorEquals": ["States.Timeout"], "Next": "Refuse"},
                {"ErrorEquals": ["Declined"], "Next": "Refuse"},
                {"ErrorEquals": ["States.ALL"], "Next": "Refuse"},
            ],
            "End": True,
        },
        "Refuse": {"Type": "Fail", "Error": "Refused"},
    },
}


@pytest.fixture
def same_targets(tmp_path: Path) -> Any:
    (tmp_path / "limits.asl.json").write_text(json.dumps(SAME_TARGETS))
    collected = Coverage(tmp_path)
    undo = observe_executions(collected.observe)
    yield collected.files["limits"]
    undo()


def test_the_catcher_that_matched_the_error_is_credited(same_targets: Any) -> None:
    machine = StateMachine(SAME_TARGETS)
    machine.run({"total": 5}, clock=VirtualClock(), mocks={"Charge": Throw("Declined")})
    missed = same_targets.missed_edges
    assert "Charge -> Refuse (catch [Declined])" not in missed
    assert "Charge -> Refuse (catch [States.Timeout])" in missed
    assert "Charge -> Refuse (catch [States.ALL])" in missed
    machine.run({"total": 5}, clock=VirtualClock(), mocks={"Charge": Throw("Boom")})
    assert "Charge -> Refuse (catch [States.ALL])" not in same_targets.missed_edges
    assert "Charge -> Refuse (catch [States.Timeout])" in same_targets.missed_edges


def test_the_choice_rule_that_held_is_credited_not_the_first_to_that_target(
    same_targets: Any,
) -> None:
    machine = StateMachine(SAME_TARGETS)
    machine.run({"total": 5000}, clock=VirtualClock(), mocks={"Charge": Return(1)})
    rules = [e for e in same_targets.missed_edges if e.startswith("Route -> Refuse (choice")]
    assert rules == ["Route -> Refuse (choice [$.total NumericLessThan 0])"]
    machine.run({"total": -1}, clock=VirtualClock(), mocks={"Charge": Return(1)})
    routes = [e for e in same_targets.missed_edges if e.startswith("Route ->")]
    assert routes == ["Route -> Charge (default)"]


def test_the_json_report_counts_each_kind_of_transition(coverage: Coverage) -> None:
    run({"kind": "single"}, Throw("Declined"))
    kinds = coverage.to_dict()["definitions"]["payment"]["by_kind"]
    assert kinds["states"] == {"total": 6, "covered": 3}  # Route, Charge, Refuse
    assert kinds["catch"] == {"total": 1, "covered": 1}
    assert kinds["default"] == {"total": 1, "covered": 1}
    assert kinds["choice"] == {"total": 1, "covered": 0}
    assert kinds["retry"] == {"total": 1, "covered": 0}


TIMERS: dict[str, Any] = {
    "TimeoutSeconds": 3600,
    "StartAt": "AwaitWorker",
    "States": {
        "AwaitWorker": {
            "Type": "Task",
            "Resource": "arn:aws:states:us-east-1:123456789012:activity:pack",
            "TimeoutSecondsPath": "$.limit",
            "HeartbeatSecondsPath": "$.beat",
            "Catch": [{"ErrorEquals": ["States.Timeout"], "Next": "GaveUp"}],
            "End": True,
        },
        "GaveUp": {"Type": "Fail", "Error": "GaveUp"},
    },
}


@pytest.fixture
def timers(tmp_path: Path) -> Any:
    (tmp_path / "packing.asl.json").write_text(json.dumps(TIMERS))
    collected = Coverage(tmp_path)
    undo = observe_executions(collected.observe)
    yield collected
    undo()


def wait_for_worker(limit: int, beat: int, **mocks: Any) -> Any:
    """No worker answers unless mocked: the virtual clock runs to the first timer."""
    data = {"limit": limit, "beat": beat}
    return StateMachine(TIMERS).run(data, clock=VirtualClock(), mocks=mocks or None)


def test_timers_that_never_fire_are_listed_as_missed(timers: Coverage) -> None:
    result = wait_for_worker(10, 3, AwaitWorker=Return("packed"))
    assert result.status == "SUCCEEDED"
    entry = timers.files["packing"]
    assert entry.timers == [
        ("", "timeout"),
        ("AwaitWorker", "timeout"),
        ("AwaitWorker", "heartbeat"),
    ]
    assert entry.missed_timers == [
        "execution timeout never fired (TimeoutSeconds)",
        "AwaitWorker timeout never fired (TimeoutSeconds)",
        "AwaitWorker heartbeat never fired (HeartbeatSeconds)",
    ]
    assert entry.percent < 100
    table = "\n".join(timers.table())
    assert "timeouts" in table.splitlines()[0]
    assert "missed: AwaitWorker heartbeat never fired (HeartbeatSeconds)" in table


def test_a_timer_fired_on_the_virtual_clock_is_covered_as_its_own_item(timers: Coverage) -> None:
    entry = timers.files["packing"]
    wait_for_worker(10, 3)  # no heartbeat after 3 s: recorded as States.Timeout too
    assert entry.timers_hit == {("AwaitWorker", "heartbeat")}
    assert ("AwaitWorker", "GaveUp", "catch", "States.Timeout") in entry.edges_hit
    wait_for_worker(10, 99999)  # the heartbeat would come too late: the 10 s fire
    assert entry.timers_hit == {("AwaitWorker", "heartbeat"), ("AwaitWorker", "timeout")}
    result = wait_for_worker(99999, 99999)  # the execution's hour runs out first
    assert result.status == "TIMED_OUT"
    assert entry.missed_timers == []
    kinds = timers.to_dict()["definitions"]["packing"]["by_kind"]
    assert kinds["timeout"] == {"total": 2, "covered": 2}
    assert kinds["heartbeat"] == {"total": 1, "covered": 1}
    assert entry.percent == 100.0


def test_a_mocked_timeout_counts_as_the_timer_that_it_stands_for(timers: Coverage) -> None:
    wait_for_worker(10, 3, AwaitWorker=Throw("States.HeartbeatTimeout"))
    wait_for_worker(10, 3, AwaitWorker=Throw("Busy"))  # a failure is not a timeout
    assert timers.files["packing"].timers_hit == {("AwaitWorker", "heartbeat")}
