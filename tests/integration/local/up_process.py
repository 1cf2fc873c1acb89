"""`workflows up` as a real subprocess, for the tests of what a process sees: kill -9,
SIGTERM, a second instance, a busy port."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Any

import boto3
from botocore.config import Config

from tests.ports import free_port

REPO = Path(__file__).resolve().parents[3]
TEMPLATE = REPO / "infra" / "sam" / "template.yaml"
ROLE = "arn:aws:iam::123456789012:role/StepFunctionsExecutionRole"


class UpProcess:
    """One `workflows up` on free ports, its state in ``state_dir``, output in a file."""

    def __init__(self, state_dir: Path, *extra: str, ports: dict[str, int] | None = None) -> None:
        self.state_dir = state_dir
        self.ports = {"console": free_port()}
        self.ports.update(ports or {"api": free_port(), "sfn": free_port(), "aws": free_port()})
        self.log_path = state_dir.parent / f"{state_dir.name}-up-{time.monotonic_ns()}.log"
        self._log: IO[bytes] = self.log_path.open("wb")
        environment = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "workflows.cli",
                "up",
                "--template",
                str(TEMPLATE),
                "--state-dir",
                str(state_dir),
                "--api-port",
                str(self.ports["api"]),
                "--stepfunctions-port",
                str(self.ports["sfn"]),
                "--aws-port",
                str(self.ports["aws"]),
                # on a free port too: the default 8084 may be another runtime's on this machine
                "--console-port",
                str(self.ports["console"]),
                *extra,
            ],
            cwd=REPO,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=environment,
        )

    @property
    def output(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace")

    def wait_until_up(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while "workflows is up" not in self.output:
            if self.process.poll() is not None:
                raise AssertionError(f"workflows up exited early:\n{self.output}")
            if time.monotonic() > deadline:
                raise AssertionError(f"workflows up did not come up:\n{self.output}")
            time.sleep(0.1)

    def sfn(self) -> Any:
        return boto3.client(
            "stepfunctions",
            endpoint_url=f"http://127.0.0.1:{self.ports['sfn']}",
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=Config(retries={"max_attempts": 1}, read_timeout=30),
        )

    def signal(self, number: signal.Signals) -> None:
        self.process.send_signal(number)

    def wait(self, timeout: float = 30.0) -> int:
        try:
            return self.process.wait(timeout)
        finally:
            self._log.close()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self._log.close()
