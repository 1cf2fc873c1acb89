"""Definition validation: every broken definition names its problem and where it is,
and nothing AWS accepts is rejected."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workflows.engine.validation import validate_definition

SHARED = Path(__file__).parents[3].parent / "shared"
CASES = SHARED / "asl-conformance" / "cases.jsonl"
WORKLOADS = SHARED / "bench-workloads"

LAMBDA = "arn:aws:lambda:us-east-1:123456789012:function:Charge"


def sm(states: dict[str, Any], **top: Any) -> dict[str, Any]:
    """A state machine starting at its first state."""
    return {"StartAt": next(iter(states), "A"), "States": states, **top}


def errors(definition: Any) -> list[tuple[str, str]]:
    return [(d.code, d.location) for d in validate_definition(definition) if d.severity == "ERROR"]


def warnings(definition: Any) -> list[tuple[str, str]]:
    return [
        (d.code, d.location) for d in validate_definition(definition) if d.severity == "WARNING"
    ]


PASS_END = {"Type": "Pass", "End": True}
SUCCEED = {"Type": "Succeed"}
TASK = {"Type": "Task", "Resource": LAMBDA, "End": True}
ITEM_PROCESSOR = {"StartAt": "Item", "States": {"Item": {"Type": "Pass", "End": True}}}


def task(**fields: Any) -> dict[str, Any]:
    """A Task state; ``Next=...`` replaces its ``"End": true``."""
    base = {"Type": "Task", "Resource": LAMBDA} if "Next" in fields else TASK
    return {**base, **fields}


def choice(**fields: Any) -> dict[str, Any]:
    return {
        "Type": "Choice",
        "Choices": [{"Variable": "$.x", "IsPresent": True, "Next": "Yes"}],
        "Default": "No",
        **fields,
    }


YES_NO = {"Yes": SUCCEED, "No": SUCCEED}
CATCH_DONE = [{"ErrorEquals": ["States.ALL"], "Next": "Done"}]


# ------------------------------------------------------------- no false positives


def _conformance_definitions() -> list[tuple[str, Any]]:
    found: list[tuple[str, Any]] = []
    if CASES.exists():
        for line in CASES.read_text().splitlines():
            if line.strip():
                case = json.loads(line)
                found.append((case["id"], case["definition"]))
    if WORKLOADS.is_dir():
        for path in sorted(WORKLOADS.glob("*.json")):
            found.append((path.name, json.loads(path.read_text())["definition"]))
    return found


def test_every_definition_aws_ran_is_valid() -> None:
    definitions = _conformance_definitions()
    if not definitions:
        pytest.skip("../shared/asl-conformance and ../shared/bench-workloads are not present")
    rejected = {
        name: [str(d) for d in validate_definition(definition) if d.severity == "ERROR"]
        for name, definition in definitions
    }
    rejected = {name: problems for name, problems in rejected.items() if problems}
    assert rejected == {}


def test_a_valid_definition_has_no_diagnostics() -> None:
    definition = sm(
        {
            "Start": {"Type": "Pass", "Parameters": {"id.$": "$.id"}, "Next": "Route"},
            "Route": choice(Default="Charge"),
            "Charge": task(
                Next="Done",
                TimeoutSeconds=30,
                HeartbeatSeconds=10,
                ResultPath="$.charge",
                Retry=[
                    {"ErrorEquals": ["Lambda.ServiceException"], "IntervalSeconds": 2},
                    {"ErrorEquals": ["States.ALL"], "BackoffRate": 1.5, "JitterStrategy": "FULL"},
                ],
                Catch=[{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Failed"}],
            ),
            "Yes": SUCCEED,
            "Done": SUCCEED,
            "Failed": {"Type": "Fail", "Error": "ChargeFailed", "Cause": "payment declined"},
        }
    )
    assert validate_definition(definition) == []


def test_jsonata_fields_are_valid_in_jsonata_and_assign_in_both() -> None:
    definition = sm(
        {
            "Start": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Arguments": {"FunctionName": LAMBDA, "Payload": "{% $states.input %}"},
                "Output": "{% $states.result.Payload %}",
                "Assign": {"total": "{% $states.result.Payload.total %}"},
                "TimeoutSeconds": "{% $states.input.timeout %}",
                "Catch": [{"ErrorEquals": ["States.ALL"], "Output": {"ok": False}, "Next": "Done"}],
                "Next": "Each",
            },
            "Each": {
                "Type": "Map",
                "Items": "{% $states.input.items %}",
                "MaxConcurrency": "{% $states.input.limit %}",
                "ItemSelector": {"item": "{% $states.context.Map.Item.Value %}"},
                "ItemProcessor": ITEM_PROCESSOR,
                "Next": "Check",
            },
            "Check": {
                "Type": "Choice",
                "Choices": [{"Condition": "{% $total > 10 %}", "Next": "Wait", "Output": 1}],
                "Default": "Done",
            },
            "Wait": {"Type": "Wait", "Seconds": "{% $states.input.delay %}", "Next": "Done"},
            "Done": {"Type": "Succeed", "Output": {"total": "{% $total %}"}},
        },
        QueryLanguage="JSONata",
    )
    assert validate_definition(definition) == []
    jsonpath_assign = sm({"A": {"Type": "Pass", "Assign": {"x.$": "$.x", "y": 1}, "End": True}})
    assert validate_definition(jsonpath_assign) == []


def test_a_state_can_switch_to_jsonata_and_its_branches_inherit_it() -> None:
    definition = sm(
        {
            "P": {
                "Type": "Parallel",
                "QueryLanguage": "JSONata",
                "Branches": [sm({"B": {"Type": "Pass", "Output": "{% 1 %}", "End": True}})],
                "End": True,
            }
        }
    )
    assert validate_definition(definition) == []


def test_text_definitions_are_parsed() -> None:
    assert validate_definition(json.dumps(sm({"A": PASS_END}))) == []


def test_warnings_do_not_make_a_definition_invalid() -> None:
    definition = sm(
        {
            "A": {"Type": "Pass", "Parameters": {"id": "$.id"}, "Next": "B"},
            "B": {"Type": "Pass", "Result": {"id.$": "$.id"}, "Next": "C"},
            "C": {"Type": "Fail", "Error": "$.error"},
        }
    )
    assert errors(definition) == []
    assert warnings(definition) == [
        ("NO_DOLLAR", "/States/A/Parameters/id"),
        ("PASS_RESULT_IS_STATIC", "/States/B/Result"),
        ("NO_PATH", "/States/C/Error"),
    ]


# ------------------------------------------------------------ broken definitions

BROKEN: list[tuple[str, Any, str, str]] = [
    # the document
    ("not an object", [{"StartAt": "A"}], "INVALID_TYPE", ""),
    ("no definition", None, "MISSING_DESCRIPTION", ""),
    ("not JSON", '{"StartAt": "A",', "INVALID_JSON_DESCRIPTION", ""),
    ("no StartAt", {"States": {"A": PASS_END}}, "MISSING_FIELD", ""),
    ("no States", {"StartAt": "A"}, "MISSING_FIELD", ""),
    (
        "StartAt names no state",
        {"StartAt": "B", "States": {"A": PASS_END}},
        "MISSING_TRANSITION_TARGET",
        "/StartAt",
    ),
    ("unknown top-level field", sm({"A": PASS_END}, Timeout=5), "UNKNOWN_FIELD", "/Timeout"),
    ("Version not a string", sm({"A": PASS_END}, Version=1.0), "INVALID_TYPE", "/Version"),
    (
        "TimeoutSeconds a string",
        sm({"A": PASS_END}, TimeoutSeconds="60"),
        "INVALID_TYPE",
        "/TimeoutSeconds",
    ),
    (
        "bad QueryLanguage",
        sm({"A": PASS_END}, QueryLanguage="jsonata"),
        "INVALID_QUERY_LANGUAGE",
        "/QueryLanguage",
    ),
    # state types and fields
    ("no Type", sm({"A": {"End": True}}), "MISSING_FIELD", "/States/A"),
    (
        "unknown Type",
        sm({"A": {"Type": "Tsk", "End": True}}),
        "INVALID_STATE_TYPE",
        "/States/A/Type",
    ),
    (
        "Next on a Succeed",
        sm({"A": {"Type": "Succeed", "Next": "B"}, "B": SUCCEED}),
        "FIELD_NOT_ALLOWED",
        "/States/A/Next",
    ),
    (
        "Resource on a Pass",
        sm({"A": {**PASS_END, "Resource": LAMBDA}}),
        "FIELD_NOT_ALLOWED",
        "/States/A/Resource",
    ),
    (
        "Retry on a Wait",
        sm({"A": {"Type": "Wait", "Seconds": 1, "End": True, "Retry": []}}),
        "FIELD_NOT_ALLOWED",
        "/States/A/Retry",
    ),
    (
        "Assign on a Fail",
        sm({"A": {"Type": "Fail", "Assign": {"x": 1}}}),
        "FIELD_NOT_ALLOWED",
        "/States/A/Assign",
    ),
    (
        "misspelt field",
        sm({"A": {**PASS_END, "ResultPth": "$.x"}}),
        "UNKNOWN_FIELD",
        "/States/A/ResultPth",
    ),
    (
        "Comment not a string",
        sm({"A": {**PASS_END, "Comment": 1}}),
        "INVALID_TYPE",
        "/States/A/Comment",
    ),
    # query languages
    (
        "JSONPath field in a JSONata state",
        sm({"A": {**PASS_END, "InputPath": "$.x"}}, QueryLanguage="JSONata"),
        "QUERY_LANGUAGE_MISMATCH",
        "/States/A/InputPath",
    ),
    (
        "JSONata field in a JSONPath state",
        sm({"A": {**PASS_END, "Output": {"a": 1}}}),
        "QUERY_LANGUAGE_MISMATCH",
        "/States/A/Output",
    ),
    (
        "JSONata field inherited in a branch",
        sm(
            {
                "P": {
                    "Type": "Parallel",
                    "QueryLanguage": "JSONata",
                    "End": True,
                    "Branches": [sm({"B": {**PASS_END, "Parameters": {}}})],
                }
            }
        ),
        "QUERY_LANGUAGE_MISMATCH",
        "/States/P/Branches/0/States/B/Parameters",
    ),
    (
        "JSONPath state in a JSONata machine",
        sm({"A": {**PASS_END, "QueryLanguage": "JSONPath"}}, QueryLanguage="JSONata"),
        "QUERY_LANGUAGE_DOWNGRADE",
        "/States/A/QueryLanguage",
    ),
    (
        "Condition in a JSONPath Choice",
        sm({"C": choice(Choices=[{"Condition": "{% true %}", "Next": "Yes"}]), **YES_NO}),
        "QUERY_LANGUAGE_MISMATCH",
        "/States/C/Choices/0/Condition",
    ),
    (
        "Variable in a JSONata Choice",
        sm({"C": {**choice(), "QueryLanguage": "JSONata"}, **YES_NO}),
        "QUERY_LANGUAGE_MISMATCH",
        "/States/C/Choices/0/Variable",
    ),
    (
        "JSONata Condition not an expression",
        sm(
            {
                "C": choice(QueryLanguage="JSONata", Choices=[{"Condition": "yes", "Next": "Yes"}]),
                **YES_NO,
            }
        ),
        "INVALID_TYPE",
        "/States/C/Choices/0/Condition",
    ),
    # transitions
    (
        "neither Next nor End",
        sm({"C": choice(Default="B"), "B": {"Type": "Pass"}, "Yes": SUCCEED}),
        "MISSING_NEXT_OR_END",
        "/States/B",
    ),
    (
        "both Next and End",
        sm({"A": {**PASS_END, "Next": "B"}, "B": SUCCEED}),
        "CONFLICTING_FIELDS",
        "/States/A/End",
    ),
    (
        "Next names no state",
        sm({"A": task(Next="Dnoe", Catch=CATCH_DONE), "Done": SUCCEED}),
        "MISSING_TRANSITION_TARGET",
        "/States/A/Next",
    ),
    (
        "Next not a string",
        sm({"A": task(Next=["Done"], Catch=CATCH_DONE), "Done": SUCCEED}),
        "INVALID_TYPE",
        "/States/A/Next",
    ),
    (
        "a branch cannot jump out",
        sm(
            {
                "P": {
                    "Type": "Parallel",
                    "Next": "Done",
                    "Branches": [
                        sm(
                            {
                                "B1": choice(
                                    Choices=[{"Variable": "$.x", "IsNull": True, "Next": "Done"}],
                                    Default="B2",
                                ),
                                "B2": SUCCEED,
                            }
                        )
                    ],
                },
                "Done": SUCCEED,
            }
        ),
        "MISSING_TRANSITION_TARGET",
        "/States/P/Branches/0/States/B1/Choices/0/Next",
    ),
    (
        "Choice Default names no state",
        sm({"C": choice(Default="Nope"), "Yes": SUCCEED}),
        "MISSING_TRANSITION_TARGET",
        "/States/C/Default",
    ),
    (
        "Choice rule Next names no state",
        sm(
            {
                "C": choice(Choices=[{"Variable": "$.x", "IsNull": True, "Next": "Maybe"}]),
                "No": SUCCEED,
            }
        ),
        "MISSING_TRANSITION_TARGET",
        "/States/C/Choices/0/Next",
    ),
    (
        "Choice rule without Next",
        sm(
            {
                "C": choice(Choices=[{"Variable": "$.x", "IsNull": True}], Default="Yes"),
                "Yes": SUCCEED,
            }
        ),
        "MISSING_FIELD",
        "/States/C/Choices/0",
    ),
    (
        "Choice with empty Choices",
        sm({"C": choice(Choices=[], Default="No"), "No": SUCCEED}),
        "INVALID_VALUE",
        "/States/C/Choices",
    ),
    (
        "Choice without Choices",
        sm({"C": {"Type": "Choice", "Default": "No"}, "No": SUCCEED}),
        "MISSING_FIELD",
        "/States/C",
    ),
    ("unreachable state", sm({"A": PASS_END, "B": PASS_END}), "UNREACHABLE_STATE", "/States/B"),
    (
        "no terminal state",
        sm({"A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Pass", "Next": "A"}}),
        "MISSING_END_STATE",
        "/States",
    ),
    (
        "state name too long",
        {"StartAt": "S" * 81, "States": {"S" * 81: PASS_END}},
        "INVALID_STATE_NAME",
        "/States/" + "S" * 81,
    ),
    (
        "state name reused in a branch",
        sm({"A": {"Type": "Parallel", "End": True, "Branches": [sm({"A": PASS_END})]}}),
        "DUPLICATE_STATE_NAME",
        "/States/A/Branches/0/States/A",
    ),
    (
        "state name twice in the text",
        '{"StartAt": "A", "States": {"A": {"Type": "Succeed"}, "A": {"Type": "Succeed"}}}',
        "DUPLICATE_STATE_NAME",
        "/States/A",
    ),
    # paths and templates
    (
        "bad InputPath",
        sm({"A": {**PASS_END, "InputPath": "$.a["}}),
        "INVALID_JSONPATH",
        "/States/A/InputPath",
    ),
    (
        "ResultPath with a wildcard",
        sm({"A": {**PASS_END, "ResultPath": "$.a[*]"}}),
        "INVALID_REFERENCE_PATH",
        "/States/A/ResultPath",
    ),
    (
        "ResultPath into the context",
        sm({"A": {**PASS_END, "ResultPath": "$$.Execution"}}),
        "INVALID_REFERENCE_PATH",
        "/States/A/ResultPath",
    ),
    (
        "bad nested .$ path",
        sm({"A": {**PASS_END, "Parameters": {"order": {"lines": [{"id.$": "$.lines[?("}]}}}}),
        "INVALID_JSONPATH",
        "/States/A/Parameters/order/lines/0/id.$",
    ),
    (
        "unknown intrinsic",
        sm({"A": {**PASS_END, "Parameters": {"id.$": "States.Uuid()"}}}),
        "INVALID_INTRINSIC_FUNCTION",
        "/States/A/Parameters/id.$",
    ),
    (
        "intrinsic in ResultSelector",
        sm({"A": task(ResultSelector={"n.$": "States.MathAdd($.a)"})}),
        "INVALID_INTRINSIC_FUNCTION",
        "/States/A/ResultSelector/n.$",
    ),
    (
        ".$ value not a string",
        sm({"A": {**PASS_END, "Parameters": {"n.$": 5}}}),
        "INVALID_TYPE",
        "/States/A/Parameters/n.$",
    ),
    (
        ".$ value neither path nor intrinsic",
        sm({"A": {**PASS_END, "Parameters": {"n.$": "id"}}}),
        "INVALID_JSONPATH",
        "/States/A/Parameters/n.$",
    ),
    (
        "Parameters not an object",
        sm({"A": {**PASS_END, "Parameters": "$.x"}}),
        "INVALID_TYPE",
        "/States/A/Parameters",
    ),
    (
        "bad Assign .$ path",
        sm({"A": {**PASS_END, "Assign": {"v.$": "$."}}}),
        "INVALID_JSONPATH",
        "/States/A/Assign/v.$",
    ),
    # Choice rules
    (
        "bad Choice Variable",
        sm({"C": choice(Choices=[{"Variable": "x", "IsNull": True, "Next": "Yes"}]), **YES_NO}),
        "INVALID_CHOICE_RULE",
        "/States/C/Choices/0/Variable",
    ),
    (
        "bad nested Choice rule",
        sm(
            {
                "C": choice(
                    Choices=[
                        {
                            "And": [
                                {"Variable": "$.a", "IsNull": True},
                                {"Variable": "$.b", "NumericEquals": "1"},
                            ],
                            "Next": "Yes",
                        }
                    ]
                ),
                **YES_NO,
            }
        ),
        "INVALID_CHOICE_RULE",
        "/States/C/Choices/0/And/1/NumericEquals",
    ),
    (
        "bad ...Path operator",
        sm(
            {
                "C": choice(Choices=[{"Variable": "$.a", "StringEqualsPath": "$[", "Next": "Yes"}]),
                **YES_NO,
            }
        ),
        "INVALID_CHOICE_RULE",
        "/States/C/Choices/0/StringEqualsPath",
    ),
    # Wait
    ("Wait without a time", sm({"W": {"Type": "Wait", "End": True}}), "MISSING_FIELD", "/States/W"),
    (
        "Wait with two times",
        sm({"W": {"Type": "Wait", "Seconds": 5, "Timestamp": "2024-01-01T00:00:00Z", "End": True}}),
        "CONFLICTING_FIELDS",
        "/States/W/Timestamp",
    ),
    (
        "negative Seconds",
        sm({"W": {"Type": "Wait", "Seconds": -1, "End": True}}),
        "INVALID_VALUE",
        "/States/W/Seconds",
    ),
    (
        "fractional Seconds",
        sm({"W": {"Type": "Wait", "Seconds": 1.5, "End": True}}),
        "INVALID_TYPE",
        "/States/W/Seconds",
    ),
    (
        "bad Timestamp",
        sm({"W": {"Type": "Wait", "Timestamp": "2024-01-01 00:00:00", "End": True}}),
        "INVALID_TIMESTAMP",
        "/States/W/Timestamp",
    ),
    (
        "impossible Timestamp",
        sm({"W": {"Type": "Wait", "Timestamp": "2024-02-30T00:00:00Z", "End": True}}),
        "INVALID_TIMESTAMP",
        "/States/W/Timestamp",
    ),
    (
        "bad SecondsPath",
        sm({"W": {"Type": "Wait", "SecondsPath": "$.a b", "End": True}}),
        "INVALID_JSONPATH",
        "/States/W/SecondsPath",
    ),
    # Task
    (
        "Task without Resource",
        sm({"T": {"Type": "Task", "End": True}}),
        "MISSING_FIELD",
        "/States/T",
    ),
    (
        "Resource not an ARN",
        sm({"T": task(Resource="Charge")}),
        "INVALID_RESOURCE",
        "/States/T/Resource",
    ),
    (
        "Resource placeholder",
        sm({"T": task(Resource="${ChargeArn}")}),
        "INVALID_RESOURCE",
        "/States/T/Resource",
    ),
    (
        "TimeoutSeconds zero",
        sm({"T": task(TimeoutSeconds=0)}),
        "INVALID_VALUE",
        "/States/T/TimeoutSeconds",
    ),
    (
        "TimeoutSeconds and its Path",
        sm({"T": task(TimeoutSeconds=5, TimeoutSecondsPath="$.t")}),
        "CONFLICTING_FIELDS",
        "/States/T/TimeoutSecondsPath",
    ),
    (
        "heartbeat not below timeout",
        sm({"T": task(TimeoutSeconds=10, HeartbeatSeconds=10)}),
        "HEARTBEAT_NOT_LESS_THAN_TIMEOUT",
        "/States/T/HeartbeatSeconds",
    ),
    # Retry
    (
        "Retry not an array",
        sm({"T": task(Retry={"ErrorEquals": ["States.ALL"]})}),
        "INVALID_TYPE",
        "/States/T/Retry",
    ),
    (
        "Retry without ErrorEquals",
        sm({"T": task(Retry=[{"MaxAttempts": 2}])}),
        "MISSING_FIELD",
        "/States/T/Retry/0",
    ),
    (
        "empty ErrorEquals",
        sm({"T": task(Retry=[{"ErrorEquals": []}])}),
        "INVALID_VALUE",
        "/States/T/Retry/0/ErrorEquals",
    ),
    (
        "BackoffRate below 1",
        sm({"T": task(Retry=[{"ErrorEquals": ["E"], "BackoffRate": 0.5}])}),
        "INVALID_VALUE",
        "/States/T/Retry/0/BackoffRate",
    ),
    (
        "IntervalSeconds zero",
        sm({"T": task(Retry=[{"ErrorEquals": ["E"], "IntervalSeconds": 0}])}),
        "INVALID_VALUE",
        "/States/T/Retry/0/IntervalSeconds",
    ),
    (
        "MaxAttempts negative",
        sm({"T": task(Retry=[{"ErrorEquals": ["E"], "MaxAttempts": -1}])}),
        "INVALID_VALUE",
        "/States/T/Retry/0/MaxAttempts",
    ),
    (
        "MaxDelaySeconds a string",
        sm({"T": task(Retry=[{"ErrorEquals": ["E"], "MaxDelaySeconds": "5"}])}),
        "INVALID_TYPE",
        "/States/T/Retry/0/MaxDelaySeconds",
    ),
    (
        "bad JitterStrategy",
        sm({"T": task(Retry=[{"ErrorEquals": ["E"], "JitterStrategy": "HALF"}])}),
        "INVALID_VALUE",
        "/States/T/Retry/0/JitterStrategy",
    ),
    (
        "unknown retrier field",
        sm({"T": task(Retry=[{"ErrorEquals": ["E"], "MaxAttempt": 3}])}),
        "UNKNOWN_FIELD",
        "/States/T/Retry/0/MaxAttempt",
    ),
    (
        "States.ALL with other errors",
        sm({"T": task(Retry=[{"ErrorEquals": ["States.ALL", "States.Timeout"]}])}),
        "STATES_ALL_NOT_ALONE",
        "/States/T/Retry/0/ErrorEquals",
    ),
    (
        "States.ALL retrier not last",
        sm({"T": task(Retry=[{"ErrorEquals": ["States.ALL"]}, {"ErrorEquals": ["E"]}])}),
        "STATES_ALL_NOT_LAST",
        "/States/T/Retry/0/ErrorEquals",
    ),
    # Catch
    (
        "catcher Next names no state",
        sm({"T": task(Catch=[{"ErrorEquals": ["States.ALL"], "Next": "Recover"}])}),
        "MISSING_TRANSITION_TARGET",
        "/States/T/Catch/0/Next",
    ),
    (
        "catcher without Next",
        sm({"T": task(Catch=[{"ErrorEquals": ["States.ALL"]}])}),
        "MISSING_FIELD",
        "/States/T/Catch/0",
    ),
    (
        "catcher ResultPath not a reference path",
        sm(
            {
                "T": task(Catch=[{"ErrorEquals": ["E"], "ResultPath": "$..e", "Next": "F"}]),
                "F": SUCCEED,
            }
        ),
        "INVALID_REFERENCE_PATH",
        "/States/T/Catch/0/ResultPath",
    ),
    (
        "unknown catcher field",
        sm({"T": task(Catch=[{"ErrorEquals": ["E"], "Nxt": "F", "Next": "F"}]), "F": SUCCEED}),
        "UNKNOWN_FIELD",
        "/States/T/Catch/0/Nxt",
    ),
    (
        "States.ALL catcher not last",
        sm(
            {
                "T": task(
                    Catch=[
                        {"ErrorEquals": ["States.ALL"], "Next": "F"},
                        {"ErrorEquals": ["E"], "Next": "F"},
                    ]
                ),
                "F": SUCCEED,
            }
        ),
        "STATES_ALL_NOT_LAST",
        "/States/T/Catch/0/ErrorEquals",
    ),
    # Parallel and Map
    ("no Branches", sm({"P": {"Type": "Parallel", "End": True}}), "MISSING_FIELD", "/States/P"),
    (
        "empty Branches",
        sm({"P": {"Type": "Parallel", "Branches": [], "End": True}}),
        "INVALID_VALUE",
        "/States/P/Branches",
    ),
    (
        "branch without StartAt",
        sm({"P": {"Type": "Parallel", "Branches": [{"States": {"B": PASS_END}}], "End": True}}),
        "MISSING_FIELD",
        "/States/P/Branches/0",
    ),
    (
        "Map without ItemProcessor",
        sm({"M": {"Type": "Map", "End": True}}),
        "MISSING_FIELD",
        "/States/M",
    ),
    (
        "bad ProcessorConfig Mode",
        sm(
            {
                "M": {
                    "Type": "Map",
                    "End": True,
                    "ItemProcessor": {**ITEM_PROCESSOR, "ProcessorConfig": {"Mode": "inline"}},
                }
            }
        ),
        "INVALID_VALUE",
        "/States/M/ItemProcessor/ProcessorConfig/Mode",
    ),
    (
        "negative MaxConcurrency",
        sm(
            {
                "M": {
                    "Type": "Map",
                    "ItemProcessor": ITEM_PROCESSOR,
                    "MaxConcurrency": -1,
                    "End": True,
                }
            }
        ),
        "INVALID_VALUE",
        "/States/M/MaxConcurrency",
    ),
    (
        "MaxConcurrency and its Path",
        sm(
            {
                "M": {
                    "Type": "Map",
                    "ItemProcessor": ITEM_PROCESSOR,
                    "MaxConcurrency": 2,
                    "MaxConcurrencyPath": "$.n",
                    "End": True,
                }
            }
        ),
        "CONFLICTING_FIELDS",
        "/States/M/MaxConcurrencyPath",
    ),
    (
        "ItemSelector and Parameters",
        sm(
            {
                "M": {
                    "Type": "Map",
                    "ItemProcessor": ITEM_PROCESSOR,
                    "ItemSelector": {},
                    "Parameters": {},
                    "End": True,
                }
            }
        ),
        "CONFLICTING_FIELDS",
        "/States/M/Parameters",
    ),
    (
        "bad ItemsPath",
        sm(
            {
                "M": {
                    "Type": "Map",
                    "ItemProcessor": ITEM_PROCESSOR,
                    "ItemsPath": "items",
                    "End": True,
                }
            }
        ),
        "INVALID_JSONPATH",
        "/States/M/ItemsPath",
    ),
    (
        "a legacy Iterator cannot jump out",
        sm(
            {
                "M": {
                    "Type": "Map",
                    "Next": "Done",
                    "Iterator": sm(
                        {
                            "I": choice(
                                Choices=[{"Variable": "$.x", "IsNull": True, "Next": "Done"}],
                                Default="J",
                            ),
                            "J": SUCCEED,
                        }
                    ),
                },
                "Done": SUCCEED,
            }
        ),
        "MISSING_TRANSITION_TARGET",
        "/States/M/Iterator/States/I/Choices/0/Next",
    ),
    (
        "ToleratedFailurePercentage over 100",
        sm(
            {
                "M": {
                    "Type": "Map",
                    "ItemProcessor": ITEM_PROCESSOR,
                    "ToleratedFailurePercentage": 150,
                    "End": True,
                }
            }
        ),
        "INVALID_VALUE",
        "/States/M/ToleratedFailurePercentage",
    ),
    (
        "Label with a space",
        sm({"M": {"Type": "Map", "ItemProcessor": ITEM_PROCESSOR, "Label": "my map", "End": True}}),
        "INVALID_LABEL_NAME",
        "/States/M/Label",
    ),
    # Fail
    (
        "Error and ErrorPath",
        sm({"F": {"Type": "Fail", "Error": "E", "ErrorPath": "$.e"}}),
        "CONFLICTING_FIELDS",
        "/States/F/ErrorPath",
    ),
    (
        "Cause and CausePath",
        sm({"F": {"Type": "Fail", "Cause": "c", "CausePath": "$.c"}}),
        "CONFLICTING_FIELDS",
        "/States/F/CausePath",
    ),
    (
        "bad CausePath intrinsic",
        sm({"F": {"Type": "Fail", "CausePath": "States.Format('{}', $.a"}}),
        "INVALID_INTRINSIC_FUNCTION",
        "/States/F/CausePath",
    ),
    (
        "ErrorPath not a path",
        sm({"F": {"Type": "Fail", "ErrorPath": "error"}}),
        "INVALID_JSONPATH",
        "/States/F/ErrorPath",
    ),
]


@pytest.mark.parametrize(
    ("definition", "code", "location"),
    [pytest.param(d, c, loc, id=name) for name, d, c, loc in BROKEN],
)
def test_a_broken_definition_reports_exactly_its_problem(
    definition: Any, code: str, location: str
) -> None:
    assert errors(definition) == [(code, location)]


def test_there_are_enough_broken_definitions() -> None:
    assert len(BROKEN) >= 25
    assert len({name for name, *_ in BROKEN}) == len(BROKEN)


# -------------------------------------------------------------------- messages


def _messages(definition: Any) -> list[str]:
    return [d.message for d in validate_definition(definition) if d.severity == "ERROR"]


def test_an_unknown_target_lists_the_states_of_the_scope() -> None:
    definition = sm({"A": {"Type": "Pass", "Next": "Chrage"}, "Charge": SUCCEED, "Done": SUCCEED})
    [message] = [m for m in _messages(definition) if "Chrage" in m]
    assert message == (
        "Next 'Chrage' names no state in this scope (did you mean 'Charge'?); "
        "states are: A, Charge, Done"
    )


def test_a_jump_out_of_a_branch_says_where_the_target_lives() -> None:
    definition = sm(
        {
            "P": {
                "Type": "Parallel",
                "Next": "Done",
                "Branches": [sm({"B": {"Type": "Pass", "Next": "Done"}, "C": SUCCEED})],
            },
            "Done": SUCCEED,
        }
    )
    message = _messages(definition)[0]
    assert "'Done' is defined in /States" in message
    assert "cannot leave or enter a Parallel branch" in message


def test_all_problems_are_reported_at_once() -> None:
    definition = {
        "StartAt": "A",
        "States": {
            "A": {"Type": "Pass", "Next": "B", "Resource": LAMBDA},
            "B": {"Type": "Task", "Resource": "nope", "End": True, "Retry": [{}]},
            "C": {"Type": "Wait", "End": True},
        },
        "Extra": 1,
    }
    assert sorted(errors(definition)) == sorted(
        [
            ("UNKNOWN_FIELD", "/Extra"),
            ("FIELD_NOT_ALLOWED", "/States/A/Resource"),
            ("INVALID_RESOURCE", "/States/B/Resource"),
            ("MISSING_FIELD", "/States/B/Retry/0"),
            ("MISSING_FIELD", "/States/C"),
            ("UNREACHABLE_STATE", "/States/C"),
        ]
    )


def test_every_diagnostic_location_points_into_the_definition() -> None:
    definition = sm(
        {
            "A": {"Type": "Pass", "Next": "Nope", "InputPath": "$[", "Resource": "x"},
            "B": {"Type": "Task", "Resource": "x", "Retry": [{"ErrorEquals": [], "Bad": 1}]},
            "C": choice(Choices=[{"Variable": "$.a", "NumericEquals": "1", "Next": "X"}]),
        }
    )

    def resolve(location: str) -> Any:
        node: Any = definition
        for raw in location.split("/")[1:]:
            part = raw.replace("~1", "/").replace("~0", "~")
            node = node[int(part)] if isinstance(node, list) else node[part]
        return node

    diagnostics = validate_definition(definition)
    assert len(diagnostics) > 5
    for diagnostic in diagnostics:
        resolve(diagnostic.location)  # raises if the pointer leads nowhere


# ---------------------------------------------------------------- robustness

_ASL_KEYS = st.sampled_from(
    [
        "StartAt",
        "States",
        "Type",
        "Next",
        "End",
        "Choices",
        "Default",
        "Branches",
        "ItemProcessor",
        "Iterator",
        "Retry",
        "Catch",
        "ErrorEquals",
        "Parameters",
        "ResultPath",
        "InputPath",
        "QueryLanguage",
        "Seconds",
        "Resource",
        "Variable",
        "And",
        "Not",
        "Condition",
        "Label",
        "A",
        "B",
        "x.$",
        "Pass",
        "Task",
        "Map",
    ]
)
_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-5, 5)
    | st.floats(allow_nan=False)
    | st.sampled_from(["A", "B", "$", "$.a", "$[", "States.ALL", "States.Array(", "{% 1 %}"]),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(_ASL_KEYS, children, max_size=5)
    ),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(_JSON)
def test_any_json_gets_diagnostics_not_an_exception(definition: Any) -> None:
    for diagnostic in validate_definition(definition):
        assert diagnostic.code.isupper()
        assert diagnostic.location == "" or diagnostic.location.startswith("/")
        assert diagnostic.message


def test_text_that_is_not_json_or_not_utf8_is_reported() -> None:
    assert errors(b"\xff\xfe{") == [("INVALID_JSON_DESCRIPTION", "")]
    assert errors("   ") == [("MISSING_DESCRIPTION", "")]
