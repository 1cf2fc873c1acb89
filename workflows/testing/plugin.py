"""The pytest plugin: ``virtual_clock`` and ``workflows`` fixtures (see workflows.testing)."""

from __future__ import annotations

from pathlib import Path

import pytest

from workflows.engine import VirtualClock
from workflows.testing.runner import WorkflowRunner


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        "workflows_root",
        "folder that holds state_machines/ (default: the pytest rootdir)",
        default="",
    )


@pytest.fixture
def virtual_clock() -> VirtualClock:
    """A clock on which waits, back-off and timeouts take no real time."""
    return VirtualClock()


@pytest.fixture
def workflows(request: pytest.FixtureRequest, virtual_clock: VirtualClock) -> WorkflowRunner:
    """Runs the project's state machines with mocks and lambdas, on ``virtual_clock``."""
    configured = str(request.config.getini("workflows_root") or "")
    root = Path(configured) if configured else Path(request.config.rootpath)
    return WorkflowRunner(root, virtual_clock)
