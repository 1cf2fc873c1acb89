"""The shell examples of README.md and docs/ run as a reader runs them (see tests/docs_blocks.py).

- A block without a marker (or with ``setup own handlers``) runs with bash in a
  scratch folder laid out like the repository, and must exit 0.
- ``with workflows up``: ``workflows up`` is started on free ports first, and the
  documented ports 3000 and 8083 in the block are replaced by them (``workflows
  token`` is given the API's port, which its issuer names).
- ``separate project``: a new project outside this repository, using the installed
  package only, holds the how-to's example test file; the block runs there.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.docs_blocks import REPO, Block, blocks
from tests.ports import free_port
from tests.unit.test_docs_examples import workspace

BIN = Path(sys.executable).parent
ALL = blocks()
RUNNABLE = [b for b in ALL if b.language == "sh" and b.kind in ("run", "setup")]
WITH_APP = [b for b in ALL if b.kind == "with workflows up"]
SEPARATE = [b for b in ALL if b.kind == "separate project"]

MACHINE = {
    "StartAt": "Call",
    "States": {
        "Call": {
            "Type": "Task",
            "Resource": "arn:aws:lambda:us-east-1:123456789012:function:MyFunction",
            "End": True,
        },
    },
}
HANDLERS = """
def MyFunction(event, context):
    return {"seen": event}
"""


def environment(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MAKE", "PYTEST"))}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env.update(extra)
    return env


def bash(
    code: str, cwd: Path, timeout: float = 300, **env: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-euo", "pipefail", "-c", code],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=environment(**env),
        check=False,
    )


def own_handlers(folder: Path) -> None:
    """``path/to/machine.asl.json`` and ``my_handlers(.py)`` that the examples name."""
    (folder / "path" / "to").mkdir(parents=True)
    (folder / "path" / "to" / "machine.asl.json").write_text(json.dumps(MACHINE))
    (folder / "my_handlers.py").write_text(HANDLERS)


@pytest.mark.parametrize("block", RUNNABLE, ids=lambda b: b.id)
def test_a_shell_example_runs(block: Block, tmp_path: Path) -> None:
    folder = workspace(tmp_path)
    if block.argument == "own handlers":
        own_handlers(folder)
    done = bash(block.code, folder)
    assert done.returncode == 0, (
        f"{block.id}\n{block.code}\n{done.stdout[-2000:]}{done.stderr[-3000:]}"
    )


@pytest.fixture
def workflows_up(tmp_path: Path) -> Iterator[tuple[Path, dict[str, int]]]:
    folder = workspace(tmp_path)
    ports = {name: free_port() for name in ("api", "stepfunctions", "aws", "console")}
    server = subprocess.Popen(
        [
            str(BIN / "workflows"),
            "up",  # keeps its state (and the token signing key) in ./.workflows
            *[f"--{name}-port={port}" for name, port in ports.items()],
        ],
        cwd=folder,
        env=environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while not _listening(ports["api"]) or not _listening(ports["stepfunctions"]):
            assert server.poll() is None, server.stdout.read() if server.stdout else ""
            assert time.monotonic() < deadline, "workflows up did not start within 120 s"
            time.sleep(0.2)
        yield folder, ports
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.parametrize("block", WITH_APP, ids=lambda b: b.id)
def test_a_shell_example_runs_against_workflows_up(
    block: Block, workflows_up: tuple[Path, dict[str, int]]
) -> None:
    folder, ports = workflows_up
    code = block.code.replace("workflows token", f"workflows token --api-port {ports['api']}")
    code = code.replace(
        "workflows env",
        f"workflows env --stepfunctions-port {ports['stepfunctions']} --aws-port {ports['aws']}",
    )
    code = code.replace("127.0.0.1:3000", f"127.0.0.1:{ports['api']}").replace(
        "127.0.0.1:8083", f"127.0.0.1:{ports['stepfunctions']}"
    )
    done = bash(
        code,
        folder,
        timeout=120,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1",
    )
    assert done.returncode == 0, f"{block.id}\n{code}\n{done.stdout[-2000:]}{done.stderr[-3000:]}"
    assert '"orderId"' in done.stdout, "the order was placed and read back"


EXAMPLE = REPO / "tests" / "examples" / "test_order_workflow.py"
EXAMPLE_TESTS = EXAMPLE.read_text().count("def test_")


def separate_project(folder: Path) -> Path:
    """A project of its own that installs this one: its definitions, the example test."""
    project = folder / "shop"
    shutil.copytree(REPO / "state_machines", project / "state_machines")
    (project / "examples").mkdir()
    shutil.copy(REPO / "examples" / "order.json", project / "examples" / "order.json")
    (project / "tests" / "fixtures" / "mocks").mkdir(parents=True)
    shutil.copy(
        REPO / "tests" / "fixtures" / "mocks" / "order_processing.json",
        project / "tests" / "fixtures" / "mocks",
    )
    (project / "tests" / "examples").mkdir()
    shutil.copy(
        REPO / "tests" / "examples" / "test_order_workflow.py", project / "tests" / "examples"
    )
    (project / "pyproject.toml").write_text(
        '[project]\nname = "shop"\nversion = "0"\n\n'
        '[tool.pytest.ini_options]\nasyncio_mode = "auto"\n'
        'asyncio_default_fixture_loop_scope = "function"\n'
    )
    return project


@pytest.mark.parametrize("block", SEPARATE, ids=lambda b: b.id)
def test_the_how_to_runs_from_a_separate_project(block: Block, tmp_path: Path) -> None:
    project = separate_project(tmp_path)
    done = bash(block.code, project)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]
    assert f"{EXAMPLE_TESTS} passed" in output, output[-4000:]
    report = json.loads((project / "cov" / "workflows.json").read_text())
    assert report["definitions"]["order_processing"]["executions"] >= EXAMPLE_TESTS
    assert str(REPO) not in (project / "cov" / "workflows.json").read_text()
    page = (project / "cov" / "html" / "index.html").read_text()
    assert page.count("<svg") == len(report["definitions"])


def test_a_separate_project_points_the_plugin_at_its_definitions(tmp_path: Path) -> None:
    """Definitions elsewhere than <rootdir>/state_machines: the ``workflows_root`` ini option."""
    project = separate_project(tmp_path)
    (project / "service").mkdir()
    (project / "state_machines").rename(project / "service" / "state_machines")
    with (project / "pyproject.toml").open("a") as config:
        config.write('workflows_root = "service"\n')
    done = bash("pytest -q -p no:cacheprovider --workflows-cov=service/state_machines", project)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]
    assert f"{EXAMPLE_TESTS} passed" in output
    assert "order_processing" in output
