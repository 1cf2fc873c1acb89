"""`workflows up` as a process: one per state directory, busy ports, SIGTERM."""

from __future__ import annotations

import json
import signal
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.local.up_process import ROLE, UpProcess
from tests.ports import free_port

WAIT = {"StartAt": "Hold", "States": {"Hold": {"Type": "Wait", "Seconds": 3600, "End": True}}}
PASS = {"StartAt": "Echo", "States": {"Echo": {"Type": "Pass", "End": True}}}


@pytest.fixture
def up(tmp_path: Path) -> Iterator[UpProcess]:
    process = UpProcess(tmp_path / "state")
    try:
        process.wait_until_up()
        yield process
    finally:
        process.stop()


def test_a_second_instance_on_the_same_directory_names_the_first_and_exits(
    up: UpProcess,
) -> None:
    sfn = up.sfn()
    machine = sfn.create_state_machine(name="hold", definition=json.dumps(WAIT), roleArn=ROLE)
    held = sfn.start_execution(stateMachineArn=machine["stateMachineArn"], name="held")

    second = UpProcess(up.state_dir)
    code = second.wait()
    assert code != 0
    assert f"pid {up.process.pid}" in second.output
    assert "--state-dir" in second.output
    assert "Traceback" not in second.output
    described = sfn.describe_execution(executionArn=held["executionArn"])
    assert described["status"] == "RUNNING", "the second start did not touch the first's"


@pytest.mark.parametrize(("role", "flag"), [("api", "--api-port"), ("aws", "--aws-port")])
def test_a_busy_port_exits_at_once_naming_the_port_and_its_flag(
    tmp_path: Path, role: str, flag: str
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = int(taken.getsockname()[1])
        ports = {"api": free_port(), "sfn": free_port(), "aws": free_port(), role: busy}
        process = UpProcess(tmp_path / "state", ports=ports)
        code = process.wait(timeout=60)
    assert code != 0
    assert str(busy) in process.output
    assert flag in process.output
    assert "Traceback" not in process.output
    assert not (tmp_path / "state" / "executions.sqlite3").exists(), "nothing was touched"


def test_sigterm_stops_gracefully_and_keeps_what_was_acknowledged(up: UpProcess) -> None:
    sfn = up.sfn()
    machine = sfn.create_state_machine(name="echo", definition=json.dumps(PASS), roleArn=ROLE)
    started = sfn.start_execution(stateMachineArn=machine["stateMachineArn"], name="kept")
    up.signal(signal.SIGTERM)
    assert up.wait() == 0
    assert "stopped" in up.output
    assert "Traceback" not in up.output

    again = UpProcess(up.state_dir)
    try:
        again.wait_until_up()
        described = again.sfn().describe_execution(executionArn=started["executionArn"])
        assert described["name"] == "kept"
    finally:
        again.stop()
