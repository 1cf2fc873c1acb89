"""AWS SDK integrations: ``arn:aws:states:::aws-sdk:<service>:<apiAction>``.

The Task's ``Parameters`` use the API's member names in PascalCase; they are matched
(case-insensitively) onto the botocore operation's input shape, structures, lists and
maps all the way down, so ``StateMachineArn`` reaches Step Functions' ``stateMachineArn``.
A non-string value given for a string member is sent as its JSON text. The response
comes back with PascalCase keys (map keys, such as DynamoDB attribute names, are data
and stay as they are), timestamps as ISO 8601 text, blobs as base64, and without
``ResponseMetadata``.

Errors are named ``<ServiceName>.<Exception>``, ``ServiceName`` being the service's
name as the AWS SDK for Java v2 spells it (``DynamoDb``, ``Sfn``, ``SesV2``, ``Sqs``):
a modeled service error keeps its name (with an ``Exception`` suffix added when it
has none, ``S3.NoSuchKeyException``); an unmodeled one is ``<ServiceName>Exception``.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any, Final

from botocore import xform_name
from botocore.exceptions import UnknownServiceError

from workflows.engine.errors import StatesError
from workflows.engine.tasks import TaskRequest
from workflows.integrations._boto import (
    ClientPool,
    call_mapped,
    compact_json,
    java_pascal_case,
    jsonable,
    runtime_error,
    sdk_error,
)
from workflows.integrations.requests import prepared_call

__all__ = ["BOTO3_SERVICE_NAMES", "AwsSdkIntegration", "aws_fields", "to_states"]

# Service names of aws-sdk ARNs whose boto3 name differs (the ARN uses the SDK for
# Java v2 package name; boto3 uses the endpoint prefix).
BOTO3_SERVICE_NAMES: dict[str, str] = {
    "acmpca": "acm-pca",
    "cloudwatchevents": "events",
    "cloudwatchlogs": "logs",
    "cognitoidentity": "cognito-identity",
    "cognitoidentityprovider": "cognito-idp",
    "costexplorer": "ce",
    "databasemigration": "dms",
    "elasticloadbalancing": "elb",
    "elasticloadbalancingv2": "elbv2",
    "eventbridge": "events",
    "sfn": "stepfunctions",
    "states": "stepfunctions",
}


class AwsSdkIntegration:
    """The ``aws-sdk`` fallback: any botocore operation, called by its API name."""

    def __init__(self, pool: ClientPool) -> None:
        self._pool = pool
        self._names: dict[str, str] = dict(BOTO3_SERVICE_NAMES)
        self._lock = threading.Lock()

    async def __call__(self, request: TaskRequest) -> Any:
        resource = request.resource
        service, _, action = resource.action.partition(":")
        if not service or not action:
            raise runtime_error(f"The resource '{resource.arn}' names no service and API action")
        if resource.pattern not in ("request", "waitForTaskToken"):
            raise runtime_error(
                f"The resource '{resource.arn}' does not support the "
                f"'.{resource.pattern}' service integration pattern"
            )
        parameters = request.parameters if request.parameters is not None else {}
        if not isinstance(parameters, dict):
            raise runtime_error(
                f"The parameters of '{resource.arn}' must be a JSON object, "
                f"not {compact_json(parameters)}"
            )
        error_name: list[str] = []

        def work() -> Any:
            client = self._client(service, resource.arn)
            model = client.meta.service_model
            error_name.append(java_pascal_case(model.service_id))
            operation = _operation(model, action)
            if operation is None:
                raise runtime_error(
                    f"The resource '{resource.arn}' is not a valid API action: "
                    f"{model.service_name} has no operation '{action}'"
                )
            method = xform_name(operation.name)
            _, response = prepared_call(client, method, parameters, any_case=True)
            response.pop("ResponseMetadata", None)
            result = to_states(response, operation.output_shape)
            return aws_fields(model.service_name, operation.name, result, parameters)

        def error(exc: Exception) -> StatesError:
            return sdk_error(error_name[0] if error_name else java_pascal_case(service), exc)

        return await call_mapped(request, work, error)

    def _client(self, service: str, arn: str) -> Any:
        boto_name = self._boto_name(service)
        if boto_name is None:
            raise runtime_error(f"The resource '{arn}' names an unknown AWS service '{service}'")
        try:
            return self._pool.client(boto_name)
        except UnknownServiceError:
            raise runtime_error(
                f"The resource '{arn}' names an unknown AWS service '{service}'"
            ) from None

    def _boto_name(self, service: str) -> str | None:
        key = service.lower()
        with self._lock:
            if key in self._names:
                return self._names[key]
            available = self._pool.available_services()
            found: str | None = None
            if key in available:
                found = key
            else:
                squashed = {name.replace("-", ""): name for name in available}
                found = squashed.get(key)
            if found is None:
                found = self._by_service_id(key, available)
            if found is not None:
                self._names[key] = found
            return found

    def _by_service_id(self, key: str, available: list[str]) -> str | None:
        botocore_session = getattr(self._pool.session, "_session", None)
        if botocore_session is None:
            return None
        for name in available:
            try:
                service_id = botocore_session.get_service_model(name).service_id
            except Exception:
                continue
            if str(service_id).replace(" ", "").replace("-", "").lower() == key:
                return name
        return None


def _operation(model: Any, action: str) -> Any:
    wanted = action.replace("_", "").lower()
    for name in model.operation_names:
        if name.lower() == wanted:
            return model.operation_model(name)
    return None


def to_states(value: Any, shape: Any) -> Any:
    """A botocore response -> the Task result: PascalCase keys, JSON values."""
    if shape is None:
        return jsonable(value)
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        members = shape.members
        return {
            _pascal(key): to_states(item, members.get(key))
            for key, item in value.items()
            if key != "ResponseMetadata"
        }
    if kind == "list" and isinstance(value, list):
        return [to_states(item, shape.member) for item in value]
    if kind == "map" and isinstance(value, dict):
        return {str(key): to_states(item, shape.value) for key, item in value.items()}
    return jsonable(value)


def _pascal(name: str) -> str:
    return name[:1].upper() + name[1:]


# What S3 answers on AWS and the local service leaves out: every object is encrypted
# at rest by default (SSE-S3) since January 2023, and a checksum comes with its type.
_S3_OBJECT_ANSWERS: Final = frozenset({"GetObject", "PutObject", "HeadObject", "CopyObject"})


def aws_fields(
    service: str, operation: str, result: dict[str, Any], parameters: Mapping[str, Any]
) -> dict[str, Any]:
    """Correct the fields a local service answers differently from AWS, where it is safe."""
    if service == "dynamodb" and "ConsumedCapacity" in result:
        # DynamoDB reports consumed capacity only when asked (the local one sometimes does)
        asked = {k.lower(): v for k, v in parameters.items()}.get("returnconsumedcapacity")
        if asked in (None, "NONE"):
            result = {k: v for k, v in result.items() if k != "ConsumedCapacity"}
        return result
    if service != "s3" or operation not in _S3_OBJECT_ANSWERS:
        return result
    result = dict(result)
    result.setdefault("ServerSideEncryption", "AES256")
    if "ChecksumType" not in result and any(
        key.startswith("Checksum") and key != "ChecksumType" for key in result
    ):
        result["ChecksumType"] = "FULL_OBJECT"
    return result
