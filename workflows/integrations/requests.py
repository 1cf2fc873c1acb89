"""Task parameters as Step Functions serializes them, and the service's own refusals.

Step Functions does not call the service with the Python SDK's rules, so:

- a ``null`` member is absent (``MessageBody: null`` is a request without a body);
- a string member given any other JSON value gets its JSON text;
- a blob member (``aws-sdk:s3:putObject``'s ``Body``) is the JSON text of its value,
  whatever the value: ``"text data"`` is stored with its quotes, ``0`` as ``0``,
  objects compactly;
- what the service would refuse is refused with the service's words: a JSON-protocol
  service's ``1 validation error detected: Value null at 'item' failed to satisfy
  constraint: Member must not be null``, SQS's ``The request must contain the parameter
  MessageBody.``, DynamoDB's table-name rules, instead of botocore's client-side
  ``Parameter validation failed``.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from typing import Any, Final

from botocore.exceptions import ClientError

from workflows.integrations._boto import compact_json

__all__ = ["refusal", "serialize", "service_fault"]

_TABLE_NAME: Final = re.compile(r"[a-zA-Z0-9_.-]+")


def serialize(value: Any, shape: Any, *, any_case: bool = False) -> Any:
    """Task parameters -> botocore arguments, following the operation's input shape.

    ``any_case`` matches member names case-insensitively (``aws-sdk`` tasks name
    camelCase APIs' members in PascalCase); unknown members are kept for botocore to
    report.
    """
    if shape is None:
        return value
    kind = shape.type_name
    if kind == "structure" and isinstance(value, Mapping):
        members = shape.members
        lookup: dict[str, str] = {name.lower(): name for name in members} if any_case else {}
        converted: dict[str, Any] = {}
        for key, item in value.items():
            name = str(lookup.get(str(key).lower(), key)) if any_case else str(key)
            if any_case and name == key and name.lower() == "equalsvalue":
                name = lookup.get("equals", name)
            if item is None:
                continue  # Step Functions sends a null member as no member at all
            member = members.get(name)
            converted[name] = item if member is None else serialize(item, member, any_case=any_case)
        return converted
    if kind == "list" and isinstance(value, list):
        return [serialize(item, shape.member, any_case=any_case) for item in value]
    if kind == "map" and isinstance(value, Mapping):
        return {key: serialize(item, shape.value, any_case=any_case) for key, item in value.items()}
    if kind == "blob":
        return compact_json(value)
    if kind == "string" and not isinstance(value, str):
        return compact_json(value)
    return value


def refusal(
    service: str, protocol: str, params: Mapping[str, Any], shape: Any
) -> tuple[str, str] | None:
    """(error code, message) the service answers ``params`` with, or None to send them."""
    if shape is None:
        return None
    missing = [name for name in shape.required_members if name not in params]
    if service == "sqs" and missing:
        return "MissingParameter", f"The request must contain the parameter {missing[0]}."
    if service == "sns" and shape.name == "PublishInput":
        topic = str(params.get("TopicArn") or params.get("TargetArn") or "")
        if topic.endswith(".fifo") and "MessageGroupId" not in params:
            return (
                "InvalidParameter",
                "Invalid parameter: The MessageGroupId parameter is required for FIFO topics",
            )
    if protocol != "json":
        return None  # botocore's own validation speaks for the query and REST services
    problems = [
        f"Value null at '{_lower_first(name)}' failed to satisfy constraint: "
        "Member must not be null"
        for name in missing
    ]
    for name, member in shape.members.items():
        value = params.get(name)
        if isinstance(value, str):
            problems += _string_problems(service, name, value, member)
    if not problems:
        return None
    count = len(problems)
    plural = "s" if count > 1 else ""
    return "ValidationException", f"{count} validation error{plural} detected: " + "; ".join(
        problems
    )


def _string_problems(service: str, name: str, value: str, member: Any) -> list[str]:
    field = _lower_first(name)
    shown = f"Value '{value}' at '{field}' failed to satisfy constraint: "
    if service == "dynamodb" and name == "TableName" and not value.startswith("arn:"):
        # a table name (not an ARN): 3-255 characters of [a-zA-Z0-9_.-]
        if not _TABLE_NAME.fullmatch(value):
            return [shown + "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+"]
        if len(value) < 3:
            return [shown + "Member must have length greater than or equal to 3"]
        if len(value) > 255:
            return [shown + "Member must have length less than or equal to 255"]
        return []
    metadata = member.metadata
    if "min" in metadata and len(value) < int(metadata["min"]):
        return [shown + f"Member must have length greater than or equal to {metadata['min']}"]
    if "max" in metadata and len(value) > int(metadata["max"]):
        return [shown + f"Member must have length less than or equal to {metadata['max']}"]
    return []


def _lower_first(name: str) -> str:
    return name[:1].lower() + name[1:]


def service_fault(client: Any, code: str, message: str, operation: str) -> ClientError:
    """The error the service would answer with, as botocore raises it (modeled or not)."""
    response: Any = {
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": 400, "RequestId": str(uuid.uuid4())},
    }
    error_class = client.exceptions.from_code(code)
    fault: ClientError = error_class(response, operation)
    return fault


def prepared_call(
    client: Any, method: str, params: Mapping[str, Any], *, any_case: bool = False
) -> tuple[Any, dict[str, Any]]:
    """Serialize ``params`` for ``client.<method>``, refuse them as the service would,
    call it; returns (operation model, response). Runs in a worker thread."""
    model = client.meta.service_model
    operation = model.operation_model(client.meta.method_to_api_mapping[method])
    args = serialize(params, operation.input_shape, any_case=any_case)
    refused = refusal(model.service_name, model.protocol, args, operation.input_shape)
    if refused is not None:
        raise service_fault(client, *refused, operation.name)
    response: dict[str, Any] = getattr(client, method)(**args)
    return operation, response
