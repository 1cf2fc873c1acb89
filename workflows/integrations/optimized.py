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

import itertools
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Final

from workflows.engine.errors import StatesError
from workflows.engine.tasks import Pattern, ServiceIntegration, TaskRequest
from workflows.integrations._boto import (
    ClientPool,
    OptimizedService,
    call_mapped,
    compact_json,
    jsonable,
    optimized_error,
    runtime_error,
)
from workflows.integrations.requests import prepared_call
from workflows.integrations.wire import aws_request_id, json_body, service_metadata, sns_xml_body

__all__ = [
    "DYNAMODB",
    "EVENTBRIDGE",
    "SNS",
    "SQS",
    "OptimizedIntegration",
    "PutEvents",
    "optimized_integrations",
    "state_machine_arn",
    "with_metadata",
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
Finish = Callable[[dict[str, Any], Mapping[str, Any], TaskRequest], dict[str, Any]]


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

        def work() -> dict[str, Any]:
            client = self.pool.client(self.boto_service)
            return prepared_call(client, self.method, params)[1]

        response = await call_mapped(request, work, lambda exc: optimized_error(self.service, exc))
        if self.finish is not None:
            return self.finish(response, params, request)
        return with_metadata(self.boto_service, response, request)


def with_metadata(
    boto_service: str, response: Mapping[str, Any], request: TaskRequest
) -> dict[str, Any]:
    """The API response plus the SDK metadata, as AWS's answer carries them."""
    body = jsonable({k: v for k, v in response.items() if k != "ResponseMetadata"}, "millis")
    given = (response.get("ResponseMetadata") or {}).get("RequestId")
    request_id = aws_request_id(boto_service, given)
    if boto_service == "sns":
        text = sns_xml_body("Publish", body, request_id)
    else:
        text = json_body(body)
    metadata = service_metadata(boto_service, text, now=request.clock.now(), request_id=request_id)
    return dict(sorted({**body, **metadata}.items()))


def state_machine_arn(execution_arn: str) -> str:
    """``arn:...:execution:Machine:name`` -> ``arn:...:stateMachine:Machine``."""
    parts = execution_arn.split(":")
    if len(parts) < 7:
        return execution_arn
    return ":".join([*parts[:5], "stateMachine", parts[6]])


def _dynamodb_finish(
    response: dict[str, Any], params: Mapping[str, Any], request: TaskRequest
) -> dict[str, Any]:
    # DynamoDB reports consumed capacity only when asked (the local service always does)
    if params.get("ReturnConsumedCapacity") in (None, "NONE"):
        response = {k: v for k, v in response.items() if k != "ConsumedCapacity"}
    return with_metadata("dynamodb", response, request)


def _sns_finish(
    response: dict[str, Any], params: Mapping[str, Any], request: TaskRequest
) -> dict[str, Any]:
    # SequenceNumber belongs to FIFO topics, where AWS always answers one (a 20-digit
    # number that grows with every message; the local service leaves it out)
    if str(params.get("TopicArn") or params.get("TargetArn") or "").endswith(".fifo"):
        response.setdefault("SequenceNumber", str(10**19 + next(_SNS_SEQUENCE)))
    else:
        response = {k: v for k, v in response.items() if k != "SequenceNumber"}
    return with_metadata("sns", response, request)


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
        if "Detail" in copy and copy["Detail"] is not None and not isinstance(copy["Detail"], str):
            copy["Detail"] = compact_json(copy["Detail"])
        resources = copy.get("Resources")
        copy["Resources"] = [*(resources if isinstance(resources, list) else []), *added]
        prepared.append(copy)
    return {**params, "Entries": prepared}


_SNS_SEQUENCE: Final = itertools.count(1)

_MALFORMED_DETAIL: Final = {"ErrorCode": "MalformedDetail", "ErrorMessage": "Detail is malformed."}


def _malformed(entry: Any) -> bool:
    """EventBridge takes a Detail only when it is the JSON text of an object."""
    if not isinstance(entry, Mapping) or entry.get("Detail") is None:
        return False
    detail = entry["Detail"]
    if not isinstance(detail, str):
        return not isinstance(detail, Mapping)  # sent as its JSON text: a number, a list...
    try:
        return not isinstance(json.loads(detail), dict)
    except ValueError:
        return True


@dataclass(frozen=True)
class PutEvents:
    """``events:putEvents``: entries EventBridge would refuse as malformed fail as it fails them."""

    sender: OptimizedIntegration

    async def __call__(self, request: TaskRequest) -> Any:
        params = request.parameters
        entries = params.get("Entries") if isinstance(params, Mapping) else None
        if not isinstance(entries, list) or not any(_malformed(e) for e in entries):
            return await self.sender(request)
        sendable = [entry for entry in entries if not _malformed(entry)]
        sent: list[Any] = []
        if sendable:
            answer = await self.sender(replace(request, parameters={**params, "Entries": sendable}))
            sent = list(answer.get("Entries") or [])
        results = [dict(_MALFORMED_DETAIL) if _malformed(e) else sent.pop(0) for e in entries]
        failed = sum(1 for result in results if "ErrorCode" in result)
        raise StatesError(
            "EventBridge.FailedEntry",
            compact_json({"Entries": results, "FailedEntryCount": failed}),
        )


def _events_finish(
    response: dict[str, Any], params: Mapping[str, Any], request: TaskRequest
) -> dict[str, Any]:
    result = jsonable({k: v for k, v in response.items() if k != "ResponseMetadata"}, "millis")
    result = {"Entries": result.get("Entries", []), "FailedEntryCount": 0, **result}
    if int(result.get("FailedEntryCount") or 0) > 0:
        raise StatesError("EventBridge.FailedEntry", compact_json(result))
    return dict(sorted(result.items()))


def optimized_integrations(pool: ClientPool) -> dict[str, ServiceIntegration]:
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
            finish=_dynamodb_finish,
        ),
        "dynamodb:putItem": OptimizedIntegration(
            pool,
            DYNAMODB,
            "dynamodb",
            "put_item",
            _DYNAMODB_WRITE | {"Item"},
            _REQUEST_ONLY,
            finish=_dynamodb_finish,
        ),
        "dynamodb:updateItem": OptimizedIntegration(
            pool,
            DYNAMODB,
            "dynamodb",
            "update_item",
            _DYNAMODB_WRITE | {"Key", "AttributeUpdates", "UpdateExpression"},
            _REQUEST_ONLY,
            finish=_dynamodb_finish,
        ),
        "dynamodb:deleteItem": OptimizedIntegration(
            pool,
            DYNAMODB,
            "dynamodb",
            "delete_item",
            _DYNAMODB_WRITE | {"Key"},
            _REQUEST_ONLY,
            finish=_dynamodb_finish,
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
            finish=_sns_finish,
        ),
        "events:putEvents": PutEvents(
            OptimizedIntegration(
                pool,
                EVENTBRIDGE,
                "events",
                "put_events",
                frozenset({"Entries"}),
                _CALLBACK,
                prepare=_events_prepare,
                finish=_events_finish,
            )
        ),
    }
