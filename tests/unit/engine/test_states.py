"""Each state type, seen from outside: what an execution returns and records.

The oracle is AWS Step Functions (the Amazon States Language spec and the Step
Functions developer guide: Pass, Task, Choice, Wait, Succeed, Fail, Parallel and
Map states, input/output processing, Lambda integration). Time never passes for
real: every execution runs under a ``VirtualClock`` and timing is read from the
history's timestamps.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from workflows.engine import StateMachine, VirtualClock

ACCOUNT = "123456789012"
REGION = "us-east-1"
INVOKE = "arn:aws:states:::lambda:invoke"
START = datetime(2024, 1, 1, tzinfo=UTC)
LIMIT = 256 * 1024  # bytes of state input/output Step Functions accepts


def fn_arn(name: str) -> str:
    return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"


def machine(states: dict[str, Any], **top: Any) -> StateMachine:
    """A state machine that starts at its first state."""
    return StateMachine({"StartAt": next(iter(states)), "States": states, **top})


def single(state: dict[str, Any]) -> StateMachine:
    """A one-state machine (End added where the state type allows it)."""
    if state["Type"] not in ("Succeed", "Fail", "Choice") and "Next" not in state:
        state = {**state, "End": True}
    return machine({"S": state})


def run(sm: StateMachine, data: Any = None, **kwargs: Any) -> Any:
    kwargs.setdefault("clock", VirtualClock(START))
    return sm.run(data, **kwargs)


def types(result: Any) -> list[str]:
    return [event["type"] for event in result.history]


def events(result: Any, event_type: str) -> list[dict[str, Any]]:
    return [event for event in result.history if event["type"] == event_type]


def seconds(event: dict[str, Any]) -> float:
    return float(event["timestamp"].timestamp())


def cause_json(result: Any) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(result.cause)
    return parsed


def echo(event: Any, context: Any) -> Any:
    return event


# ------------------------------------------------------------------------------ Pass


def test_pass_without_fields_passes_its_input_through() -> None:
    result = run(single({"Type": "Pass"}), {"a": 1, "b": [1, 2]})
    assert result.status == "SUCCEEDED"
    assert result.output == {"a": 1, "b": [1, 2]}


def test_pass_result_replaces_the_input() -> None:
    result = run(single({"Type": "Pass", "Result": {"x": "y"}}), {"a": 1})
    assert result.output == {"x": "y"}


def test_pass_result_with_result_path_is_placed_into_the_input() -> None:
    result = run(single({"Type": "Pass", "Result": 42, "ResultPath": "$.answer"}), {"a": 1})
    assert result.output == {"a": 1, "answer": 42}


def test_pass_result_path_null_discards_the_result() -> None:
    result = run(single({"Type": "Pass", "Result": "ignored", "ResultPath": None}), {"a": 1})
    assert result.output == {"a": 1}


@pytest.mark.parametrize(
    ("data", "result_path", "expected"),
    [
        ({"a": {"z": 1}}, "$.a.b.c", {"a": {"z": 1, "b": {"c": "R"}}}),
        ({"a": 1}, "$.new.deep.er", {"a": 1, "new": {"deep": {"er": "R"}}}),
        ({"a": {"b": "old"}}, "$.a.b", {"a": {"b": "R"}}),
        ({"a": [0, 1, 2]}, "$.a[1]", {"a": [0, "R", 2]}),
        ({"a": 1}, "$", "R"),
    ],
    ids=["into-existing", "creates-missing-objects", "overwrites", "array-index", "root"],
)
def test_pass_result_path_places_the_result_at_deep_paths(
    data: Any, result_path: str, expected: Any
) -> None:
    result = run(single({"Type": "Pass", "Result": "R", "ResultPath": result_path}), data)
    assert result.status == "SUCCEEDED"
    assert result.output == expected


def test_result_path_leaves_the_state_input_as_recorded() -> None:
    result = run(single({"Type": "Pass", "Result": "R", "ResultPath": "$.a.b"}), {"a": {"keep": 1}})
    entered = events(result, "PassStateEntered")[0]["stateEnteredEventDetails"]
    assert json.loads(entered["input"]) == {"a": {"keep": 1}}
    assert result.input == {"a": {"keep": 1}}
    assert result.output == {"a": {"keep": 1, "b": "R"}}


def test_pass_parameters_take_values_from_the_effective_input_and_the_context() -> None:
    sm = single(
        {
            "Type": "Pass",
            "InputPath": "$.order",
            "Parameters": {
                "id.$": "$.id",
                "state.$": "$$.State.Name",
                "execution.$": "$$.Execution.Name",
                "literal": {"nested": "$.not-a-path"},
            },
        }
    )
    result = run(sm, {"order": {"id": "o-1"}, "other": True}, name="exec-1")
    assert result.output == {
        "id": "o-1",
        "state": "S",
        "execution": "exec-1",
        "literal": {"nested": "$.not-a-path"},
    }


def test_pass_result_path_applies_to_the_raw_input_not_the_input_path() -> None:
    sm = single({"Type": "Pass", "InputPath": "$.inner", "ResultPath": "$.copy"})
    result = run(sm, {"inner": {"v": 1}, "outer": 2})
    assert result.output == {"inner": {"v": 1}, "outer": 2, "copy": {"v": 1}}


def test_input_path_null_gives_the_state_an_empty_object() -> None:
    result = run(single({"Type": "Pass", "InputPath": None}), {"a": 1})
    assert result.output == {}


def test_output_path_null_sends_an_empty_object_on() -> None:
    result = run(single({"Type": "Pass", "OutputPath": None}), {"a": 1})
    assert result.output == {}


def test_output_path_selects_part_of_the_output() -> None:
    sm = single({"Type": "Pass", "Result": {"x": 1}, "ResultPath": "$.r", "OutputPath": "$.r.x"})
    assert run(sm, {"a": 1}).output == 1


@pytest.mark.parametrize("field", ["InputPath", "OutputPath"])
def test_a_path_that_selects_nothing_fails_with_states_runtime(field: str) -> None:
    result = run(single({"Type": "Pass", field: "$.missing"}), {"a": 1})
    assert result.status == "FAILED"
    assert result.error == "States.Runtime"
    assert "'S'" in result.cause
    assert "$.missing" in result.cause


def test_a_parameters_path_that_selects_nothing_fails_with_states_runtime() -> None:
    result = run(single({"Type": "Pass", "Parameters": {"x.$": "$.missing"}}), {"a": 1})
    assert result.status == "FAILED"
    assert result.error == "States.Runtime"
    assert result.cause == (
        "An error occurred while executing the state 'S' (entered at the event id #2). "
        "The JSONPath '$.missing' specified for the field 'x.$' could not be found in the "
        "input '{\"a\":1}'"
    )


# --------------------------------------------------------------------------- Succeed


def test_succeed_ends_the_execution_with_its_input() -> None:
    sm = machine(
        {
            "Check": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.done", "BooleanEquals": True, "Next": "Done"}],
                "Default": "More",
            },
            "Done": {"Type": "Succeed"},
            "More": {"Type": "Pass", "Result": "not reached", "End": True},
        }
    )
    result = run(sm, {"done": True})
    assert result.status == "SUCCEEDED"
    assert result.output == {"done": True}
    assert types(result)[-3:] == ["SucceedStateEntered", "SucceedStateExited", "ExecutionSucceeded"]


def test_succeed_applies_input_path_and_output_path() -> None:
    sm = single({"Type": "Succeed", "InputPath": "$.a", "OutputPath": "$.b"})
    assert run(sm, {"a": {"b": 3}}).output == 3


# ------------------------------------------------------------------------------ Fail


def test_fail_fails_the_execution_with_its_error_and_cause() -> None:
    result = run(single({"Type": "Fail", "Error": "OrderRejected", "Cause": "out of stock"}), {})
    assert (result.status, result.error, result.cause) == (
        "FAILED",
        "OrderRejected",
        "out of stock",
    )
    assert result.output is None
    assert types(result) == ["ExecutionStarted", "FailStateEntered", "ExecutionFailed"]


def test_fail_without_error_or_cause() -> None:
    result = run(single({"Type": "Fail"}), {})
    assert (result.status, result.error, result.cause) == ("FAILED", None, None)


def test_fail_error_path_and_cause_path_read_the_input() -> None:
    sm = single({"Type": "Fail", "ErrorPath": "$.error", "CausePath": "$.detail.why"})
    result = run(sm, {"error": "PaymentDeclined", "detail": {"why": "card expired"}})
    assert (result.error, result.cause) == ("PaymentDeclined", "card expired")


def test_fail_error_path_and_cause_path_take_intrinsics_and_the_context() -> None:
    sm = single(
        {"Type": "Fail", "ErrorPath": "States.Format('E{}', $.code)", "CausePath": "$$.State.Name"}
    )
    result = run(sm, {"code": 42})
    assert (result.error, result.cause) == ("E42", "S")


def test_fail_error_path_to_a_non_string_is_a_runtime_error() -> None:
    result = run(single({"Type": "Fail", "ErrorPath": "$.code", "Cause": "c"}), {"code": 42})
    assert result.status == "FAILED"
    assert result.error == "States.Runtime"


# ------------------------------------------------------------------------------ Wait


def _waited(result: Any) -> float:
    entered = events(result, "WaitStateEntered")[0]
    exited = events(result, "WaitStateExited")[0]
    return seconds(exited) - seconds(entered)


@pytest.mark.parametrize(
    ("state", "data", "expected"),
    [
        ({"Seconds": 10}, {}, 10.0),
        ({"Timestamp": "2024-01-02T00:00:00Z"}, {}, 86_400.0),
        ({"SecondsPath": "$.delay"}, {"delay": 30}, 30.0),
        ({"TimestampPath": "$.at"}, {"at": "2024-01-01T03:00:00+01:00"}, 7_200.0),
        ({"Timestamp": "2023-12-31T00:00:00Z"}, {}, 0.0),
        ({"SecondsPath": "$.delay"}, {"delay": 0}, 0.0),
    ],
    ids=["Seconds", "Timestamp", "SecondsPath", "TimestampPath-offset", "past", "zero"],
)
def test_wait_advances_virtual_time_by_exactly_the_wait(
    state: dict[str, Any], data: Any, expected: float
) -> None:
    result = run(single({"Type": "Wait", **state}), data, clock=VirtualClock(START))
    assert result.status == "SUCCEEDED"
    assert result.output == data
    assert _waited(result) == expected
    assert seconds(result.history[0]) == START.timestamp()


def test_a_year_long_wait_takes_no_real_time() -> None:
    began = time.monotonic()
    result = run(single({"Type": "Wait", "Seconds": 365 * 86_400}), {})
    real = time.monotonic() - began
    assert _waited(result) == 365 * 86_400
    assert result.history[-1]["timestamp"] == datetime(2024, 12, 31, tzinfo=UTC)
    assert real < 30  # a real wait would take a year


def test_the_context_sees_virtual_time_after_a_wait() -> None:
    sm = machine(
        {
            "W": {"Type": "Wait", "Seconds": 3600, "Next": "P"},
            "P": {"Type": "Pass", "Parameters": {"entered.$": "$$.State.EnteredTime"}, "End": True},
        }
    )
    assert run(sm, {}).output == {"entered": "2024-01-01T01:00:00.000Z"}


def test_wait_applies_input_path_and_output_path() -> None:
    sm = single({"Type": "Wait", "Seconds": 1, "InputPath": "$.a", "OutputPath": "$.b"})
    assert run(sm, {"a": {"b": 5}}).output == 5


@pytest.mark.parametrize(
    ("state", "data", "message"),
    [
        (
            {"SecondsPath": "$.s"},
            {"s": -1},
            "The SecondsPath parameter references a negative value: $.s == -1",
        ),
        (
            {"SecondsPath": "$.s"},
            {"s": 1.5},
            "The SecondsPath parameter cannot be parsed as a long value: $.s == 1.5",
        ),
        (
            {"TimestampPath": "$.t"},
            {"t": "tomorrow"},
            "The TimestampPath parameter does not reference a valid ISO-8601",
        ),
    ],
    ids=["negative", "not-integer", "bad-timestamp"],
)
def test_wait_with_a_bad_path_value_fails_with_states_runtime(
    state: dict[str, Any], data: Any, message: str
) -> None:
    result = run(single({"Type": "Wait", **state}), data)
    assert result.status == "FAILED"
    assert result.error == "States.Runtime"
    assert result.cause.startswith(
        "An error occurred while executing the state 'S' (entered at the event id #2). "
    )
    assert message in result.cause


# ---------------------------------------------------------------------------- Choice

ROUTER = {
    "Route": {
        "Type": "Choice",
        "Choices": [
            {"Variable": "$.n", "NumericGreaterThan": 100, "Next": "Big"},
            {"Variable": "$.n", "NumericGreaterThan": 10, "Next": "Medium"},
        ],
        "Default": "Small",
    },
    "Big": {"Type": "Pass", "Result": "big", "End": True},
    "Medium": {"Type": "Pass", "Result": "medium", "End": True},
    "Small": {"Type": "Pass", "Result": "small", "End": True},
}


@pytest.mark.parametrize(
    ("n", "expected"), [(1000, "big"), (50, "medium"), (10, "small"), (-1, "small")]
)
def test_choice_takes_the_first_matching_rule_else_the_default(n: int, expected: str) -> None:
    result = run(machine(ROUTER), {"n": n})
    assert result.output == expected
    exited = events(result, "ChoiceStateExited")[0]["stateExitedEventDetails"]
    assert json.loads(exited["output"]) == {"n": n}


def test_choice_without_a_match_or_default_fails_with_no_choice_matched() -> None:
    sm = machine(
        {
            "Route": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.n", "NumericEquals": 1, "Next": "One"}],
            },
            "One": {"Type": "Succeed"},
        }
    )
    result = run(sm, {"n": 2})
    assert result.status == "FAILED"
    assert result.error == "States.NoChoiceMatched"
    assert "'Route'" in result.cause


def test_choice_applies_input_path_and_output_path() -> None:
    sm = machine(
        {
            "Route": {
                "Type": "Choice",
                "InputPath": "$.order",
                "OutputPath": "$.id",
                "Choices": [{"Variable": "$.total", "NumericGreaterThan": 0, "Next": "Paid"}],
                "Default": "Free",
            },
            "Paid": {"Type": "Pass", "End": True},
            "Free": {"Type": "Fail", "Error": "Free"},
        }
    )
    assert run(sm, {"order": {"id": "o-7", "total": 3}}).output == "o-7"


# ---------------------------------------------------------------------- Task: Lambda


def test_task_with_a_function_arn_calls_the_handler_with_the_state_input() -> None:
    received: list[Any] = []

    def charge(event: Any, context: Any) -> Any:
        received.append(event)
        return {"charged": event["amount"]}

    sm = single(
        {
            "Type": "Task",
            "Resource": fn_arn("Charge"),
            "InputPath": "$.payment",
            "ResultPath": "$.receipt",
        }
    )
    result = run(sm, {"payment": {"amount": 5}}, lambdas={"Charge": charge})
    assert result.status == "SUCCEEDED"
    assert received == [{"amount": 5}]
    assert result.output == {"payment": {"amount": 5}, "receipt": {"charged": 5}}


def test_task_function_arn_with_a_qualifier_calls_the_named_function() -> None:
    sm = single({"Type": "Task", "Resource": fn_arn("Echo") + ":prod"})
    assert run(sm, {"v": 1}, lambdas={"Echo": echo}).output == {"v": 1}


def test_lambdas_may_be_registered_under_their_arn() -> None:
    sm = single({"Type": "Task", "Resource": fn_arn("Echo")})
    assert run(sm, {"v": 1}, lambdas={fn_arn("Echo"): echo}).output == {"v": 1}


INVOKE_SHAPE = {
    "ExecutedVersion",
    "Payload",
    "SdkHttpMetadata",
    "SdkResponseMetadata",
    "StatusCode",
}


@pytest.mark.parametrize(
    "function_name",
    ["Echo", f"{ACCOUNT}:function:Echo", fn_arn("Echo"), "Echo:$LATEST"],
    ids=["name", "partial-arn", "full-arn", "name-with-qualifier"],
)
def test_lambda_invoke_resolves_function_name_and_returns_the_invoke_response(
    function_name: str,
) -> None:
    sm = single(
        {
            "Type": "Task",
            "Resource": INVOKE,
            "Parameters": {"FunctionName": function_name, "Payload": {"order.$": "$.id"}},
        }
    )
    result = run(sm, {"id": 7}, lambdas={"Echo": echo})
    assert result.status == "SUCCEEDED", result.cause
    output = result.output
    assert set(output) == INVOKE_SHAPE
    assert output["Payload"] == {"order": 7}
    assert output["StatusCode"] == 200
    assert output["ExecutedVersion"] == "$LATEST"
    assert output["SdkHttpMetadata"]["HttpStatusCode"] == 200
    assert isinstance(output["SdkResponseMetadata"]["RequestId"], str)


def test_lambda_invoke_result_selector_and_output_path_pick_the_payload() -> None:
    sm = single(
        {
            "Type": "Task",
            "Resource": INVOKE,
            "Parameters": {"FunctionName": "Echo", "Payload": {"a": 1}},
            "ResultSelector": {"value.$": "$.Payload.a", "status.$": "$.StatusCode"},
            "ResultPath": "$.r",
        }
    )
    result = run(sm, {"in": True}, lambdas={"Echo": echo})
    assert result.output == {"in": True, "r": {"value": 1, "status": 200}}


def test_lambda_invoke_request_id_is_the_invocations_request_id() -> None:
    seen: list[str] = []

    def handler(event: Any, context: Any) -> Any:
        seen.append(context.aws_request_id)
        return None

    sm = single({"Type": "Task", "Resource": INVOKE, "Parameters": {"FunctionName": "F"}})
    result = run(sm, {}, lambdas={"F": handler})
    assert result.output["SdkResponseMetadata"]["RequestId"] == seen[0]


class PaymentDeclined(Exception):
    pass


def declined(event: Any, context: Any) -> Any:
    raise PaymentDeclined("card expired")


@pytest.mark.parametrize("handler_mode", ["thread", "inline"])
@pytest.mark.parametrize(
    "state",
    [
        {"Type": "Task", "Resource": fn_arn("Charge")},
        {"Type": "Task", "Resource": INVOKE, "Parameters": {"FunctionName": "Charge"}},
    ],
    ids=["function-arn", "lambda-invoke"],
)
def test_a_handler_exception_fails_the_task_as_lambda_reports_it(
    state: dict[str, Any], handler_mode: str
) -> None:
    result = run(single(state), {}, lambdas={"Charge": declined}, handler_mode=handler_mode)
    assert result.status == "FAILED"
    assert result.error == "PaymentDeclined"
    cause = cause_json(result)
    assert cause["errorMessage"] == "card expired"
    assert cause["errorType"] == "PaymentDeclined"
    assert isinstance(cause["stackTrace"], list)
    assert cause["stackTrace"], "the trace of the handler"
    # like the Python runtime: the trace starts in the handler, formatted by format_list
    assert cause["stackTrace"][0].startswith(f'  File "{__file__}", line ')
    assert ", in declined\n" in cause["stackTrace"][0]
    assert all(line.endswith("\n") for line in cause["stackTrace"])
    assert not any("concurrent/futures" in line for line in cause["stackTrace"])
    assert not any("workflows/engine" in line for line in cause["stackTrace"])


async def test_an_async_handler_exception_is_reported_the_same_way() -> None:
    async def failing(event: Any, context: Any) -> Any:
        await asyncio.sleep(0)
        raise PaymentDeclined("async")

    sm = single({"Type": "Task", "Resource": fn_arn("Charge")})
    result = await sm.execute({}, lambdas={"Charge": failing}, clock=VirtualClock(START))
    assert result.error == "PaymentDeclined"
    cause = cause_json(result)
    assert cause["errorMessage"] == "async"
    assert ", in failing\n" in cause["stackTrace"][0]


@pytest.mark.parametrize(
    "state",
    [
        {"Type": "Task", "Resource": fn_arn("Missing")},
        {"Type": "Task", "Resource": INVOKE, "Parameters": {"FunctionName": "Missing"}},
    ],
    ids=["function-arn", "lambda-invoke"],
)
def test_an_unknown_function_fails_with_resource_not_found(state: dict[str, Any]) -> None:
    result = run(single(state), {}, lambdas={"Other": echo})
    assert result.status == "FAILED"
    assert result.error == "Lambda.ResourceNotFoundException"
    assert fn_arn("Missing") in result.cause


async def test_async_def_handlers_are_awaited() -> None:
    async def double(event: Any, context: Any) -> Any:
        await asyncio.sleep(0)
        return event["n"] * 2

    sm = single({"Type": "Task", "Resource": fn_arn("Double"), "ResultPath": "$.n2"})
    result = await sm.execute({"n": 21}, lambdas={"Double": double}, clock=VirtualClock(START))
    assert result.output == {"n": 21, "n2": 42}


async def test_lambda_context_looks_like_the_lambda_runtimes() -> None:
    clock = VirtualClock(START)
    contexts: list[Any] = []
    remaining: list[int] = []

    async def handler(event: Any, context: Any) -> Any:
        contexts.append(context)
        remaining.append(context.get_remaining_time_in_millis())
        await clock.sleep(60)
        remaining.append(context.get_remaining_time_in_millis())
        return None

    sm = machine(
        {
            "A": {"Type": "Task", "Resource": fn_arn("Worker"), "Next": "B"},
            "B": {"Type": "Task", "Resource": fn_arn("Worker"), "End": True},
        }
    )
    result = await sm.execute({}, lambdas={"Worker": handler}, clock=clock)
    assert result.status == "SUCCEEDED"
    first, second = contexts
    assert first.function_name == "Worker"
    assert first.invoked_function_arn == fn_arn("Worker")
    assert first.function_version == "$LATEST"
    assert isinstance(first.memory_limit_in_mb, int)
    assert first.log_group_name == "/aws/lambda/Worker"
    assert isinstance(first.log_stream_name, str)
    uuid.UUID(first.aws_request_id)
    assert first.aws_request_id != second.aws_request_id
    # the deadline counts virtual time
    assert remaining[0] > 60_000
    assert remaining[0] - remaining[1] == 60_000


@pytest.mark.parametrize("handler_mode", ["thread", "inline"])
def test_a_handler_mutating_its_event_does_not_change_the_state_input(handler_mode: str) -> None:
    def mutate(event: Any, context: Any) -> Any:
        event["x"] = 99
        event["items"].append("added")
        return "ok"

    sm = single({"Type": "Task", "Resource": fn_arn("Mutate"), "ResultPath": "$.r"})
    data = {"x": 1, "items": ["a"]}
    result = run(sm, data, lambdas={"Mutate": mutate}, handler_mode=handler_mode)
    assert result.output == {"x": 1, "items": ["a"], "r": "ok"}
    assert data == {"x": 1, "items": ["a"]}
    entered = events(result, "TaskStateEntered")[0]["stateEnteredEventDetails"]
    assert json.loads(entered["input"]) == {"x": 1, "items": ["a"]}


def test_a_handler_keeping_its_result_cannot_change_the_output_later() -> None:
    kept: list[Any] = []

    def handler(event: Any, context: Any) -> Any:
        result = {"v": [1]}
        kept.append(result)
        return result

    sm = machine(
        {
            "T": {"Type": "Task", "Resource": fn_arn("Keep"), "Next": "U"},
            "U": {"Type": "Task", "Resource": fn_arn("Touch"), "ResultPath": None, "End": True},
        }
    )

    def touch(event: Any, context: Any) -> Any:
        kept[0]["v"].append(2)
        return None

    result = run(sm, {}, lambdas={"Keep": handler, "Touch": touch})
    assert result.output == {"v": [1]}


def test_decimal_results_are_encoded_as_json_numbers() -> None:
    def amounts(event: Any, context: Any) -> Any:
        return {"whole": Decimal("10"), "price": Decimal("9.99"), "list": [Decimal("-3")]}

    result = run(
        single({"Type": "Task", "Resource": fn_arn("Amounts")}), {}, lambdas={"Amounts": amounts}
    )
    assert result.output == {"whole": 10, "price": 9.99, "list": [-3]}
    assert type(result.output["whole"]) is int
    assert type(result.output["list"][0]) is int


def test_integers_stay_integers_through_every_kind_of_state() -> None:
    sm = machine(
        {
            "P": {
                "Type": "Pass",
                "Parameters": {"n.$": "$.n", "sum.$": "States.MathAdd($.n, 1)", "f": 1.5},
                "Next": "T",
            },
            "T": {"Type": "Task", "Resource": fn_arn("Echo"), "Next": "M"},
            "M": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "ItemProcessor": {"StartAt": "I", "States": {"I": {"Type": "Pass", "End": True}}},
                "ResultPath": "$.items",
                "End": True,
            },
        }
    )
    big = 2**70
    result = run(
        sm,
        {"n": 1, "items": [1, 2, big]},
        lambdas={"Echo": lambda e, c: {**e, "items": [1, 2, big]}},
    )
    assert result.output == {"n": 1, "sum": 2, "f": 1.5, "items": [1, 2, big]}
    assert [type(v) for v in result.output["items"]] == [int, int, int]
    assert type(result.output["n"]) is int
    assert type(result.output["sum"]) is int
    final = json.loads(result.history[-1]["executionSucceededEventDetails"]["output"])
    assert final == result.output
    assert '"n":1,' in result.history[-1]["executionSucceededEventDetails"]["output"]


# -------------------------------------------------------------------------- Parallel


def test_parallel_returns_branch_results_in_branch_order() -> None:
    sm = single(
        {
            "Type": "Parallel",
            "Branches": [
                {
                    "StartAt": "Slow",
                    "States": {
                        "Slow": {"Type": "Wait", "Seconds": 50, "Next": "A"},
                        "A": {"Type": "Pass", "Result": "first", "End": True},
                    },
                },
                {
                    "StartAt": "B",
                    "States": {"B": {"Type": "Pass", "Result": "second", "End": True}},
                },
                {
                    "StartAt": "C",
                    "States": {"C": {"Type": "Task", "Resource": fn_arn("Echo"), "End": True}},
                },
            ],
            "ResultPath": "$.results",
        }
    )
    result = run(sm, {"k": 1}, lambdas={"Echo": echo})
    assert result.status == "SUCCEEDED"
    assert result.output == {"k": 1, "results": ["first", "second", {"k": 1}]}


def test_parallel_branches_receive_the_parameters_of_the_state() -> None:
    sm = single(
        {
            "Type": "Parallel",
            "InputPath": "$.order",
            "Parameters": {"id.$": "$.id"},
            "Branches": [
                {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}},
                {
                    "StartAt": "B",
                    "States": {"B": {"Type": "Pass", "OutputPath": "$.id", "End": True}},
                },
            ],
        }
    )
    assert run(sm, {"order": {"id": 3, "x": 0}}).output == [{"id": 3}, 3]


async def test_a_failing_branch_fails_the_parallel_state_and_cancels_the_others() -> None:
    clock = VirtualClock(START)
    cancelled: list[str] = []
    finished: list[str] = []

    async def slow(event: Any, context: Any) -> Any:
        try:
            await clock.sleep(3600)
        except asyncio.CancelledError:
            cancelled.append("slow")
            raise
        finished.append("slow")
        return "slow"

    async def failing(event: Any, context: Any) -> Any:
        await clock.sleep(5)
        raise PaymentDeclined("branch two")

    sm = single(
        {
            "Type": "Parallel",
            "Branches": [
                {
                    "StartAt": "A",
                    "States": {"A": {"Type": "Task", "Resource": fn_arn("Slow"), "End": True}},
                },
                {
                    "StartAt": "B",
                    "States": {"B": {"Type": "Task", "Resource": fn_arn("Fail"), "End": True}},
                },
            ],
        }
    )
    result = await sm.execute({}, lambdas={"Slow": slow, "Fail": failing}, clock=clock)
    assert result.status == "FAILED"
    assert result.error == "PaymentDeclined"
    assert cause_json(result)["errorMessage"] == "branch two"
    assert cancelled == ["slow"]
    assert finished == []
    assert seconds(result.history[-1]) - START.timestamp() == 5
    assert "ParallelStateFailed" in types(result)
    assert "ParallelStateSucceeded" not in types(result)


def test_a_fail_state_in_a_branch_fails_the_parallel_state_with_its_error() -> None:
    sm = single(
        {
            "Type": "Parallel",
            "Branches": [
                {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}},
                {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Bad", "Cause": "b"}}},
            ],
        }
    )
    result = run(sm, {})
    assert (result.status, result.error, result.cause) == ("FAILED", "Bad", "b")


# ------------------------------------------------------------------------------- Map

PASS_PROCESSOR = {"StartAt": "I", "States": {"I": {"Type": "Pass", "End": True}}}


def test_map_runs_the_processor_for_each_item_of_items_path() -> None:
    sm = single(
        {
            "Type": "Map",
            "ItemsPath": "$.order.lines",
            "ItemProcessor": {
                "StartAt": "Price",
                "States": {"Price": {"Type": "Task", "Resource": fn_arn("Price"), "End": True}},
            },
            "ResultPath": "$.priced",
        }
    )

    def price(event: Any, context: Any) -> Any:
        return event["qty"] * 10

    data = {"order": {"lines": [{"qty": 1}, {"qty": 3}]}}
    result = run(sm, data, lambdas={"Price": price})
    assert result.output == {**data, "priced": [10, 30]}


def test_map_item_selector_sees_the_item_index_value_and_the_state_input() -> None:
    sm = single(
        {
            "Type": "Map",
            "ItemsPath": "$.items",
            "ItemSelector": {
                "index.$": "$$.Map.Item.Index",
                "value.$": "$$.Map.Item.Value",
                "customer.$": "$.customer",
            },
            "ItemProcessor": PASS_PROCESSOR,
        }
    )
    result = run(sm, {"items": ["a", "b"], "customer": "c-1"})
    assert result.output == [
        {"index": 0, "value": "a", "customer": "c-1"},
        {"index": 1, "value": "b", "customer": "c-1"},
    ]


def test_map_legacy_iterator_and_parameters() -> None:
    sm = single(
        {
            "Type": "Map",
            "Parameters": {"i.$": "$$.Map.Item.Index", "v.$": "$$.Map.Item.Value"},
            "Iterator": PASS_PROCESSOR,
        }
    )
    assert run(sm, [10, 20]).output == [{"i": 0, "v": 10}, {"i": 1, "v": 20}]


def test_map_over_an_empty_array_returns_an_empty_array() -> None:
    result = run(single({"Type": "Map", "ItemProcessor": PASS_PROCESSOR}), [])
    assert result.output == []
    assert not any(t.startswith("MapIteration") for t in types(result))


def test_map_results_keep_item_order_when_items_finish_out_of_order() -> None:
    clock = VirtualClock(START)

    async def delayed(event: Any, context: Any) -> Any:
        await clock.sleep(event)
        return event

    sm = single(
        {
            "Type": "Map",
            "ItemProcessor": {
                "StartAt": "T",
                "States": {"T": {"Type": "Task", "Resource": fn_arn("D"), "End": True}},
            },
        }
    )
    result = run(sm, [30, 10, 20], lambdas={"D": delayed}, clock=clock)
    assert result.output == [30, 10, 20]
    assert seconds(result.history[-1]) - START.timestamp() == 30


def _concurrency_probe(clock: VirtualClock) -> tuple[Any, list[int]]:
    """An async handler that records how many invocations overlap."""
    state = {"active": 0}
    peaks: list[int] = []

    async def handler(event: Any, context: Any) -> Any:
        state["active"] += 1
        peaks.append(state["active"])
        await clock.sleep(10)
        state["active"] -= 1
        return event

    return handler, peaks


MAP_TASK = {
    "StartAt": "T",
    "States": {"T": {"Type": "Task", "Resource": fn_arn("Work"), "End": True}},
}


@pytest.mark.parametrize(("limit", "expected_peak"), [(1, 1), (2, 2), (3, 3), (0, 7), (40, 7)])
def test_map_max_concurrency_limits_concurrent_iterations(limit: int, expected_peak: int) -> None:
    clock = VirtualClock(START)
    handler, peaks = _concurrency_probe(clock)
    sm = single({"Type": "Map", "MaxConcurrency": limit, "ItemProcessor": MAP_TASK})
    items = list(range(7))
    result = run(sm, items, lambdas={"Work": handler}, clock=clock)
    assert result.output == items
    assert max(peaks) == expected_peak
    # virtual time tells the same story: ceil(7 / limit) rounds of 10 s
    rounds = -(-7 // expected_peak)
    assert seconds(result.history[-1]) - START.timestamp() == 10 * rounds


def test_map_max_concurrency_path_is_read_from_the_input() -> None:
    clock = VirtualClock(START)
    handler, peaks = _concurrency_probe(clock)
    sm = single(
        {
            "Type": "Map",
            "ItemsPath": "$.items",
            "MaxConcurrencyPath": "$.limit",
            "ItemProcessor": MAP_TASK,
        }
    )
    result = run(sm, {"limit": 2, "items": list(range(5))}, lambdas={"Work": handler}, clock=clock)
    assert result.output == list(range(5))
    assert max(peaks) == 2


def test_map_max_concurrency_path_to_a_non_integer_fails_with_states_runtime() -> None:
    sm = single(
        {
            "Type": "Map",
            "MaxConcurrencyPath": "$.limit",
            "ItemsPath": "$.items",
            "ItemProcessor": PASS_PROCESSOR,
        }
    )
    result = run(sm, {"limit": "NoNumber", "items": [1]})
    assert result.error == "States.Runtime"
    assert result.cause == (
        "An error occurred while executing the state 'S' (entered at the event id #2). "
        'The MaxConcurrencyPath field refers to value "NoNumber" which is not a valid '
        "integer: $.limit"
    )


def test_a_failing_iteration_fails_the_map_state_with_its_error() -> None:
    processor = {
        "StartAt": "Check",
        "States": {
            "Check": {
                "Type": "Choice",
                "Choices": [{"Variable": "$", "NumericEquals": 2, "Next": "Reject"}],
                "Default": "Ok",
            },
            "Ok": {"Type": "Pass", "End": True},
            "Reject": {"Type": "Fail", "Error": "ItemRejected", "Cause": "two"},
        },
    }
    result = run(single({"Type": "Map", "ItemProcessor": processor}), [1, 2, 3])
    assert (result.status, result.error, result.cause) == ("FAILED", "ItemRejected", "two")
    assert "MapStateFailed" in types(result)


async def test_a_failing_iteration_stops_the_other_iterations() -> None:
    clock = VirtualClock(START)
    finished: list[int] = []

    async def work(event: Any, context: Any) -> Any:
        if event == 0:
            await clock.sleep(1)
            raise PaymentDeclined("item 0")
        await clock.sleep(100)
        finished.append(event)
        return event

    sm = single({"Type": "Map", "ItemProcessor": MAP_TASK})
    result = await sm.execute([0, 1, 2], lambdas={"Work": work}, clock=clock)
    assert result.error == "PaymentDeclined"
    assert finished == []
    assert seconds(result.history[-1]) - START.timestamp() == 1


def test_map_items_path_to_a_non_array_fails_with_states_runtime() -> None:
    result = run(
        single({"Type": "Map", "ItemsPath": "$.items", "ItemProcessor": PASS_PROCESSOR}),
        {"items": {"a": 1}},
    )
    assert result.status == "FAILED"
    assert result.error == "States.Runtime"


# ------------------------------------------------------------------- payload limits


def _returning(value: Any) -> Any:
    return lambda event, context: value


def test_a_state_output_of_exactly_256_kib_is_accepted() -> None:
    value = {"s": "x" * (LIMIT - len('{"s":""}'))}
    assert len(json.dumps(value, separators=(",", ":")).encode()) == LIMIT
    result = run(
        single({"Type": "Task", "Resource": fn_arn("Big")}), {}, lambdas={"Big": _returning(value)}
    )
    assert result.status == "SUCCEEDED"


def test_a_state_output_over_256_kib_fails_with_data_limit_exceeded() -> None:
    value = {"s": "x" * (LIMIT - len('{"s":""}') + 1)}
    result = run(
        single({"Type": "Task", "Resource": fn_arn("Big")}), {}, lambdas={"Big": _returning(value)}
    )
    assert result.status == "FAILED"
    assert result.error == "States.DataLimitExceeded"


def test_the_payload_limit_counts_utf8_bytes_not_characters() -> None:
    value = {"s": "é" * (LIMIT // 2)}  # fewer characters than the limit, twice as many bytes
    result = run(
        single({"Type": "Task", "Resource": fn_arn("Big")}), {}, lambdas={"Big": _returning(value)}
    )
    assert result.error == "States.DataLimitExceeded"


def test_parameters_that_build_an_oversized_payload_fail_with_data_limit_exceeded() -> None:
    sm = single({"Type": "Pass", "Parameters": {"a.$": "$.s", "b.$": "$.s"}})
    result = run(sm, {"s": "x" * (LIMIT * 6 // 10)})
    assert result.error == "States.DataLimitExceeded"


def test_parameters_selecting_one_element_twice_over_the_limit_fail() -> None:
    # the output's size is bounded from the input's without encoding (two paths: at
    # most twice the input): a bound over the limit must still encode and fail
    sm = single({"Type": "Pass", "Parameters": {"a.$": "$.l[0]", "b.$": "$.l[0]", "c": 1}})
    result = run(sm, {"l": ["x" * (LIMIT * 6 // 10)]})
    assert result.error == "States.DataLimitExceeded"


def test_an_input_over_the_limit_fails_at_the_first_state_that_passes_it_on() -> None:
    # the input's size is known from its copy; one over the limit is not trusted
    result = run(single({"Type": "Pass"}), {"s": "x" * LIMIT})
    assert result.error == "States.DataLimitExceeded"


def test_a_parallel_whose_branch_outputs_together_exceed_the_limit_fails() -> None:
    # each branch's output is within the limit; the Parallel's array of them is not
    half = {"s": "x" * (LIMIT * 6 // 10)}

    def branch(name: str) -> dict[str, Any]:
        return {
            "StartAt": name,
            "States": {name: {"Type": "Task", "Resource": fn_arn("Half"), "End": True}},
        }

    both = single(
        {"Type": "Parallel", "Branches": [branch("A"), branch("B")], "ResultPath": "$.both"}
    )
    result = run(both, {}, lambdas={"Half": _returning(half)})
    assert result.error == "States.DataLimitExceeded"
    one = single({"Type": "Parallel", "Branches": [branch("A")], "ResultPath": "$.one"})
    assert run(one, {}, lambdas={"Half": _returning(half)}).status == "SUCCEEDED"


def test_an_oversized_string_result_fails_with_data_limit_exceeded() -> None:
    big = "x" * LIMIT  # JSON text: LIMIT + 2 bytes with the quotes
    result = run(
        single({"Type": "Task", "Resource": fn_arn("Big")}), {}, lambdas={"Big": _returning(big)}
    )
    assert result.error == "States.DataLimitExceeded"


def test_a_task_result_over_the_quota_is_caught_by_states_all() -> None:
    # AWS records LambdaFunctionFailed (States.DataLimitExceeded, the cause naming the
    # function) and the States.ALL catcher taking it
    sm = machine(
        {
            "T": {
                "Type": "Task",
                "Resource": fn_arn("Big"),
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Recovered"}],
                "End": True,
            },
            "Recovered": {"Type": "Pass", "End": True},
        }
    )
    value = {"s": "x" * (LIMIT + 1)}
    result = run(sm, {}, lambdas={"Big": _returning(value)})
    assert result.status == "SUCCEEDED"
    assert result.output == {
        "Error": "States.DataLimitExceeded",
        "Cause": f"The state/task '{fn_arn('Big')}' returned a result with a size exceeding "
        "the maximum number of bytes service limit.",
    }
    assert "LambdaFunctionFailed" in types(result)


def test_a_state_output_over_the_quota_is_not_caught() -> None:
    # each half fits; the output ResultPath builds from them does not, and that check
    # comes after Retry and Catch
    sm = machine(
        {
            "T": {
                "Type": "Task",
                "Resource": fn_arn("Big"),
                "ResultPath": "$.result",
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Recovered"}],
                "End": True,
            },
            "Recovered": {"Type": "Pass", "End": True},
        }
    )
    half = "x" * (LIMIT * 6 // 10)
    result = run(sm, {"input": half}, lambdas={"Big": _returning(half)})
    assert result.status == "FAILED"
    assert result.error == "States.DataLimitExceeded"
    assert "PassStateEntered" not in types(result)


def test_a_small_result_placed_into_an_input_near_the_quota_fails() -> None:
    # the output's size is bounded from the input's and the response body's; a bound
    # over the quota means the output is measured, not that it fails
    near = {"s": "x" * (LIMIT - len('{"s":""}') - 8)}
    for placing in (
        {"Type": "Task", "Resource": fn_arn("Small"), "ResultPath": "$.r", "Next": "End"},
        {"Type": "Pass", "Result": {"a": 1}, "ResultPath": "$.r", "Next": "End"},
    ):
        sm = machine(
            {
                "Checked": {"Type": "Pass", "Next": "Placing"},
                "Placing": placing,
                "End": {"Type": "Pass", "Result": {"a": 1}, "ResultPath": "$.r", "End": True},
            }
        )
        fits = run(sm, {"s": "x"}, lambdas={"Small": _returning({"a": 1})})
        assert fits.status == "SUCCEEDED"
        assert fits.output == {"s": "x", "r": {"a": 1}}
        result = run(sm, near, lambdas={"Small": _returning({"a": 1})})
        assert result.error == "States.DataLimitExceeded"
        assert "Placing" in (result.cause or "")
