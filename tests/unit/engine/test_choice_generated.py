"""A JSONPath Choice state's rules run as one generated function (choice.compile_choices):
for every input it must take the rule the rules' closures take, and where a compared path
selects nothing, fail with the error the closures raise."""

from __future__ import annotations

from typing import Any

import pytest

from workflows.engine import StateMachine
from workflows.engine.choice import compile_choices, compile_rule
from workflows.engine.errors import StatesError

RULES: list[dict[str, Any]] = [
    {"Variable": "$.n", "NumericEquals": 1, "Next": "A"},
    {"Variable": "$.n", "NumericGreaterThan": 10000, "Next": "A"},
    {"Variable": "$.n", "NumericLessThanEquals": 0.5, "Next": "A"},
    {"Variable": "$.s", "StringEquals": "US", "Next": "A"},
    {"Variable": "$.s", "StringLessThan": "m", "Next": "A"},
    {"Variable": "$.s", "StringGreaterThanEquals": "é", "Next": "A"},  # not ASCII: closure
    {"Variable": "$.s", "StringMatches": "D*", "Next": "A"},
    {"Variable": "$.s", "StringMatches": "a\\*b*", "Next": "A"},
    {"Variable": "$.b", "BooleanEquals": False, "Next": "A"},
    {"Variable": "$.b", "BooleanEquals": True, "Next": "A"},
    {"Variable": "$.o.p", "IsPresent": True, "Next": "A"},
    {"Variable": "$.o.p", "IsPresent": False, "Next": "A"},
    {"Variable": "$.o.p.q", "NumericEquals": 2, "Next": "A"},
    {"Variable": "$.o", "IsNull": True, "Next": "A"},
    {"Variable": "$.t", "TimestampLessThan": "2016-03-14T01:59:00Z", "Next": "A"},
    {"Variable": "$.n", "NumericLessThanPath": "$.m", "Next": "A"},
    {"Variable": "$.l[0]", "NumericEquals": 1, "Next": "A"},  # an index: closure
    {"Variable": "$$.State.Name", "StringEquals": "Choose", "Next": "A"},
    {"Variable": "$", "IsPresent": True, "Next": "A"},
    {
        "And": [
            {"Variable": "$.n", "NumericGreaterThan": 0},
            {"Variable": "$.s", "StringEquals": "US"},
        ],
        "Next": "A",
    },
    {
        "Or": [
            {"Variable": "$.s", "StringEquals": "US"},
            {"Variable": "$.s", "StringEquals": "CA"},
            {"Not": {"Variable": "$.n", "NumericLessThan": 100}},
        ],
        "Next": "A",
    },
    {
        "And": [
            {"Variable": "$.o.p", "IsPresent": True},
            {
                "Not": {
                    "Or": [
                        {"Variable": "$.n", "IsNumeric": True},
                        {"Variable": "$.b", "IsString": True},
                    ]
                }
            },
        ],
        "Next": "A",
    },
]

INPUTS: list[Any] = [
    {"n": 1, "s": "US", "b": False, "o": {"p": {"q": 2}}, "t": "2016-03-14T01:00:00Z", "m": 5},
    {"n": 1.0, "s": "DE", "b": True, "o": {"p": None}, "l": [1], "m": 0},
    {"n": True, "s": "a*bc", "b": 0, "o": None, "t": "not a time", "m": "x"},
    {"n": 20000, "s": "é", "b": None, "o": {"p": [1]}, "l": "text"},
    {"n": "1", "s": 5, "b": "false", "o": {"q": 1}, "t": 7},
    {"n": -3, "s": "ém", "o": [1], "m": -4},
    {"s": "CA"},
    {"n": 0.25},
    {},
    [1, 2],
    "text",
    None,
]

CONTEXT = {"State": {"Name": "Choose"}}


def _outcome(choose: Any, data: Any) -> Any:
    try:
        return choose(data)
    except StatesError as error:
        return error.error, error.cause


def _with_closures(rules: list[dict[str, Any]]) -> Any:
    compiled = [compile_rule(rule) for rule in rules]

    def choose(data: Any) -> int:
        for index, rule in enumerate(compiled):
            if rule.matches(data, CONTEXT, None):
                return index
        return -1

    return choose


def _generated(rules: list[dict[str, Any]]) -> Any:
    for rule in rules:
        compile_rule(rule)
    generated = compile_choices(rules)
    assert generated is not None
    closures = _with_closures(rules)

    def choose(data: Any) -> int:
        try:
            return generated(data, CONTEXT, None)
        except Exception:  # as ChoiceState.step: the closures decide and raise
            return closures(data)

    return choose


@pytest.mark.parametrize("rule", RULES)
def test_each_rule_decides_as_its_closure(rule: dict[str, Any]) -> None:
    fast, general = _generated([rule]), _with_closures([rule])
    for data in INPUTS:
        assert _outcome(fast, data) == _outcome(general, data), data


def test_rules_in_order_decide_as_the_closures() -> None:
    for start in range(len(RULES)):
        rules = RULES[start:] + RULES[:start]
        fast, general = _generated(rules), _with_closures(rules)
        for data in INPUTS:
            assert _outcome(fast, data) == _outcome(general, data), (start, data)


def test_a_missing_path_fails_the_state_as_before() -> None:
    machine = StateMachine(
        {
            "StartAt": "Choose",
            "States": {
                "Choose": {
                    "Type": "Choice",
                    "Choices": [
                        {"Variable": "$.present", "BooleanEquals": False, "Next": "Done"},
                        {"Variable": "$.absent.x", "StringEquals": "a", "Next": "Done"},
                    ],
                    "Default": "Done",
                },
                "Done": {"Type": "Succeed"},
            },
        }
    )
    assert machine.run({"present": False}).status == "SUCCEEDED"  # the first rule holds
    result = machine.run({"present": True})
    assert (result.status, result.error) == ("FAILED", "States.Runtime")
    assert result.cause == (
        "An error occurred while executing the state 'Choose' (entered at the event id #2). "
        "Invalid path '$.absent.x': The choice state's condition path references an invalid value."
    )


def test_rules_nested_beyond_the_parsers_limit_are_left_to_the_closures() -> None:
    rule: dict[str, Any] = {"Variable": "$.n", "NumericEquals": 1}
    for _ in range(300):
        rule = {"Not": rule}
    assert compile_choices([{**rule, "Next": "A"}]) is None


def test_a_choice_not_generated_still_decides_by_its_closures() -> None:
    rule: dict[str, Any] = {"Variable": "$.n", "NumericEquals": 1}
    for _ in range(300):  # an even number of Nots: the rule as it was
        rule = {"Not": rule}
    machine = StateMachine(
        {
            "StartAt": "Choose",
            "States": {
                "Choose": {
                    "Type": "Choice",
                    "Choices": [{**rule, "Next": "One"}],
                    "Default": "Other",
                },
                "One": {"Type": "Pass", "Result": "one", "End": True},
                "Other": {"Type": "Pass", "Result": "other", "End": True},
            },
        }
    )
    assert machine._machine.states["Choose"].choose is None  # type: ignore[attr-defined]
    assert machine.run({"n": 1}).output == "one"
    assert machine.run({"n": 2}).output == "other"
    failed = machine.run({})
    assert (failed.status, failed.error) == ("FAILED", "States.Runtime")
