"""Definitions that ``validate_jsonata`` must reject, each with its code and location."""

from __future__ import annotations

from typing import Any

import pytest

from workflows.engine import StateMachine
from workflows.engine.jsonata_validation import validate_jsonata


def jsonata(states: dict[str, Any]) -> dict[str, Any]:
    return {"QueryLanguage": "JSONata", "StartAt": next(iter(states)), "States": states}


def jsonpath(states: dict[str, Any]) -> dict[str, Any]:
    return {"StartAt": next(iter(states)), "States": states}


def passing(**fields: Any) -> dict[str, Any]:
    return {"Type": "Pass", "End": True, **fields}


MAP_PROCESSOR = {"StartAt": "I", "States": {"I": {"Type": "Pass", "End": True}}}

REJECTED: list[tuple[str, dict[str, Any], str, str]] = [
    (
        "InputPath in a JSONata state",
        jsonata({"A": passing(InputPath="$.a")}),
        "QUERY_LANGUAGE_MISMATCH",
        "/States/A/InputPath",
    ),
    (
        "Parameters in a JSONata state",
        jsonata({"A": passing(Parameters={"a": 1})}),
        "QUERY_LANGUAGE_MISMATCH",
        "/States/A/Parameters",
    ),
    (
        "ResultPath in a JSONata Catch",
        jsonata(
            {
                "A": {
                    "Type": "Task",
                    "Resource": "arn:aws:lambda:us-east-1:123456789012:function:f",
                    "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.e", "Next": "B"}],
                    "End": True,
                },
                "B": {"Type": "Succeed"},
            }
        ),
        "QUERY_LANGUAGE_MISMATCH",
        "/States/A/Catch/0/ResultPath",
    ),
    (
        "a .$ key in a JSONata Output",
        jsonata({"A": passing(Output={"x.$": "$.a"})}),
        "QUERY_LANGUAGE_MISMATCH",
        "/States/A/Output/x.$",
    ),
    (
        "Output in a JSONPath state",
        jsonpath({"A": passing(Output="{% $states.input %}")}),
        "QUERY_LANGUAGE_MISMATCH",
        "/States/A/Output",
    ),
    (
        "Condition in a JSONPath Choice rule",
        jsonpath(
            {
                "C": {
                    "Type": "Choice",
                    "Choices": [{"Condition": "{% true %}", "Next": "S"}],
                    "Default": "S",
                },
                "S": {"Type": "Succeed"},
            }
        ),
        "QUERY_LANGUAGE_MISMATCH",
        "/States/C/Choices/0/Condition",
    ),
    (
        "a JSONata syntax error",
        jsonata({"A": passing(Output={"v": "{% $string(1 %}"})}),
        "INVALID_JSONATA",
        "/States/A/Output/v",
    ),
    (
        "an empty expression",
        jsonata({"A": passing(Output="{%   %}")}),
        "INVALID_JSONATA",
        "/States/A/Output",
    ),
    (
        "a syntax error in a Choice Condition",
        jsonata(
            {
                "C": {
                    "Type": "Choice",
                    "Choices": [{"Condition": "{% $states.input.a = = 1 %}", "Next": "S"}],
                    "Default": "S",
                },
                "S": {"Type": "Succeed"},
            }
        ),
        "INVALID_JSONATA",
        "/States/C/Choices/0/Condition",
    ),
    (
        "$ at the top level of an expression",
        jsonata({"A": passing(Output="{% $.a %}")}),
        "ILLEGAL_JSONATA_REFERENCE",
        "/States/A/Output",
    ),
    (
        "$$ in an expression",
        jsonata({"A": passing(Output={"ctx": "{% $$ %}"})}),
        "ILLEGAL_JSONATA_REFERENCE",
        "/States/A/Output/ctx",
    ),
    (
        "Assign on a Succeed state",
        jsonata({"S": {"Type": "Succeed", "Assign": {"x": 1}}}),
        "FIELD_NOT_ALLOWED",
        "/States/S/Assign",
    ),
    (
        "Assign on a Fail state",
        jsonpath({"F": {"Type": "Fail", "Error": "E", "Assign": {"x": 1}}}),
        "FIELD_NOT_ALLOWED",
        "/States/F/Assign",
    ),
    (
        "Assign inside a nested And rule",
        jsonpath(
            {
                "C": {
                    "Type": "Choice",
                    "Choices": [
                        {
                            "And": [{"Variable": "$.a", "IsPresent": True, "Assign": {"x": 1}}],
                            "Next": "S",
                        }
                    ],
                    "Default": "S",
                },
                "S": {"Type": "Succeed"},
            }
        ),
        "FIELD_NOT_ALLOWED",
        "/States/C/Choices/0/And/0/Assign",
    ),
    (
        "an Assign name that is not an identifier",
        jsonata({"A": passing(Assign={"1st-value": 1})}),
        "INVALID_VARIABLE_NAME",
        "/States/A/Assign/1st-value",
    ),
    (
        "assigning the reserved $states",
        jsonata({"A": passing(Assign={"states": 1})}),
        "INVALID_VARIABLE_NAME",
        "/States/A/Assign/states",
    ),
    (
        "a JSONPath Assign name that is not an identifier",
        jsonpath({"A": passing(Assign={"bad name.$": "$.a"})}),
        "INVALID_VARIABLE_NAME",
        "/States/A/Assign/bad name.$",
    ),
    (
        "a string TimeoutSeconds that is not an expression",
        jsonata(
            {
                "T": {
                    "Type": "Task",
                    "Resource": "arn:aws:lambda:us-east-1:123456789012:function:f",
                    "TimeoutSeconds": "10",
                    "End": True,
                }
            }
        ),
        "INVALID_TYPE",
        "/States/T/TimeoutSeconds",
    ),
    (
        "Items that is neither an array nor an expression",
        jsonata({"M": {"Type": "Map", "Items": 3, "ItemProcessor": MAP_PROCESSOR, "End": True}}),
        "INVALID_TYPE",
        "/States/M/Items",
    ),
    (
        "a Condition that is a plain string",
        jsonata(
            {
                "C": {
                    "Type": "Choice",
                    "Choices": [{"Condition": "yes", "Next": "S"}],
                    "Default": "S",
                },
                "S": {"Type": "Succeed"},
            }
        ),
        "INVALID_TYPE",
        "/States/C/Choices/0/Condition",
    ),
]


# A variable no state of the scope assigns: AWS creates the definition (the variable
# may be assigned on another path, or the reference never evaluated; issue #8), so
# the check is a warning that `workflows validate` shows, never a refusal.
WARNED: list[tuple[str, dict[str, Any], str, str]] = [
    (
        "a variable no state assigns (JSONata)",
        jsonata({"A": passing(Output="{% $never + 1 %}")}),
        "UNDEFINED_VARIABLE",
        "/States/A/Output",
    ),
    (
        "a variable no state assigns (JSONPath path)",
        jsonpath({"A": passing(Parameters={"x.$": "$never.field"})}),
        "UNDEFINED_VARIABLE",
        "/States/A/Parameters/x.$",
    ),
    (
        "a variable no state assigns (intrinsic argument)",
        jsonpath({"A": passing(Parameters={"x.$": "States.Format('{}', $never)"})}),
        "UNDEFINED_VARIABLE",
        "/States/A/Parameters/x.$",
    ),
    (
        "a variable assigned only inside a Map, read outside it",
        jsonata(
            {
                "M": {
                    "Type": "Map",
                    "ItemProcessor": {
                        "StartAt": "I",
                        "States": {"I": passing(Assign={"inner": 1})},
                    },
                    "Next": "After",
                },
                "After": passing(Output="{% $inner %}"),
            }
        ),
        "UNDEFINED_VARIABLE",
        "/States/After/Output",
    ),
    (
        "an outer variable read in a distributed Map",
        jsonata(
            {
                "Set": {"Type": "Pass", "Assign": {"outer": 1}, "Next": "M"},
                "M": {
                    "Type": "Map",
                    "ItemProcessor": {
                        "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                        "StartAt": "I",
                        "States": {"I": passing(Output="{% $outer %}")},
                    },
                    "End": True,
                },
            }
        ),
        "UNDEFINED_VARIABLE",
        "/States/M/ItemProcessor/States/I/Output",
    ),
]


@pytest.mark.parametrize(
    ("definition", "code", "location"),
    [(d, c, loc) for _, d, c, loc in REJECTED],
    ids=[name for name, *_ in REJECTED],
)
def test_rejected(definition: dict[str, Any], code: str, location: str) -> None:
    found = [(d.code, d.location) for d in validate_jsonata(definition)]
    assert (code, location) in found, found
    assert all(d.severity == "ERROR" for d in validate_jsonata(definition))


@pytest.mark.parametrize(
    ("definition", "code", "location"),
    [(d, c, loc) for _, d, c, loc in WARNED],
    ids=[name for name, *_ in WARNED],
)
def test_an_unassigned_variable_is_a_warning_and_the_definition_is_accepted(
    definition: dict[str, Any], code: str, location: str
) -> None:
    found = [(d.code, d.location, d.severity) for d in validate_jsonata(definition)]
    assert (code, location, "WARNING") in found, found
    assert "fails the execution at run time" in validate_jsonata(definition)[0].message
    StateMachine(definition)  # created, as AWS creates it: no DefinitionError


def test_at_least_fifteen_rejections() -> None:
    assert len(REJECTED) >= 15


ACCEPTED: list[tuple[str, dict[str, Any]]] = [
    (
        "variables assigned anywhere in the same or an enclosing scope",
        jsonata(
            {
                "Read": passing(Output="{% $later %}", End=None, Next="Set"),
                "Set": {
                    "Type": "Map",
                    "Assign": {"later": 1},
                    "ItemProcessor": {
                        "StartAt": "I",
                        "States": {"I": passing(Output="{% $later + $states.input %}")},
                    },
                    "End": True,
                },
            }
        ),
    ),
    (
        "local bindings, lambdas, built-ins and unknown function calls",
        jsonata(
            {
                "A": passing(
                    Output=(
                        "{% ($f := function($v) { $v * 2 }; $map([1, 2], $f) ~> $sum()"
                        " & $string($nope2()) & $partition([1], 1)) %}"
                    )
                )
            }
        ),
    ),
    (
        "$ inside predicates and maps",
        jsonata({"A": passing(Output="{% $states.input.items[$.price > 1].($.name) %}")}),
    ),
    (
        "dollar signs inside string literals",
        jsonata({"A": passing(Output="{% '$notAVariable' & \"$$\" %}")}),
    ),
    (
        "JSONPath Assign feeding JSONata and back",
        jsonpath(
            {
                "A": passing(Assign={"v.$": "$.a"}, End=None, Next="B"),
                "B": passing(QueryLanguage="JSONata", Output="{% $v %}", End=None, Next="C"),
                "C": passing(Parameters={"x.$": "$v"}),
            }
        ),
    ),
]


@pytest.mark.parametrize("definition", [d for _, d in ACCEPTED], ids=[n for n, _ in ACCEPTED])
def test_accepted(definition: dict[str, Any]) -> None:
    for state in definition["States"].values():
        if state.get("End") is None:
            state.pop("End", None)
    assert validate_jsonata(definition) == []


def test_reports_every_problem_at_once() -> None:
    definition = jsonata(
        {
            "A": passing(InputPath="$", Output="{% $x %}", Assign={"states": "{% 1 + %}"}),
        }
    )
    codes = sorted(d.code for d in validate_jsonata(definition))
    assert codes == [
        "INVALID_JSONATA",
        "INVALID_VARIABLE_NAME",
        "QUERY_LANGUAGE_MISMATCH",
        "UNDEFINED_VARIABLE",
    ]


def test_a_variable_assigned_on_one_path_only_fails_when_read_unassigned() -> None:
    """AWS creates this definition; the read fails only on the path that skips Set, with
    AWS's States.QueryEvaluationError text (as AWS records it, e.g. "The JSONata expression
    '$states.input.pushLocation' specified for the field 'Arguments/Input/pushLocation'
    returned nothing (undefined).")."""
    definition = jsonata(
        {
            "Route": {
                "Type": "Choice",
                "Choices": [{"Condition": "{% $states.input.set %}", "Next": "Set"}],
                "Default": "Read",
            },
            "Set": {"Type": "Pass", "Assign": {"x": 1}, "Next": "Read"},
            "Read": passing(Output={"v": "{% $x %}"}),
        }
    )
    assert [d for d in validate_jsonata(definition) if d.severity == "ERROR"] == []
    machine = StateMachine(definition)

    assigned = machine.run({"set": True})
    assert (assigned.status, assigned.output) == ("SUCCEEDED", {"v": 1})

    skipped = machine.run({"set": False})
    assert skipped.status == "FAILED"
    assert skipped.error == "States.QueryEvaluationError"
    assert skipped.cause == (
        "An error occurred while executing the state 'Read' (entered at the event id #4). "
        "The JSONata expression '$x' specified for the field 'Output/v' returned nothing "
        "(undefined)."
    )
