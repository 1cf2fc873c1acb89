"""Errors the recordings do not cover, named as AWS documents them: throttling, S3, Sfn."""

from __future__ import annotations

import re
from types import SimpleNamespace
from typing import Any

import boto3
import botocore.endpoint
import pytest
from botocore.awsrequest import AWSResponse

from tests.integration.integrations.conftest import REGION, task_machine
from workflows.engine import ServiceIntegration, VirtualClock
from workflows.integrations import aws_integrations


class _Body:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def stream(self, **_: Any) -> Any:
        yield self.data


class Throttled:
    """DynamoDB answering every PutItem with a throttling error (before moto sees it)."""

    def __init__(self) -> None:
        self.attempts = 0

    def __call__(self, request: Any, **_: Any) -> AWSResponse:
        self.attempts += 1
        body = (
            b'{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",'
            b'"message":"The level of configured provisioned throughput for the table was '
            b'exceeded. Consider increasing your provisioning level with the UpdateTable API."}'
        )
        headers = {"x-amzn-RequestId": "THROTTLED", "Content-Type": "application/x-amz-json-1.0"}
        return AWSResponse(request.url, 400, headers, _Body(body))


def test_throttling_is_retried_by_the_sdk_then_named_as_dynamodb_names_it(
    aws: boto3.Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    throttled = Throttled()
    pauses: list[float] = []
    # the SDK's back-off between attempts is real sleeping; here it is only counted
    monkeypatch.setattr(botocore.endpoint, "time", SimpleNamespace(sleep=pauses.append))

    def session() -> boto3.Session:
        made = boto3.Session(region_name=REGION)
        made.events.register_first("before-send.dynamodb.PutItem", throttled)
        return made

    machine = task_machine(
        {
            "Resource": "arn:aws:states:::dynamodb:putItem",
            "Parameters": {"TableName": "Orders", "Item": {"pk": {"S": "o-1"}}},
            "Retry": [
                {
                    "ErrorEquals": ["DynamoDB.ProvisionedThroughputExceededException"],
                    "MaxAttempts": 1,
                }
            ],
        }
    )
    result = machine.run({}, integrations=aws_integrations(session), clock=VirtualClock())

    assert result.status == "FAILED"
    assert result.error == "DynamoDB.ProvisionedThroughputExceededException"
    assert (result.cause or "").startswith(
        "The level of configured provisioned throughput for the table was exceeded. "
        "Consider increasing your provisioning level with the UpdateTable API. "
        "(Service: AmazonDynamoDBv2; Status Code: 400; "
        "Error Code: ProvisionedThroughputExceededException; Request ID: THROTTLED"
    )
    # the SDK retries throttling itself, then the Task's Retry runs it all once more
    assert throttled.attempts % 2 == 0
    assert throttled.attempts > 2
    assert len(pauses) == throttled.attempts - 2


def test_s3_errors_name_an_extended_request_id(
    aws: boto3.Session, integrations: dict[str, ServiceIntegration]
) -> None:
    aws.client("s3").create_bucket(Bucket="archive-2")
    result = task_machine(
        {
            "Resource": "arn:aws:states:::aws-sdk:s3:getObject",
            "Parameters": {"Bucket": "archive-2", "Key": "missing"},
        }
    ).run({}, integrations=integrations, clock=VirtualClock())
    assert result.error == "S3.NoSuchKeyException"
    assert re.fullmatch(
        r"The specified key does not exist\. \(Service: S3, Status Code: 404, "
        r"Request ID: \S+, Extended Request ID: \S+\)",
        result.cause or "",
    )


def test_sfn_sdk_errors_end_with_the_attempt_count(
    aws: boto3.Session, integrations: dict[str, ServiceIntegration]
) -> None:
    missing = "arn:aws:states:us-east-1:123456789012:stateMachine:Missing"
    result = task_machine(
        {
            "Resource": "arn:aws:states:::aws-sdk:sfn:startExecution",
            "Parameters": {"StateMachineArn": missing},
        }
    ).run({}, integrations=integrations, clock=VirtualClock())
    assert result.error == "Sfn.StateMachineDoesNotExistException"
    assert (result.cause or "").endswith(" (SDK Attempt Count: 1)")
    assert (result.cause or "").startswith("State Machine Does Not Exist")
