"""The public API of ``workflows.engine``: what callers outside the project rely on."""

from __future__ import annotations

import asyncio
import json
import os
import random
import uuid
from typing import Any

import pytest

from workflows.engine import DefinitionError, StateMachine, VirtualClock

HELLO = {"StartAt": "Hello", "States": {"Hello": {"Type": "Pass", "End": True}}}


# ------------------------------------------------------------------- definitions


def test_a_definition_may_be_a_dict_json_text_or_bytes() -> None:
    text = json.dumps(HELLO)
    for definition in (HELLO, text, text.encode()):
        assert StateMachine(definition).run({"x": 1}).output == {"x": 1}


def test_the_definition_dict_is_not_modified() -> None:
    definition = json.loads(json.dumps(HELLO))
    StateMachine(definition).run({})
    assert definition == HELLO


def test_invalid_json_text_raises_definition_error() -> None:
    with pytest.raises(DefinitionError) as raised:
        StateMachine('{"StartAt": "A", "States": ')
    error = raised.value
    assert isinstance(error, ValueError)
    [diagnostic] = error.diagnostics
    assert diagnostic.code == "INVALID_JSON_DESCRIPTION"
    assert diagnostic.location == ""
    assert "JSON" in diagnostic.message


@pytest.mark.parametrize("definition", ["[]", '"text"', "42"])
def test_json_text_that_is_not_an_object_raises_definition_error(definition: str) -> None:
    with pytest.raises(DefinitionError):
        StateMachine(definition)


def test_a_broken_definition_reports_every_problem_with_its_json_pointer() -> None:
    definition = {
        "StartAt": "A",
        "States": {
            "A": {"Type": "Pass", "Next": "Nowhere"},
            "B": {"Type": "Task", "End": True},
        },
    }
    with pytest.raises(DefinitionError) as raised:
        StateMachine(definition)
    diagnostics = raised.value.diagnostics
    locations = {d.location for d in diagnostics}
    assert "/States/A/Next" in locations
    assert any(loc.startswith("/States/B") for loc in locations)
    assert len(diagnostics) >= 2
    for diagnostic in diagnostics:
        assert diagnostic.code
        assert diagnostic.message
        assert diagnostic.location == "" or diagnostic.location.startswith("/")
    # the message names every problem
    text = str(raised.value)
    assert "/States/A/Next" in text


def test_a_definition_error_from_text_matches_the_one_from_the_dict() -> None:
    broken = {"StartAt": "Missing", "States": {"A": {"Type": "Pass", "End": True}}}
    with pytest.raises(DefinitionError) as from_dict:
        StateMachine(broken)
    with pytest.raises(DefinitionError) as from_text:
        StateMachine(json.dumps(broken))
    as_tuples = [(d.code, d.location) for d in from_dict.value.diagnostics]
    assert as_tuples == [(d.code, d.location) for d in from_text.value.diagnostics]


# ---------------------------------------------------------------------- running


@pytest.mark.parametrize(
    "name",
    [
        "",
        " ",
        "has space",
        "x" * 81,
        "a/b",
        "a:b",
        "a*b",
        "a?b",
        'a"b',
        "a$b",
        "tab\there",
        "é\x7f",
    ],
)
def test_an_invalid_execution_name_is_refused(name: str) -> None:
    with pytest.raises(ValueError, match="Invalid execution name"):
        StateMachine(HELLO).run({}, name=name)


@pytest.mark.parametrize("name", ["order-123", "a" * 80, "Order_2024.01.01", "ünïcode"])
def test_a_valid_execution_name_names_the_execution(name: str) -> None:
    sm = StateMachine(
        {
            "StartAt": "A",
            "States": {
                "A": {"Type": "Pass", "Parameters": {"name.$": "$$.Execution.Name"}, "End": True}
            },
        },
        name="Orders",
    )
    result = sm.run({}, name=name)
    assert result.name == name
    assert result.execution_arn == f"arn:aws:states:us-east-1:123456789012:execution:Orders:{name}"
    assert result.output == {"name": name}


def test_an_unnamed_execution_gets_a_unique_name() -> None:
    sm = StateMachine(HELLO)
    first, second = sm.run({}), sm.run({})
    assert first.name != second.name
    assert first.execution_arn != second.execution_arn


def test_an_unnamed_execution_is_named_by_a_uuid4_that_seeding_random_does_not_repeat() -> None:
    sm = StateMachine(HELLO)
    random.seed(7)
    first = sm.run({}).name
    random.seed(7)
    second = sm.run({}).name
    assert first != second
    for name in (first, second):
        assert str(uuid.UUID(name)) == name
        assert uuid.UUID(name).version == 4
        assert uuid.UUID(name).variant == uuid.RFC_4122


def test_a_forked_child_does_not_repeat_its_parents_execution_names() -> None:
    sm = StateMachine(HELLO)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.write(write, sm.run({}).name.encode())
        os._exit(0)
    os.waitpid(pid, 0)
    os.close(write)
    assert os.read(read, 100).decode() != sm.run({}).name
    os.close(read)


async def test_run_inside_a_running_event_loop_raises_a_clear_error() -> None:
    with pytest.raises(RuntimeError, match=r"await StateMachine\.execute"):
        StateMachine(HELLO).run({})


async def test_execute_runs_on_the_current_loop() -> None:
    result = await StateMachine(HELLO).execute({"a": 1}, clock=VirtualClock(0))
    assert result.status == "SUCCEEDED"
    assert result.output == {"a": 1}


async def test_many_executions_of_one_machine_run_concurrently_and_independently() -> None:
    sm = StateMachine(
        {
            "StartAt": "W",
            "States": {
                "W": {"Type": "Wait", "SecondsPath": "$.wait", "Next": "P"},
                "P": {"Type": "Pass", "Parameters": {"id.$": "$.id"}, "End": True},
            },
        }
    )
    clock = VirtualClock(0)
    results = await asyncio.gather(
        *(sm.execute({"id": i, "wait": 100 - i}, clock=clock) for i in range(50))
    )
    assert [r.output for r in results] == [{"id": i} for i in range(50)]
    assert len({r.name for r in results}) == 50
    assert all(len(r.history) == 6 for r in results)
    assert clock.now() == 100  # waits overlapped in virtual time


def test_no_input_is_an_empty_object() -> None:
    result = StateMachine(HELLO).run()
    assert result.output == {}


def test_the_caller_input_is_never_modified() -> None:
    data: dict[str, Any] = {"a": {"b": 1}}
    sm = StateMachine(
        {
            "StartAt": "P",
            "States": {"P": {"Type": "Pass", "Result": 2, "ResultPath": "$.a.c", "End": True}},
        }
    )
    result = sm.run(data)
    assert data == {"a": {"b": 1}}
    assert result.output == {"a": {"b": 1, "c": 2}}


def test_the_default_clock_is_real_time() -> None:
    result = StateMachine(HELLO).run({})
    assert result.status == "SUCCEEDED"
    assert result.history[0]["timestamp"].year >= 2024


# ----------------------------------------------------------------------- results


def test_a_successful_result() -> None:
    result = StateMachine(HELLO).run({"k": "v"}, clock=VirtualClock(0))
    assert result.status == "SUCCEEDED"
    assert result.output == {"k": "v"}
    assert result.error is None
    assert result.cause is None


def test_a_failed_result() -> None:
    sm = StateMachine(
        {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "E", "Cause": "C"}}}
    )
    result = sm.run({})
    assert (result.status, result.output, result.error, result.cause) == ("FAILED", None, "E", "C")


def test_result_history_is_a_list_of_event_dicts_that_callers_may_keep() -> None:
    result = StateMachine(HELLO).run({}, clock=VirtualClock(0))
    history = result.history
    assert isinstance(history, list)
    assert all(isinstance(event, dict) for event in history)
    assert [e["type"] for e in history] == [
        "ExecutionStarted",
        "PassStateEntered",
        "PassStateExited",
        "ExecutionSucceeded",
    ]
    history.clear()
    history_again = result.history
    assert len(history_again) == 4
    history_again[0]["type"] = "Changed"
    assert result.history[0]["type"] == "ExecutionStarted"


def test_each_execution_has_its_own_history() -> None:
    sm = StateMachine(HELLO)
    first = sm.run({"n": 1})
    second = sm.run({"n": 2})
    assert len(first.history) == len(second.history) == 4
    assert json.loads(first.history[0]["executionStartedEventDetails"]["input"]) == {"n": 1}
    assert json.loads(second.history[0]["executionStartedEventDetails"]["input"]) == {"n": 2}
