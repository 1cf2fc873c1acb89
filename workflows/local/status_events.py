"""The "Step Functions Execution Status Change" events AWS puts on the default bus.

Every status change of a STANDARD execution (RUNNING, then SUCCEEDED, FAILED,
TIMED_OUT or ABORTED) is an EventBridge event with source ``aws.states``, the
execution's ARN in ``resources`` and a ``detail`` shaped as AWS documents it (dates in
epoch milliseconds, ``input``/``output`` as JSON text, ``null`` where there is no
value). Express executions send none, as on AWS. ``ExecutionService`` hands each one to
``LocalApp.publish``, so the template's rules on them fire.
"""

from __future__ import annotations

from typing import Any, Final

__all__ = ["DETAIL_TYPE", "SOURCE", "status_change_entry"]

DETAIL_TYPE: Final = "Step Functions Execution Status Change"
SOURCE: Final = "aws.states"


def _millis(seconds: float | None) -> int | None:
    return None if seconds is None else round(seconds * 1000)


def status_change_entry(
    *,
    execution_arn: str,
    state_machine_arn: str,
    status: str,
    input: str | None,
    start_date: float,
    stop_date: float | None = None,
    output: str | None = None,
    error: str | None = None,
    cause: str | None = None,
) -> dict[str, Any]:
    """A PutEvents entry (``Source``, ``DetailType``, ``Resources``, ``Detail``) for one
    status change of a STANDARD execution."""
    running = status == "RUNNING"
    succeeded = status == "SUCCEEDED"
    detail = {
        "executionArn": execution_arn,
        "stateMachineArn": state_machine_arn,
        "name": execution_arn.split(":")[7],
        "status": status,
        "startDate": _millis(start_date),
        "stopDate": None if running else _millis(stop_date),
        "input": input,
        "output": output if succeeded else None,
        "inputDetails": {"included": input is not None},
        "outputDetails": {"included": True} if succeeded else None,
        "error": error,
        "cause": cause,
        "redriveCount": 0,
        "redriveDate": None,
        "redriveStatus": "NOT_REDRIVABLE" if running or succeeded else "REDRIVABLE",
        "redriveStatusReason": f"Execution is {status} and cannot be redriven"
        if running or succeeded
        else None,
    }
    return {
        "Source": SOURCE,
        "DetailType": DETAIL_TYPE,
        "Resources": [execution_arn],
        "Detail": detail,
        "EventBusName": "default",
    }
