"""The console in a real browser: Chromium from the system's packages, driven by Playwright.

Playwright's own browser download is not used (nor reachable from CI): the tests
launch ``/usr/bin/chromium`` (``WORKFLOWS_CHROMIUM`` to point elsewhere). Without it
they are skipped with the reason, and the run's summary says so in one line.

The application of infra/sam/template.yaml runs as ``workflows up`` runs it (LocalApp,
ExecutionService, the console) on an event loop in a thread of its own, against moto
in this process, while the test drives the browser from the main thread.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import os
import threading
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar, cast
from urllib.parse import quote

import pytest

from workflows.console.server import CONSOLE_KEY, Console, start_console
from workflows.engine.clock import RealClock
from workflows.local.app import LocalApp
from workflows.local.executions import ExecutionService
from workflows.local.run import fake_aws_environment
from workflows.local.store import ExecutionStore
from workflows.local.template import load_template

REPO = Path(__file__).resolve().parents[3]
CHROMIUM = Path(os.environ.get("WORKFLOWS_CHROMIUM", "/usr/bin/chromium"))
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = REPO / "build" / "e2e-console"  # screenshots (build/ is gitignored)
SKIP_REASON = (
    f"no Chromium at {CHROMIUM}: the console's browser tests are skipped "
    "(apt-get install -y chromium, or set WORKFLOWS_CHROMIUM)"
)
PREFIX = "arn:aws:states:us-east-1:123456789012"
ROLE = "arn:aws:iam::123456789012:role/StepFunctionsExecutionRole"

T = TypeVar("T")


def browser_missing() -> str | None:
    if not CHROMIUM.exists():
        return SKIP_REASON
    if not _importable("playwright"):
        return "Playwright is not installed (pip install -e '.[dev]')"
    return None


def _importable(name: str) -> bool:
    try:
        __import__(name)
    except ImportError:
        return False
    return True


def pytest_terminal_summary(terminalreporter: Any) -> None:
    reason = browser_missing()
    if reason is not None:
        terminalreporter.write_line(f"console browser tests SKIPPED: {reason}", yellow=True)


class ConsoleApp:
    """The application and its console on a loop in a thread; ``call`` runs work on it."""

    def __init__(self) -> None:
        from moto import mock_aws

        self._saved = dict(os.environ)
        os.environ.update(fake_aws_environment())
        os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
        os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
        for key in [k for k in os.environ if k.startswith("AWS_ENDPOINT_URL")]:
            del os.environ[key]
        self._moto = mock_aws()
        self._moto.start()
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()
        self.app = LocalApp(
            load_template(REPO / "infra" / "sam" / "template.yaml"),
            clock=RealClock(),
            keep_records=False,
        )
        os.environ.update(self.app.environment())
        self.app.provision()
        self.service = ExecutionService(self.app, ExecutionStore(":memory:"))
        self._runner, self.url = self.call(
            lambda: start_console(self.service, "127.0.0.1", 0), timeout=30
        )

    def call(self, work: Callable[[], Coroutine[Any, Any, T]], timeout: float = 60) -> T:
        return asyncio.run_coroutine_threadsafe(work(), self.loop).result(timeout)

    def do(self, action: Callable[[], T]) -> T:
        """Run a call of the service on its loop (it is not thread-safe); a call that
        returns an awaitable (the service's async operations) is awaited there."""

        async def run() -> T:
            result: Any = action()
            if inspect.isawaitable(result):
                result = await result
            return cast(T, result)

        return self.call(run)

    def start(self, machine: str, data: Any, name: str) -> str:
        arn = f"{PREFIX}:stateMachine:{machine}"
        started = self.do(lambda: self.service.start_execution(arn, json.dumps(data), name))
        return str(started["executionArn"])

    def create(self, name: str, definition: dict[str, Any]) -> str:
        return str(
            self.do(lambda: self.service.create_state_machine(name, json.dumps(definition), ROLE))[
                "stateMachineArn"
            ]
        )

    def wait(self, execution_arn: str) -> dict[str, Any]:
        return self.call(lambda: self.service.wait(execution_arn), timeout=120)

    @property
    def console(self) -> Console:
        """The console's own state (its layouts, kept views)."""
        return self._runner.app[CONSOLE_KEY]

    def page_of(self, execution_arn: str) -> str:
        return f"{self.url}/executions/{quote(execution_arn, safe='')}"

    def close(self) -> None:
        async def stop() -> None:
            await self._runner.cleanup()
            self.service.close()
            for task in list(self.app._background.tasks):
                task.cancel()

        try:
            self.call(stop, timeout=30)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(10)
            self._moto.stop()
            os.environ.clear()
            os.environ.update(self._saved)


@pytest.fixture(scope="module")
def console() -> Iterator[ConsoleApp]:
    reason = browser_missing()
    if reason is not None:
        pytest.skip(reason)
    running = ConsoleApp()
    try:
        yield running
    finally:
        running.close()


@pytest.fixture(scope="module")
def browser(console: ConsoleApp) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    tab = context.new_page()
    problems: list[str] = []
    tab.on("pageerror", lambda error: problems.append(str(error)))
    tab.on("dialog", lambda dialog: problems.append(f"dialog: {dialog.message}"))
    try:
        yield tab
    finally:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        tab.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
        context.close()
    assert problems == []  # no script error, and no alert() from a payload
