"""The local Step Functions endpoint: AWS's JSON 1.0 protocol over ``ExecutionService``.

boto3 and the AWS CLI talk to it unchanged once pointed at it
(``AWS_ENDPOINT_URL_SFN=http://127.0.0.1:8083``): every call is
``POST /`` with ``X-Amz-Target: AWSStepFunctions.<Action>`` and a JSON body; the
answer is JSON with AWS's field names (timestamps as epoch seconds), and an error
is HTTP 400 with ``{"__type": "<Code>", "message": "..."}``, which botocore turns
into ``client.exceptions.<Code>``. The server runs on the event loop that runs
the executions (``aiohttp.web``).
"""

from __future__ import annotations

import json
import logging
import math
import socket
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, Final

from aiohttp import web

from workflows.local import json_text, spans
from workflows.local.executions import (
    ExecutionService,
    ServiceError,
    is_alias_arn,
    unavailable,
    validation_error,
)
from workflows.local.sfn_activities import ACTIVITY_ACTIONS
from workflows.local.sfn_aliases import ALIAS_ACTIONS
from workflows.local.sfn_map_runs import MAP_RUN_ACTIONS, wrap_execution_actions
from workflows.local.sfn_redrive import REDRIVE_ACTIONS, redrive_filter
from workflows.local.sfn_teststate import TEST_STATE_ACTIONS
from workflows.local.store import StoreUnavailable

__all__ = ["ACTIONS", "SERVICE_KEY", "create_app", "start_server"]

log = logging.getLogger("workflows.local")

CONTENT_TYPE: Final = "application/x-amz-json-1.0"
TARGET_PREFIX: Final = "AWSStepFunctions."
SERVICE_KEY: Final = web.AppKey("stepfunctions_service", ExecutionService)

Request = dict[str, Any]
Action = Callable[[ExecutionService, Request], Awaitable[dict[str, Any]]]


# ------------------------------------------------------------------ field readers


def _string(
    request: Request, name: str, *, required: bool = False, min_length: int = 0, max_length: int
) -> str | None:
    value = request.get(name)
    if value is None:
        if required:
            raise validation_error(name, "Member must not be null")
        return None
    if not isinstance(value, str):
        raise validation_error(name, "Member must be a string", json.dumps(value))
    if len(value) < min_length:
        raise validation_error(
            name, f"Member must have length greater than or equal to {min_length}", value
        )
    if len(value) > max_length:
        raise validation_error(
            name,
            f"Member must have length less than or equal to {max_length}",
            value[:64] + ("..." if len(value) > 64 else ""),
        )
    return value


def _required(request: Request, name: str, *, max_length: int = 2048, min_length: int = 1) -> str:
    value = _string(request, name, required=True, min_length=min_length, max_length=max_length)
    assert value is not None
    return value


def _arn(request: Request, name: str) -> str:
    return _required(request, name, max_length=2048)


def _standard_execution_arn(request: Request) -> str:
    """An execution ARN for the calls AWS answers for Standard executions only: an
    Express execution (``...:express:...``) is not described, listed or stopped."""
    arn = _arn(request, "executionArn")
    parts = arn.split(":")
    if len(parts) > 5 and parts[5] == "express":
        raise ServiceError(
            "InvalidArn", "Invalid Arn: 'Resource type not valid in this context: express'"
        )
    return arn


def _integer(request: Request, name: str) -> int:
    value = request.get(name)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int):
        raise validation_error(name, "Member must be an integer", json.dumps(value))
    return value


def _boolean(request: Request, name: str, default: bool) -> bool:
    value = request.get(name)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise validation_error(name, "Member must be a boolean", json.dumps(value))
    return value


def _token(request: Request, name: str) -> str | None:
    return _string(request, name, min_length=1, max_length=1024)


# ----------------------------------------------------------------------- actions


async def _start_execution(service: ExecutionService, request: Request) -> dict[str, Any]:
    name = _string(request, "name", min_length=1, max_length=80)
    spans.mark("sfn.received", name)
    answer = await service.start_execution(
        _arn(request, "stateMachineArn"), _string(request, "input", max_length=262144), name
    )
    spans.mark("sfn.answered", name)
    return answer


async def _start_sync_execution(service: ExecutionService, request: Request) -> dict[str, Any]:
    arn = _arn(request, "stateMachineArn")
    machine_arn = arn.rsplit(":", 1)[0] if is_alias_arn(arn) else arn
    if service.describe_state_machine(machine_arn)["type"] != "EXPRESS":
        raise ServiceError(
            "StateMachineTypeNotSupported",
            "This operation is not supported by this type of state machine",
        )
    started = await service.start_execution(
        arn,
        _string(request, "input", max_length=262144),
        _string(request, "name", min_length=1, max_length=80),
        started_by="StartSyncExecution",
    )
    ended = await service.wait(started["executionArn"])
    answer: dict[str, Any] = {
        key: ended[key]
        for key in (
            "executionArn",
            "stateMachineArn",
            "name",
            "startDate",
            "stopDate",
            "status",
            "error",
            "cause",
            "input",
            "inputDetails",
            "output",
            "outputDetails",
        )
        if key in ended
    }
    # what AWS bills an Express execution: 64 MB at least, 100 ms at least
    milliseconds = (ended.get("stopDate", ended["startDate"]) - ended["startDate"]) * 1000
    answer["billingDetails"] = {
        "billedMemoryUsedInMB": 64,
        "billedDurationInMilliseconds": max(100, math.ceil(milliseconds)),
    }
    return answer


async def _describe_execution(service: ExecutionService, request: Request) -> dict[str, Any]:
    return service.describe_execution(_standard_execution_arn(request))


async def _get_execution_history(service: ExecutionService, request: Request) -> dict[str, Any]:
    return service.get_execution_history(
        _standard_execution_arn(request),
        max_results=_integer(request, "maxResults"),
        next_token=_token(request, "nextToken"),
        reverse_order=_boolean(request, "reverseOrder", False),
        include_execution_data=_boolean(request, "includeExecutionData", True),
    )


async def _list_executions(service: ExecutionService, request: Request) -> dict[str, Any]:
    if request.get("mapRunArn") is not None:
        raise validation_error(
            "mapRunArn", "Distributed Map runs are not supported by the local runtime"
        )
    return service.list_executions(
        _arn(request, "stateMachineArn"),
        status_filter=_string(request, "statusFilter", max_length=32),
        max_results=_integer(request, "maxResults"),
        next_token=_token(request, "nextToken"),
        redriven=redrive_filter(request),
    )


async def _stop_execution(service: ExecutionService, request: Request) -> dict[str, Any]:
    return await service.stop_execution(
        _standard_execution_arn(request),
        error=_string(request, "error", max_length=256),
        cause=_string(request, "cause", max_length=32768),
    )


async def _send_task_success(service: ExecutionService, request: Request) -> dict[str, Any]:
    return await service.send_task_success(
        _required(request, "taskToken"), _required(request, "output", max_length=262144)
    )


async def _send_task_failure(service: ExecutionService, request: Request) -> dict[str, Any]:
    return await service.send_task_failure(
        _required(request, "taskToken"),
        error=_string(request, "error", max_length=256),
        cause=_string(request, "cause", max_length=32768),
    )


async def _send_task_heartbeat(service: ExecutionService, request: Request) -> dict[str, Any]:
    return await service.send_task_heartbeat(_required(request, "taskToken"))


def _tags(request: Request, field: str = "tags") -> list[dict[str, str]]:
    tags = request.get(field) or []
    if not isinstance(tags, list) or not all(
        isinstance(t, dict) and isinstance(t.get("key"), str) and isinstance(t.get("value"), str)
        for t in tags
    ):
        raise validation_error(field, "Member must be a list of {key, value} strings")
    return tags


def _structure(request: Request, field: str) -> dict[str, Any] | None:
    value = request.get(field)
    if value is not None and not isinstance(value, dict):
        raise validation_error(field, "Member must be a structure", json.dumps(value))
    return value


async def _create_state_machine(service: ExecutionService, request: Request) -> dict[str, Any]:
    return await service.create_state_machine(
        _required(request, "name", max_length=80),
        _required(request, "definition", max_length=1048576),
        _arn(request, "roleArn"),
        _string(request, "type", max_length=16) or "STANDARD",
        tags=_tags(request),
        logging=_structure(request, "loggingConfiguration"),
        tracing=_structure(request, "tracingConfiguration"),
        publish=bool(request.get("publish")),
        version_description=_string(request, "versionDescription", max_length=256),
    )


async def _update_state_machine(service: ExecutionService, request: Request) -> dict[str, Any]:
    return await service.update_state_machine(
        _arn(request, "stateMachineArn"),
        definition=_string(request, "definition", max_length=1048576),
        role_arn=_string(request, "roleArn", max_length=256),
        logging=_structure(request, "loggingConfiguration"),
        tracing=_structure(request, "tracingConfiguration"),
        publish=bool(request.get("publish")),
        version_description=_string(request, "versionDescription", max_length=256),
    )


async def _publish_version(service: ExecutionService, request: Request) -> dict[str, Any]:
    return await service.publish_state_machine_version(
        _arn(request, "stateMachineArn"),
        revision_id=_string(request, "revisionId", max_length=256),
        description=_string(request, "description", max_length=256),
    )


async def _list_versions(service: ExecutionService, request: Request) -> dict[str, Any]:
    return service.list_state_machine_versions(
        _arn(request, "stateMachineArn"),
        max_results=_integer(request, "maxResults"),
        next_token=_token(request, "nextToken"),
    )


async def _delete_version(service: ExecutionService, request: Request) -> dict[str, Any]:
    return await service.delete_state_machine_version(_arn(request, "stateMachineVersionArn"))


async def _tag_resource(service: ExecutionService, request: Request) -> dict[str, Any]:
    return await service.tag_resource(_arn(request, "resourceArn"), _tags(request))


async def _untag_resource(service: ExecutionService, request: Request) -> dict[str, Any]:
    keys = request.get("tagKeys") or []
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise validation_error("tagKeys", "Member must be a list of strings")
    return await service.untag_resource(_arn(request, "resourceArn"), keys)


async def _list_tags(service: ExecutionService, request: Request) -> dict[str, Any]:
    return service.list_tags_for_resource(_arn(request, "resourceArn"))


async def _delete_state_machine(service: ExecutionService, request: Request) -> dict[str, Any]:
    return await service.delete_state_machine(_arn(request, "stateMachineArn"))


async def _describe_state_machine(service: ExecutionService, request: Request) -> dict[str, Any]:
    return service.describe_state_machine(_arn(request, "stateMachineArn"))


async def _list_state_machines(service: ExecutionService, request: Request) -> dict[str, Any]:
    return service.list_state_machines(
        max_results=_integer(request, "maxResults"), next_token=_token(request, "nextToken")
    )


async def _describe_state_machine_for_execution(
    service: ExecutionService, request: Request
) -> dict[str, Any]:
    return service.describe_state_machine_for_execution(_standard_execution_arn(request))


async def _validate_state_machine_definition(
    service: ExecutionService, request: Request
) -> dict[str, Any]:
    return service.validate_state_machine_definition(
        _required(request, "definition", max_length=1048576),
        type=_string(request, "type", max_length=16),
        severity=_string(request, "severity", max_length=16) or "ERROR",
        max_results=_integer(request, "maxResults"),
    )


ACTIONS: Final[dict[str, Action]] = {
    "StartExecution": _start_execution,
    "StartSyncExecution": _start_sync_execution,
    "DescribeExecution": _describe_execution,
    "GetExecutionHistory": _get_execution_history,
    "ListExecutions": _list_executions,
    "StopExecution": _stop_execution,
    "SendTaskSuccess": _send_task_success,
    "SendTaskFailure": _send_task_failure,
    "SendTaskHeartbeat": _send_task_heartbeat,
    "CreateStateMachine": _create_state_machine,
    "DeleteStateMachine": _delete_state_machine,
    "DescribeStateMachine": _describe_state_machine,
    "ListStateMachines": _list_state_machines,
    "DescribeStateMachineForExecution": _describe_state_machine_for_execution,
    "ValidateStateMachineDefinition": _validate_state_machine_definition,
    "UpdateStateMachine": _update_state_machine,
    "PublishStateMachineVersion": _publish_version,
    "ListStateMachineVersions": _list_versions,
    "DeleteStateMachineVersion": _delete_version,
    "TagResource": _tag_resource,
    "UntagResource": _untag_resource,
    "ListTagsForResource": _list_tags,
}
ACTIONS.update(ACTIVITY_ACTIONS)
ACTIONS.update(TEST_STATE_ACTIONS)
ACTIONS.update(ALIAS_ACTIONS)
ACTIONS.update(MAP_RUN_ACTIONS)
wrap_execution_actions(ACTIONS)
ACTIONS.update(REDRIVE_ACTIONS)


# ------------------------------------------------------------------------ server


def _answer(status: int, body: dict[str, Any], request_id: str) -> web.Response:
    return web.Response(
        status=status,
        body=json.dumps(body, ensure_ascii=False).encode(),
        headers={"Content-Type": CONTENT_TYPE, "x-amzn-RequestId": request_id},
    )


def _error(code: str, message: str, request_id: str, status: int = 400) -> web.Response:
    return _answer(status, {"__type": code, "message": message}, request_id)


async def _handle(request: web.Request) -> web.Response:
    request_id = str(uuid.uuid4())
    target = request.headers.get("X-Amz-Target", "")
    if not target.startswith(TARGET_PREFIX):
        shown = target or "no X-Amz-Target header"
        return _error(
            "UnknownOperationException",
            f"Unknown operation: {shown}; expected X-Amz-Target: AWSStepFunctions.<Action>",
            request_id,
        )
    name = target[len(TARGET_PREFIX) :]
    action = ACTIONS.get(name)
    if action is None:
        return _error(
            "UnknownOperationException",
            f"Unknown operation {name!r}; the local Step Functions endpoint supports: "
            + ", ".join(sorted(ACTIONS)),
            request_id,
        )
    raw = await request.read()
    try:
        body = json_text.loads(raw) if raw.strip() else {}
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        return _error(
            "SerializationException", f"The request body is not valid JSON: {error}", request_id
        )
    if not isinstance(body, dict):
        return _error(
            "SerializationException", "The request body must be a JSON object", request_id
        )
    service = request.app[SERVICE_KEY]
    try:
        answer = await action(service, body)
    except ServiceError as error:
        return _error(error.code, error.message, request_id, error.status)
    except StoreUnavailable as problem:
        unavailable_error = unavailable(problem)
        return _error(
            unavailable_error.code, unavailable_error.message, request_id, unavailable_error.status
        )
    except Exception as error:
        log.exception("%s failed", name)
        return _error(
            "InternalFailure", f"{name} failed: {type(error).__name__}: {error}", request_id, 500
        )
    return _answer(200, answer, request_id)


async def _hello(request: web.Request) -> web.Response:
    return web.json_response(
        {
            "service": "AWS Step Functions (workflows local runtime)",
            "protocol": "POST / with X-Amz-Target: AWSStepFunctions.<Action> (JSON 1.0)",
            "actions": sorted(ACTIONS),
        }
    )


def create_app(service: ExecutionService) -> web.Application:
    """The aiohttp application of the endpoint; serve it on the service's event loop."""
    app = web.Application(client_max_size=4 * 1024 * 1024)
    app[SERVICE_KEY] = service
    app.router.add_post("/", _handle)
    app.router.add_get("/", _hello)
    return app


async def start_server(
    service: ExecutionService,
    host: str = "127.0.0.1",
    port: int = 8083,
    *,
    sock: socket.socket | None = None,
) -> tuple[web.AppRunner, int]:
    """Serve ``create_app(service)`` on ``host:port`` (0: any free port) or on a bound
    ``sock``; returns the port. Stop it with ``await runner.cleanup()``.
    """
    runner = web.AppRunner(create_app(service), access_log=None)
    await runner.setup()
    site: web.BaseSite = (
        web.SockSite(runner, sock) if sock is not None else web.TCPSite(runner, host, port)
    )
    await site.start()
    addresses = runner.addresses
    bound = int(addresses[0][1]) if addresses else port
    return runner, bound
