"""``arn:aws:states:::aws-sdk:<service>:<action>`` through the engine, against moto."""

from __future__ import annotations

import re
from typing import Any

import boto3
import pytest

from tests.integration.integrations.conftest import task_machine
from workflows.engine import ServiceIntegration, VirtualClock


@pytest.fixture
def table(aws: boto3.Session) -> Any:
    client = aws.client("dynamodb")
    client.create_table(
        TableName="Orders",
        KeySchema=[
            {"AttributeName": "customer", "KeyType": "HASH"},
            {"AttributeName": "order", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "customer", "AttributeType": "S"},
            {"AttributeName": "order", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    for order in ("o-1", "o-2"):
        client.put_item(
            TableName="Orders",
            Item={"customer": {"S": "c-1"}, "order": {"S": order}, "paid": {"BOOL": True}},
        )
    return client


def test_dynamodb_query_returns_pascal_case_without_response_metadata(
    table: Any, integrations: dict[str, ServiceIntegration]
) -> None:
    machine = task_machine(
        {
            "Resource": "arn:aws:states:::aws-sdk:dynamodb:query",
            "Parameters": {
                "TableName": "Orders",
                "KeyConditionExpression": "customer = :c",
                "ExpressionAttributeValues": {":c": {"S.$": "$.customer"}},
            },
        }
    )
    result = machine.run({"customer": "c-1"}, integrations=integrations, clock=VirtualClock())

    assert result.status == "SUCCEEDED", result.cause
    assert set(result.output) >= {"Count", "Items", "ScannedCount"}
    assert "ResponseMetadata" not in result.output
    assert "SdkHttpMetadata" not in result.output
    assert result.output["Count"] == 2
    assert [item["order"] for item in result.output["Items"]] == [{"S": "o-1"}, {"S": "o-2"}]
    assert result.output["Items"][0]["paid"] == {"BOOL": True}


def test_camel_case_apis_take_pascal_case_parameters_and_answer_in_pascal_case(
    aws: boto3.Session, integrations: dict[str, ServiceIntegration]
) -> None:
    sfn = aws.client("stepfunctions")
    created = sfn.create_state_machine(
        name="Child",
        definition='{"StartAt":"A","States":{"A":{"Type":"Pass","End":true}}}',
        roleArn="arn:aws:iam::123456789012:role/sfn",
    )
    machine = task_machine(
        {
            "Resource": "arn:aws:states:::aws-sdk:sfn:describeStateMachine",
            "Parameters": {"StateMachineArn": created["stateMachineArn"]},
        }
    )
    result = machine.run({}, integrations=integrations, clock=VirtualClock())

    assert result.status == "SUCCEEDED", result.cause
    assert result.output["StateMachineArn"] == created["stateMachineArn"]
    assert result.output["Name"] == "Child"
    assert result.output["CreationDate"].endswith("Z")
    assert "stateMachineArn" not in result.output


def test_sesv2_send_email(aws: boto3.Session, integrations: dict[str, ServiceIntegration]) -> None:
    aws.client("ses").verify_email_identity(EmailAddress="shop@example.com")
    machine = task_machine(
        {
            "Resource": "arn:aws:states:::aws-sdk:sesv2:sendEmail",
            "Parameters": {
                "FromEmailAddress": "shop@example.com",
                "Destination": {"ToAddresses": ["alice@example.com"]},
                "Content": {
                    "Simple": {
                        "Subject": {"Data": "Your order"},
                        "Body": {"Text": {"Data.$": "States.Format('Order {}', $.orderId)"}},
                    }
                },
            },
        }
    )
    result = machine.run({"orderId": "o-1"}, integrations=integrations, clock=VirtualClock())

    assert result.status == "SUCCEEDED", result.cause
    assert set(result.output) == {"MessageId"}


def test_ses_send_email(aws: boto3.Session, integrations: dict[str, ServiceIntegration]) -> None:
    ses = aws.client("ses")
    ses.verify_email_identity(EmailAddress="shop@example.com")
    machine = task_machine(
        {
            "Resource": "arn:aws:states:::aws-sdk:ses:sendEmail",
            "Parameters": {
                "Source": "shop@example.com",
                "Destination": {"ToAddresses": ["bob@example.com"]},
                "Message": {
                    "Subject": {"Data": "Hello"},
                    "Body": {"Text": {"Data": "Your order shipped"}},
                },
            },
        }
    )
    result = machine.run({}, integrations=integrations, clock=VirtualClock())

    assert result.status == "SUCCEEDED", result.cause
    assert set(result.output) == {"MessageId"}
    assert ses.get_send_quota()["SentLast24Hours"] == 1


def test_sdk_errors_are_named_after_the_java_v2_service_name(
    aws: boto3.Session, integrations: dict[str, ServiceIntegration]
) -> None:
    machine = task_machine(
        {
            "Resource": "arn:aws:states:::aws-sdk:dynamodb:getItem",
            "Parameters": {"TableName": "Missing", "Key": {"pk": {"S": "x"}}},
            "Catch": [
                {
                    "ErrorEquals": ["DynamoDb.ResourceNotFoundException"],
                    "ResultPath": "$.error",
                    "Next": "Handled",
                }
            ],
        },
        Handled={"Type": "Pass", "End": True},
    )
    result = machine.run({}, integrations=integrations, clock=VirtualClock())

    assert result.status == "SUCCEEDED"
    cause = result.output["error"]["Cause"]
    assert cause.startswith(
        "Requested resource not found (Service: DynamoDb, Status Code: 400, Request ID: "
    )


def test_sqs_sdk_error_name(
    aws: boto3.Session, integrations: dict[str, ServiceIntegration]
) -> None:
    machine = task_machine(
        {
            "Resource": "arn:aws:states:::aws-sdk:sqs:getQueueUrl",
            "Parameters": {"QueueName": "missing"},
        }
    )
    result = machine.run({}, integrations=integrations, clock=VirtualClock())
    assert result.status == "FAILED"
    assert result.error == "Sqs.QueueDoesNotExistException"


def test_invalid_parameters_fail_with_the_service_exception(
    aws: boto3.Session, integrations: dict[str, ServiceIntegration]
) -> None:
    machine = task_machine(
        {
            "Resource": "arn:aws:states:::aws-sdk:dynamodb:getItem",
            "Parameters": {"Key": {"pk": {"S": "x"}}},
        }
    )
    result = machine.run({}, integrations=integrations, clock=VirtualClock())
    assert result.status == "FAILED"
    assert result.error == "DynamoDb.DynamoDbException"
    # the service's validation text, not botocore's "Parameter validation failed"
    assert re.fullmatch(
        r"1 validation error detected: Value null at 'tableName' failed to satisfy "
        r"constraint: Member must not be null \(Service: DynamoDb, Status Code: 400, "
        r"Request ID: [0-9a-f-]{36}\)",
        result.cause or "",
    )


def test_unknown_action_is_a_runtime_error(
    aws: boto3.Session, integrations: dict[str, ServiceIntegration]
) -> None:
    machine = task_machine(
        {"Resource": "arn:aws:states:::aws-sdk:dynamodb:frobnicate", "Parameters": {}}
    )
    result = machine.run({}, integrations=integrations, clock=VirtualClock())
    assert result.status == "FAILED"
    assert result.error == "States.Runtime"
    assert "frobnicate" in (result.cause or "")
