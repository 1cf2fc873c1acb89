"""Execution history in the exact shape of GetExecutionHistory.

The oracle is AWS's "Execution history events" and the HistoryEvent shape of the
Step Functions API: each event has ``timestamp`` (a datetime, as boto3 returns it),
``type``, ``id`` (1, 2, 3, ...), ``previousEventId`` and one ``<type>EventDetails``
object whose ``input``/``output`` are JSON *text*, each followed by
``inputDetails``/``outputDetails`` = ``{"truncated": false}``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from workflows.engine import StateMachine, VirtualClock

INVOKE = "arn:aws:states:::lambda:invoke"
START = datetime(2024, 1, 1, tzinfo=UTC)
ROLE = "arn:aws:iam::123456789012:role/StepFunctionsExecutionRole"
NOT_TRUNCATED = {"truncated": False}


def fn_arn(name: str) -> str:
    return f"arn:aws:lambda:us-east-1:123456789012:function:{name}"


def machine(states: dict[str, Any]) -> StateMachine:
    return StateMachine({"StartAt": next(iter(states)), "States": states})


def run(sm: StateMachine, data: Any, **kw: Any) -> Any:
    kw.setdefault("clock", VirtualClock(START))
    return sm.run(data, **kw)


def types(result: Any) -> list[str]:
    return [event["type"] for event in result.history]


def details(event: dict[str, Any]) -> dict[str, Any] | None:
    keys = [k for k in event if k.endswith("EventDetails")]
    assert len(keys) <= 1, event
    return event[keys[0]] if keys else None


def text(data: Any) -> str:
    """JSON text as Step Functions writes it: compact, non-ASCII kept as is."""
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


def entered(name: str, data: Any) -> dict[str, Any]:
    return {
        "name": name,
        "input": text(data),
        "inputDetails": NOT_TRUNCATED,
    }


def exited(name: str, data: Any) -> dict[str, Any]:
    return {
        "name": name,
        "output": text(data),
        "outputDetails": NOT_TRUNCATED,
    }


def assert_shape(result: Any) -> None:
    """What every GetExecutionHistory answer satisfies."""
    history = result.history
    assert isinstance(history, list)
    assert [e["id"] for e in history] == list(range(1, len(history) + 1))
    previous = None
    for event in history:
        extra = set(event) - {"timestamp", "type", "id", "previousEventId"}
        assert len(extra) <= 1, event
        assert all(k.endswith("EventDetails") for k in extra), event
        assert isinstance(event["type"], str)
        assert isinstance(event["previousEventId"], int)
        assert 0 <= event["previousEventId"] < event["id"]
        stamp = event["timestamp"]
        assert isinstance(stamp, datetime)
        assert stamp.utcoffset() == timedelta(0)
        if previous is not None:
            assert stamp >= previous
        previous = stamp
        for key, value in (details(event) or {}).items():
            if key in ("input", "output", "parameters"):
                assert isinstance(value, str), (event["type"], key)
                json.loads(value)
            if key in ("input", "output"):
                assert details(event)[key + "Details"] == NOT_TRUNCATED  # type: ignore[index]
    assert history[0]["type"] == "ExecutionStarted"
    assert history[0]["previousEventId"] == 0


def assert_linear(result: Any) -> None:
    """Each event follows the one before, except the first state's entered event: AWS
    links it to 0, not to ExecutionStarted."""
    for event in result.history:
        expected = 0 if event["id"] == 2 else event["id"] - 1
        assert event["previousEventId"] == expected, event


# ------------------------------------------------------------------------ Pass


def test_a_pass_execution_records_exactly_these_events() -> None:
    sm = machine(
        {
            "A": {"Type": "Pass", "Result": {"r": 1}, "ResultPath": "$.a", "Next": "B"},
            "B": {"Type": "Pass", "End": True},
        }
    )
    result = run(sm, {"in": "é"})
    assert_shape(result)
    assert_linear(result)
    out = {"in": "é", "a": {"r": 1}}
    assert [(e["type"], details(e)) for e in result.history] == [
        (
            "ExecutionStarted",
            {"input": '{"in":"é"}', "inputDetails": NOT_TRUNCATED, "roleArn": ROLE},
        ),
        ("PassStateEntered", entered("A", {"in": "é"})),
        ("PassStateExited", exited("A", out)),
        ("PassStateEntered", entered("B", out)),
        ("PassStateExited", exited("B", out)),
        (
            "ExecutionSucceeded",
            {
                "output": text(out),
                "outputDetails": NOT_TRUNCATED,
            },
        ),
    ]
    assert result.history[0]["executionStartedEventDetails"]["input"] == '{"in":"é"}'
    assert all(e["timestamp"] == START for e in result.history)


def test_json_text_in_history_is_compact_and_keeps_key_order() -> None:
    result = run(machine({"A": {"Type": "Pass", "End": True}}), {"z": 1, "a": [1, 2.5, None, True]})
    started = result.history[0]["executionStartedEventDetails"]
    assert started["input"] == '{"z":1,"a":[1,2.5,null,true]}'


def test_scalar_input_and_output_are_json_text_too() -> None:
    result = run(machine({"A": {"Type": "Pass", "Result": "done", "End": True}}), 7)
    assert result.history[0]["executionStartedEventDetails"]["input"] == "7"
    assert result.history[-1]["executionSucceededEventDetails"]["output"] == '"done"'


# ------------------------------------------------------------------------ Task


def test_a_function_arn_task_records_lambda_function_events() -> None:
    sm = machine({"T": {"Type": "Task", "Resource": fn_arn("Echo"), "End": True}})
    result = run(sm, {"a": 1}, lambdas={"Echo": lambda e, c: {"b": 2}})
    assert_shape(result)
    assert_linear(result)
    assert types(result) == [
        "ExecutionStarted",
        "TaskStateEntered",
        "LambdaFunctionScheduled",
        "LambdaFunctionStarted",
        "LambdaFunctionSucceeded",
        "TaskStateExited",
        "ExecutionSucceeded",
    ]
    scheduled = details(result.history[2])
    assert scheduled is not None
    assert scheduled["resource"] == fn_arn("Echo")
    assert scheduled["input"] == '{"a":1}'
    assert scheduled["inputDetails"] == NOT_TRUNCATED
    assert details(result.history[3]) is None
    assert details(result.history[4]) == {"output": '{"b":2}', "outputDetails": NOT_TRUNCATED}
    assert details(result.history[5]) == exited("T", {"b": 2})


def test_a_failed_function_records_lambda_function_failed_and_execution_failed() -> None:
    def boom(event: Any, context: Any) -> Any:
        raise ValueError("bad input")

    sm = machine({"T": {"Type": "Task", "Resource": fn_arn("Boom"), "End": True}})
    result = run(sm, {}, lambdas={"Boom": boom})
    assert_shape(result)
    assert types(result)[-2:] == ["LambdaFunctionFailed", "ExecutionFailed"]
    failed = details(result.history[-2])
    assert failed is not None
    assert set(failed) == {"error", "cause"}
    assert failed["error"] == "ValueError"
    assert json.loads(failed["cause"])["errorMessage"] == "bad input"
    assert details(result.history[-1]) == {"error": result.error, "cause": result.cause}


def test_an_optimized_lambda_task_records_task_events() -> None:
    sm = machine(
        {
            "T": {
                "Type": "Task",
                "Resource": INVOKE,
                "Parameters": {"FunctionName": "Echo", "Payload.$": "$"},
                "TimeoutSeconds": 30,
                "End": True,
            }
        }
    )
    result = run(sm, {"a": 1}, lambdas={"Echo": lambda e, c: e})
    assert_shape(result)
    assert_linear(result)
    assert types(result) == [
        "ExecutionStarted",
        "TaskStateEntered",
        "TaskScheduled",
        "TaskStarted",
        "TaskSucceeded",
        "TaskStateExited",
        "ExecutionSucceeded",
    ]
    scheduled = details(result.history[2])
    assert scheduled == {
        "resourceType": "lambda",
        "resource": "invoke",
        "region": "us-east-1",
        "parameters": '{"FunctionName":"Echo","Payload":{"a":1}}',
        "timeoutInSeconds": 30,
    }
    assert details(result.history[3]) == {"resourceType": "lambda", "resource": "invoke"}
    succeeded = details(result.history[4])
    assert succeeded is not None
    assert set(succeeded) == {"resourceType", "resource", "output", "outputDetails"}
    assert json.loads(succeeded["output"])["Payload"] == {"a": 1}


def test_retries_record_one_scheduled_started_failed_round_per_attempt() -> None:
    calls = {"n": 0}

    async def flaky(event: Any, context: Any) -> Any:  # instant: virtual time stays exact
        calls["n"] += 1
        if calls["n"] < 3:
            raise RuntimeError("again")
        return "ok"

    sm = machine(
        {
            "T": {
                "Type": "Task",
                "Resource": INVOKE,
                "Parameters": {"FunctionName": "F"},
                "Retry": [{"ErrorEquals": ["RuntimeError"], "IntervalSeconds": 3}],
                "End": True,
            }
        }
    )
    result = run(sm, {}, lambdas={"F": flaky})
    assert_shape(result)
    assert_linear(result)
    attempt = ["TaskScheduled", "TaskStarted"]
    assert types(result) == [
        "ExecutionStarted",
        "TaskStateEntered",
        *attempt,
        "TaskFailed",
        *attempt,
        "TaskFailed",
        *attempt,
        "TaskSucceeded",
        "TaskStateExited",
        "ExecutionSucceeded",
    ]
    failed = [details(e) for e in result.history if e["type"] == "TaskFailed"]
    assert all(f is not None and f["error"] == "RuntimeError" for f in failed)
    assert all(f is not None and f["resourceType"] == "lambda" for f in failed)
    assert result.history[-1]["timestamp"] == START + timedelta(seconds=3 + 6)


# ----------------------------------------------------------------------- Choice


def test_a_choice_execution_records_choice_events() -> None:
    sm = machine(
        {
            "C": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.go", "BooleanEquals": True, "Next": "Yes"}],
                "Default": "No",
            },
            "Yes": {"Type": "Succeed"},
            "No": {"Type": "Fail", "Error": "No"},
        }
    )
    result = run(sm, {"go": True})
    assert_shape(result)
    assert_linear(result)
    assert [(e["type"], details(e)) for e in result.history][1:] == [
        ("ChoiceStateEntered", entered("C", {"go": True})),
        ("ChoiceStateExited", exited("C", {"go": True})),
        ("SucceedStateEntered", entered("Yes", {"go": True})),
        ("SucceedStateExited", exited("Yes", {"go": True})),
        ("ExecutionSucceeded", {"output": '{"go":true}', "outputDetails": NOT_TRUNCATED}),
    ]


# ------------------------------------------------------------------------- Fail


def test_a_fail_state_records_no_exit_and_an_execution_failed_event() -> None:
    sm = machine(
        {
            "P": {"Type": "Pass", "Next": "F"},
            "F": {"Type": "Fail", "Error": "Rejected", "Cause": "too big"},
        }
    )
    result = run(sm, {"x": 1})
    assert_shape(result)
    assert_linear(result)
    assert [(e["type"], details(e)) for e in result.history][3:] == [
        ("FailStateEntered", entered("F", {"x": 1})),
        ("ExecutionFailed", {"error": "Rejected", "cause": "too big"}),
    ]


def test_execution_failed_omits_a_missing_cause() -> None:
    result = run(machine({"F": {"Type": "Fail", "Error": "OnlyError"}}), {})
    assert details(result.history[-1]) == {"error": "OnlyError"}


# -------------------------------------------------------------------------- Map


def test_a_map_execution_records_map_and_iteration_events() -> None:
    sm = machine(
        {
            "M": {
                "Type": "Map",
                "ItemProcessor": {"StartAt": "I", "States": {"I": {"Type": "Pass", "End": True}}},
                "End": True,
            }
        }
    )
    result = run(sm, ["a", "b"])
    assert_shape(result)
    iteration = ["PassStateEntered", "PassStateExited"]
    assert types(result) == [
        "ExecutionStarted",
        "MapStateEntered",
        "MapStateStarted",
        "MapIterationStarted",
        *iteration,
        "MapIterationSucceeded",
        "MapIterationStarted",
        *iteration,
        "MapIterationSucceeded",
        "MapStateSucceeded",
        "MapStateExited",
        "ExecutionSucceeded",
    ]
    by_type: dict[str, list[Any]] = {}
    for event in result.history:
        by_type.setdefault(event["type"], []).append(details(event))
    assert by_type["MapStateStarted"] == [{"length": 2}]
    assert by_type["MapIterationStarted"] == [{"name": "M", "index": 0}, {"name": "M", "index": 1}]
    assert by_type["MapIterationSucceeded"] == [
        {"name": "M", "index": 0},
        {"name": "M", "index": 1},
    ]
    assert by_type["MapStateSucceeded"] == [None]
    assert by_type["PassStateEntered"] == [entered("I", "a"), entered("I", "b")]
    assert by_type["MapStateExited"] == [exited("M", ["a", "b"])]
    started = next(e for e in result.history if e["type"] == "MapStateStarted")
    for event in result.history:
        if event["type"] == "MapIterationStarted":
            assert event["previousEventId"] >= started["id"]


def test_a_failed_map_iteration_records_iteration_failed_and_map_state_failed() -> None:
    sm = machine(
        {
            "M": {
                "Type": "Map",
                "ItemProcessor": {
                    "StartAt": "F",
                    "States": {"F": {"Type": "Fail", "Error": "ItemError", "Cause": "c"}},
                },
                "End": True,
            }
        }
    )
    result = run(sm, [1])
    assert_shape(result)
    assert types(result) == [
        "ExecutionStarted",
        "MapStateEntered",
        "MapStateStarted",
        "MapIterationStarted",
        "FailStateEntered",
        "MapIterationFailed",
        "MapStateFailed",
        "ExecutionFailed",
    ]
    assert details(result.history[5]) == {"name": "M", "index": 0}
    assert details(result.history[-1]) == {"error": "ItemError", "cause": "c"}


# --------------------------------------------------------------------- Parallel


def test_a_parallel_execution_records_parallel_and_branch_events() -> None:
    sm = machine(
        {
            "P": {
                "Type": "Parallel",
                "Branches": [
                    {"StartAt": "A", "States": {"A": {"Type": "Pass", "Result": 1, "End": True}}},
                    {"StartAt": "B", "States": {"B": {"Type": "Pass", "Result": 2, "End": True}}},
                ],
                "End": True,
            }
        }
    )
    result = run(sm, {})
    assert_shape(result)
    event_types = types(result)
    assert event_types[:3] == ["ExecutionStarted", "ParallelStateEntered", "ParallelStateStarted"]
    assert event_types[-3:] == [
        "ParallelStateSucceeded",
        "ParallelStateExited",
        "ExecutionSucceeded",
    ]
    assert sorted(event_types[3:-3]) == sorted(
        ["PassStateEntered", "PassStateExited", "PassStateEntered", "PassStateExited"]
    )
    assert details(result.history[2]) is None
    assert details(result.history[-3]) is None
    assert details(result.history[-2]) == exited("P", [1, 2])
    parallel_started = result.history[2]["id"]
    branch_entries = [e for e in result.history if e["type"] == "PassStateEntered"]
    # each branch starts its own line of events after ParallelStateStarted
    assert all(e["previousEventId"] == parallel_started for e in branch_entries)


def test_a_failed_parallel_branch_records_parallel_state_failed() -> None:
    sm = machine(
        {
            "P": {
                "Type": "Parallel",
                "Branches": [
                    {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "E", "Cause": "C"}}}
                ],
                "End": True,
            }
        }
    )
    result = run(sm, {})
    assert_shape(result)
    assert types(result) == [
        "ExecutionStarted",
        "ParallelStateEntered",
        "ParallelStateStarted",
        "FailStateEntered",
        "ParallelStateFailed",
        "ExecutionFailed",
    ]
    assert details(result.history[-1]) == {"error": "E", "cause": "C"}


# ------------------------------------------------------------------------- Wait


def test_wait_events_carry_virtual_timestamps() -> None:
    sm = machine(
        {
            "W": {"Type": "Wait", "Seconds": 90, "Next": "P"},
            "P": {"Type": "Pass", "End": True},
        }
    )
    result = run(sm, {})
    assert_shape(result)
    stamps = {e["type"]: e["timestamp"] for e in result.history}
    assert stamps["ExecutionStarted"] == START
    assert stamps["WaitStateEntered"] == START
    assert stamps["WaitStateExited"] == START + timedelta(seconds=90)
    assert stamps["ExecutionSucceeded"] == START + timedelta(seconds=90)


@pytest.mark.parametrize("data", [{}, [], "text", 0, None])
def test_execution_started_records_the_input_as_given(data: Any) -> None:
    result = run(machine({"A": {"Type": "Pass", "End": True}}), data)
    started = details(result.history[0])
    assert started is not None
    assert set(started) == {"input", "inputDetails", "roleArn"}
    # no input at all is an empty object, as StartExecution without input
    assert json.loads(started["input"]) == ({} if data is None else data)
