"""``sqs:sendMessage`` (+ ``.waitForTaskToken``), ``sns:publish`` and ``events:putEvents``."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import boto3
import pytest

from tests.integration.integrations.conftest import task_events, task_machine
from workflows.engine import ServiceIntegration, TaskTokens, VirtualClock


@pytest.fixture
def queue(aws: boto3.Session) -> tuple[Any, str]:
    sqs = aws.client("sqs")
    return sqs, sqs.create_queue(QueueName="approvals")["QueueUrl"]


def _receive(sqs: Any, url: str) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0
    ).get("Messages", [])
    return messages


def test_send_message_serialises_a_json_body_and_returns_the_aws_shape(
    queue: tuple[Any, str], integrations: dict[str, ServiceIntegration]
) -> None:
    sqs, url = queue
    machine = task_machine(
        {
            "Resource": "arn:aws:states:::sqs:sendMessage",
            "Parameters": {"QueueUrl": url, "MessageBody": {"orderId.$": "$.orderId", "n": 2}},
        }
    )
    result = machine.run({"orderId": "o-1"}, integrations=integrations, clock=VirtualClock())

    assert result.status == "SUCCEEDED", result.cause
    assert list(result.output) == [
        "MD5OfMessageBody",
        "MessageId",
        "SdkHttpMetadata",
        "SdkResponseMetadata",
    ]
    (message,) = _receive(sqs, url)
    assert message["Body"] == '{"orderId":"o-1","n":2}'
    assert message["MessageId"] == result.output["MessageId"]
    assert message["MD5OfBody"] == result.output["MD5OfMessageBody"]


def test_send_message_to_a_missing_queue_has_the_sqs_error_name(
    aws: boto3.Session, integrations: dict[str, ServiceIntegration]
) -> None:
    machine = task_machine(
        {
            "Resource": "arn:aws:states:::sqs:sendMessage",
            "Parameters": {
                "QueueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/missing",
                "MessageBody": "x",
            },
        }
    )
    result = machine.run({}, integrations=integrations, clock=VirtualClock())

    assert result.status == "FAILED"
    assert result.error == "SQS.QueueDoesNotExistException"
    assert (result.cause or "").startswith(
        "The specified queue does not exist. (Service: AmazonSQS; Status Code: 400; "
        "Error Code: AWS.SimpleQueueService.NonExistentQueue; Request ID: "
    )


WAIT_FOR_APPROVAL: dict[str, Any] = {
    "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
    "Parameters": {
        "QueueUrl.$": "$.queueUrl",
        "MessageBody": {"orderId.$": "$.orderId", "taskToken.$": "$$.Task.Token"},
    },
    "ResultPath": "$.approval",
}


async def _token_from_queue(sqs: Any, url: str) -> str:
    for _ in range(500):
        messages = _receive(sqs, url)
        if messages:
            token: str = json.loads(messages[0]["Body"])["taskToken"]
            return token
        await asyncio.sleep(0.01)
    raise AssertionError("no message arrived on the approval queue")


async def test_wait_for_task_token_sends_the_token_and_resumes_on_send_task_success(
    queue: tuple[Any, str], integrations: dict[str, ServiceIntegration]
) -> None:
    sqs, url = queue
    tokens = TaskTokens()
    machine = task_machine(WAIT_FOR_APPROVAL)
    execution = asyncio.ensure_future(
        machine.execute(
            {"orderId": "o-7", "queueUrl": url},
            integrations=integrations,
            clock=VirtualClock(),
            tokens=tokens,
        )
    )

    token = await _token_from_queue(sqs, url)
    assert tokens.owner(token) is not None
    tokens.succeed(token, {"approved": True, "by": "alice"})
    result = await asyncio.wait_for(execution, 10)

    assert result.status == "SUCCEEDED", result.cause
    assert result.output["approval"] == {"approved": True, "by": "alice"}
    assert task_events(result.history) == [
        "TaskStateEntered",
        "TaskScheduled",
        "TaskStarted",
        "TaskSubmitted",
        "TaskSucceeded",
        "TaskStateExited",
    ]
    submitted = next(e for e in result.history if e["type"] == "TaskSubmitted")
    assert "MessageId" in json.loads(submitted["taskSubmittedEventDetails"]["output"])


async def test_wait_for_task_token_failure_is_caught(
    queue: tuple[Any, str], integrations: dict[str, ServiceIntegration]
) -> None:
    sqs, url = queue
    tokens = TaskTokens()
    machine = task_machine(
        {
            **WAIT_FOR_APPROVAL,
            "Catch": [{"ErrorEquals": ["Rejected"], "ResultPath": "$.why", "Next": "Rejected"}],
            "Next": "Approved",
        },
        Rejected={"Type": "Pass", "End": True},
        Approved={"Type": "Succeed"},
    )
    execution = asyncio.ensure_future(
        machine.execute(
            {"orderId": "o-8", "queueUrl": url},
            integrations=integrations,
            clock=VirtualClock(),
            tokens=tokens,
        )
    )
    tokens.fail(await _token_from_queue(sqs, url), "Rejected", "amount too high")
    result = await asyncio.wait_for(execution, 10)

    assert result.status == "SUCCEEDED"
    assert result.output["why"] == {"Error": "Rejected", "Cause": "amount too high"}


def test_wait_for_task_token_times_out_in_virtual_time(
    queue: tuple[Any, str], integrations: dict[str, ServiceIntegration]
) -> None:
    _, url = queue
    clock = VirtualClock()
    machine = task_machine({**WAIT_FOR_APPROVAL, "TimeoutSeconds": 86400})
    started = clock.now()
    result = machine.run(
        {"orderId": "o-9", "queueUrl": url},
        integrations=integrations,
        clock=clock,
        tokens=TaskTokens(),
    )
    assert result.status == "FAILED"
    assert result.error == "States.Timeout"
    assert clock.now() - started >= 86400


def test_publish_lands_in_a_subscribed_queue(
    aws: boto3.Session, queue: tuple[Any, str], integrations: dict[str, ServiceIntegration]
) -> None:
    sqs, url = queue
    sns = aws.client("sns")
    topic = sns.create_topic(Name="notifications")["TopicArn"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=queue_arn,
        Attributes={"RawMessageDelivery": "true"},
    )
    machine = task_machine(
        {
            "Resource": "arn:aws:states:::sns:publish",
            "Parameters": {
                "TopicArn": topic,
                "Subject": "Order confirmed",
                "Message": {"orderId.$": "$.orderId"},
            },
        }
    )
    result = machine.run({"orderId": "o-10"}, integrations=integrations, clock=VirtualClock())

    assert result.status == "SUCCEEDED", result.cause
    assert list(result.output) == ["MessageId", "SdkHttpMetadata", "SdkResponseMetadata"]
    (message,) = _receive(sqs, url)
    assert json.loads(message["Body"]) == {"orderId": "o-10"}


def test_publish_to_a_missing_topic_has_the_sns_error_name(
    aws: boto3.Session, integrations: dict[str, ServiceIntegration]
) -> None:
    machine = task_machine(
        {
            "Resource": "arn:aws:states:::sns:publish",
            "Parameters": {"TopicArn": "arn:aws:sns:us-east-1:123456789012:nope", "Message": "x"},
        }
    )
    result = machine.run({}, integrations=integrations, clock=VirtualClock())
    assert result.status == "FAILED"
    assert result.error == "SNS.NotFoundException"
    assert "(Service: AmazonSNS; Status Code: 404; Error Code: NotFound;" in (result.cause or "")


@pytest.fixture
def rule_target(aws: boto3.Session, queue: tuple[Any, str]) -> tuple[Any, str]:
    sqs, url = queue
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events = aws.client("events")
    events.put_rule(Name="orders", EventPattern=json.dumps({"source": ["shop.orders"]}))
    events.put_targets(Rule="orders", Targets=[{"Id": "q", "Arn": queue_arn}])
    return sqs, url


def test_put_events_delivers_to_a_rule_target(
    rule_target: tuple[Any, str], integrations: dict[str, ServiceIntegration]
) -> None:
    sqs, url = rule_target
    machine = task_machine(
        {
            "Resource": "arn:aws:states:::events:putEvents",
            "Parameters": {
                "Entries": [
                    {
                        "Source": "shop.orders",
                        "DetailType": "OrderConfirmed",
                        "Detail": {"orderId.$": "$.orderId", "total": 42},
                    }
                ]
            },
        }
    )
    result = machine.run({"orderId": "o-11"}, integrations=integrations, clock=VirtualClock())

    assert result.status == "SUCCEEDED", result.cause
    assert result.output["FailedEntryCount"] == 0
    assert list(result.output) == ["Entries", "FailedEntryCount"]
    (entry,) = result.output["Entries"]
    (message,) = _receive(sqs, url)
    event = json.loads(message["Body"])
    assert event["id"] == entry["EventId"]
    assert event["detail-type"] == "OrderConfirmed"
    assert event["detail"] == {"orderId": "o-11", "total": 42}
    assert event["resources"] == [machine.arn, result.execution_arn]
    # the parameters the history recorded are not touched by the integration
    scheduled = next(e for e in result.history if e["type"] == "TaskScheduled")
    parameters = json.loads(scheduled["taskScheduledEventDetails"]["parameters"])
    assert parameters["Entries"][0]["Detail"] == {"orderId": "o-11", "total": 42}


def test_put_events_with_a_failed_entry_fails_with_event_bridge_failed_entry(
    aws: boto3.Session, integrations: dict[str, ServiceIntegration]
) -> None:
    machine = task_machine(
        {
            "Resource": "arn:aws:states:::events:putEvents",
            "Parameters": {
                "Entries": [
                    {"Source": "shop.orders", "DetailType": "A", "Detail": {}},
                    {"DetailType": "B", "Detail": {}},
                ]
            },
            "Catch": [
                {
                    "ErrorEquals": ["EventBridge.FailedEntry"],
                    "ResultPath": "$.error",
                    "Next": "Failed",
                }
            ],
        },
        Failed={"Type": "Pass", "End": True},
    )
    result = machine.run({}, integrations=integrations, clock=VirtualClock())

    assert result.status == "SUCCEEDED"
    assert result.output["error"]["Error"] == "EventBridge.FailedEntry"
    cause = json.loads(result.output["error"]["Cause"])
    assert cause["FailedEntryCount"] == 1
    assert cause["Entries"][1] == {
        "ErrorCode": "InvalidArgument",
        "ErrorMessage": "Parameter Source is not valid. Reason: Source is a required argument.",
    }
