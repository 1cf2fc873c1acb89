"""moto runs in a child process of `workflows up` (workflows/local/aws_services.py): it
dies with the runtime, even a killed one, and the runtime stops when it dies."""

from __future__ import annotations

import json
import os
import signal
import time
import urllib.request
from pathlib import Path

from tests.integration.local.up_process import UpProcess


def services_pid(up: UpProcess) -> int:
    url = f"http://127.0.0.1:{up.ports['aws']}/_workflows/services/stats"
    with urllib.request.urlopen(url, timeout=10) as answer:
        pid = int(json.loads(answer.read())["pid"])
    assert pid != up.process.pid  # not the runtime's own process
    return pid


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"  # a zombie has ended


def test_kill_9_of_the_runtime_ends_its_aws_services_process(tmp_path: Path) -> None:
    up = UpProcess(tmp_path / "state")
    try:
        up.wait_until_up()
        pid = services_pid(up)
        up.signal(signal.SIGKILL)
        up.wait()
        deadline = time.monotonic() + 10
        while alive(pid):
            assert time.monotonic() < deadline, f"moto's process {pid} outlived its runtime"
            time.sleep(0.05)
    finally:
        up.stop()


def test_the_runtime_stops_with_a_message_when_its_aws_services_process_dies(
    tmp_path: Path,
) -> None:
    up = UpProcess(tmp_path / "state")
    try:
        up.wait_until_up()
        os.kill(services_pid(up), signal.SIGKILL)
        code = up.wait(60)
        assert code != 0
        assert "local AWS services (moto" in up.output
        assert "stopped unexpectedly" in up.output
    finally:
        up.stop()


def test_a_graceful_stop_ends_the_aws_services_process_and_keeps_a_snapshot(
    tmp_path: Path,
) -> None:
    up = UpProcess(tmp_path / "state")
    try:
        up.wait_until_up()
        pid = services_pid(up)
        up.signal(signal.SIGTERM)
        assert up.wait(60) == 0, up.output
        assert not alive(pid)
        assert (tmp_path / "state" / "services.json").exists()
    finally:
        up.stop()


def test_the_control_channel_shows_a_queue_without_receiving_from_it(tmp_path: Path) -> None:
    from tests.integration.local.test_up_service_data import aws

    up = UpProcess(tmp_path / "state")
    try:
        up.wait_until_up()
        sqs = aws(up, "sqs")
        url = sqs.get_queue_url(QueueName="EventsDeadLetterQueue")["QueueUrl"]
        sent = sqs.send_message(QueueUrl=url, MessageBody="looked at, not received")
        peek = (
            f"http://127.0.0.1:{up.ports['aws']}/_workflows/services/peek"
            "?queue=EventsDeadLetterQueue"
        )
        for _ in range(2):  # looking twice: still there, never received
            with urllib.request.urlopen(peek, timeout=10) as answer:
                shown = json.loads(answer.read())
            assert [(m["id"], m["body"], m["receives"]) for m in shown] == [
                (sent["MessageId"], "looked at, not received", 0)
            ]
    finally:
        up.stop()
