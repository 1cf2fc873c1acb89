"""TestState: one state run on its own, answered in the shape of AWS's TestState API."""

from __future__ import annotations

import json
from typing import Any

import pytest

from workflows.engine import DefinitionError
from workflows.engine.mocks import Return, Throw
from workflows.engine.teststate import run_test_state


def fn_arn(name: str) -> str:
    return f"arn:aws:lambda:us-east-1:123456789012:function:{name}"


async def answer(definition: Any, data: Any = None, **kw: Any) -> dict[str, Any]:
    result = await run_test_state(definition, data, **kw)
    return result.to_api()


async def test_a_pass_state_gives_its_output_and_next_state() -> None:
    got = await answer({"Type": "Pass", "Result": {"x": 1}, "ResultPath": "$.r", "Next": "B"}, {})
    assert got == {"output": '{"r":{"x":1}}', "nextState": "B", "status": "SUCCEEDED"}


async def test_debug_shows_each_step_of_the_data_flow() -> None:
    state = {
        "Type": "Task",
        "Resource": fn_arn("Double"),
        "InputPath": "$.order",
        "Parameters": {"n.$": "$.n"},
        "ResultSelector": {"doubled.$": "$.n2"},
        "ResultPath": "$.result",
        "OutputPath": "$.result",
        "End": True,
    }
    got = await answer(
        state,
        {"order": {"n": 4}},
        inspection_level="DEBUG",
        lambdas={"Double": lambda event, _context: {"n2": event["n"] * 2}},
    )
    assert got["status"] == "SUCCEEDED"
    assert got["output"] == '{"doubled":8}'
    assert "nextState" not in got
    inspection = got["inspectionData"]
    assert json.loads(inspection["input"]) == {"order": {"n": 4}}
    assert json.loads(inspection["afterInputPath"]) == {"n": 4}
    assert json.loads(inspection["afterParameters"]) == {"n": 4}
    assert json.loads(inspection["result"]) == {"n2": 8}
    assert json.loads(inspection["afterResultSelector"]) == {"doubled": 8}
    assert json.loads(inspection["afterResultPath"]) == {
        "order": {"n": 4},
        "result": {"doubled": 8},
    }


async def test_info_gives_no_inspection_data() -> None:
    got = await answer({"Type": "Pass", "End": True}, {"a": 1})
    assert "inspectionData" not in got


async def test_a_choice_state_names_the_branch_taken() -> None:
    state = {
        "Type": "Choice",
        "Choices": [{"Variable": "$.n", "NumericGreaterThan": 3, "Next": "Big"}],
        "Default": "Small",
    }
    assert (await answer(state, {"n": 5}))["nextState"] == "Big"
    assert (await answer(state, {"n": 1}))["nextState"] == "Small"


async def test_a_mocked_task_error_that_a_retrier_matches_is_retriable() -> None:
    state = {
        "Type": "Task",
        "Resource": fn_arn("Flaky"),
        "Retry": [
            {"ErrorEquals": ["Other"], "MaxAttempts": 1},
            {"ErrorEquals": ["Busy"], "IntervalSeconds": 2, "BackoffRate": 3, "MaxAttempts": 3},
        ],
        "End": True,
    }
    got = await answer(state, {}, mock=Throw("Busy", "try later"), retrier_retry_count=1)
    assert got["status"] == "RETRIABLE"
    assert got["error"] == "Busy"
    assert got["cause"] == "try later"
    assert got["inspectionData"]["errorDetails"] == {
        "retryIndex": 1,
        "retryBackoffIntervalSeconds": 6,
    }
    exhausted = await answer(state, {}, mock=Throw("Busy", "x"), retrier_retry_count=3)
    assert exhausted["status"] == "FAILED"


async def test_a_caught_error_gives_the_catchers_output_and_target() -> None:
    state = {
        "Type": "Task",
        "Resource": fn_arn("Charge"),
        "Catch": [
            {"ErrorEquals": ["Nope"], "Next": "Never"},
            {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Refund"},
        ],
        "End": True,
    }
    got = await answer(state, {"id": 7}, mock=Throw("Declined", "card"))
    assert got["status"] == "CAUGHT_ERROR"
    assert got["nextState"] == "Refund"
    assert got["error"] == "Declined"
    assert json.loads(got["output"]) == {"id": 7, "error": {"Error": "Declined", "Cause": "card"}}
    assert got["inspectionData"]["errorDetails"] == {"catchIndex": 1}


async def test_an_uncaught_failure_is_failed_with_error_and_cause() -> None:
    got = await answer({"Type": "Fail", "Error": "Bad", "Cause": "because"}, {})
    assert got == {"error": "Bad", "cause": "because", "status": "FAILED"}


async def test_a_mocked_result_answers_the_task() -> None:
    state = {"Type": "Task", "Resource": fn_arn("Missing"), "ResultPath": "$.r", "End": True}
    got = await answer(state, {"a": 1}, mock=Return({"ok": True}))
    assert json.loads(got["output"]) == {"a": 1, "r": {"ok": True}}


async def test_a_state_of_a_whole_machine_is_picked_by_name_with_its_query_language() -> None:
    machine = {
        "QueryLanguage": "JSONata",
        "StartAt": "A",
        "States": {
            "A": {"Type": "Pass", "Next": "B"},
            "B": {"Type": "Pass", "Output": "{% $states.input.n + $bonus %}", "End": True},
        },
    }
    got = await answer(machine, {"n": 1}, state_name="B", variables={"bonus": 10})
    assert got == {"output": "11", "status": "SUCCEEDED"}


async def test_variables_assigned_show_in_debug() -> None:
    state = {"Type": "Pass", "Assign": {"seen.$": "$.n"}, "End": True}
    got = await answer(state, {"n": 3}, inspection_level="DEBUG")
    assert json.loads(got["inspectionData"]["variables"]) == {"seen": 3}


async def test_a_broken_state_is_refused_with_a_pointer() -> None:
    with pytest.raises(DefinitionError) as info:
        await run_test_state({"Type": "Pass", "Next": 3}, {})
    assert [d.location for d in info.value.diagnostics] == ["/Next"]


async def test_state_name_without_a_machine_is_refused() -> None:
    with pytest.raises(DefinitionError, match="stateName"):
        await run_test_state({"Type": "Pass", "End": True}, {}, state_name="A")


async def test_map_and_parallel_are_refused_with_the_reason() -> None:
    state = {"Type": "Parallel", "Branches": [], "End": True}
    with pytest.raises(DefinitionError, match="mock of the whole state"):
        await run_test_state(state, {})
