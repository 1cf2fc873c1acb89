"""What `workflows up` acknowledged is stored, even if the process is killed (kill -9)."""

from __future__ import annotations

import json
import signal
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore.exceptions import BotoCoreError, ClientError

from tests.integration.local.up_process import ROLE, UpProcess

PASS = {"StartAt": "Echo", "States": {"Echo": {"Type": "Pass", "End": True}}}


@pytest.fixture
def up(tmp_path: Path) -> Iterator[UpProcess]:
    process = UpProcess(tmp_path / "state")
    try:
        process.wait_until_up()
        yield process
    finally:
        process.stop()


def stored_executions(state_dir: Path) -> set[str]:
    with sqlite3.connect(state_dir / "executions.sqlite3") as db:
        return {arn for (arn,) in db.execute("SELECT arn FROM executions")}


def test_kill_9_during_a_stream_of_starts_loses_no_acknowledged_start(up: UpProcess) -> None:
    sfn = up.sfn()
    machine = sfn.create_state_machine(name="echo", definition=json.dumps(PASS), roleArn=ROLE)
    acknowledged: list[str] = []
    lock = threading.Lock()
    enough = threading.Event()

    def client(number: int) -> None:
        own = up.sfn()
        for index in range(10_000):
            try:
                started = own.start_execution(
                    stateMachineArn=machine["stateMachineArn"], name=f"c{number}-{index}"
                )
            except (BotoCoreError, ClientError):
                return  # the process is gone: this start was never acknowledged
            with lock:
                acknowledged.append(started["executionArn"])
                if len(acknowledged) >= 150:
                    enough.set()

    clients = [threading.Thread(target=client, args=(n,)) for n in range(8)]
    for thread in clients:
        thread.start()
    assert enough.wait(60), up.output
    up.signal(signal.SIGKILL)  # while the clients are still starting executions
    up.wait()
    for thread in clients:
        thread.join(30)
    with lock:
        answered = set(acknowledged)
    assert answered, "no start was acknowledged"
    assert answered <= stored_executions(up.state_dir)
