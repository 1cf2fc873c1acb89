"""The activity operations of the local Step Functions endpoint.

CreateActivity, DescribeActivity, ListActivities, DeleteActivity and GetActivityTask,
over the engine's ``Activities`` of the running application: a Task state on an
activity ARN schedules work there, a worker takes it with GetActivityTask (a long
poll of up to 60 seconds, as on AWS) and answers with SendTaskSuccess/Failure/Heartbeat.
"""

from __future__ import annotations

import base64
import json
import re
import time
from typing import Any, Final

from workflows.engine.history import dumps
from workflows.local.executions import ExecutionService, ServiceError, committed, validation_error

__all__ = ["ACTIVITY_ACTIONS"]

# GetActivityTask holds the connection open this long when no work is waiting.
LONG_POLL_SECONDS: Final = 60.0
_NAME: Final = re.compile(r"^[^\s<>{}\[\]?*\"#%\\^|~`$&,;:/\x00-\x1f\x7f-\x9f]{1,80}$")

Request = dict[str, Any]


def _text(request: Request, field: str, *, max_length: int) -> str:
    value = request.get(field)
    if value is None:
        raise validation_error(field, "Member must not be null")
    if not isinstance(value, str):
        raise validation_error(field, "Member must be a string", json.dumps(value))
    if not 1 <= len(value) <= max_length:
        raise validation_error(
            field,
            f"Member must have length less than or equal to {max_length}"
            if value
            else "Member must have length greater than or equal to 1",
            value,
        )
    return value


def _tag_list(request: Request) -> list[dict[str, str]]:
    tags = request.get("tags") or []
    if not isinstance(tags, list) or not all(
        isinstance(t, dict) and isinstance(t.get("key"), str) and isinstance(t.get("value"), str)
        for t in tags
    ):
        raise validation_error("tags", "Member must be a list of {key, value} strings")
    return tags


def _activity_arn(service: ExecutionService, request: Request) -> str:
    arn = _text(request, "activityArn", max_length=256)
    parts = arn.split(":")
    if len(parts) != 7 or parts[:3] != ["arn", "aws", "states"] or parts[5] != "activity":
        raise ServiceError("InvalidArn", f"Invalid Arn: '{arn}'")
    if arn not in service.app.runner.activities.declared:
        raise ServiceError("ActivityDoesNotExist", f"Activity Does Not Exist: '{arn}'")
    return arn


async def _create_activity(service: ExecutionService, request: Request) -> dict[str, Any]:
    name = _text(request, "name", max_length=80)
    if not _NAME.match(name):
        raise ServiceError("InvalidName", f"Invalid Name: '{name}'")
    arn = f"arn:aws:states:{service.region}:{service.account}:activity:{name}"
    declared = service.app.runner.activities.declared
    tags = _tag_list(request)
    if arn not in declared:  # creating an existing activity returns it, as on AWS
        created = time.time()
        await committed(service.resources.put_activity(arn, name, created))  # kept on restart
        declared[arn] = (name, created)
        if tags:
            await service.tag_resource(arn, tags)
    return {"activityArn": arn, "creationDate": declared[arn][1]}


async def _describe_activity(service: ExecutionService, request: Request) -> dict[str, Any]:
    arn = _activity_arn(service, request)
    name, created = service.app.runner.activities.declared[arn]
    return {"activityArn": arn, "name": name, "creationDate": created}


async def _delete_activity(service: ExecutionService, request: Request) -> dict[str, Any]:
    arn = _text(request, "activityArn", max_length=256)
    if arn in service.app.runner.activities.declared:  # deleting is idempotent on AWS
        await committed(service.resources.delete_activity(arn))
        service.app.runner.activities.declared.pop(arn, None)
        service.activity_tags.pop(arn, None)
    return {}


def _page_token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"activities": offset}).encode()).decode()


def _offset(token: str) -> int:
    try:
        offset = json.loads(base64.urlsafe_b64decode(token.encode()))["activities"]
    except (ValueError, KeyError, TypeError):
        raise ServiceError("InvalidToken", f"Invalid Token: '{token}'") from None
    if not isinstance(offset, int) or offset < 0:
        raise ServiceError("InvalidToken", f"Invalid Token: '{token}'")
    return offset


async def _list_activities(service: ExecutionService, request: Request) -> dict[str, Any]:
    limit = request.get("maxResults") or 100
    if isinstance(limit, bool) or not isinstance(limit, int) or not 0 <= limit <= 1000:
        raise validation_error(
            "maxResults", "Member must have value less than or equal to 1000", limit
        )
    limit = limit or 100
    start = _offset(request["nextToken"]) if request.get("nextToken") else 0
    entries = sorted(service.app.runner.activities.declared.items(), key=lambda kv: kv[1][1])
    page = entries[start : start + limit]
    answer: dict[str, Any] = {
        "activities": [
            {"activityArn": arn, "name": name, "creationDate": created}
            for arn, (name, created) in page
        ]
    }
    if start + limit < len(entries):
        answer["nextToken"] = _page_token(start + limit)
    return answer


async def _get_activity_task(service: ExecutionService, request: Request) -> dict[str, Any]:
    arn = _activity_arn(service, request)
    worker = request.get("workerName")
    if worker is not None and (not isinstance(worker, str) or len(worker) > 80):
        raise validation_error(
            "workerName", "Member must have length less than or equal to 80", worker
        )
    work = await service.app.runner.activities.poll(arn, worker or "", LONG_POLL_SECONDS)
    if work is None:
        return {}
    token, data = work
    return {"taskToken": token, "input": dumps(data)}


ACTIVITY_ACTIONS: Final = {
    "CreateActivity": _create_activity,
    "DescribeActivity": _describe_activity,
    "DeleteActivity": _delete_activity,
    "ListActivities": _list_activities,
    "GetActivityTask": _get_activity_task,
}
