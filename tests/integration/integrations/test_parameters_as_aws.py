"""Parameters as Step Functions serializes them, and refusals in the service's words."""

from __future__ import annotations

import json
import re
from typing import Any

import boto3
import pytest

from tests.integration.integrations.conftest import task_machine
from workflows.engine import ServiceIntegration, VirtualClock

REQUEST_ID = r"[0-9a-f-]{36}"


def run(
    integrations: dict[str, ServiceIntegration], state: dict[str, Any], data: Any = None
) -> Any:
    machine = task_machine(state)
    return machine.run(
        {} if data is None else data, integrations=integrations, clock=VirtualClock()
    )


@pytest.fixture
def queue(aws: boto3.Session) -> tuple[Any, str]:
    sqs = aws.client("sqs")
    return sqs, sqs.create_queue(QueueName="approvals")["QueueUrl"]


def test_a_null_message_body_is_no_body_and_sqs_says_so(
    queue: tuple[Any, str], integrations: dict[str, ServiceIntegration]
) -> None:
    _, url = queue
    result = run(
        integrations,
        {
            "Resource": "arn:aws:states:::sqs:sendMessage",
            "Parameters": {"QueueUrl": url, "MessageBody.$": "$.body"},
        },
        {"body": None},
    )
    assert result.error == "SQS.AmazonSQSException"
    assert re.fullmatch(
        r"The request must contain the parameter MessageBody\. \(Service: AmazonSQS; "
        rf"Status Code: 400; Error Code: MissingParameter; Request ID: {REQUEST_ID}; Proxy: null\)",
        result.cause or "",
    )
    scheduled = next(e for e in result.history if e["type"] == "TaskScheduled")
    # the history keeps the parameters as given, null included
    assert json.loads(scheduled["taskScheduledEventDetails"]["parameters"])["MessageBody"] is None


def test_aws_sdk_start_execution_with_a_null_input_starts_without_one(
    aws: boto3.Session, integrations: dict[str, ServiceIntegration]
) -> None:
    sfn = aws.client("stepfunctions")
    child = sfn.create_state_machine(
        name="Child",
        definition=json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}),
        roleArn="arn:aws:iam::123456789012:role/sfn",
    )["stateMachineArn"]
    result = run(
        integrations,
        {
            "Resource": "arn:aws:states:::aws-sdk:sfn:startExecution",
            "Parameters": {"StateMachineArn": child, "Input": None, "Name": "no-input"},
        },
    )
    assert result.status == "SUCCEEDED", result.cause
    assert result.output["ExecutionArn"].endswith(":Child:no-input")
    described = sfn.describe_execution(executionArn=result.output["ExecutionArn"])
    assert described["input"] in ("{}", None, "")


@pytest.mark.parametrize(
    ("body", "stored"),
    [("text data", '"text data"'), (0, "0"), ({"a": [1, {"b": None}]}, '{"a":[1,{"b":null}]}')],
)
def test_a_blob_is_sent_as_the_json_text_of_its_value(
    aws: boto3.Session, integrations: dict[str, ServiceIntegration], body: Any, stored: str
) -> None:
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="archive-1")
    result = run(
        integrations,
        {
            "Resource": "arn:aws:states:::aws-sdk:s3:putObject",
            "Parameters": {"Bucket": "archive-1", "Key": "k", "Body.$": "$.body"},
        },
        {"body": body},
    )
    assert result.status == "SUCCEEDED", result.cause
    assert s3.get_object(Bucket="archive-1", Key="k")["Body"].read().decode() == stored


def test_missing_members_get_the_services_validation_text(
    aws: boto3.Session, integrations: dict[str, ServiceIntegration]
) -> None:
    result = run(
        integrations,
        {
            "Resource": "arn:aws:states:::aws-sdk:dynamodb:putItem",
            "Parameters": {"TableName": "Orders", "Key": None, "Item": None},
        },
    )
    assert result.error == "DynamoDb.DynamoDbException"
    assert re.fullmatch(
        r"1 validation error detected: Value null at 'item' failed to satisfy constraint: "
        r"Member must not be null "
        rf"\(Service: DynamoDb, Status Code: 400, Request ID: {REQUEST_ID}\)",
        result.cause or "",
    )
    optimized = run(
        integrations,
        {"Resource": "arn:aws:states:::dynamodb:getItem", "Parameters": {"TableName": "Orders"}},
    )
    assert optimized.error == "DynamoDB.AmazonDynamoDBException"
    assert (optimized.cause or "").startswith(
        "1 validation error detected: Value null at 'key' failed to satisfy constraint: "
        "Member must not be null (Service: AmazonDynamoDBv2; Status Code: 400; "
        "Error Code: ValidationException; Request ID: "
    )


@pytest.mark.parametrize(
    ("name", "constraint"),
    [
        ("bad name!", "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+"),
        ("ab", "Member must have length greater than or equal to 3"),
    ],
)
def test_table_names_are_checked_as_dynamodb_checks_them(
    aws: boto3.Session, integrations: dict[str, ServiceIntegration], name: str, constraint: str
) -> None:
    result = run(
        integrations,
        {
            "Resource": "arn:aws:states:::dynamodb:getItem",
            "Parameters": {"TableName": name, "Key": {"pk": {"S": "x"}}},
        },
    )
    assert result.error == "DynamoDB.AmazonDynamoDBException"
    assert (result.cause or "").startswith(
        f"1 validation error detected: Value '{name}' at 'tableName' failed to satisfy "
        f"constraint: {constraint} (Service: AmazonDynamoDBv2; Status Code: 400; "
        "Error Code: ValidationException;"
    )


def test_a_detail_that_is_not_an_object_is_a_malformed_entry(
    aws: boto3.Session, integrations: dict[str, ServiceIntegration]
) -> None:
    result = run(
        integrations,
        {
            "Resource": "arn:aws:states:::events:putEvents",
            "Parameters": {
                "Entries": [
                    {"Source": "orders", "DetailType": "ok", "Detail": {"orderId": "o-1"}},
                    {"Source": "orders", "DetailType": "text", "Detail": "just text"},
                    {"Source": "orders", "DetailType": "number", "Detail": 5},
                ]
            },
        },
    )
    assert result.error == "EventBridge.FailedEntry"
    answer = json.loads(result.cause or "")
    assert answer["FailedEntryCount"] == 2
    first, text, number = answer["Entries"]
    assert set(first) == {"EventId"}
    malformed = {"ErrorCode": "MalformedDetail", "ErrorMessage": "Detail is malformed."}
    assert text == number == malformed


def test_put_events_fails_entries_as_the_recorded_executions_show(
    aws: boto3.Session, integrations: dict[str, ServiceIntegration]
) -> None:
    # recorded against AWS: a JSON string Detail, and an entry without a Source
    malformed = run(
        integrations,
        {
            "Resource": "arn:aws:states:::events:putEvents",
            "Parameters": {
                "Entries": [{"Detail": '"jsonstring"', "DetailType": "t", "Source": "some.source"}]
            },
        },
    )
    assert malformed.error == "EventBridge.FailedEntry"
    assert json.loads(malformed.cause or "") == {
        "Entries": [{"ErrorCode": "MalformedDetail", "ErrorMessage": "Detail is malformed."}],
        "FailedEntryCount": 1,
    }
    no_source = run(
        integrations,
        {
            "Resource": "arn:aws:states:::events:putEvents",
            "Parameters": {
                "Entries": [
                    {"Detail": {"Message": "HelloWorld1"}, "DetailType": "t", "Source": "s"},
                    {"Detail": {"Message": "HelloWorld"}, "DetailType": "t"},
                ]
            },
        },
    )
    answer = json.loads(no_source.cause or "")
    assert answer["FailedEntryCount"] == 1
    assert set(answer["Entries"][0]) == {"EventId"}
    assert answer["Entries"][1] == {
        "ErrorCode": "InvalidArgument",
        "ErrorMessage": "Parameter Source is not valid. Reason: Source is a required argument.",
    }
