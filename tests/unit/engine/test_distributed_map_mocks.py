"""A Distributed Map's ItemReader answered by a test's mock, as Task states are: the
items come from the mock plan, no S3 is needed, and the children's Tasks can be mocked
by name too."""

from __future__ import annotations

from typing import Any

from workflows.engine import StateMachine
from workflows.engine.mocks import MockPlan, Return, Throw

READ_ORDERS: dict[str, Any] = {
    "Resource": "arn:aws:states:::s3:getObject",
    "ReaderConfig": {"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW"},
    "Parameters": {"Bucket": "orders-export", "Key": "stuck.csv"},
}


def sweep(child_states: dict[str, Any], start: str) -> StateMachine:
    return StateMachine(
        {
            "StartAt": "Sweep",
            "States": {
                "Sweep": {
                    "Type": "Map",
                    "ItemReader": READ_ORDERS,
                    "ItemProcessor": {
                        "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
                        "StartAt": start,
                        "States": child_states,
                    },
                    "End": True,
                }
            },
        },
        name="Sweep",
    )


def test_the_item_reader_answers_with_the_mocked_items() -> None:
    machine = sweep({"Echo": {"Type": "Pass", "End": True}}, "Echo")
    result = machine.run({}, mocks={"Sweep": Return([{"orderId": "A1"}, {"orderId": "A2"}])})
    assert result.status == "SUCCEEDED", result.cause
    assert result.output == [{"orderId": "A1"}, {"orderId": "A2"}]


def test_a_mocked_reader_failure_fails_the_map_run() -> None:
    machine = sweep({"Echo": {"Type": "Pass", "End": True}}, "Echo")
    result = machine.run({}, mocks={"Sweep": Throw("States.ItemReaderFailed", "no export")})
    assert (result.error, result.cause) == ("States.ItemReaderFailed", "no export")
    assert [e["type"] for e in result.history][-3:] == [
        "MapRunFailed",
        "MapStateFailed",
        "ExecutionFailed",
    ]


def test_children_tasks_are_mocked_from_the_same_step_functions_local_config() -> None:
    cancel = {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": "CancelOrder", "Payload.$": "$"},
        "OutputPath": "$.Payload",
        "End": True,
    }
    machine = sweep({"Cancel": cancel}, "Cancel")
    config = {
        "StateMachines": {"Sweep": {"TestCases": {"Two": {"Sweep": "Export", "Cancel": "Ok"}}}},
        "MockedResponses": {
            "Export": {"0": {"Return": [{"orderId": "A1"}, {"orderId": "A2"}]}},
            "Ok": {"0": {"Return": {"Payload": {"cancelled": True}}}},
        },
    }
    result = machine.run({}, mocks=MockPlan.from_config(config, "Sweep", "Two"))
    assert result.output == [{"cancelled": True}, {"cancelled": True}]


def test_without_an_s3_integration_the_reader_says_what_to_do() -> None:
    machine = sweep({"Echo": {"Type": "Pass", "End": True}}, "Echo")
    result = machine.run({})
    assert result.error == "States.ItemReaderFailed"
    assert "aws_integrations()" in (result.cause or "")
