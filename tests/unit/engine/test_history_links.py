"""How events link to each other (``previousEventId``), as AWS records them.

Each rule here is what AWS's own GetExecutionHistory shows for the shared recorded
executions (``../shared/asl-conformance/histories.jsonl``); the conformance suite checks
them on those recordings, these tests pin each rule on its own.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from workflows.engine import StateMachine, VirtualClock


def fn_arn(name: str) -> str:
    return f"arn:aws:lambda:us-east-1:123456789012:function:{name}"


def run(definition: dict[str, Any], data: Any = None, **kw: Any) -> Any:
    kw.setdefault("clock", VirtualClock())
    return StateMachine(definition).run(data, **kw)


def by_id(result: Any) -> dict[int, dict[str, Any]]:
    return {event["id"]: event for event in result.history}


def first(result: Any, event_type: str, nth: int = 0) -> dict[str, Any]:
    return [e for e in result.history if e["type"] == event_type][nth]


def all_of(result: Any, event_type: str) -> list[dict[str, Any]]:
    return [e for e in result.history if e["type"] == event_type]


def parent(result: Any, event: dict[str, Any]) -> dict[str, Any]:
    return by_id(result)[event["previousEventId"]]


PASS_MAP = {
    "StartAt": "M",
    "States": {
        "M": {
            "Type": "Map",
            "MaxConcurrency": 1,
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "INLINE"},
                "StartAt": "A",
                "States": {
                    "A": {"Type": "Pass", "Next": "B"},
                    "B": {"Type": "Pass", "End": True},
                },
            },
            "End": True,
        }
    },
}


def test_the_first_state_links_to_zero_not_to_execution_started() -> None:
    result = run({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
    started, entered = result.history[:2]
    assert started["type"] == "ExecutionStarted"
    assert started["previousEventId"] == 0
    assert entered["type"] == "PassStateEntered"
    assert entered["previousEventId"] == 0
    assert result.history[2]["previousEventId"] == entered["id"]


def test_a_map_iteration_links_to_the_previous_iterations_last_state_event() -> None:
    result = run(PASS_MAP, [1, 2, 3])
    iterations = all_of(result, "MapIterationStarted")
    ended = all_of(result, "MapIterationSucceeded")
    assert parent(result, iterations[0])["type"] == "MapStateStarted"
    for index in (1, 2):
        previous_last = parent(result, ended[index - 1])
        assert previous_last["type"] == "PassStateExited"
        assert iterations[index]["previousEventId"] == previous_last["id"]
    # the iteration's end is recorded aside: nothing links to it but the Map's end
    for event in ended:
        assert parent(result, event)["type"] == "PassStateExited"


def test_map_succeeded_and_the_maps_exit_link_to_the_last_iteration_event() -> None:
    result = run(PASS_MAP, [1, 2])
    last_iteration = all_of(result, "MapIterationSucceeded")[-1]
    assert first(result, "MapStateSucceeded")["previousEventId"] == last_iteration["id"]
    assert first(result, "MapStateExited")["previousEventId"] == last_iteration["id"]
    succeeded = first(result, "ExecutionSucceeded")
    assert parent(result, succeeded)["type"] == "MapStateExited"


def test_an_empty_map_links_its_end_to_map_state_started() -> None:
    result = run(PASS_MAP, [])
    started = first(result, "MapStateStarted")
    assert first(result, "MapStateSucceeded")["previousEventId"] == started["id"]
    assert first(result, "MapStateExited")["previousEventId"] == started["id"]


def test_parallel_succeeded_and_its_exit_link_to_the_newest_branch_event() -> None:
    definition = {
        "StartAt": "P",
        "States": {
            "P": {
                "Type": "Parallel",
                "Branches": [
                    {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}},
                    {"StartAt": "B", "States": {"B": {"Type": "Pass", "End": True}}},
                ],
                "End": True,
            }
        },
    }
    result = run(definition, {})
    started = first(result, "ParallelStateStarted")
    branch_entries = all_of(result, "PassStateEntered")
    assert [e["previousEventId"] for e in branch_entries] == [started["id"], started["id"]]
    newest_branch_event = all_of(result, "PassStateExited")[-1]
    assert first(result, "ParallelStateSucceeded")["previousEventId"] == newest_branch_event["id"]
    assert first(result, "ParallelStateExited")["previousEventId"] == newest_branch_event["id"]


def failing_map(**extra: Any) -> dict[str, Any]:
    return {
        "StartAt": "M",
        "States": {
            "M": {
                "Type": "Map",
                "MaxConcurrency": 1,
                "ItemsPath": "$.items",
                "ItemProcessor": {
                    "StartAt": "Boom",
                    "States": {"Boom": {"Type": "Fail", "Error": "Bad", "Cause": "item"}},
                },
                **extra,
                "Next": "After",
            },
            "After": {"Type": "Pass", "End": True},
        },
    }


def test_a_retried_map_records_no_map_state_failed_between_attempts() -> None:
    result = run(failing_map(Retry=[{"ErrorEquals": ["Bad"], "MaxAttempts": 2}]), {"items": [1]})
    assert result.status == "FAILED"
    assert len(all_of(result, "MapStateStarted")) == 3
    assert len(all_of(result, "MapStateFailed")) == 1
    # each new attempt links to where the failing iteration ended
    for attempt in all_of(result, "MapStateStarted")[1:]:
        assert parent(result, attempt)["type"] == "FailStateEntered"
    failed = first(result, "MapStateFailed")
    assert parent(result, failed)["type"] == "FailStateEntered"
    assert parent(result, first(result, "ExecutionFailed")) == failed


def test_a_caught_map_failure_records_the_maps_exit_with_the_catchers_output() -> None:
    catch = [{"ErrorEquals": ["Bad"], "ResultPath": "$.error", "Next": "After"}]
    result = run(failing_map(Catch=catch), {"items": [1]})
    assert result.status == "SUCCEEDED"
    failed = first(result, "MapStateFailed")
    exited = first(result, "MapStateExited")
    assert parent(result, failed)["type"] == "FailStateEntered"
    assert exited["previousEventId"] == failed["id"]
    output = json.loads(exited["stateExitedEventDetails"]["output"])
    assert output == {"items": [1], "error": {"Error": "Bad", "Cause": "item"}}
    assert parent(result, first(result, "PassStateEntered")) == exited


def test_a_caught_parallel_failure_records_the_parallels_exit() -> None:
    definition = {
        "StartAt": "P",
        "States": {
            "P": {
                "Type": "Parallel",
                "Branches": [
                    {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Bad"}}},
                ],
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "After"}],
                "End": True,
            },
            "After": {"Type": "Pass", "End": True},
        },
    }
    result = run(definition, {})
    assert [e["type"] for e in result.history] == [
        "ExecutionStarted",
        "ParallelStateEntered",
        "ParallelStateStarted",
        "FailStateEntered",
        "ParallelStateFailed",
        "ParallelStateExited",
        "PassStateEntered",
        "PassStateExited",
        "ExecutionSucceeded",
    ]
    assert all(e["previousEventId"] == e["id"] - 1 for e in result.history[2:])


def test_evaluation_failed_links_where_the_state_was_entered_from_then_the_state_fails() -> None:
    definition = {
        "QueryLanguage": "JSONata",
        "StartAt": "Start",
        "States": {
            "Start": {"Type": "Pass", "Output": 1, "Next": "M"},
            "M": {
                "Type": "Map",
                "ItemProcessor": {
                    "StartAt": "P",
                    "States": {"P": {"Type": "Pass", "End": True}},
                },
                "End": True,
            },
        },
    }
    result = run(definition, {})
    entered = first(result, "MapStateEntered")
    evaluation = first(result, "EvaluationFailed")
    assert evaluation["previousEventId"] == entered["previousEventId"]
    assert evaluation["evaluationFailedEventDetails"]["state"] == "M"
    failed = first(result, "MapStateFailed")
    assert failed["previousEventId"] == evaluation["id"]
    assert parent(result, first(result, "ExecutionFailed")) == failed
    assert "MapStateStarted" not in [e["type"] for e in result.history]


def test_a_branch_cut_off_by_a_failure_records_its_task_as_aborted() -> None:
    async def never(event: Any, context: Any) -> Any:
        await asyncio.Event().wait()

    definition = {
        "StartAt": "P",
        "States": {
            "P": {
                "Type": "Parallel",
                "Branches": [
                    {
                        "StartAt": "Slow",
                        "States": {
                            "Slow": {"Type": "Task", "Resource": fn_arn("Never"), "End": True}
                        },
                    },
                    {
                        "StartAt": "Wait",
                        "States": {
                            "Wait": {"Type": "Wait", "Seconds": 5, "Next": "F"},
                            "F": {"Type": "Fail", "Error": "Bad"},
                        },
                    },
                ],
                "End": True,
            }
        },
    }
    result = run(definition, {}, lambdas={"Never": never})
    assert result.status == "FAILED"
    aborted = first(result, "TaskStateAborted")
    assert parent(result, aborted)["type"] == "LambdaFunctionStarted"
    types = [e["type"] for e in result.history]
    assert types.index("TaskStateAborted") < types.index("ParallelStateFailed")
    assert parent(result, first(result, "ParallelStateFailed"))["type"] == "FailStateEntered"


def test_every_concurrent_map_iteration_that_times_out_records_its_own_timeout() -> None:
    async def never(event: Any, context: Any) -> Any:
        await asyncio.Event().wait()

    definition = {
        "StartAt": "M",
        "States": {
            "M": {
                "Type": "Map",
                "ItemProcessor": {
                    "StartAt": "T",
                    "States": {
                        "T": {
                            "Type": "Task",
                            "Resource": fn_arn("Never"),
                            "TimeoutSeconds": 1,
                            "End": True,
                        }
                    },
                },
                "End": True,
            }
        },
    }
    result = run(definition, [1, 2, 3], lambdas={"Never": never})
    assert result.status == "FAILED"
    assert result.error == "States.Timeout"
    assert len(all_of(result, "LambdaFunctionTimedOut")) == 3
    assert len(all_of(result, "MapIterationFailed")) == 3
    for event in all_of(result, "MapIterationFailed"):
        assert parent(result, event)["type"] == "LambdaFunctionTimedOut"


def test_an_exit_carries_the_variables_its_state_assigned_as_json_text() -> None:
    for language, assign in (
        ("JSONPath", {"greeting": "hi", "n.$": "$.n"}),
        ("JSONata", {"greeting": "hi", "n": "{% $states.input.n %}"}),
    ):
        definition = {
            "QueryLanguage": language,
            "StartAt": "A",
            "States": {
                "A": {"Type": "Pass", "Assign": assign, "Next": "B"},
                "B": {"Type": "Pass", "End": True},
            },
        }
        result = run(definition, {"n": 2})
        exited_a, exited_b = all_of(result, "PassStateExited")
        details = exited_a["stateExitedEventDetails"]
        assert details["assignedVariables"] == {"greeting": '"hi"', "n": "2"}, language
        assert details["assignedVariablesDetails"] == {"truncated": False}
        assert list(details) == [
            "name",
            "output",
            "outputDetails",
            "assignedVariables",
            "assignedVariablesDetails",
        ]
        assert "assignedVariables" not in exited_b["stateExitedEventDetails"]


def distributed(**extra: Any) -> dict[str, Any]:
    return {
        "StartAt": "M",
        "States": {
            "M": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                    "StartAt": "P",
                    "States": {"P": {"Type": "Pass", "End": True}},
                },
                **extra,
                "End": True,
            }
        },
    }


def test_an_invalid_tolerated_failure_path_fails_after_map_state_started() -> None:
    result = run(
        distributed(ToleratedFailureCountPath="$.tolerated"), {"items": [1], "tolerated": "x"}
    )
    assert result.status == "FAILED"
    assert [e["type"] for e in result.history] == [
        "ExecutionStarted",
        "MapStateEntered",
        "MapStateStarted",
        "ExecutionFailed",
    ]
    assert "ToleratedFailureCountPath" in (result.cause or "")


def test_an_invalid_max_concurrency_path_fails_before_map_state_started() -> None:
    result = run(
        distributed(MaxConcurrencyPath="$.concurrency"), {"items": [1], "concurrency": "x"}
    )
    assert [e["type"] for e in result.history] == [
        "ExecutionStarted",
        "MapStateEntered",
        "ExecutionFailed",
    ]


def test_a_distributed_map_records_its_map_run_and_no_iterations() -> None:
    result = run(distributed(Label="Sweep"), {"items": [1, 2, 3]})
    assert result.output == [1, 2, 3]
    types = [e["type"] for e in result.history]
    assert types == [
        "ExecutionStarted",
        "MapStateEntered",
        "MapStateStarted",
        "MapRunStarted",
        "MapRunSucceeded",
        "MapStateSucceeded",
        "MapStateExited",
        "ExecutionSucceeded",
    ]
    run_started = first(result, "MapRunStarted")
    arn = run_started["mapRunStartedEventDetails"]["mapRunArn"]
    assert arn.startswith("arn:aws:states:us-east-1:123456789012:mapRun:StateMachine/Sweep:")
    # AWS (recordings from November 2024 on) links the Map's exit to MapRunStarted
    assert first(result, "MapStateExited")["previousEventId"] == run_started["id"]
    assert parent(result, first(result, "MapStateSucceeded"))["type"] == "MapRunSucceeded"
