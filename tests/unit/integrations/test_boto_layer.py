"""The shared boto3 layer: clients, naming, error shapes, parameter/result mapping."""

from __future__ import annotations

import asyncio
import re
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ParamValidationError

from workflows.engine.tasks import TaskRequest, parse_resource
from workflows.integrations import aws_integrations
from workflows.integrations._boto import (
    ClientPool,
    call,
    java_pascal_case,
    jsonable,
    optimized_error,
    sdk_error,
)
from workflows.integrations.optimized import DYNAMODB, SQS, state_machine_arn
from workflows.integrations.requests import serialize
from workflows.integrations.sdk import to_states


@pytest.mark.parametrize(
    ("service_id", "expected"),
    [
        ("DynamoDB", "DynamoDb"),
        ("SFN", "Sfn"),
        ("SESv2", "SesV2"),
        ("SES", "Ses"),
        ("SQS", "Sqs"),
        ("SNS", "Sns"),
        ("EventBridge", "EventBridge"),
        ("ACM PCA", "AcmPca"),
        ("CloudWatch Logs", "CloudWatchLogs"),
        ("S3", "S3"),
        ("EC2", "Ec2"),
        ("Secrets Manager", "SecretsManager"),
        ("Elastic Load Balancing v2", "ElasticLoadBalancingV2"),
    ],
)
def test_service_names_are_spelled_as_the_java_v2_sdk_spells_them(
    service_id: str, expected: str
) -> None:
    assert java_pascal_case(service_id) == expected


def test_state_machine_arn_of_an_execution() -> None:
    assert (
        state_machine_arn("arn:aws:states:us-east-1:123456789012:execution:Orders:run-1")
        == "arn:aws:states:us-east-1:123456789012:stateMachine:Orders"
    )


def _client_error(code: str, message: str, status: int = 400, cls: type = ClientError) -> Any:
    response = {
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": {"RequestId": "req-1", "HTTPStatusCode": status},
    }
    return cls(response, "PutItem")


def test_optimized_errors_use_the_modeled_exception_or_the_base_exception() -> None:
    modeled = type("ConditionalCheckFailedException", (ClientError,), {})
    error = optimized_error(
        DYNAMODB,
        _client_error(
            "ConditionalCheckFailedException", "The conditional request failed", cls=modeled
        ),
    )
    assert error.error == "DynamoDB.ConditionalCheckFailedException"
    assert error.cause == (
        "The conditional request failed (Service: AmazonDynamoDBv2; Status Code: 400; "
        "Error Code: ConditionalCheckFailedException; Request ID: req-1; Proxy: null)"
    )
    unmodeled = optimized_error(DYNAMODB, _client_error("ValidationException", "bad"))
    assert unmodeled.error == "DynamoDB.AmazonDynamoDBException"
    missing = optimized_error(DYNAMODB, ParamValidationError(report="Missing required parameter"))
    assert missing.error == "DynamoDB.AmazonDynamoDBException"
    offline = optimized_error(DYNAMODB, EndpointConnectionError(endpoint_url="http://x"))
    assert offline.error == "DynamoDB.SdkClientException"


def test_sdk_errors_add_the_exception_suffix_and_the_v2_cause() -> None:
    no_such_key = type("NoSuchKey", (ClientError,), {})
    error = sdk_error(
        "S3", _client_error("NoSuchKey", "The specified key does not exist.", 404, no_such_key)
    )
    assert error.error == "S3.NoSuchKeyException"
    # S3 always names an extended request id; one stands in when the local S3 sends none
    assert re.fullmatch(
        r"The specified key does not exist\. \(Service: S3, Status Code: 404, "
        r"Request ID: req-1, Extended Request ID: [A-Za-z0-9+/=]{76}\)",
        error.cause or "",
    )
    other = sdk_error("DynamoDb", _client_error("Weird", "w"))
    assert other.cause == "w (Service: DynamoDb, Status Code: 400, Request ID: req-1)"
    sfn = sdk_error("Sfn", _client_error("StateMachineDoesNotExist", "gone"))
    assert sfn.cause == (
        "gone (Service: Sfn, Status Code: 400, Request ID: req-1) (SDK Attempt Count: 1)"
    )
    assert sdk_error("Sfn", _client_error("Weird", "w")).error == "Sfn.SfnException"


def test_jsonable_converts_dates_and_blobs() -> None:
    when = datetime(2024, 5, 1, 12, 0, 0, 250000, tzinfo=UTC)
    assert jsonable({"d": when, "b": b"\x00\x01"}, "iso") == {
        "d": "2024-05-01T12:00:00.250Z",
        "b": "AAE=",
    }
    assert jsonable([when], "millis") == [1714564800250]


def _model(service: str, operation: str) -> Any:
    client = boto3.Session(region_name="us-east-1").client(
        service, aws_access_key_id="x", aws_secret_access_key="x"
    )
    return client.meta.service_model.operation_model(operation)


def test_parameters_follow_the_input_shape_case_insensitively() -> None:
    operation = _model("stepfunctions", "StartExecution")
    assert serialize(
        {"StateMachineArn": "arn:x", "Input": {"a": 1}, "Name": "n"},
        operation.input_shape,
        any_case=True,
    ) == {"stateMachineArn": "arn:x", "input": '{"a":1}', "name": "n"}


def test_null_members_are_absent_and_blobs_are_json_text() -> None:
    put = _model("s3", "PutObject")
    args = serialize(
        {"Bucket": "b", "Key": "k", "Body": "text data", "ContentType": None},
        put.input_shape,
        any_case=True,
    )
    assert args == {"Bucket": "b", "Key": "k", "Body": '"text data"'}
    for value, stored in ((0, "0"), ({"a": [1, 2]}, '{"a":[1,2]}'), (None, None)):
        body = serialize({"Body": value}, put.input_shape).get("Body")
        assert body == stored


def test_results_get_pascal_case_keys_but_map_keys_stay() -> None:
    operation = _model("dynamodb", "GetItem")
    assert to_states(
        {"Item": {"lowercase": {"S": "v"}}, "ResponseMetadata": {}}, operation.output_shape
    ) == {"Item": {"lowercase": {"S": "v"}}}
    describe = _model("stepfunctions", "DescribeExecution")
    converted = to_states(
        {"executionArn": "a", "inputDetails": {"included": True}}, describe.output_shape
    )
    assert converted == {"ExecutionArn": "a", "InputDetails": {"Included": True}}


def test_clients_are_created_lazily_once_per_service(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_SQS", "http://127.0.0.1:4566")
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    sessions: list[Any] = []

    def factory() -> Any:
        session = boto3.Session(aws_access_key_id="x", aws_secret_access_key="x")
        sessions.append(session)
        return session

    pool = ClientPool(factory)
    assert sessions == []
    sqs = pool.client("sqs")
    assert pool.client("sqs") is sqs
    pool.client("dynamodb")
    assert len(sessions) == 1
    assert sqs.meta.endpoint_url == "http://127.0.0.1:4566"
    assert sqs.meta.region_name in ("us-east-1", sessions[0].region_name)
    assert sqs.meta.config.retries["mode"] == "standard"


def test_registry_keys() -> None:
    registry = aws_integrations(lambda: None)
    assert set(registry) == {
        "dynamodb:getItem",
        "dynamodb:putItem",
        "dynamodb:updateItem",
        "dynamodb:deleteItem",
        "sqs:sendMessage",
        "sns:publish",
        "events:putEvents",
        "states:startExecution",
        "aws-sdk",
        # a Distributed Map's ItemReader and ResultWriter (no Task resource reaches them)
        "s3:getObject",
        "s3:listObjectsV2",
        "s3:putObject",
    }


class RecordingClock:
    def __init__(self) -> None:
        self.busy_during_call: list[bool] = []
        self.depth = 0

    def now(self) -> float:
        return 0.0

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(0)

    @contextmanager
    def busy(self) -> Iterator[None]:
        self.depth += 1
        try:
            yield
        finally:
            self.depth -= 1


async def test_calls_run_in_a_thread_with_the_clock_busy() -> None:
    clock = RecordingClock()

    class FakeClient:
        def ping(self, **kwargs: Any) -> dict[str, Any]:
            clock.busy_during_call.append(clock.depth > 0)
            return {"ok": kwargs}

    class FakePool(ClientPool):
        def client(self, service: str) -> Any:
            return FakeClient()

    request = TaskRequest(
        resource=parse_resource("arn:aws:states:::sqs:sendMessage"),
        parameters={},
        state_name="T",
        execution_arn="arn:aws:states:us-east-1:1:execution:M:e",
        task_token=None,
        clock=clock,
        region="us-east-1",
        account="1",
    )
    assert await call(request, FakePool(), "sqs", "ping", {"a": 1}) == {"ok": {"a": 1}}
    assert clock.busy_during_call == [True]
    assert clock.depth == 0


def test_an_unknown_host_is_worded_as_the_recorded_sdk_client_exception() -> None:
    unknown = EndpointConnectionError(
        endpoint_url="https://no-such-queue-73e08fde/",
        error=socket.gaierror(-2, "Name or service not known"),
    )
    error = optimized_error(SQS, unknown)
    assert (error.error, error.cause) == (
        "SQS.SdkClientException",
        "Unable to execute HTTP request: no-such-queue-73e08fde: Name or service not known",
    )
