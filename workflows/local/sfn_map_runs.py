"""The map run operations of the local Step Functions endpoint.

ListMapRuns, DescribeMapRun and UpdateMapRun, and the child executions map runs
start: ListExecutions with ``mapRunArn``, and DescribeExecution and
GetExecutionHistory of a child's ARN (DescribeStateMachineForExecution too: the
ItemProcessor as its definition, with ``mapRunArn`` and ``label``); any other ARN goes on
to the endpoint's own handler for it, which these wrap (``wrap_execution_actions``).

Map runs and STANDARD children are in the execution store (``map_run_store.py``), so
they are answered after a restart of ``workflows up`` too; a running map run is
answered from the engine's ``MapRuns``, whose counts move as its children end.
"""

from __future__ import annotations

import json
from typing import Any, Final

from workflows.engine.map_runs import MapRun, MapRuns
from workflows.local.executions import (
    ExecutionService,
    ServiceError,
    committed,
    validation_error,
)
from workflows.local.map_run_store import map_run_of
from workflows.local.store import ChildRow

__all__ = [
    "MAP_RUN_ACTIONS",
    "describe_child",
    "find_child",
    "map_runs_of",
    "wrap_execution_actions",
]

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


def find_map_run(service: ExecutionService, arn: str) -> MapRun | None:
    """A map run: the running one in memory, else as stored."""
    run = _runs(service).get(arn)
    if run is not None:
        return run
    row = service.store.map_run(arn)
    return map_run_of(row) if row is not None else None


def map_runs_of(service: ExecutionService, execution_arn: str) -> list[MapRun]:
    """The map runs an execution started, oldest first (running ones as they are now)."""
    live = {run.arn: run for run in _runs(service).of_execution(execution_arn)}
    runs: list[MapRun] = []
    for row in service.store.map_runs_of(execution_arn):
        running = live.pop(row.arn, None)
        runs.append(running if running is not None else map_run_of(row))
    return runs + list(live.values())  # started, not yet committed


def _child_arn(arn: str) -> bool:
    """Whether ``arn`` may be a map run's child: their ARNs name ``<machine>/<label>``."""
    return ":execution:" in arn and "/" in arn.rpartition(":execution:")[2]


def find_child(service: ExecutionService, arn: str) -> ChildRow | None:
    """A STANDARD child execution of a map run, as stored."""
    if not _child_arn(arn):
        return None
    row = service.store.child(arn)
    return row if row is not None and row.type == "STANDARD" else None


def _map_run(service: ExecutionService, request: Request) -> MapRun:
    arn = _text(request, "mapRunArn")
    if ":mapRun:" not in arn:
        raise ServiceError("InvalidArn", f"Invalid Arn: '{arn}'")
    run = find_map_run(service, arn)
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
    runs = map_runs_of(service, execution_arn)
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
    if _runs(service).get(run.arn) is None:  # stored, not running here
        raise ServiceError(
            "ValidationException", f"Map Run is not running and cannot be updated: '{run.arn}'"
        )
    run.update(concurrency, count, None if percentage is None else float(percentage))
    return {}


def _redrive_fields(child: ChildRow) -> dict[str, Any]:
    fields: dict[str, Any] = {"redriveCount": child.redrive_count}
    if child.redrive_date is not None:
        fields["redriveDate"] = child.redrive_date
    return fields


def describe_child(child: ChildRow) -> dict[str, Any]:
    """DescribeExecution of a map run's child."""
    answer: dict[str, Any] = {
        "executionArn": child.arn,
        "stateMachineArn": child.state_machine_arn,
        "name": child.name,
        "status": child.status,
        "startDate": child.start_date,
    }
    if child.stop_date is not None:
        answer["stopDate"] = child.stop_date
    answer["input"] = child.input if child.input is not None else "{}"
    answer["inputDetails"] = {"included": True}
    if child.status == "SUCCEEDED" and child.output is not None:
        answer["output"] = child.output
        answer["outputDetails"] = {"included": True}
    if child.error is not None:
        answer["error"] = child.error
    if child.cause is not None:
        answer["cause"] = child.cause
    answer["mapRunArn"] = child.map_run_arn
    answer.update(_redrive_fields(child))
    # AWS: whether its map run can redrive it (by a redrive of the parent)
    if child.status in ("RUNNING", "SUCCEEDED"):
        answer["redriveStatus"] = "NOT_REDRIVABLE"
        answer["redriveStatusReason"] = f"Execution is {child.status} and cannot be redriven"
    else:
        answer["redriveStatus"] = "REDRIVABLE"
    return answer


async def _settled(service: ExecutionService) -> None:
    """Wait until what was written so far is committed: children are written as they
    start and end, and a caller that saw one start (an activity task) expects it listed."""
    await committed(service.store.barrier(), service.answer_timeout)


async def _list_children(service: ExecutionService, request: Request) -> dict[str, Any]:
    if request.get("stateMachineArn") is not None:
        raise validation_error(
            "stateMachineArn", "give either a stateMachineArn or a mapRunArn, not both"
        )
    run = _map_run(service, request)
    await _settled(service)
    status = request.get("statusFilter")
    limit = request.get("maxResults") or _PAGE
    if not isinstance(limit, int) or not 0 <= limit <= 1000:
        raise validation_error("maxResults", "Member must have value between 0 and 1000")
    token = request.get("nextToken")
    before: int | None = None
    if token is not None:
        try:
            before = int(str(token))
        except ValueError:
            raise ServiceError("InvalidToken", f"Invalid Token: '{token}'") from None
    # newest first, as AWS lists; EXPRESS children are not listed (AWS keeps none)
    rows = service.store.children(
        run.arn,
        type="STANDARD",
        status=status if isinstance(status, str) else None,
        before_seq=before,
        limit=limit + 1,
    )
    page = rows[:limit]
    answer: dict[str, Any] = {
        "executions": [
            {
                "executionArn": c.arn,
                "stateMachineArn": c.state_machine_arn,
                "mapRunArn": c.map_run_arn,
                "name": c.name,
                "status": c.status,
                "startDate": c.start_date,
                **({"stopDate": c.stop_date} if c.stop_date is not None else {}),
                **_redrive_fields(c),
            }
            for c in page
        ]
    }
    if len(rows) > limit:
        answer["nextToken"] = str(page[-1].seq)
    return answer


def wrap_execution_actions(actions: dict[str, Action]) -> None:
    """Make the endpoint's execution actions answer for map run children too."""
    describe = actions["DescribeExecution"]
    history = actions["GetExecutionHistory"]
    listing = actions["ListExecutions"]
    machine_for = actions["DescribeStateMachineForExecution"]

    async def describe_execution(service: ExecutionService, request: Request) -> Any:
        arn = str(request.get("executionArn"))
        if _child_arn(arn):
            await _settled(service)
            child = find_child(service, arn)
            if child is not None:
                return describe_child(child)
        return await describe(service, request)

    async def get_execution_history(service: ExecutionService, request: Request) -> Any:
        if _child_arn(str(request.get("executionArn"))):
            await _settled(service)
        return await history(service, request)

    async def list_executions(service: ExecutionService, request: Request) -> Any:
        if request.get("mapRunArn") is not None:
            return await _list_children(service, request)
        return await listing(service, request)

    async def describe_state_machine_for_execution(
        service: ExecutionService, request: Request
    ) -> Any:
        child = find_child(service, str(request.get("executionArn")))
        run = find_map_run(service, child.map_run_arn) if child is not None else None
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
