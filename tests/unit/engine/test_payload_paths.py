"""Parameters made of plain input paths are evaluated by one generated function
(payload._of_input_paths): it must give what the general evaluator gives, values, key
order and errors alike, for every input."""

from __future__ import annotations

from typing import Any

import pytest

from workflows.engine import payload
from workflows.engine.errors import StatesError
from workflows.engine.payload import compile_template

TEMPLATES: list[dict[str, Any]] = [
    {"a.$": "$.x", "b.$": "$.x.y", "c.$": "$.l[0].z", "d.$": "$.l[-1]"},
    {"static": {"k": [1, 2]}, "a.$": "$.x.y", "n": 3, "b.$": "$.l[1]"},
    {"a.$": "$.x", "a": "static", "b.$": "$.x.y"},  # an output key twice: not generated
    {'q"uo\\te.$': "$['we ird']", "ünï.$": "$.x"},
    {"deep.$": "$.x.y.z.w"},
]

INPUTS: list[Any] = [
    {"x": {"y": {"z": {"w": 1}}}, "l": [{"z": 2}, "b"], "we ird": 5},
    {"x": {"y": 1}, "l": [{"z": 2}, "b"], "we ird": None},
    {"x": {"y": 1}, "l": ["not an object", "b"]},  # a name on a string
    {"x": "text", "l": [{"z": 2}]},  # a name on a string, an index out of range
    {"x": [1, 2], "l": {"0": {"z": 1}}},  # a name on a list, an index on an object
    {"x": {"y": [0]}, "l": [{"z": {"deep": True}}, [1]], "we ird": 1},
    {"l": []},
    [1, 2, 3],  # not an object at all
    "text",
    None,
]


def _outcome(evaluate: Any, data: Any) -> tuple[str, Any]:
    try:
        value = evaluate(data, None, None)
    except StatesError as error:
        return "error", (error.error, error.cause)
    return "value", (value, list(value) if isinstance(value, dict) else None)


@pytest.mark.parametrize("template", TEMPLATES)
def test_generated_evaluator_matches_the_general_one(
    template: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    fast = compile_template(template)
    twice = "a" in template and "a.$" in template
    assert (fast.evaluate.__name__ == "evaluate_input_paths") is not twice
    monkeypatch.setattr(payload, "_of_input_paths", lambda node, evaluate: None)
    general = compile_template(template)
    assert general.evaluate.__name__ == "evaluate_object"
    for data in INPUTS:
        assert _outcome(fast.evaluate, data) == _outcome(general.evaluate, data), data


def test_only_plain_input_paths_are_generated() -> None:
    for template in (
        {"a.$": "$$.Execution.Id"},
        {"a.$": "$.items[*].id"},
        {"a.$": "States.Format('{}', $.x)"},
        {"a.$": "$var"},
        {"a": {"b.$": "$.x"}},
        {"a.$": "$.x[0]", "b.$": "$[0]"},
    ):
        assert compile_template(template).evaluate.__name__ != "evaluate_input_paths", template


def test_static_values_are_shared_as_before() -> None:
    nested = {"k": [1]}
    evaluated = compile_template({"s": nested, "a.$": "$.x"}).evaluate({"x": 1}, None, None)
    assert evaluated == {"s": {"k": [1]}, "a": 1}
    assert (
        evaluated["s"] is compile_template({"s": nested, "a.$": "$.x"}).evaluate.__globals__["_c0"]
    )
