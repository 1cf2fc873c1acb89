"""JSONata states: $states, templates, AWS-added functions, errors, mixed definitions."""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
from typing import Any

import pytest

from workflows.engine import StateMachine, VirtualClock
from workflows.engine.jsonata_expr import (
    UNDEFINED,
    JsonataSyntaxError,
    QueryError,
    compile_expression,
    compile_template,
)
from workflows.engine.machine import ExecutionResult

ARN = "arn:aws:lambda:us-east-1:123456789012:function:"


def run(definition: dict[str, Any], data: Any = None, **lambdas: Any) -> ExecutionResult:
    return StateMachine(definition).run(data, lambdas=lambdas, clock=VirtualClock())


def jsonata(states: dict[str, Any], start: str | None = None) -> dict[str, Any]:
    return {"QueryLanguage": "JSONata", "StartAt": start or next(iter(states)), "States": states}


def output_of(expression: Any, data: Any = None) -> Any:
    result = run(jsonata({"P": {"Type": "Pass", "Output": expression, "End": True}}), data)
    assert result.status == "SUCCEEDED", (result.error, result.cause)
    return result.output


def failure_of(expression: Any, data: Any = None) -> tuple[str | None, str | None]:
    result = run(jsonata({"P": {"Type": "Pass", "Output": expression, "End": True}}), data)
    assert result.status == "FAILED"
    return result.error, result.cause


PREFIX = "An error occurred while executing the state 'P' (entered at the event id #2). "


# ------------------------------------------------------------------------ $states


def test_states_input_is_the_raw_state_input() -> None:
    assert output_of("{% $states.input %}", {"a": [1, 2]}) == {"a": [1, 2]}
    assert output_of("{% $states.input.a[1] %}", {"a": [1, 2]}) == 2


def test_states_result_is_the_task_result_in_output_and_assign() -> None:
    definition = jsonata(
        {
            "T": {
                "Type": "Task",
                "Resource": ARN + "f",
                "Assign": {"seen": "{% $states.result.n %}"},
                "Output": {"result": "{% $states.result %}", "input": "{% $states.input %}"},
                "Next": "P",
            },
            "P": {"Type": "Pass", "Output": "{% $seen %}", "End": True},
        }
    )
    result = run(definition, {"x": 1}, f=lambda event, context: {"n": 7})
    assert result.output == 7
    exited = next(e for e in result.history if e["type"] == "TaskStateExited")
    assert '"result":{"n":7}' in exited["stateExitedEventDetails"]["output"]


def test_states_result_is_undefined_in_arguments() -> None:
    definition = jsonata(
        {
            "T": {
                "Type": "Task",
                "Resource": ARN + "f",
                "Arguments": {"r": "{% $states.result %}"},
                "End": True,
            }
        }
    )
    result = run(definition, {}, f=lambda event, context: event)
    assert result.error == "States.QueryEvaluationError"
    assert result.cause is not None
    assert result.cause.endswith(
        "The JSONata expression '$states.result' specified for the field 'Arguments/r' "
        "returned nothing (undefined)."
    )


def test_states_error_output_in_catch() -> None:
    def boom(event: Any, context: Any) -> Any:
        raise ValueError("no")

    definition = jsonata(
        {
            "T": {
                "Type": "Task",
                "Resource": ARN + "boom",
                "Catch": [
                    {
                        "ErrorEquals": ["States.ALL"],
                        "Assign": {"kind": "{% $states.errorOutput.Error %}"},
                        "Output": {
                            "error": "{% $states.errorOutput.Error %}",
                            "input": "{% $states.input %}",
                        },
                        "Next": "P",
                    }
                ],
                "End": True,
            },
            "P": {
                "Type": "Pass",
                "Output": {"o": "{% $states.input %}", "k": "{% $kind %}"},
                "End": True,
            },
        }
    )
    result = run(definition, {"a": 1}, boom=boom)
    assert result.output == {"o": {"error": "ValueError", "input": {"a": 1}}, "k": "ValueError"}


def test_catch_output_defaults_to_the_error_output() -> None:
    definition = jsonata(
        {
            "F": {
                "Type": "Parallel",
                "Branches": [
                    {"StartAt": "X", "States": {"X": {"Type": "Fail", "Error": "E", "Cause": "c"}}}
                ],
                "Catch": [{"ErrorEquals": ["E"], "Next": "S"}],
                "End": True,
            },
            "S": {"Type": "Succeed"},
        }
    )
    assert run(definition, {}).output == {"Error": "E", "Cause": "c"}


def test_states_error_output_is_undefined_outside_catch() -> None:
    error, cause = failure_of("{% $states.errorOutput %}")
    assert error == "States.QueryEvaluationError"
    assert cause == PREFIX + (
        "The JSONata expression '$states.errorOutput' specified for the field 'Output' "
        "returned nothing (undefined)."
    )


def test_states_context_is_the_context_object() -> None:
    result = StateMachine(
        jsonata(
            {
                "P": {
                    "Type": "Pass",
                    "Output": {
                        "state": "{% $states.context.State.Name %}",
                        "name": "{% $states.context.Execution.Name %}",
                        "input": "{% $states.context.Execution.Input %}",
                        "machine": "{% $states.context.StateMachine.Name %}",
                        "retries": "{% $states.context.State.RetryCount %}",
                    },
                    "End": True,
                }
            }
        ),
        name="Orders",
    ).run({"q": 1}, name="run-1", clock=VirtualClock())
    assert result.output == {
        "state": "P",
        "name": "run-1",
        "input": {"q": 1},
        "machine": "Orders",
        "retries": 0,
    }


def test_states_context_map_item_in_item_selector() -> None:
    definition = jsonata(
        {
            "M": {
                "Type": "Map",
                "Items": "{% $states.input.xs %}",
                "ItemSelector": {
                    "index": "{% $states.context.Map.Item.Index %}",
                    "value": "{% $states.context.Map.Item.Value %}",
                    "tag": "{% $states.input.tag %}",
                },
                "ItemProcessor": {"StartAt": "I", "States": {"I": {"Type": "Pass", "End": True}}},
                "End": True,
            }
        }
    )
    result = run(definition, {"xs": ["a", "b"], "tag": "t"})
    assert result.output == [
        {"index": 0, "value": "a", "tag": "t"},
        {"index": 1, "value": "b", "tag": "t"},
    ]


# ----------------------------------------------------------------------- templates


def test_templates_replace_expressions_anywhere_and_keep_literals() -> None:
    value = {
        "n": "{% 1 + 2 %}",
        "list": [
            "{% $states.input.a %}",
            "plain",
            3,
            None,
            {"deep": "{% $states.input.a & '!' %}"},
        ],
        "notAnExpression": " {% 1 %}",
        "dollar": "$states.input.a",
        "half": "{% 1",
    }
    assert output_of(value, {"a": "x"}) == {
        "n": 3,
        "list": ["x", "plain", 3, None, {"deep": "x!"}],
        "notAnExpression": " {% 1 %}",
        "dollar": "$states.input.a",
        "half": "{% 1",
    }


def test_expression_results_keep_json_types() -> None:
    assert output_of("{% [1, 2.5, 'a', true, null, {'k': null}] %}") == [
        1,
        2.5,
        "a",
        True,
        None,
        {"k": None},
    ]
    assert output_of("{% $states.input.n * 2 %}", {"n": 2}) == 4
    assert output_of("{% $states.input.v %}", {"v": None}) is None


def test_undefined_inside_an_object_fails_with_the_field_path() -> None:
    error, cause = failure_of({"a": {"b": "{% $states.input.missing %}"}}, {})
    assert error == "States.QueryEvaluationError"
    assert cause == PREFIX + (
        "The JSONata expression '$states.input.missing' specified for the field 'Output/a/b' "
        "returned nothing (undefined)."
    )


def test_evaluation_error_cause_and_history_event() -> None:
    definition = jsonata({"P": {"Type": "Pass", "Output": {"f": "{% $nope(1) %}"}, "End": True}})
    result = run(definition, {})
    assert result.error == "States.QueryEvaluationError"
    assert result.cause == PREFIX + (
        "The JSONata expression '$nope(1)' specified for the field 'Output/f' threw an error "
        "during evaluation. T1006: Attempted to invoke a non-function"
    )
    event = next(e for e in result.history if e["type"] == "EvaluationFailed")
    assert event["previousEventId"] == 0
    assert event["evaluationFailedEventDetails"] == {
        "cause": result.cause,
        "error": "States.QueryEvaluationError",
        "location": "Output/f",
        "state": "P",
    }
    assert result.history[-1]["previousEventId"] == event["id"]


def test_query_errors_can_be_caught() -> None:
    definition = jsonata(
        {
            "T": {
                "Type": "Task",
                "Resource": ARN + "f",
                "Output": "{% $states.result.missing %}",
                "Catch": [{"ErrorEquals": ["States.QueryEvaluationError"], "Next": "S"}],
                "End": True,
            },
            "S": {"Type": "Pass", "Output": "{% $states.input.Error %}", "End": True},
        }
    )
    assert run(definition, {}, f=lambda e, c: {}).output == "States.QueryEvaluationError"


def test_syntax_errors_are_found_when_compiling() -> None:
    with pytest.raises(JsonataSyntaxError) as info:
        compile_expression("{% $string(1 %}")
    assert info.value.code.startswith("S0")


def test_expressions_are_compiled_once() -> None:
    assert compile_expression("{% $states.input.a %}") is compile_expression(
        "{%   $states.input.a   %}"
    )
    template = compile_template({"a": "{% $states.input.a %}", "b": 1}, "Output")
    assert template.evaluate({"input": {"a": 5}}, None) == {"a": 5, "b": 1}
    assert compile_template({"b": [1, {"c": 2}]}, "Output").is_static


# ------------------------------------------------------------------ fast paths


FAST_CASES = [
    ("$states.input.a.b", {"a": {"b": 1}}),
    ("$states.input.a.b", {"a": [{"b": 1}, {"b": 2}]}),
    ("$states.input.a.b", {"a": "s"}),
    ("$states.input.missing.b", {}),
    ("$states.input.a", {"a": None}),
    ("$states.input.l[0]", {"l": [1, 2]}),
    ("$states.input.l[-1]", {"l": [1, 2]}),
    ("$states.input.l[5]", {"l": [1, 2]}),
    ("$states.input.l[0]", {"l": 7}),
    ("$states.input.l[0]", {"l": [[1, 2], [3]]}),
    ("$states.input.n = 1", {"n": 1.0}),
    ("$states.input.n = true", {"n": 1}),
    ("$states.input.n = null", {"n": None}),
    ("$states.input.n != 'x'", {}),
    ("$states.input.n < 3", {"n": 2}),
    ("$states.input.s > 'abc'", {"s": "abd"}),
    ("$states.input.n > 1 and $states.input.n < 3", {"n": 2}),
    ("$states.input.n = 1 or $states.input.m = 2", {"m": 2}),
    ("$exists($states.input.n)", {"n": None}),
    ("$exists($states.input.n)", {}),
    ("$not($states.input.b)", {"b": False}),
    ("$substring($states.input.s, 1)", {"s": "hello"}),
    ("$substring($states.input.s, -3, 2)", {"s": "héllo"}),
    ("$substring($states.input.s, 1, 0)", {"s": "hello"}),
    ("$count($states.input.l)", {"l": [1, 2, 3]}),
    ("$length($states.input.s)", {"s": "héllo"}),
    ("$uppercase($states.input.s)", {"s": "abc"}),
    ("$string($states.input.s)", {"s": "abc"}),
    ("$v.x", {}),
    ("'lit'", {}),
    ("42", {}),
    ("true", {}),
]


@pytest.mark.parametrize(("text", "data"), FAST_CASES)
def test_fast_paths_agree_with_jsonata(text: str, data: Any) -> None:
    expression = compile_expression(text)
    variables = {"v": {"x": 3}}

    def outcome() -> Any:
        try:
            return ("value", expression.evaluate({"input": data}, variables, "Output"))
        except QueryError as error:
            return ("error", error.message)

    fast = outcome()
    saved = expression._fast
    expression._fast = None
    try:
        full = outcome()
    finally:
        expression._fast = saved
    assert fast == full
    assert type(fast[1]) is type(full[1])


def test_a_variable_shadowing_a_builtin_is_not_taken_for_it() -> None:
    expression = compile_expression("$exists($states.input)")
    assert expression.evaluate({"input": 1}, None, "Output") is True
    with pytest.raises(QueryError, match="T1006"):
        expression.evaluate({"input": 1}, {"exists": 5}, "Output")


# -------------------------------------------------------------- AWS-added functions


def test_partition() -> None:
    assert output_of("{% $partition([1,2,3,4,5], 2) %}") == [[1, 2], [3, 4], [5]]
    assert output_of("{% $partition([], 2) %}") == []
    error, cause = failure_of("{% $partition([1], 0) %}")
    assert error == "States.QueryEvaluationError"
    assert cause is not None
    assert "threw an error during evaluation" in cause


def test_range() -> None:
    assert output_of("{% $range(0, 10, 2) %}") == [0, 2, 4, 6, 8, 10]
    assert output_of("{% $range(5, 1, -2) %}") == [5, 3, 1]
    assert output_of("{% $range(1, 9, 9) %}") == 1  # a single item, as AWS returns it
    assert failure_of("{% $range(0, 1, 0) %}")[0] == "States.QueryEvaluationError"


def test_hash() -> None:
    for algorithm, name in [
        ("MD5", "md5"),
        ("SHA-1", "sha1"),
        ("SHA-256", "sha256"),
        ("SHA-384", "sha384"),
        ("SHA-512", "sha512"),
    ]:
        expected = hashlib.new(name, b"input data").hexdigest()
        assert output_of(f"{{% $hash('input data', '{algorithm}') %}}") == expected
    assert failure_of("{% $hash('x', 'SHA-3') %}")[0] == "States.QueryEvaluationError"


def test_random_with_and_without_seed() -> None:
    value = output_of("{% $random() %}")
    assert isinstance(value, float)
    assert 0 <= value < 1
    first = output_of("{% $random(42) %}")
    assert first == output_of("{% $random(42) %}")
    assert 0 <= first < 1
    assert output_of("{% $random(1) %}") != output_of("{% $random(2) %}")


def test_uuid() -> None:
    value = output_of("{% $uuid() %}")
    assert re.fullmatch(
        r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", value
    )
    assert value != output_of("{% $uuid() %}")


def test_parse() -> None:
    assert output_of("{% $parse($states.input.s) %}", {"s": '{"a": [1, null, "x"]}'}) == {
        "a": [1, None, "x"]
    }
    assert output_of("{% $parse('-0') %}") == 0
    assert failure_of("{% $parse('{nope') %}")[0] == "States.QueryEvaluationError"


def test_eval_is_not_available() -> None:
    error, cause = failure_of("{% $eval('1') %}")
    assert error == "States.QueryEvaluationError"
    assert cause is not None
    assert cause.endswith("T1006: Attempted to invoke a non-function")


# ------------------------------------------------------------------- state fields


def test_choice_condition_rule_output_and_default_output() -> None:
    definition = jsonata(
        {
            "C": {
                "Type": "Choice",
                "Choices": [
                    {"Condition": "{% $states.input.n > 1 %}", "Next": "S", "Output": "big"}
                ],
                "Default": "S",
                "Output": "{% 'small:' & $string($states.input.n) %}",
            },
            "S": {"Type": "Succeed"},
        }
    )
    assert run(definition, {"n": 5}).output == "big"
    assert run(definition, {"n": 1}).output == "small:1"


def test_choice_condition_must_be_boolean() -> None:
    definition = jsonata(
        {
            "C": {
                "Type": "Choice",
                "Choices": [{"Condition": "{% $states.input.n %}", "Next": "S"}],
                "Default": "S",
            },
            "S": {"Type": "Succeed"},
        }
    )
    result = run(definition, {"n": "yes"})
    assert result.error == "States.QueryEvaluationError"
    assert result.cause is not None
    assert result.cause.endswith(
        "The JSONata expression '$states.input.n' specified for the field 'Condition' returned "
        "an unexpected result type. Expected 'boolean', but was 'string' for value: \"yes\""
    )


def test_wait_seconds_and_timestamp_expressions() -> None:
    clock = VirtualClock(start=0.0)
    definition = jsonata(
        {
            "W": {"Type": "Wait", "Seconds": "{% $states.input.s %}", "Next": "T"},
            "T": {"Type": "Wait", "Timestamp": "{% $states.input.at %}", "End": True},
        }
    )
    result = StateMachine(definition).run({"s": 5, "at": "1970-01-01T00:01:00Z"}, clock=clock)
    assert result.status == "SUCCEEDED"
    assert clock.now() == 60.0
    bad = run(jsonata({"W": {"Type": "Wait", "Seconds": "{% 'x' %}", "End": True}}), {})
    assert bad.error == "States.QueryEvaluationError"
    assert bad.cause is not None
    assert "Expected 'number', but was 'string'" in bad.cause


def test_task_timeout_seconds_expression() -> None:
    async def slow(event: Any, context: Any) -> Any:
        import asyncio

        await asyncio.sleep(0)
        return event

    definition = jsonata(
        {
            "T": {
                "Type": "Task",
                "Resource": ARN + "f",
                "TimeoutSeconds": "{% $states.input.t %}",
                "Arguments": {"x": 1},
                "End": True,
            }
        }
    )
    result = run(definition, {"t": 10}, f=slow)
    assert result.output == {"x": 1}
    scheduled = next(e for e in result.history if e["type"] == "LambdaFunctionScheduled")
    assert scheduled["lambdaFunctionScheduledEventDetails"]["timeoutInSeconds"] == 10


def test_fail_error_and_cause_expressions() -> None:
    definition = jsonata(
        {
            "F": {
                "Type": "Fail",
                "Error": "{% $states.input.e %}",
                "Cause": "{% 'because ' & $states.input.c %}",
            }
        }
    )
    result = run(definition, {"e": "Boom", "c": "reasons"})
    assert (result.error, result.cause) == ("Boom", "because reasons")


def test_map_items_literal_and_max_concurrency_expression() -> None:
    definition = jsonata(
        {
            "M": {
                "Type": "Map",
                "Items": [1, "{% $states.input.two %}", 3],
                "MaxConcurrency": "{% 1 %}",
                "ItemProcessor": {
                    "StartAt": "I",
                    "States": {
                        "I": {"Type": "Pass", "Output": "{% $states.input * 10 %}", "End": True}
                    },
                },
                "End": True,
            }
        }
    )
    assert run(definition, {"two": 2}).output == [10, 20, 30]


def test_map_items_must_be_an_array() -> None:
    definition = jsonata(
        {
            "M": {
                "Type": "Map",
                "Items": "{% $states.input.n %}",
                "ItemProcessor": {"StartAt": "I", "States": {"I": {"Type": "Pass", "End": True}}},
                "End": True,
            }
        }
    )
    result = run(definition, {"n": {"a": 1}})
    assert result.cause is not None
    assert result.cause.endswith(
        "The JSONata expression '$states.input.n' specified for the field 'Items' returned an "
        "unexpected result type. Expected 'array', but was 'object' for value: {\"a\":1}"
    )


def test_parallel_arguments_and_result() -> None:
    definition = jsonata(
        {
            "P": {
                "Type": "Parallel",
                "Arguments": {"k": "{% $states.input.k %}"},
                "Branches": [
                    {
                        "StartAt": "A",
                        "States": {
                            "A": {
                                "Type": "Pass",
                                "Output": "{% $states.input.k * 2 %}",
                                "End": True,
                            }
                        },
                    },
                    {"StartAt": "B", "States": {"B": {"Type": "Pass", "End": True}}},
                ],
                "Output": {"r": "{% $states.result %}", "i": "{% $states.input %}"},
                "End": True,
            }
        }
    )
    assert run(definition, {"k": 3, "z": 0}).output == {"r": [6, {"k": 3}], "i": {"k": 3, "z": 0}}


def test_lambda_invoke_arguments() -> None:
    definition = jsonata(
        {
            "T": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Arguments": {"FunctionName": "echo", "Payload": {"v": "{% $states.input.v %}"}},
                "Output": "{% $states.result.Payload %}",
                "End": True,
            }
        }
    )
    assert run(definition, {"v": 9}, echo=lambda e, c: e).output == {"v": 9}


# ----------------------------------------------------------------------- mixing


def test_jsonpath_machine_with_a_jsonata_state() -> None:
    definition = {
        "StartAt": "A",
        "States": {
            "A": {"Type": "Pass", "Parameters": {"x.$": "$.a"}, "Next": "B"},
            "B": {
                "Type": "Pass",
                "QueryLanguage": "JSONata",
                "Output": {"y": "{% $states.input.x + 1 %}"},
                "Next": "C",
            },
            "C": {"Type": "Pass", "Parameters": {"z.$": "$.y"}, "End": True},
        },
    }
    assert run(definition, {"a": 1}).output == {"z": 2}


def test_jsonata_map_processor_inherits_the_language() -> None:
    definition = {
        "StartAt": "M",
        "States": {
            "M": {
                "Type": "Map",
                "QueryLanguage": "JSONata",
                "Items": "{% $states.input.xs %}",
                "ItemProcessor": {
                    "StartAt": "I",
                    "States": {
                        "I": {"Type": "Pass", "Output": "{% $states.input + 1 %}", "End": True}
                    },
                },
                "End": True,
            }
        },
    }
    assert run(definition, {"xs": [1, 2]}).output == [2, 3]


def test_undefined_sentinel_is_not_json() -> None:
    assert repr(UNDEFINED) == "UNDEFINED"


_LAZY_IMPORT = """
import sys
from workflows.engine import StateMachine

limit = sys.getrecursionlimit()
StateMachine({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}).run({})
print("jsonata" in sys.modules)
machine = StateMachine(
    {
        "QueryLanguage": "JSONata",
        "StartAt": "P",
        "States": {"P": {"Type": "Pass", "Output": "{% $states.input.a + 1 %}", "End": True}},
    }
)
print("jsonata" in sys.modules, machine.run({"a": 1}).output, sys.getrecursionlimit() == limit)
"""


def test_jsonata_is_imported_by_the_first_jsonata_definition_only() -> None:
    # A fresh interpreter: this one has imported jsonata-python long ago.
    done = subprocess.run(
        [sys.executable, "-c", _LAZY_IMPORT], capture_output=True, text=True, check=True
    )
    assert done.stdout.split() == ["False", "True", "2", "True"]
