"""Restarts resume: a RUNNING execution continues after `workflows up` stops and starts.

Not built yet: docs/decisions/0007-resume-by-replaying-history.md is the design. These
tests say what a user would see and fail today (the execution is ABORTED at restart).
"""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from tests.integration.local.up_process import ROLE, UpProcess

NOT_BUILT = pytest.mark.xfail(
    reason="resume by replaying history is designed (docs/decisions/0006), not built",
    strict=True,
)

WAIT = {
    "StartAt": "Hold",
    "States": {
        "Hold": {"Type": "Wait", "Seconds": 4, "Next": "Done"},
        "Done": {"Type": "Pass", "Result": "done", "End": True},
    },
}


def restarted(up: UpProcess) -> UpProcess:
    up.signal(signal.SIGTERM)
    assert up.wait() == 0, up.output
    again = UpProcess(up.state_dir)
    again.wait_until_up()
    return again


def ended(sfn: Any, arn: str, seconds: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while True:
        described: dict[str, Any] = sfn.describe_execution(executionArn=arn)
        if described["status"] != "RUNNING" or time.monotonic() > deadline:
            return described
        time.sleep(0.2)



def test_a_wait_keeps_its_deadline_across_a_restart(tmp_path: Path) -> None:
    up = UpProcess(tmp_path / "state")
    again: UpProcess | None = None
    try:
        up.wait_until_up()
        sfn = up.sfn()
        machine = sfn.create_state_machine(name="hold", definition=json.dumps(WAIT), roleArn=ROLE)
        started = sfn.start_execution(stateMachineArn=machine["stateMachineArn"], name="held")
        again = restarted(up)
        done = ended(again.sfn(), started["executionArn"])
        assert done["status"] == "SUCCEEDED"
        assert json.loads(done["output"]) == "done"
        # the deadline is the original one, not a new full wait after the restart
        waited = done["stopDate"] - done["startDate"]
        assert waited.total_seconds() < 4 + 30
        history = again.sfn().get_execution_history(executionArn=started["executionArn"])
        kinds = [event["type"] for event in history["events"]]
        assert kinds.count("WaitStateEntered") == 1, "nothing is recorded twice"
        assert "ExecutionAborted" not in kinds
    finally:
        up.stop()
        if again is not None:
            again.stop()
