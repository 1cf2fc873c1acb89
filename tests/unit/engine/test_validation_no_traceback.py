"""No input makes validation or ``StateMachine`` raise anything but ``DefinitionError``.

Generated definitions are shaped like ASL (states of every type with plausible and
implausible field values), so that they get past the structural checks and reach the
compilers of paths, intrinsics, JSONata, Choice rules and Task resources; the shapes
found in AWS's published patterns (issue #16) are run as fixed examples.
"""

from __future__ import annotations

import contextlib
import itertools
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from workflows.engine import DefinitionError, StateMachine
from workflows.engine.validation import validate_definition

_NAMES = st.sampled_from(["A", "B", "C", "Done"])  # replaced by the chain's own names
_PATHS = st.sampled_from(
    [
        "$",
        "$.a",
        "$.[0]",
        "$.Snapshots.[0].State",
        "$.[*].['bucket', 'key']",
        "$.[?(@.OU > 0)]",
        "$..x",
        "$.a[?(@.b == 'c')]",
        "$[",
        "$.a.",
        "$$.Execution.Id",
        "$var.x",
        "$.${Field}",
        "${Path}",
        "States.Format('{}', $.a)",
        "States.Array(",
        "States.JsonToString($.a)",
        "not a path",
        "",
    ]
)
_RESOURCES = st.sampled_from(
    [
        "arn:aws:states:::lambda:invoke",
        "arn:aws:states:::lambda:invoke.waitForTaskToken",
        "arn:aws:states:::lambda:invoke.sync",
        "arn:aws:states:::dynamodb:query",
        "arn:aws:states:::aws-sdk:s3:getObject",
        "arn:aws:states:REGION:ACCOUNT:aws-sdk:s3:getObject",
        "arn:aws:lambda:us-east-1:123456789012:function:F",
        "arn:aws:states:us-east-1:123456789012:activity:X",
        "arn:aws:sns:us-east-1:123456789012:ActivityArn",
        "arn:${partition}:states:::batch:submitJob.sync",
        "${ActivityArn}",
        "${DDBGetItem}",
        "arn:aws:states:::",
        "arn:",
        "arn:aws:states:::states:startExecution.sync:2",
        "",
    ]
)
_JSONATA = st.sampled_from(
    ["{% $states.input %}", "{% $x %}", "{% 1 + %}", "{% %}", "{% $ %}", "{% $states.input.a %}"]
)
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 100),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=5),
    _PATHS,
    _JSONATA,
)


def _template() -> st.SearchStrategy[Any]:
    keys = st.sampled_from(["a", "b.$", "c", "x.$", "Payload", "FunctionName"])
    return st.recursive(
        _SCALARS,
        lambda inner: st.dictionaries(keys, inner, max_size=3) | st.lists(inner, max_size=2),
        max_leaves=6,
    )


def _choice_rule() -> st.SearchStrategy[dict[str, Any]]:
    comparison = st.sampled_from(
        [
            "StringEquals",
            "NumericGreaterThan",
            "NumericEqualsPath",
            "IsPresent",
            "BooleanEquals",
            "TimestampEquals",
            "StringMatches",
            "Nope",
        ]
    )
    return st.fixed_dictionaries(
        {"Next": _NAMES},
        optional={
            "Variable": _PATHS,
            "Condition": _JSONATA,
            "Assign": st.dictionaries(st.sampled_from(["x", "y.$"]), _SCALARS, max_size=2),
        },
    ).flatmap(lambda rule: st.tuples(comparison, _SCALARS).map(lambda c: {**rule, c[0]: c[1]}))


_RETRY = st.lists(
    st.fixed_dictionaries(
        {"ErrorEquals": st.lists(st.sampled_from(["States.ALL", "States.Timeout", "E"]))},
        optional={
            "MaxAttempts": st.one_of(st.integers(0, 5), _SCALARS),
            "IntervalSeconds": st.one_of(st.integers(1, 5), _SCALARS),
            "BackoffRate": st.one_of(st.floats(1, 3), _SCALARS),
            "JitterStrategy": st.sampled_from(["FULL", "NONE", "X"]),
        },
    ),
    max_size=2,
)
_CATCH = st.lists(
    st.fixed_dictionaries(
        {"ErrorEquals": st.lists(st.sampled_from(["States.ALL", "E"])), "Next": _NAMES},
        optional={"ResultPath": _PATHS, "Output": _template()},
    ),
    max_size=2,
)
_COMMON = {
    "InputPath": _PATHS,
    "OutputPath": _PATHS,
    "ResultPath": _PATHS,
    "Parameters": _template(),
    "ResultSelector": _template(),
    "Assign": st.dictionaries(st.sampled_from(["x", "y.$", "states"]), _SCALARS, max_size=2),
    "Output": _template(),
    "Arguments": _template(),
    "Comment": _SCALARS,
}


_JSONPATH_ONLY = frozenset(
    {"InputPath", "OutputPath", "ResultPath", "Parameters", "ResultSelector", "ItemsPath"}
)
_JSONATA_ONLY = frozenset({"Output", "Arguments", "Items"})
_POSITIVE = st.one_of(st.integers(1, 50), _SCALARS)
_MOSTLY_PATHS = st.one_of(st.sampled_from(["$", "$.a", "$.[0]", "$.a.[0].b"]), _PATHS)


def _flow_state(depth: int) -> st.SearchStrategy[dict[str, Any]]:
    task = st.fixed_dictionaries(
        {"Type": st.just("Task"), "Resource": _RESOURCES},
        optional={
            **_COMMON,
            "TimeoutSeconds": _POSITIVE,
            "HeartbeatSeconds": _POSITIVE,
            "TimeoutSecondsPath": _MOSTLY_PATHS,
            "Retry": _RETRY,
            "Catch": _CATCH,
            "Credentials": st.fixed_dictionaries({}, optional={"RoleArnPath": _PATHS}),
        },
    )
    pass_ = st.fixed_dictionaries(
        {"Type": st.just("Pass")}, optional={**_COMMON, "Result": _SCALARS}
    )
    wait = st.one_of(
        st.fixed_dictionaries({"Type": st.just("Wait"), "Seconds": _POSITIVE}),
        st.fixed_dictionaries(
            {
                "Type": st.just("Wait"),
                "Timestamp": st.sampled_from(
                    ["2016-03-14T01:59:00Z", "2016-03-14T01:59:00+01:00", "tomorrow", "${When}"]
                ),
            }
        ),
        st.fixed_dictionaries({"Type": st.just("Wait"), "SecondsPath": _MOSTLY_PATHS}),
    )
    flows = [task, pass_, wait]
    if depth > 0:
        branch = _machine(depth - 1)
        flows.append(
            st.fixed_dictionaries(
                {"Type": st.just("Parallel"), "Branches": st.lists(branch, min_size=1, max_size=2)},
                optional={"Retry": _RETRY, "Catch": _CATCH, "ResultPath": _MOSTLY_PATHS},
            )
        )
        flows.append(
            st.fixed_dictionaries(
                {"Type": st.just("Map"), "ItemProcessor": branch},
                optional={
                    "ItemsPath": _MOSTLY_PATHS,
                    "MaxConcurrency": _POSITIVE,
                    "ItemSelector": _template(),
                    "ToleratedFailurePercentage": _SCALARS,
                },
            )
        )
    return st.one_of(flows)


def _tidy_rule(language: str) -> st.SearchStrategy[dict[str, Any]]:
    if language == "JSONata":
        return st.fixed_dictionaries({"Condition": _JSONATA, "Next": _NAMES})
    return st.fixed_dictionaries(
        {"Variable": _MOSTLY_PATHS, "Next": _NAMES},
        optional={"NumericGreaterThan": st.integers(), "StringEquals": st.text(max_size=3)},
    ).map(lambda rule: rule if len(rule) > 2 else {**rule, "IsPresent": True})


def _last_state() -> st.SearchStrategy[dict[str, Any]]:
    fail = st.fixed_dictionaries(
        {"Type": st.just("Fail")},
        optional={"Error": _SCALARS, "Cause": _SCALARS, "ErrorPath": _PATHS, "CausePath": _PATHS},
    )
    return st.one_of(st.just({"Type": "Succeed"}), fail, st.just({"Type": "Pass", "End": True}))


def _machine(depth: int) -> st.SearchStrategy[dict[str, Any]]:
    """States A, B, ... chained by Next (or a Choice whose rules lead on), ending in
    Done, so that most generated machines pass validation and reach the compilers."""

    def build(draw: st.DrawFn) -> dict[str, Any]:
        count = draw(st.integers(1, 3))
        scope = draw(st.integers(0, 10**9))  # state names are unique machine-wide
        names = [f"{n}{scope}" for n in "ABC"[:count]] + [f"Done{scope}"]
        language = draw(st.sampled_from(["JSONPath", "JSONata"]))
        tidy = draw(st.integers(0, 4)) > 0  # mostly, only the fields of the language
        states: dict[str, Any] = {}
        for name, following in itertools.pairwise(names):
            if draw(st.integers(0, 4)) == 0:
                rule = _choice_rule() if not tidy else _tidy_rule(language)
                rules = draw(st.lists(rule, min_size=1, max_size=2))
                for rule in rules:
                    rule["Next"] = following
                states[name] = {"Type": "Choice", "Choices": rules, "Default": following}
            else:
                state = draw(_flow_state(depth))
                if tidy:
                    foreign = _JSONATA_ONLY if language == "JSONPath" else _JSONPATH_ONLY
                    state = {k: v for k, v in state.items() if k not in foreign}
                for catcher in state.get("Catch", []):
                    catcher["Next"] = names[-1]
                    if tidy:
                        catcher.pop("ResultPath" if language == "JSONata" else "Output", None)
                states[name] = {**state, "Next": following}
        states[names[-1]] = draw(_last_state())
        return {"StartAt": names[0], "States": states, "QueryLanguage": language}

    return st.composite(build)()


def _check(definition: Any) -> None:
    for machine_type in ("STANDARD", "EXPRESS"):
        for placeholders in (False, True):
            for diagnostic in validate_definition(
                definition, machine_type=machine_type, placeholders=placeholders
            ):
                assert diagnostic.code.isupper()
                assert diagnostic.message
                assert diagnostic.location == "" or diagnostic.location.startswith("/")
    text = json.dumps(definition)
    validate_definition(text)  # the JSON text goes through the same checks
    with contextlib.suppress(DefinitionError):
        StateMachine(definition)
    with contextlib.suppress(DefinitionError):
        StateMachine(definition, machine_type="EXPRESS")


ISSUE_SHAPES: list[dict[str, Any]] = [
    {"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "${ActivityArn}", "End": True}}},
    {
        "StartAt": "A",
        "States": {
            "A": {
                "Type": "Task",
                "Resource": "arn:${partition}:states:::batch:submitJob.sync",
                "End": True,
            }
        },
    },
    {"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "${DDBGetItem}", "End": True}}},
    {
        "StartAt": "A",
        "States": {
            "A": {
                "Type": "Task",
                "Resource": "arn:aws:states:REGION:ACCOUNT:aws-sdk:s3:getObject",
                "End": True,
            }
        },
    },
    {
        "StartAt": "A",
        "States": {
            "A": {
                "Type": "Pass",
                "Parameters": {
                    "first.$": "$.[0]",
                    "state.$": "$.Snapshots.[0].State",
                    "pairs.$": "$.[*].['bucket', 'key']",
                    "ous.$": "$.[?(@.OU > 0)]",
                },
                "End": True,
            }
        },
    },
]


@pytest.mark.parametrize("definition", ISSUE_SHAPES)
def test_the_shapes_of_issue_16_give_diagnostics_not_tracebacks(definition: dict[str, Any]) -> None:
    _check(definition)


@settings(
    max_examples=250,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(_machine(depth=2))
@example({"StartAt": "A", "States": {"A": {"Type": "Map", "ItemProcessor": {}, "End": True}}})
def test_generated_definitions_give_diagnostics_not_tracebacks(definition: dict[str, Any]) -> None:
    _check(definition)


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=60) | st.binary(max_size=40))
def test_any_text_gives_diagnostics_not_tracebacks(text: str | bytes) -> None:
    for placeholders in (False, True):
        validate_definition(text, placeholders=placeholders)
    with contextlib.suppress(DefinitionError):
        StateMachine(text)
