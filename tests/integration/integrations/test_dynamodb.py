"""``arn:aws:states:::dynamodb:*`` through the engine, against moto."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from tests.integration.integrations.conftest import task_events, task_machine
from workflows.engine import DefinitionError, ServiceIntegration, StateMachine, VirtualClock

TABLE = "Orders"


@pytest.fixture
def table(aws: boto3.Session) -> Any:
    client = aws.client("dynamodb")
    client.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return client


def _assert_sdk_metadata(result: dict[str, Any]) -> None:
    http = result["SdkHttpMetadata"]
    assert http["HttpStatusCode"] == 200
    assert set(http) == {"AllHttpHeaders", "HttpHeaders", "HttpStatusCode"}
    assert all(isinstance(v, list) for v in http["AllHttpHeaders"].values())
    assert http["HttpHeaders"]["x-amzn-RequestId"] == result["SdkResponseMetadata"]["RequestId"]


def test_put_then_get_item_has_the_shapes_step_functions_returns(
    table: Any, integrations: dict[str, ServiceIntegration]
) -> None:
    machine = StateMachine(
        {
            "StartAt": "Put",
            "States": {
                "Put": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::dynamodb:putItem",
                    "Parameters": {
                        "TableName": TABLE,
                        "Item": {"pk": {"S.$": "$.orderId"}, "status": {"S": "PENDING"}},
                    },
                    "ResultPath": "$.put",
                    "Next": "Get",
                },
                "Get": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::dynamodb:getItem",
                    "Parameters": {"TableName": TABLE, "Key": {"pk": {"S.$": "$.orderId"}}},
                    "ResultPath": "$.get",
                    "End": True,
                },
            },
        }
    )
    result = machine.run({"orderId": "o-1"}, integrations=integrations, clock=VirtualClock())

    assert result.status == "SUCCEEDED", result.cause
    put, got = result.output["put"], result.output["get"]
    assert set(put) == {"SdkHttpMetadata", "SdkResponseMetadata"}
    _assert_sdk_metadata(put)
    assert got["Item"] == {"pk": {"S": "o-1"}, "status": {"S": "PENDING"}}
    assert list(got) == ["Item", "SdkHttpMetadata", "SdkResponseMetadata"]
    _assert_sdk_metadata(got)
    stored = table.get_item(TableName=TABLE, Key={"pk": {"S": "o-1"}})["Item"]
    assert stored["status"] == {"S": "PENDING"}


def test_get_item_of_a_missing_key_returns_no_item(
    table: Any, integrations: dict[str, ServiceIntegration]
) -> None:
    machine = task_machine(
        {
            "Resource": "arn:aws:states:::dynamodb:getItem",
            "Parameters": {"TableName": TABLE, "Key": {"pk": {"S": "nope"}}},
        }
    )
    result = machine.run({}, integrations=integrations, clock=VirtualClock())
    assert result.status == "SUCCEEDED"
    assert set(result.output) == {"SdkHttpMetadata", "SdkResponseMetadata"}


def test_update_item_returns_attributes_and_writes_the_table(
    table: Any, integrations: dict[str, ServiceIntegration]
) -> None:
    table.put_item(TableName=TABLE, Item={"pk": {"S": "o-2"}, "status": {"S": "PENDING"}})
    machine = task_machine(
        {
            "Resource": "arn:aws:states:::dynamodb:updateItem",
            "Parameters": {
                "TableName": TABLE,
                "Key": {"pk": {"S": "o-2"}},
                "UpdateExpression": "SET #s = :s",
                "ExpressionAttributeNames": {"#s": "status"},
                "ExpressionAttributeValues": {":s": {"S": "CONFIRMED"}},
                "ReturnValues": "ALL_NEW",
            },
        }
    )
    result = machine.run({}, integrations=integrations, clock=VirtualClock())

    assert result.status == "SUCCEEDED", result.cause
    assert result.output["Attributes"] == {"pk": {"S": "o-2"}, "status": {"S": "CONFIRMED"}}
    _assert_sdk_metadata(result.output)
    stored = table.get_item(TableName=TABLE, Key={"pk": {"S": "o-2"}})["Item"]
    assert stored["status"] == {"S": "CONFIRMED"}


def test_delete_item_removes_the_item(
    table: Any, integrations: dict[str, ServiceIntegration]
) -> None:
    table.put_item(TableName=TABLE, Item={"pk": {"S": "o-3"}})
    machine = task_machine(
        {
            "Resource": "arn:aws:states:::dynamodb:deleteItem",
            "Parameters": {"TableName": TABLE, "Key": {"pk": {"S": "o-3"}}},
        }
    )
    result = machine.run({}, integrations=integrations, clock=VirtualClock())

    assert result.status == "SUCCEEDED", result.cause
    assert set(result.output) == {"SdkHttpMetadata", "SdkResponseMetadata"}
    assert "Item" not in table.get_item(TableName=TABLE, Key={"pk": {"S": "o-3"}})


def test_conditional_check_failure_is_caught_by_its_aws_name(
    table: Any, integrations: dict[str, ServiceIntegration]
) -> None:
    table.put_item(TableName=TABLE, Item={"pk": {"S": "o-4"}})
    machine = task_machine(
        {
            "Resource": "arn:aws:states:::dynamodb:putItem",
            "Parameters": {
                "TableName": TABLE,
                "Item": {"pk": {"S": "o-4"}},
                "ConditionExpression": "attribute_not_exists(pk)",
            },
            "Catch": [
                {
                    "ErrorEquals": ["DynamoDB.ConditionalCheckFailedException"],
                    "ResultPath": "$.error",
                    "Next": "AlreadyThere",
                }
            ],
            "Next": "Created",
        },
        AlreadyThere={"Type": "Pass", "End": True},
        Created={"Type": "Succeed"},
    )
    result = machine.run({}, integrations=integrations, clock=VirtualClock())

    assert result.status == "SUCCEEDED"
    error = result.output["error"]
    assert error["Error"] == "DynamoDB.ConditionalCheckFailedException"
    assert error["Cause"].startswith(
        "The conditional request failed (Service: AmazonDynamoDBv2; Status Code: 400; "
        "Error Code: ConditionalCheckFailedException; Request ID: "
    )
    assert error["Cause"].endswith("; Proxy: null)")
    assert task_events(result.history) == [
        "TaskStateEntered",
        "TaskScheduled",
        "TaskStarted",
        "TaskFailed",
        "TaskStateExited",
    ]


def test_missing_table_fails_the_execution_with_resource_not_found(
    aws: boto3.Session, integrations: dict[str, ServiceIntegration]
) -> None:
    machine = task_machine(
        {
            "Resource": "arn:aws:states:::dynamodb:getItem",
            "Parameters": {"TableName": "Nope", "Key": {"pk": {"S": "x"}}},
        }
    )
    result = machine.run({}, integrations=integrations, clock=VirtualClock())

    assert result.status == "FAILED"
    assert result.error == "DynamoDB.ResourceNotFoundException"
    assert "Error Code: ResourceNotFoundException" in (result.cause or "")


def test_unsupported_parameters_are_dropped_as_aws_does(
    table: Any, integrations: dict[str, ServiceIntegration]
) -> None:
    machine = task_machine(
        {
            "Resource": "arn:aws:states:::dynamodb:putItem",
            "Parameters": {
                "TableName": TABLE,
                "Item": {"pk": {"S": "o-5"}},
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            },
        }
    )
    result = machine.run({}, integrations=integrations, clock=VirtualClock())
    assert result.status == "SUCCEEDED", result.cause


def test_unsupported_pattern_is_refused_when_the_machine_is_created() -> None:
    """AWS's optimized DynamoDB integration is request-response only: CreateStateMachine
    refuses `.waitForTaskToken` as a resource it does not recognize (issue #15)."""
    resource = "arn:aws:states:::dynamodb:putItem.waitForTaskToken"
    with pytest.raises(DefinitionError) as refused:
        task_machine(
            {"Resource": resource, "Parameters": {"TableName": TABLE, "Item": {"pk": {"S": "o"}}}}
        )
    [diagnostic] = refused.value.diagnostics
    assert diagnostic.code == "SCHEMA_VALIDATION_FAILED"
    assert diagnostic.message.startswith(f"The resource provided {resource} is not recognized.")
