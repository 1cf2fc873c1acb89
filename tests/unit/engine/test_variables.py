"""Workflow variables: Assign in both languages, evaluation order, scopes, limits."""

from __future__ import annotations

from typing import Any

from workflows.engine import StateMachine, VirtualClock
from workflows.engine.machine import ExecutionResult

ARN = "arn:aws:lambda:us-east-1:123456789012:function:"


def run(definition: dict[str, Any], data: Any = None, **lambdas: Any) -> ExecutionResult:
    return StateMachine(definition).run(data, lambdas=lambdas, clock=VirtualClock())


def machine(states: dict[str, Any], language: str | None = None) -> dict[str, Any]:
    definition: dict[str, Any] = {"StartAt": next(iter(states)), "States": states}
    if language:
        definition["QueryLanguage"] = language
    return definition


def pass_map(processor_states: dict[str, Any], items: str, **extra: Any) -> dict[str, Any]:
    return {
        "Type": "Map",
        "ItemsPath": items,
        "ItemProcessor": {"StartAt": next(iter(processor_states)), "States": processor_states},
        **extra,
    }


# ------------------------------------------------------------------ JSONPath Assign


def test_jsonpath_assign_reads_the_result_and_paths_read_variables() -> None:
    definition = machine(
        {
            "A": {
                "Type": "Pass",
                "Result": {"answer": 42},
                "Assign": {
                    "theAnswer.$": "$.answer",
                    "constant": {"k": [1]},
                    "ctx.$": "$$.State.Name",
                },
                "Next": "B",
            },
            "B": {
                "Type": "Pass",
                "Parameters": {
                    "a.$": "$theAnswer",
                    "c.$": "$constant.k[0]",
                    "s.$": "$ctx",
                    "f.$": "States.Format('{}-{}', $theAnswer, $ctx)",
                },
                "End": True,
            },
        }
    )
    assert run(definition, {}).output == {"a": 42, "c": 1, "s": "A", "f": "42-A"}


def test_jsonpath_assign_after_result_selector_and_from_parameters() -> None:
    definition = machine(
        {
            "T": {
                "Type": "Task",
                "Resource": ARN + "f",
                "ResultSelector": {"v.$": "$.value"},
                "Assign": {"picked.$": "$.v"},
                "ResultPath": "$.r",
                "Next": "P",
            },
            "P": {"Type": "Pass", "Parameters": {"x.$": "$picked", "r.$": "$.r"}, "End": True},
        }
    )
    result = run(definition, {}, f=lambda e, c: {"value": 5, "other": 1})
    assert result.output == {"x": 5, "r": {"v": 5}}


def test_all_assignments_of_a_state_see_the_values_from_before_it() -> None:
    definition = machine(
        {
            "Init": {"Type": "Pass", "Assign": {"a": 1, "b": 2}, "Next": "Swap"},
            "Swap": {"Type": "Pass", "Assign": {"a.$": "$b", "b.$": "$a"}, "Next": "Show"},
            "Show": {"Type": "Pass", "Parameters": {"a.$": "$a", "b.$": "$b"}, "End": True},
        }
    )
    assert run(definition, {}).output == {"a": 2, "b": 1}


def test_output_path_of_the_assigning_state_sees_the_old_value() -> None:
    definition = machine(
        {
            "S0": {"Type": "Pass", "Assign": {"answer": 42}, "Next": "S1"},
            "S1": {
                "Type": "Pass",
                "InputPath": "$answer",
                "ResultPath": "$.theAnswer",
                "OutputPath": "$answer",
                "Assign": {"answer": "<omitted>"},
                "Next": "S2",
            },
            "S2": {"Type": "Pass", "Parameters": {"old.$": "$", "new.$": "$answer"}, "End": True},
        }
    )
    assert run(definition, {}).output == {"old": 42, "new": "<omitted>"}


def test_jsonpath_assign_in_wait_choice_rule_and_default() -> None:
    def definition(n: int) -> dict[str, Any]:
        return machine(
            {
                "W": {"Type": "Wait", "Seconds": 0, "Assign": {"waited.$": "$.n"}, "Next": "C"},
                "C": {
                    "Type": "Choice",
                    "Choices": [
                        {
                            "Variable": "$waited",
                            "NumericGreaterThan": 1,
                            "Next": "D",
                            "Assign": {"how": "rule"},
                        }
                    ],
                    "Default": "D",
                    "Assign": {"how": "default"},
                },
                "D": {
                    "Type": "Pass",
                    "Parameters": {"how.$": "$how", "n.$": "$waited"},
                    "End": True,
                },
            }
        )

    assert run(definition(5), {"n": 5}).output == {"how": "rule", "n": 5}
    assert run(definition(0), {"n": 0}).output == {"how": "default", "n": 0}


def test_jsonpath_assign_in_catch_reads_the_error_output() -> None:
    definition = machine(
        {
            "P": {
                "Type": "Parallel",
                "Branches": [
                    {
                        "StartAt": "F",
                        "States": {"F": {"Type": "Fail", "Error": "Oops", "Cause": "why"}},
                    }
                ],
                "Catch": [
                    {
                        "ErrorEquals": ["States.ALL"],
                        "Assign": {"err.$": "$.Error"},
                        "ResultPath": "$.e",
                        "Next": "S",
                    }
                ],
                "End": True,
            },
            "S": {"Type": "Pass", "Parameters": {"err.$": "$err", "e.$": "$.e.Cause"}, "End": True},
        }
    )
    assert run(definition, {}).output == {"err": "Oops", "e": "why"}


def test_reading_a_variable_before_it_is_assigned_fails() -> None:
    definition = machine(
        {
            "P": {"Type": "Pass", "Parameters": {"x.$": "$later"}, "Next": "Q"},
            "Q": {"Type": "Pass", "Assign": {"later": 1}, "End": True},
        }
    )
    result = run(definition, {})
    assert result.error == "States.Runtime"
    assert result.cause is not None
    assert "$later" in result.cause


# ------------------------------------------------------------------- JSONata Assign


def test_jsonata_assign_sees_result_and_old_values_output_sees_old_values() -> None:
    definition = machine(
        {
            "Init": {"Type": "Pass", "Assign": {"x": 1}, "Next": "T"},
            "T": {
                "Type": "Task",
                "Resource": ARN + "f",
                "Assign": {"x": "{% $x + $states.result.add %}", "prev": "{% $x %}"},
                "Output": {"xInOutput": "{% $x %}"},
                "Next": "Show",
            },
            "Show": {
                "Type": "Pass",
                "Output": {"x": "{% $x %}", "prev": "{% $prev %}", "in": "{% $states.input %}"},
                "End": True,
            },
        },
        "JSONata",
    )
    result = run(definition, {}, f=lambda e, c: {"add": 10})
    assert result.output == {"x": 11, "prev": 1, "in": {"xInOutput": 1}}


def test_variables_cross_query_languages() -> None:
    definition = machine(
        {
            "A": {
                "Type": "Pass",
                "QueryLanguage": "JSONata",
                "Assign": {"v": "{% {'k': [1, 2]} %}"},
                "Next": "B",
            },
            "B": {
                "Type": "Pass",
                "Parameters": {"k.$": "$v.k[1]"},
                "Assign": {"w.$": "$v.k"},
                "Next": "C",
            },
            "C": {
                "Type": "Pass",
                "QueryLanguage": "JSONata",
                "Output": "{% $sum($w) %}",
                "End": True,
            },
        }
    )
    assert run(definition, {}).output == 3


def test_null_variables_are_null_not_undefined() -> None:
    definition = machine(
        {
            "A": {"Type": "Pass", "Assign": {"n": None}, "Next": "B"},
            "B": {
                "Type": "Pass",
                "Output": {"n": "{% $n %}", "isNull": "{% $n = null %}"},
                "End": True,
            },
        },
        "JSONata",
    )
    assert run(definition, {}).output == {"n": None, "isNull": True}


# ------------------------------------------------------------------------- scopes


def test_map_iterations_read_outer_variables_and_do_not_leak() -> None:
    definition = machine(
        {
            "Init": {
                "Type": "Pass",
                "Assign": {"base": 100, "seen": "outer", "inner": False},
                "Next": "M",
            },
            "M": pass_map(
                {
                    "Add": {
                        "Type": "Pass",
                        "Parameters": {"v.$": "States.MathAdd($, $base)"},
                        "Assign": {"seen.$": "$.v", "inner": True},
                        "Next": "Read",
                    },
                    "Read": {"Type": "Pass", "Parameters": {"seen.$": "$seen"}, "End": True},
                },
                "$.xs",
                ResultPath="$.r",
                Next="After",
            ),
            "After": {
                "Type": "Pass",
                "Parameters": {"r.$": "$.r", "seen.$": "$seen", "base.$": "$base"},
                "Next": "Inner",
            },
            "Inner": {"Type": "Pass", "Parameters": {"inner.$": "$inner"}, "End": True},
        }
    )
    result = run(definition, {"xs": [1, 2]})
    assert result.output == {"inner": False}  # the iterations' $inner stayed inside them
    events = [e for e in result.history if e["type"] == "PassStateExited"]
    after = next(e for e in events if e["stateExitedEventDetails"]["name"] == "After")
    assert after["stateExitedEventDetails"]["output"] == (
        '{"r":[{"seen":101},{"seen":102}],"seen":"outer","base":100}'
    )


def test_parallel_branches_have_separate_scopes() -> None:
    def branch(tag: str) -> dict[str, Any]:
        return {
            "StartAt": f"Set{tag}",
            "States": {
                f"Set{tag}": {"Type": "Pass", "Assign": {"mine": tag}, "Next": f"Get{tag}"},
                f"Get{tag}": {
                    "Type": "Wait",
                    "Seconds": 1,
                    "Output": "{% $mine & '/' & $outer %}",
                    "End": True,
                },
            },
        }

    definition = machine(
        {
            "Init": {"Type": "Pass", "Assign": {"outer": "o", "mine": "top"}, "Next": "P"},
            "P": {"Type": "Parallel", "Branches": [branch("a"), branch("b")], "Next": "Check"},
            "Check": {
                "Type": "Pass",
                "Output": {"r": "{% $states.input %}", "mine": "{% $mine %}"},
                "End": True,
            },
        },
        "JSONata",
    )
    assert run(definition, {}).output == {"r": ["a/o", "b/o"], "mine": "top"}


def test_nested_map_in_parallel_reads_every_enclosing_scope() -> None:
    definition = machine(
        {
            "Top": {"Type": "Pass", "Assign": {"top": "T"}, "Next": "P"},
            "P": {
                "Type": "Parallel",
                "Branches": [
                    {
                        "StartAt": "Mid",
                        "States": {
                            "Mid": {"Type": "Pass", "Assign": {"mid": "M"}, "Next": "Map"},
                            "Map": {
                                "Type": "Map",
                                "Items": "{% [1, 2] %}",
                                "ItemProcessor": {
                                    "StartAt": "Leaf",
                                    "States": {
                                        "Leaf": {
                                            "Type": "Pass",
                                            "Assign": {"top": "shadowed"},
                                            "Output": "{% $top & $mid & $string($states.input) %}",
                                            "End": True,
                                        }
                                    },
                                },
                                "Assign": {"joined": "{% $join($states.result, ',') %}"},
                                "Output": "{% $joined %}",
                                "Next": "After",
                            },
                            "After": {
                                "Type": "Pass",
                                "Output": "{% $joined & '|' & $top %}",
                                "End": True,
                            },
                        },
                    }
                ],
                "Output": "{% $states.result[0] & '|' & $top %}",
                "End": True,
            },
        },
        "JSONata",
    )
    # Output is evaluated before the Map's own Assign is committed: $joined is read in After
    result = run(definition, {})
    assert result.status == "FAILED"  # '$joined' is undefined in the Map's own Output
    definition["States"]["P"]["Branches"][0]["States"]["Map"]["Output"] = "{% $states.result %}"
    assert run(definition, {}).output == "TM1,TM2|T|T"


# ------------------------------------------------------------------------- limits


def test_a_variable_larger_than_256_kib_fails() -> None:
    definition = machine(
        {"A": {"Type": "Pass", "Assign": {"big": "{% $pad('', 270000, 'x') %}"}, "End": True}},
        "JSONata",
    )
    result = run(definition, {})
    assert result.error == "States.Runtime"
    assert result.cause is not None
    assert "exceeds the maximum of 262144 bytes" in result.cause


def test_an_assign_larger_than_256_kib_in_total_fails() -> None:
    definition = machine(
        {
            "A": {
                "Type": "Pass",
                "Assign": {
                    "a": "{% $pad('', 140000, 'x') %}",
                    "b": "{% $pad('', 140000, 'y') %}",
                },
                "End": True,
            }
        },
        "JSONata",
    )
    result = run(definition, {})
    assert result.error == "States.Runtime"
    assert result.cause is not None
    assert "combined size" in result.cause
