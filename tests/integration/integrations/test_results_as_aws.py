"""Results as AWS returns them, though moto answers: SDK metadata, fields, history names."""

from __future__ import annotations

import json
import re
from typing import Any

import boto3
import pytest

from tests.integration.integrations.conftest import task_machine
from workflows.engine import ServiceIntegration, VirtualClock

TABLE = "Orders"
JSON_TYPE = "application/x-amz-json-1.0"
REQUEST_ID = re.compile(r"[0-9A-Za-z-]+")


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


def run(integrations: dict[str, ServiceIntegration], state: dict[str, Any]) -> Any:
    result = task_machine(state).run({}, integrations=integrations, clock=VirtualClock())
    assert result.status == "SUCCEEDED", result.cause
    return result


def headers_of(output: dict[str, Any]) -> dict[str, str]:
    http = output["SdkHttpMetadata"]
    assert http["HttpStatusCode"] == 200
    assert {name: [value] for name, value in http["HttpHeaders"].items()} == http["AllHttpHeaders"]
    headers: dict[str, str] = http["HttpHeaders"]
    assert headers["x-amzn-RequestId"] == output["SdkResponseMetadata"]["RequestId"]
    assert REQUEST_ID.fullmatch(headers["x-amzn-RequestId"])
    assert re.fullmatch(r"\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT", headers["Date"])
    return headers


def test_sqs_metadata_has_the_headers_aws_sends_not_the_local_servers(
    aws: boto3.Session, integrations: dict[str, ServiceIntegration]
) -> None:
    url = aws.client("sqs").create_queue(QueueName="q")["QueueUrl"]
    result = run(
        integrations,
        {
            "Resource": "arn:aws:states:::sqs:sendMessage",
            "Parameters": {"QueueUrl": url, "MessageBody": "hello"},
        },
    )
    headers = headers_of(result.output)
    assert list(result.output["SdkHttpMetadata"]["AllHttpHeaders"]) == [
        "x-amzn-RequestId",
        "connection",
        "Content-Length",
        "Date",
        "Content-Type",
    ]
    assert headers["connection"] == "keep-alive"
    assert headers["Content-Type"] == JSON_TYPE
    assert headers["Content-Length"] == "106"  # {"MD5OfMessageBody":...,"MessageId":...}


def test_dynamodb_metadata_adds_server_and_crc32_and_no_unasked_capacity(
    table: Any, integrations: dict[str, ServiceIntegration]
) -> None:
    put = run(
        integrations,
        {
            "Resource": "arn:aws:states:::dynamodb:putItem",
            "Parameters": {"TableName": TABLE, "Item": {"pk": {"S": "o-1"}}},
        },
    )
    assert set(put.output) == {"SdkHttpMetadata", "SdkResponseMetadata"}
    headers = headers_of(put.output)
    assert set(headers) == {
        "Connection",
        "Content-Length",
        "Content-Type",
        "Date",
        "Server",
        "x-amz-crc32",
        "x-amzn-RequestId",
    }
    assert (headers["Server"], headers["Connection"]) == ("Server", "keep-alive")
    assert headers["Content-Length"] == "2"
    assert headers["x-amz-crc32"] == "2745614147"  # CRC32 of "{}"

    asked = run(
        integrations,
        {
            "Resource": "arn:aws:states:::dynamodb:getItem",
            "Parameters": {
                "TableName": TABLE,
                "Key": {"pk": {"S": "o-1"}},
                "ReturnConsumedCapacity": "TOTAL",
            },
        },
    )
    assert asked.output["ConsumedCapacity"]["TableName"] == TABLE
    unasked = run(
        integrations,
        {
            "Resource": "arn:aws:states:::dynamodb:updateItem",
            "Parameters": {
                "TableName": TABLE,
                "Key": {"pk": {"S": "o-1"}},
                "UpdateExpression": "SET #s = :s",
                "ExpressionAttributeNames": {"#s": "status"},
                "ExpressionAttributeValues": {":s": {"S": "PAID"}},
            },
        },
    )
    assert "ConsumedCapacity" not in unasked.output


def test_sns_metadata_is_an_xml_answers_and_fifo_topics_give_a_sequence_number(
    aws: boto3.Session, integrations: dict[str, ServiceIntegration]
) -> None:
    sns = aws.client("sns")
    standard = sns.create_topic(Name="news")["TopicArn"]
    fifo = sns.create_topic(
        Name="orders.fifo",
        Attributes={"FifoTopic": "true", "ContentBasedDeduplication": "true"},
    )["TopicArn"]
    plain = run(
        integrations,
        {
            "Resource": "arn:aws:states:::sns:publish",
            "Parameters": {"TopicArn": standard, "Message": {"Message": "HelloWorld!"}},
        },
    )
    assert set(plain.output) == {"MessageId", "SdkHttpMetadata", "SdkResponseMetadata"}
    headers = headers_of(plain.output)
    assert set(headers) == {"Content-Length", "Content-Type", "Date", "x-amzn-RequestId"}
    assert headers["Content-Type"] == "text/xml"
    assert headers["Content-Length"] == "294"  # the recorded length of a Publish answer

    ordered = [
        run(
            integrations,
            {
                "Resource": "arn:aws:states:::sns:publish",
                "Parameters": {"TopicArn": fifo, "Message": f"m{n}", "MessageGroupId": "g"},
            },
        ).output["SequenceNumber"]
        for n in range(2)
    ]
    assert all(re.fullmatch(r"\d{20}", number) for number in ordered)
    assert int(ordered[0]) < int(ordered[1])


def test_fifo_topic_without_a_group_fails_as_sns_does(
    aws: boto3.Session, integrations: dict[str, ServiceIntegration]
) -> None:
    fifo = aws.client("sns").create_topic(Name="orders.fifo", Attributes={"FifoTopic": "true"})
    result = task_machine(
        {
            "Resource": "arn:aws:states:::sns:publish",
            "Parameters": {"TopicArn": fifo["TopicArn"], "Message": "m"},
        }
    ).run({}, integrations=integrations, clock=VirtualClock())
    assert result.error == "SNS.InvalidParameterException"
    assert re.fullmatch(
        r"Invalid parameter: The MessageGroupId parameter is required for FIFO topics "
        r"\(Service: AmazonSNS; Status Code: 400; Error Code: InvalidParameter; "
        r"Request ID: [0-9a-f-]{36}; Proxy: null\)",
        result.cause or "",
    )


def test_aws_sdk_history_names_the_service_and_the_action(
    aws: boto3.Session, integrations: dict[str, ServiceIntegration]
) -> None:
    aws.client("s3").create_bucket(Bucket="orders-archive")
    result = run(
        integrations,
        {
            "Resource": "arn:aws:states:::aws-sdk:s3:listObjectsV2",
            "Parameters": {"Bucket": "orders-archive"},
        },
    )
    for event in result.history:
        for key, details in event.items():
            if key.startswith("task") and key.endswith("EventDetails"):
                assert details["resourceType"] == "aws-sdk:s3", event
                assert details["resource"] == "listObjectsV2", event


def test_s3_objects_answer_with_the_fields_aws_adds(
    aws: boto3.Session, integrations: dict[str, ServiceIntegration]
) -> None:
    aws.client("s3").create_bucket(Bucket="orders-archive")
    put = run(
        integrations,
        {
            "Resource": "arn:aws:states:::aws-sdk:s3:putObject",
            "Parameters": {"Bucket": "orders-archive", "Key": "k", "Body": {"a": 1}},
        },
    )
    assert put.output["ServerSideEncryption"] == "AES256"
    assert put.output["ETag"].startswith('"')
    got = run(
        integrations,
        {
            "Resource": "arn:aws:states:::aws-sdk:s3:getObject",
            "Parameters": {"Bucket": "orders-archive", "Key": "k"},
        },
    )
    assert got.output["Body"] == '{"a":1}'
    assert got.output["ServerSideEncryption"] == "AES256"
    assert got.output["ContentLength"] == 7
    checksums = [key for key in got.output if key.startswith("Checksum")]
    if checksums:  # a checksum comes with its type, as AWS answers it
        assert got.output["ChecksumType"] == "FULL_OBJECT"
    assert json.loads(got.output["Body"]) == {"a": 1}


def test_aws_sdk_dynamodb_reports_capacity_only_when_asked(
    table: Any, integrations: dict[str, ServiceIntegration]
) -> None:
    update = {
        "TableName": TABLE,
        "Key": {"pk": {"S": "o-2"}},
        "UpdateExpression": "SET #s = :s",
        "ExpressionAttributeNames": {"#s": "status"},
        "ExpressionAttributeValues": {":s": {"S": "PAID"}},
    }
    resource = "arn:aws:states:::aws-sdk:dynamodb:updateItem"
    unasked = run(integrations, {"Resource": resource, "Parameters": update})
    assert unasked.output == {}
    asked = run(
        integrations,
        {"Resource": resource, "Parameters": {**update, "ReturnConsumedCapacity": "TOTAL"}},
    )
    assert asked.output["ConsumedCapacity"]["TableName"] == TABLE


def test_fifo_topic_without_deduplication_fails_with_snss_words(
    aws: boto3.Session, integrations: dict[str, ServiceIntegration]
) -> None:
    fifo = aws.client("sns").create_topic(Name="orders.fifo", Attributes={"FifoTopic": "true"})
    result = task_machine(
        {
            "Resource": "arn:aws:states:::sns:publish",
            "Parameters": {"TopicArn": fifo["TopicArn"], "Message": "m", "MessageGroupId": "g"},
        }
    ).run({}, integrations=integrations, clock=VirtualClock())
    assert result.error == "SNS.InvalidParameterException"
    assert (result.cause or "").startswith(
        "Invalid parameter: The topic should either have ContentBasedDeduplication enabled or "
        "MessageDeduplicationId provided explicitly (Service: AmazonSNS; Status Code: 400; "
        "Error Code: InvalidParameter;"
    )
