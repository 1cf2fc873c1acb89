"""Where the local services still answer differently from AWS (docs/integrations.md).

Each test pins one difference listed under "Known differences from AWS", so that fixing
it (or a moto upgrade changing it) shows up here and the list is updated with it.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import boto3
import botocore.endpoint
import pytest

from tests.integration.integrations.conftest import REGION, task_machine
from workflows.engine import ServiceIntegration, VirtualClock
from workflows.integrations import aws_integrations


def run(integrations: dict[str, ServiceIntegration], state: dict[str, Any]) -> Any:
    return task_machine(state).run({}, integrations=integrations, clock=VirtualClock())


def test_wrongly_typed_parameters_get_botocores_text(
    aws: boto3.Session, integrations: dict[str, ServiceIntegration]
) -> None:
    result = run(
        integrations,
        {
            "Resource": "arn:aws:states:::dynamodb:putItem",
            "Parameters": {"TableName": "Orders", "Item": "not a map"},
        },
    )
    assert result.error == "DynamoDB.AmazonDynamoDBException"
    assert (result.cause or "").startswith("Parameter validation failed: Invalid type")


def test_query_protocol_services_report_missing_members_with_botocores_text(
    aws: boto3.Session, integrations: dict[str, ServiceIntegration]
) -> None:
    topic = aws.client("sns").create_topic(Name="news")["TopicArn"]
    result = run(
        integrations,
        {"Resource": "arn:aws:states:::sns:publish", "Parameters": {"TopicArn": topic}},
    )
    assert result.error == "SNS.AmazonSNSException"
    assert (result.cause or "").startswith(
        'Parameter validation failed: Missing required parameter in input: "Message"'
    )


def test_an_unreachable_endpoint_gets_botocores_text(
    aws: boto3.Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_SQS", "http://127.0.0.1:9")
    monkeypatch.setattr(botocore.endpoint, "time", SimpleNamespace(sleep=lambda _: None))
    integrations = aws_integrations(lambda: boto3.Session(region_name=REGION))
    result = run(
        integrations,
        {
            "Resource": "arn:aws:states:::sqs:sendMessage",
            "Parameters": {"QueueUrl": "http://127.0.0.1:9/1/q", "MessageBody": "x"},
        },
    )
    assert result.error == "SQS.SdkClientException"
    # AWS's wording up to the reason, which is botocore's (the SDK for Java says
    # "Connect to host:port [...] failed: Connection refused")
    assert (result.cause or "").startswith(
        'Unable to execute HTTP request: Could not connect to the endpoint URL: "http://127.0.0.1:9'
    )


def test_sdk_result_members_keep_botocores_spelling(
    aws: boto3.Session, integrations: dict[str, ServiceIntegration]
) -> None:
    url = aws.client("sqs").create_queue(QueueName="q")["QueueUrl"]
    result = run(
        integrations,
        {
            "Resource": "arn:aws:states:::aws-sdk:sqs:sendMessage",
            "Parameters": {"QueueUrl": url, "MessageBody": "x"},
        },
    )
    assert "MD5OfMessageBody" in result.output  # the SDK for Java v2 may spell it Md5...
