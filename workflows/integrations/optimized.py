"""Optimized integrations: ``arn:aws:states:::dynamodb:*``, ``sqs``, ``sns``, ``events``.

Each takes the Task's ``Parameters`` with AWS's own (PascalCase) request names, drops
fields the optimized integration does not support (as Step Functions does), calls the
service through boto3 and returns the result in the shape Step Functions returns it:

- DynamoDB, SQS, SNS: the API response plus ``SdkHttpMetadata`` and
  ``SdkResponseMetadata`` (the integrations run on the AWS SDK for Java v1).
- EventBridge ``putEvents``: ``{"Entries": [...], "FailedEntryCount": n}``; a non-zero
  ``FailedEntryCount`` fails the task with ``EventBridge.FailedEntry``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from workflows.engine.errors import StatesError
from workflows.engine.tasks import Pattern, TaskRequest
from workflows.integrations._boto import (
    ClientPool,
    OptimizedService,
    call,
    compact_json,
    jsonable,
    optimized_error,
    runtime_error,
    sdk_metadata,
)

__all__ = [
    "DYNAMODB",
    "EVENTBRIDGE",
    "SNS",
    "SQS",
    "OptimizedIntegration",
    "optimized_integrations",
    "state_machine_arn",
]

DYNAMODB = OptimizedService("DynamoDB", "AmazonDynamoDBv2", "AmazonDynamoDBException")
SQS = OptimizedService("SQS", "AmazonSQS", "AmazonSQSException")
SNS = OptimizedService("SNS", "AmazonSNS", "AmazonSNSException")
EVENTBRIDGE = OptimizedService("EventBridge", "AmazonEventBridge", "AmazonEventBridgeException")

_REQUEST_ONLY: frozenset[Pattern] = frozenset({"request"})
_CALLBACK: frozenset[Pattern] = frozenset({"request", "waitForTaskToken"})

_DYNAMODB_WRITE = frozenset(
    {
        "TableName",
        "ConditionalOperator",
        "ConditionExpression",
        "Expected",
        "ExpressionAttributeNames",
        "ExpressionAttributeValues",
        "ReturnConsumedCapacity",
        "ReturnItemCollectionMetrics",
        "ReturnValues",
    }
)

Prepare = Callable[[dict[str, Any], TaskRequest], dict[str, Any]]
Finish = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class OptimizedIntegration:
    """One ``service:action`` of an optimized integration, as a ``ServiceIntegration``."""

    pool: ClientPool
    service: OptimizedService
    boto_service: str
    method: str
    supported: frozenset[str]
    patterns: frozenset[Pattern]
    prepare: Prepare | None = None
    finish: Finish | None = None

    async def __call__(self, request: TaskRequest) -> Any:
        resource = request.resource
        if resource.pattern not in self.patterns:
            raise runtime_error(
                f"The resource '{resource.arn}' does not support the "
                f"'.{resource.pattern}' service integration pattern"
            )
        if not isinstance(request.parameters, Mapping):
            raise runtime_error(
                f"The parameters of '{resource.arn}' must be a JSON object, "
                f"not {compact_json(request.parameters)}"
            )
        params = {k: v for k, v in request.parameters.items() if k in self.supported}
        if self.prepare is not None:
            params = self.prepare(params, request)
        try:
            response = await call(request, self.pool, self.boto_service, self.method, params)
        except StatesError:
            raise
        except Exception as exc:
            raise optimized_error(self.service, exc) from exc
        if self.finish is not None:
            return self.finish(response)
        return _with_metadata(response)


def _with_metadata(response: Mapping[str, Any]) -> dict[str, Any]:
    body = {k: v for k, v in response.items() if k != "ResponseMetadata"}
    result = {**jsonable(body, "millis"), **sdk_metadata(response)}
    return dict(sorted(result.items()))


def state_machine_arn(execution_arn: str) -> str:
    """``arn:...:execution:Machine:name`` -> ``arn:...:stateMachine:Machine``."""
    parts = execution_arn.split(":")
    if len(parts) < 7:
        return execution_arn
    return ":".join([*parts[:5], "stateMachine", parts[6]])


def _sqs_prepare(params: dict[str, Any], request: TaskRequest) -> dict[str, Any]:
    body = params.get("MessageBody")
    if "MessageBody" in params and not isinstance(body, str):
        params["MessageBody"] = compact_json(body)
    return params


def _sns_prepare(params: dict[str, Any], request: TaskRequest) -> dict[str, Any]:
    message = params.get("Message")
    if "Message" in params and not isinstance(message, str):
        params["Message"] = compact_json(message)
    return params


def _events_prepare(params: dict[str, Any], request: TaskRequest) -> dict[str, Any]:
    entries = params.get("Entries")
    if not isinstance(entries, list):
        return params
    added = [state_machine_arn(request.execution_arn), request.execution_arn]
    prepared: list[Any] = []
    for entry in entries:
        if not isinstance(entry, Mapping):
            prepared.append(entry)
            continue
        copy = dict(entry)
        if "Detail" in copy and not isinstance(copy["Detail"], str):
            copy["Detail"] = compact_json(copy["Detail"])
        resources = copy.get("Resources")
        copy["Resources"] = [*(resources if isinstance(resources, list) else []), *added]
        prepared.append(copy)
    return {**params, "Entries": prepared}


def _events_finish(response: dict[str, Any]) -> dict[str, Any]:
    result = jsonable({k: v for k, v in response.items() if k != "ResponseMetadata"}, "millis")
    result = {"Entries": result.get("Entries", []), "FailedEntryCount": 0, **result}
    if int(result.get("FailedEntryCount") or 0) > 0:
        raise StatesError("EventBridge.FailedEntry", compact_json(result))
    return dict(sorted(result.items()))


def optimized_integrations(pool: ClientPool) -> dict[str, OptimizedIntegration]:
    """The optimized integrations, keyed as the engine looks them up (``service:action``)."""
    return {
        "dynamodb:getItem": OptimizedIntegration(
            pool,
            DYNAMODB,
            "dynamodb",
            "get_item",
            frozenset(
                {
                    "Key",
                    "TableName",
                    "AttributesToGet",
                    "ConsistentRead",
                    "ExpressionAttributeNames",
                    "ProjectionExpression",
                    "ReturnConsumedCapacity",
                }
            ),
            _REQUEST_ONLY,
        ),
        "dynamodb:putItem": OptimizedIntegration(
            pool, DYNAMODB, "dynamodb", "put_item", _DYNAMODB_WRITE | {"Item"}, _REQUEST_ONLY
        ),
        "dynamodb:updateItem": OptimizedIntegration(
            pool,
            DYNAMODB,
            "dynamodb",
            "update_item",
            _DYNAMODB_WRITE | {"Key", "AttributeUpdates", "UpdateExpression"},
            _REQUEST_ONLY,
        ),
        "dynamodb:deleteItem": OptimizedIntegration(
            pool, DYNAMODB, "dynamodb", "delete_item", _DYNAMODB_WRITE | {"Key"}, _REQUEST_ONLY
        ),
        "sqs:sendMessage": OptimizedIntegration(
            pool,
            SQS,
            "sqs",
            "send_message",
            frozenset(
                {
                    "DelaySeconds",
                    "MessageAttributes",
                    "MessageBody",
                    "MessageDeduplicationId",
                    "MessageGroupId",
                    "QueueUrl",
                }
            ),
            _CALLBACK,
            prepare=_sqs_prepare,
        ),
        "sns:publish": OptimizedIntegration(
            pool,
            SNS,
            "sns",
            "publish",
            frozenset(
                {
                    "Message",
                    "MessageAttributes",
                    "MessageDeduplicationId",
                    "MessageGroupId",
                    "MessageStructure",
                    "PhoneNumber",
                    "Subject",
                    "TargetArn",
                    "TopicArn",
                }
            ),
            _CALLBACK,
            prepare=_sns_prepare,
        ),
        "events:putEvents": OptimizedIntegration(
            pool,
            EVENTBRIDGE,
            "events",
            "put_events",
            frozenset({"Entries"}),
            _CALLBACK,
            prepare=_events_prepare,
            finish=_events_finish,
        ),
    }
