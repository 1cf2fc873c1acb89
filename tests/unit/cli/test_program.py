"""`workflows` as a program of its own ends as Python would: status, output, exit handlers.

``workflows.cli.program`` (the console script and ``python -m workflows.cli``) skips
the interpreter's teardown of the heap; these run it in fresh processes, output going
to a pipe, and check that nothing a user sees is lost.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from workflows.cli import _exit_status

MACHINE = {
    "StartAt": "Greet",
    "States": {
        "Greet": {
            "Type": "Task",
            "Resource": "arn:aws:lambda:us-east-1:123456789012:function:Greet",
            "End": True,
        }
    },
}

HANDLERS = """
import atexit, sys, threading, time

def _bye():
    sys.stdout.write("exit handler ran\\n")  # left in the buffer: flushing is the exit's

atexit.register(_bye)

def Greet(event, context):
    if event.get("fail"):
        raise ValueError("no greeting")
    if event.get("thread"):
        # a thread still running when the command is done: the ordinary exit waits for it
        threading.Thread(target=lambda: (time.sleep(0.2), print("thread done"))).start()
    return {"greeting": "hello " + event["name"]}
"""


def _run(tmp_path: Path, data: dict[str, object]) -> subprocess.CompletedProcess[str]:
    (tmp_path / "greet.asl.json").write_text(json.dumps(MACHINE))
    (tmp_path / "handlers.py").write_text(HANDLERS)
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "workflows.cli",
            "run",
            str(tmp_path / "greet.asl.json"),
            "--input",
            json.dumps(data),
            "--lambdas",
            str(tmp_path / "handlers.py"),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )


def test_a_run_that_succeeds_ends_with_its_output_and_exit_handlers(tmp_path: Path) -> None:
    done = _run(tmp_path, {"name": "Ada"})
    assert done.returncode == 0, done.stderr
    assert '"greeting": "hello Ada"' in done.stdout
    assert done.stdout.endswith("}\nexit handler ran\n")


def test_a_run_that_fails_ends_with_status_1_and_its_error(tmp_path: Path) -> None:
    done = _run(tmp_path, {"name": "Ada", "fail": True})
    assert done.returncode == 1
    assert "FAILED: ValueError" in done.stderr
    assert done.stdout.endswith("exit handler ran\n")


def test_a_thread_left_running_is_waited_for(tmp_path: Path) -> None:
    done = _run(tmp_path, {"name": "Ada", "thread": True})
    assert done.returncode == 0, done.stderr
    assert "thread done\n" in done.stdout
    assert done.stdout.endswith("exit handler ran\n")


@pytest.mark.parametrize(("code", "status"), [(None, 0), (0, 0), (2, 2), ("bad", 1)])
def test_exit_status_is_python_s(
    code: object, status: int, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _exit_status(code) == status
    assert capsys.readouterr().err == ("bad\n" if code == "bad" else "")


def test_other_commands_end_the_ordinary_way(tmp_path: Path) -> None:
    (tmp_path / "bad.asl.json").write_text('{"StartAt": "Nowhere", "States": {}}')
    done = subprocess.run(
        [sys.executable, "-m", "workflows.cli", "validate", str(tmp_path / "bad.asl.json")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert "bad.asl.json:1:24: ERROR" in done.stdout + done.stderr
