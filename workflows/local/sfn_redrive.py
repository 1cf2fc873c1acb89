"""RedriveExecution on the local Step Functions endpoint, and the redrive fields of
DescribeExecution and ListExecutions.

A FAILED, TIMED_OUT or ABORTED execution of a STANDARD machine that ended less than 14
days ago (and holds fewer than 24,999 events) continues from the states that did not
finish: an ``ExecutionRedriven`` event is appended, the execution is RUNNING again under
its own ARN, with the same input and definition, and runs on its stored history with
what failed left out (``History.resumed(..., redriven=True)``). Everything that had
finished is replayed, not performed again: Tasks that succeeded, Parallel branches and
Map iterations that ended; the failed states (and the branches a failure cut off) run
again from their start, with their Retry counters at 0; ``$$.Execution.RedriveCount``
is the number of redrives, and the machine's ``TimeoutSeconds`` counts from the redrive,
as on AWS. A Distributed Map whose map run failed redrives that map run: only its
children that did not succeed run again (``map_run_store.py``, decision 0008's addendum).
"""

from __future__ import annotations

import json
from collections import OrderedDict
from typing import TYPE_CHECKING, Any, Final
from weakref import WeakKeyDictionary

from workflows.engine.history import History
from workflows.local.executions import ServiceError, committed, validation_error
from workflows.local.resume import ReplayClock, stored_events
from workflows.local.store import ExecutionRow

if TYPE_CHECKING:
    from workflows.local.executions import ExecutionService

__all__ = ["REDRIVE_ACTIONS", "redrive_execution", "redrive_fields"]

Request = dict[str, Any]

REDRIVABLE_DAYS: Final = 14
MAX_EVENTS: Final = 24_999  # the redrive appends ExecutionRedriven and at least one more
_REDRIVABLE_STATUSES: Final = ("FAILED", "TIMED_OUT", "ABORTED")
_FILTERS: Final = ("REDRIVEN", "NOT_REDRIVEN")
# AWS answers the last 10 client tokens of an execution with the same redrive
_TOKENS_KEPT: Final = 10


def not_redrivable_reason(service: ExecutionService, row: ExecutionRow) -> str | None:
    """Why ``row`` cannot be redriven now (AWS's redriveStatusReason texts), or None."""
    if row.status in ("RUNNING", "SUCCEEDED"):
        return f"Execution is {row.status} and cannot be redriven"
    if row.status not in _REDRIVABLE_STATUSES:
        return f"Execution is {row.status} and cannot be redriven"
    entry = service.machine_of_execution(row)
    if entry is None:
        return "State machine is in DELETING status"
    if entry.type == "EXPRESS":
        return "Execution of an EXPRESS state machine cannot be redriven"
    stopped = row.stop_date if row.stop_date is not None else row.start_date
    if service.app.clock.now() - stopped > REDRIVABLE_DAYS * 86400:
        return "Execution redrivable period exceeded"
    last = service.store.events(row.arn, reverse=True, limit=1)
    if last and int(last[0]["id"]) >= MAX_EVENTS:
        return "Execution history event limit exceeded"
    return None


def redrive_fields(service: ExecutionService, row: ExecutionRow) -> dict[str, Any]:
    """DescribeExecution's redriveCount, redriveDate, redriveStatus, redriveStatusReason."""
    count, last = service.store.redrives([row.arn]).get(row.arn, (0, None))
    fields: dict[str, Any] = {"redriveCount": count}
    if last is not None:
        fields["redriveDate"] = last
    reason = not_redrivable_reason(service, row)
    fields["redriveStatus"] = "REDRIVABLE" if reason is None else "NOT_REDRIVABLE"
    if reason is not None:
        fields["redriveStatusReason"] = reason
    return fields


def list_item_fields(service: ExecutionService, items: list[dict[str, Any]]) -> None:
    """ListExecutions' redriveCount (and redriveDate once redriven), on each item."""
    redrives = service.store.redrives(item["executionArn"] for item in items)
    for item in items:
        count, last = redrives.get(item["executionArn"], (0, None))
        item["redriveCount"] = count
        if last is not None:
            item["redriveDate"] = last


def redrive_filter(request: Request) -> bool | None:
    """ListExecutions' ``redriveFilter``: True for REDRIVEN, False for NOT_REDRIVEN."""
    value = request.get("redriveFilter")
    if value is None:
        return None
    if value not in _FILTERS:
        raise validation_error(
            "redriveFilter",
            "Member must satisfy enum value set: [" + ", ".join(_FILTERS) + "]",
            value if isinstance(value, str) else json.dumps(value),
        )
    return bool(value == "REDRIVEN")


# per endpoint, per execution: the last client tokens and the redriveDate they got
_answered: WeakKeyDictionary[ExecutionService, dict[str, OrderedDict[str, float]]] = (
    WeakKeyDictionary()
)


async def redrive_execution(
    service: ExecutionService, execution_arn: str, client_token: str | None = None
) -> dict[str, Any]:
    """Continue a FAILED/TIMED_OUT/ABORTED execution from the states that did not finish."""
    row = service.execution_row(execution_arn)
    earlier = _answered.setdefault(service, {}).get(execution_arn, OrderedDict())
    if client_token is not None and client_token in earlier:
        return {"redriveDate": earlier[client_token]}
    reason = not_redrivable_reason(service, row)
    if reason is None and service.is_live(execution_arn):
        reason = "Execution is RUNNING and cannot be redriven"
    if reason is not None:
        raise ServiceError("ExecutionNotRedrivable", f"{reason}: '{execution_arn}'")
    entry = service.machine_of_execution(row)
    assert entry is not None  # checked by not_redrivable_reason
    service.reserve(execution_arn)  # a second redrive now finds it RUNNING
    try:
        events = stored_events(service.store, execution_arn)
        count = sum(event["type"] == "ExecutionRedriven" for event in events) + 1
        now = service.app.clock.now()
        redriven = {
            "timestamp": now,
            "type": "ExecutionRedriven",
            "id": len(events) + 1,
            "previousEventId": len(events),
            "executionRedrivenEventDetails": {"redriveCount": count},
        }
        await committed(service.store.reopen(execution_arn, redriven), service.answer_timeout)
    except BaseException:
        service.release(execution_arn)
        raise
    history = History.resumed([*events, redriven], redriven=True)
    assert history.replay is not None
    history.replay.redriven_at = now
    clock = ReplayClock(service.app.execution_clock, history.replay)
    service.run_again(row, entry, history, clock)
    if client_token is not None:
        earlier[client_token] = now
        while len(earlier) > _TOKENS_KEPT:
            earlier.popitem(last=False)
        _answered[service][execution_arn] = earlier
    return {"redriveDate": now}


async def _redrive(service: ExecutionService, request: Request) -> dict[str, Any]:
    arn = request.get("executionArn")
    if arn is None:
        raise validation_error("executionArn", "Member must not be null")
    if not isinstance(arn, str):
        raise validation_error("executionArn", "Member must be a string", json.dumps(arn))
    if len(arn) > 2048:
        raise validation_error(
            "executionArn", "Member must have length less than or equal to 2048", arn[:64]
        )
    token = request.get("clientToken")
    if token is not None and (not isinstance(token, str) or not 1 <= len(token) <= 64):
        raise validation_error(
            "clientToken",
            "Member must have length less than or equal to 64",
            token if isinstance(token, str) else json.dumps(token),
        )
    return await redrive_execution(service, arn, token)


REDRIVE_ACTIONS: Final = {"RedriveExecution": _redrive}
