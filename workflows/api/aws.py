"""The API's two AWS dependencies, behind small ports.

* :class:`Workflows` wraps a boto3 ``stepfunctions`` client (or anything with the same
  methods) and turns AWS error codes into the API's errors.
* :class:`OrderStore` reads order items from the single orders table through a boto3
  DynamoDB ``Table`` resource (or a fake with ``get_item``).

boto3 honours ``AWS_ENDPOINT_URL_SFN`` / ``AWS_ENDPOINT_URL`` itself, so the
default clients work against AWS and against the local endpoints alike.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from botocore.exceptions import (
    ClientError,
    ConnectionError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from workflows.api.errors import Throttled, Unavailable

THROTTLE_RETRY_AFTER_SECONDS = 1
UNAVAILABLE_RETRY_AFTER_SECONDS = 5

_THROTTLING_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "ThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "ProvisionedThroughputExceededException",
        "RequestThrottled",
        "RequestThrottledException",
        "SlowDown",
    }
)
_UNAVAILABLE_CODES = frozenset(
    {
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "InternalServerError",
        "InternalFailure",
        "InternalServerException",
        "RequestTimeout",
        "RequestTimeoutException",
    }
)
_TRANSPORT_ERRORS: tuple[type[Exception], ...] = (
    EndpointConnectionError,
    ConnectTimeoutError,
    ReadTimeoutError,
    ConnectionError,
)


class StepFunctionsClient(Protocol):
    """The subset of the boto3 ``stepfunctions`` client the API calls."""

    def start_execution(self, **kwargs: Any) -> dict[str, Any]: ...
    def describe_execution(self, **kwargs: Any) -> dict[str, Any]: ...
    def get_execution_history(self, **kwargs: Any) -> dict[str, Any]: ...
    def send_task_success(self, **kwargs: Any) -> dict[str, Any]: ...
    def send_task_failure(self, **kwargs: Any) -> dict[str, Any]: ...


class OrdersTable(Protocol):
    """The subset of a boto3 DynamoDB ``Table`` resource the API calls."""

    def get_item(self, **kwargs: Any) -> dict[str, Any]: ...


class ExecutionAlreadyExists(Exception):
    """StartExecution found an execution with this name and a different input (or closed)."""


class ExecutionNotFound(Exception):
    """The execution does not exist (or its ARN is not a valid execution ARN)."""


class TaskNotPending(Exception):
    """The task token is unknown, expired or already answered."""


class InvalidNextToken(Exception):
    """The pagination token was not issued for this request."""


def error_code(exc: ClientError) -> str:
    code = exc.response.get("Error", {}).get("Code", "")
    return code if isinstance(code, str) else ""


@contextmanager
def aws_call(service: str) -> Iterator[None]:
    """Turn throttling and unavailability of an AWS call into 429/503 with Retry-After."""
    try:
        yield
    except ClientError as exc:
        code = error_code(exc)
        if code in _THROTTLING_CODES:
            raise Throttled(
                f"{service} is throttling requests; retry later.",
                retry_after=THROTTLE_RETRY_AFTER_SECONDS,
                details={"service": service, "awsErrorCode": code},
            )
        if code in _UNAVAILABLE_CODES:
            raise Unavailable(
                f"{service} is unavailable; retry later.",
                retry_after=UNAVAILABLE_RETRY_AFTER_SECONDS,
                details={"service": service, "awsErrorCode": code},
            )
        raise
    except _TRANSPORT_ERRORS:
        raise Unavailable(
            f"{service} cannot be reached; retry later.",
            retry_after=UNAVAILABLE_RETRY_AFTER_SECONDS,
            details={"service": service},
        )


@dataclass(frozen=True)
class StartedExecution:
    execution_arn: str
    start_date: Any


@dataclass(frozen=True)
class Workflows:
    """Step Functions, as the API uses it."""

    client: StepFunctionsClient

    def start(self, state_machine_arn: str, name: str, payload: str) -> StartedExecution:
        with aws_call("Step Functions"):
            try:
                answer = self.client.start_execution(
                    stateMachineArn=state_machine_arn, name=name, input=payload
                )
            except ClientError as exc:
                if error_code(exc) == "ExecutionAlreadyExists":
                    raise ExecutionAlreadyExists(name) from exc
                raise
        return StartedExecution(answer["executionArn"], answer.get("startDate"))

    def describe(self, execution_arn: str) -> dict[str, Any]:
        with aws_call("Step Functions"):
            try:
                return self.client.describe_execution(executionArn=execution_arn)
            except ClientError as exc:
                if error_code(exc) in {"ExecutionDoesNotExist", "InvalidArn"}:
                    raise ExecutionNotFound(execution_arn) from exc
                raise

    def history(
        self,
        execution_arn: str,
        *,
        limit: int,
        next_token: str | None = None,
        reverse: bool = False,
        include_data: bool = True,
    ) -> dict[str, Any]:
        request: dict[str, Any] = {
            "executionArn": execution_arn,
            "maxResults": limit,
            "reverseOrder": reverse,
            "includeExecutionData": include_data,
        }
        if next_token:
            request["nextToken"] = next_token
        with aws_call("Step Functions"):
            try:
                return self.client.get_execution_history(**request)
            except ClientError as exc:
                code = error_code(exc)
                if code in {"ExecutionDoesNotExist", "InvalidArn"}:
                    raise ExecutionNotFound(execution_arn) from exc
                if code == "InvalidToken":
                    raise InvalidNextToken(next_token) from exc
                raise

    def succeed_task(self, task_token: str, output: dict[str, Any]) -> None:
        with aws_call("Step Functions"), _task_call():
            self.client.send_task_success(taskToken=task_token, output=json.dumps(output))

    def fail_task(self, task_token: str, error: str, cause: str) -> None:
        with aws_call("Step Functions"), _task_call():
            self.client.send_task_failure(taskToken=task_token, error=error, cause=cause)


@contextmanager
def _task_call() -> Iterator[None]:
    try:
        yield
    except ClientError as exc:
        if error_code(exc) in {"TaskDoesNotExist", "TaskTimedOut", "InvalidToken"}:
            raise TaskNotPending() from exc
        raise


@dataclass(frozen=True)
class OrderStore:
    """Reads order items (``PK = ORDER#{orderId}``, ``SK = ORDER``) from the orders table."""

    table: OrdersTable

    def get(self, order_id: str) -> dict[str, Any] | None:
        with aws_call("DynamoDB"):
            answer = self.table.get_item(
                Key={"PK": f"ORDER#{order_id}", "SK": "ORDER"}, ConsistentRead=True
            )
        item = answer.get("Item")
        if not isinstance(item, dict):
            return None
        plain = to_plain(item)
        return plain if isinstance(plain, dict) else None


def to_plain(value: Any) -> Any:
    """DynamoDB resource values as JSON-ready Python values (Decimal -> int or float)."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {str(key): to_plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_plain(item) for item in value]
    if isinstance(value, bytes | bytearray):
        return None
    return value


def boto3_factories() -> tuple[Callable[[], StepFunctionsClient], Callable[[str], OrdersTable]]:
    """Production factories of the Step Functions client and the orders table."""
    import boto3
    from botocore.config import Config

    config = Config(
        retries={"mode": "standard", "max_attempts": 3},
        connect_timeout=3,
        read_timeout=10,
    )

    def stepfunctions() -> StepFunctionsClient:
        client: StepFunctionsClient = boto3.client("stepfunctions", config=config)
        return client

    def table(name: str) -> OrdersTable:
        resource: OrdersTable = boto3.resource("dynamodb", config=config).Table(name)
        return resource

    return stepfunctions, table


__all__ = [
    "ClientError",
    "ExecutionAlreadyExists",
    "ExecutionNotFound",
    "InvalidNextToken",
    "OrderStore",
    "OrdersTable",
    "StartedExecution",
    "StepFunctionsClient",
    "TaskNotPending",
    "Workflows",
    "aws_call",
    "to_plain",
]
