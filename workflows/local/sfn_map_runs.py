"""The map run operations of the local Step Functions endpoint.

ListMapRuns, DescribeMapRun and UpdateMapRun over the engine's ``MapRuns`` (every
Distributed Map run of the running application), and the child executions those
runs start: ListExecutions with ``mapRunArn``, and DescribeExecution and
GetExecutionHistory of a child's ARN. A STANDARD child is answered from the map
run (DescribeStateMachineForExecution too: the ItemProcessor as its definition, with
``mapRunArn`` and ``label``); any other ARN goes on to the endpoint's own handler for it,
which these wrap (``wrap_execution_actions``). Map runs live in memory: they are not in the
execution store, so a restart of ``workflows up`` forgets them.
"""

from __future__ import annotations

import json
from typing import Any, Final

from workflows.engine.history import dumps
from workflows.engine.map_runs import ChildExecution, MapRun, MapRuns
from workflows.local.executions import ExecutionService, ServiceError, validation_error

__all__ = ["MAP_RUN_ACTIONS", "child_events", "describe_child", "wrap_execution_actions"]

Request = dict[str, Any]
Action = Any  # the endpoint's action signature (service, request) -> awaitable answer

_PAGE: Final = 100


def _runs(service: ExecutionService) -> MapRuns:
    return service.app.runner.map_runs


def _text(request: Request, field: str) -> str:
    value = request.get(field)
    if value is None:
        raise validation_error(field, "Member must not be null")
    if not isinstance(value, str) or not value:
        raise validation_error(field, "Member must be a non-empty string", json.dumps(value))
    return value


def _map_run(service: ExecutionService, request: Request) -> MapRun:
    arn = _text(request, "mapRunArn")
    if ":mapRun:" not in arn:
        raise ServiceError("InvalidArn", f"Invalid Arn: '{arn}'")
    run = _runs(service).get(arn)
    if run is None:
        raise ServiceError("ResourceNotFound", f"Map Run Does Not Exist: '{arn}'")
    return run


def _page(items: list[Any], request: Request) -> tuple[list[Any], str | None]:
    limit = request.get("maxResults") or _PAGE
    if not isinstance(limit, int) or not 0 <= limit <= 1000:
        raise validation_error("maxResults", "Member must have value between 0 and 1000")
    token = request.get("nextToken")
    start = 0
    if token is not None:
        try:
            start = int(str(token))
        except ValueError:
            raise ServiceError("InvalidToken", f"Invalid Token: '{token}'") from None
    page = items[start : start + (limit or _PAGE)]
    following = start + len(page)
    return page, (str(following) if following < len(items) else None)


async def _list_map_runs(service: ExecutionService, request: Request) -> dict[str, Any]:
    execution_arn = _text(request, "executionArn")
    service.describe_execution(execution_arn)  # ExecutionDoesNotExist as AWS answers it
    runs = _runs(service).of_execution(execution_arn)
    page, token = _page(runs, request)
    answer: dict[str, Any] = {
        "mapRuns": [
            {
                "executionArn": run.execution_arn,
                "mapRunArn": run.arn,
                "stateMachineArn": run.state_machine_arn,
                "startDate": run.start_date,
                **({"stopDate": run.stop_date} if run.stop_date is not None else {}),
            }
            for run in page
        ]
    }
    if token is not None:
        answer["nextToken"] = token
    return answer


async def _describe_map_run(service: ExecutionService, request: Request) -> dict[str, Any]:
    run = _map_run(service, request)
    return _runs(service).describe(run)


async def _update_map_run(service: ExecutionService, request: Request) -> dict[str, Any]:
    run = _map_run(service, request)
    concurrency = request.get("maxConcurrency")
    count = request.get("toleratedFailureCount")
    percentage = request.get("toleratedFailurePercentage")
    if concurrency is None and count is None and percentage is None:
        raise validation_error(
            "maxConcurrency",
            "at least one of maxConcurrency, toleratedFailureCount and "
            "toleratedFailurePercentage must be given",
        )
    if concurrency is not None and (not isinstance(concurrency, int) or concurrency < 0):
        raise validation_error(
            "maxConcurrency", "Member must have value greater than or equal to 0", str(concurrency)
        )
    if count is not None and (not isinstance(count, int) or count < 0):
        raise validation_error(
            "toleratedFailureCount",
            "Member must have value greater than or equal to 0",
            str(count),
        )
    if percentage is not None and (
        not isinstance(percentage, int | float) or not 0 <= percentage <= 100
    ):
        raise validation_error(
            "toleratedFailurePercentage",
            "Member must have value between 0 and 100",
            str(percentage),
        )
    if run.status != "RUNNING":
        raise ServiceError(
            "ValidationException", f"Map Run is not running and cannot be updated: '{run.arn}'"
        )
    run.update(concurrency, count, None if percentage is None else float(percentage))
    return {}


def describe_child(child: ChildExecution) -> dict[str, Any]:
    """DescribeExecution of a map run's child."""
    result = child.result
    answer: dict[str, Any] = {
        "executionArn": child.arn,
        "stateMachineArn": child.state_machine_arn,
        "name": child.name,
        "status": child.status,
        "startDate": child.start_date,
    }
    if result is not None:
        answer["stopDate"] = result.stop_date
    answer["input"] = dumps(child.input)
    answer["inputDetails"] = {"included": True}
    if result is not None and result.status == "SUCCEEDED":
        answer["output"] = dumps(result.output)
        answer["outputDetails"] = {"included": True}
    if result is not None and result.error is not None:
        answer["error"] = result.error
    if result is not None and result.cause is not None:
        answer["cause"] = result.cause
    answer["mapRunArn"] = child.map_run_arn
    answer["redriveCount"] = 0
    return answer


def _list_children(service: ExecutionService, request: Request) -> dict[str, Any]:
    if request.get("stateMachineArn") is not None:
        raise validation_error(
            "stateMachineArn", "give either a stateMachineArn or a mapRunArn, not both"
        )
    run = _map_run(service, request)
    status = request.get("statusFilter")
    children = [c for c in run.children.values() if status is None or c.status == status]
    children.sort(key=lambda c: c.start_date, reverse=True)  # newest first, as AWS lists
    page, token = _page(children, request)
    answer: dict[str, Any] = {
        "executions": [
            {
                "executionArn": c.arn,
                "stateMachineArn": c.state_machine_arn,
                "mapRunArn": c.map_run_arn,
                "name": c.name,
                "status": c.status,
                "startDate": c.start_date,
                **({"stopDate": c.result.stop_date} if c.result is not None else {}),
                "redriveCount": 0,
            }
            for c in page
        ]
    }
    if token is not None:
        answer["nextToken"] = token
    return answer


def child_events(child: ChildExecution) -> list[dict[str, Any]]:
    """A child's history events as GetExecutionHistory answers them (epoch timestamps)."""
    events = []
    for event in child.history:
        event["timestamp"] = event["timestamp"].timestamp()
        events.append(event)
    return events


def _child_history(child: ChildExecution, request: Request) -> dict[str, Any]:
    events = child_events(child)
    if request.get("reverseOrder"):
        events.reverse()
    if request.get("includeExecutionData") is False:
        for event in events:
            for key, details in event.items():
                if key.endswith("EventDetails") and isinstance(details, dict):
                    for field in ("input", "output", "inputDetails", "outputDetails"):
                        details.pop(field, None)
    page, token = _page(events, request)
    answer: dict[str, Any] = {"events": page}
    if token is not None:
        answer["nextToken"] = token
    return answer


def wrap_execution_actions(actions: dict[str, Action]) -> None:
    """Make the endpoint's execution actions answer for map run children too."""
    describe = actions["DescribeExecution"]
    history = actions["GetExecutionHistory"]
    listing = actions["ListExecutions"]
    machine_for = actions["DescribeStateMachineForExecution"]

    async def describe_execution(service: ExecutionService, request: Request) -> Any:
        child = _runs(service).child(str(request.get("executionArn")))
        if child is not None:
            return describe_child(child)
        return await describe(service, request)

    async def get_execution_history(service: ExecutionService, request: Request) -> Any:
        child = _runs(service).child(str(request.get("executionArn")))
        if child is not None:
            return _child_history(child, request)
        return await history(service, request)

    async def list_executions(service: ExecutionService, request: Request) -> Any:
        if request.get("mapRunArn") is not None:
            return _list_children(service, request)
        return await listing(service, request)

    async def describe_state_machine_for_execution(
        service: ExecutionService, request: Request
    ) -> Any:
        runs = _runs(service)
        child = runs.child(str(request.get("executionArn")))
        run = runs.get(child.map_run_arn) if child is not None else None
        if child is None or run is None:
            return await machine_for(service, request)
        parent = await machine_for(service, {"executionArn": run.execution_arn})
        return {
            **parent,
            "stateMachineArn": child.state_machine_arn,
            "name": child.state_machine_arn.rpartition(":")[2],
            "definition": run.definition,
            "mapRunArn": run.arn,
            "label": run.label,
        }

    actions["DescribeExecution"] = describe_execution
    actions["DescribeStateMachineForExecution"] = describe_state_machine_for_execution
    actions["GetExecutionHistory"] = get_execution_history
    actions["ListExecutions"] = list_executions


MAP_RUN_ACTIONS: Final[dict[str, Action]] = {
    "ListMapRuns": _list_map_runs,
    "DescribeMapRun": _describe_map_run,
    "UpdateMapRun": _update_map_run,
}
