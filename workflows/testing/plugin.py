"""The pytest plugin: ``virtual_clock`` and ``workflows`` fixtures (see workflows.testing),
definition coverage (``--workflows-cov``) and, with ``--workflows-report-dir DIR``, the
console's self-contained HTML report of the executions a failing test ran."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Generator
from pathlib import Path

import pytest

from workflows.engine import StateMachine, VirtualClock
from workflows.engine.machine import (
    ExecutionResult,
    observe_child_executions,
    observe_executions,
)
from workflows.testing.coverage import Coverage
from workflows.testing.runner import WorkflowRunner


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        "workflows_root",
        "folder that holds state_machines/ (default: the pytest rootdir)",
        default="",
    )
    group = parser.getgroup("workflows-cov", "coverage of state machine definitions")
    group.addoption(
        "--workflows-cov",
        action="store",
        nargs="?",
        const="state_machines",
        default=None,
        metavar="DIR",
        help="report which states and transitions of DIR/*.asl.json the tests went through "
        "(default DIR: state_machines)",
    )
    group.addoption(
        "--workflows-cov-report",
        action="append",
        default=[],
        metavar="TYPE",
        help="term (default), json:PATH or html:DIR; repeatable",
    )
    group.addoption(
        "--workflows-cov-fail-under",
        type=float,
        default=None,
        metavar="N",
        help="fail the session when the total coverage is below N percent",
    )

    group = parser.getgroup("workflows-report", "a failing test's executions, to look at")
    group.addoption(
        "--workflows-report-dir",
        action="store",
        default=None,
        metavar="DIR",
        help="for each failing test that ran executions, write DIR/<test>.html: their graph, "
        "events and each state's input and output (as `workflows run --report`), one file "
        "that opens in a browser without a server",
    )


_COVERAGE = pytest.StashKey[Coverage]()


class FailureReports:
    """Keeps the executions that end during the current test; writes them if it fails."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.runs: list[tuple[StateMachine, ExecutionResult]] = []

    def observe(self, machine: StateMachine, result: ExecutionResult) -> None:
        self.runs.append((machine, result))

    def write(self, nodeid: str) -> Path:
        from workflows.console.report import report_run, write_report

        runs = [report_run(json.dumps(machine.definition), result) for machine, result in self.runs]
        return write_report(self.folder / report_name(nodeid), runs)


def report_name(nodeid: str) -> str:
    """A file name for a test: its id, readable, made safe, kept short and unique."""
    readable = re.sub(r"[^A-Za-z0-9_.-]+", "_", nodeid).strip("_")[:120]
    return f"{readable}-{hashlib.sha256(nodeid.encode()).hexdigest()[:8]}.html"


_REPORTS = pytest.StashKey[FailureReports]()


def pytest_configure(config: pytest.Config) -> None:
    reports = config.getoption("--workflows-report-dir", default=None)
    if reports:
        recorder = FailureReports(Path(reports).resolve())
        config.stash[_REPORTS] = recorder
        config.add_cleanup(observe_executions(recorder.observe))
    folder = config.getoption("--workflows-cov", default=None)
    if not folder:
        return
    path = Path(folder)
    if not path.is_absolute():
        path = Path(config.rootpath) / path
    coverage = Coverage(path)
    config.stash[_COVERAGE] = coverage
    config.add_cleanup(observe_executions(coverage.observe))
    config.add_cleanup(observe_child_executions(coverage.observe_child))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    config = terminalreporter.config
    coverage = config.stash.get(_COVERAGE, None)
    if coverage is None:
        return
    reports = config.getoption("--workflows-cov-report") or ["term"]
    for report in reports:
        kind, _, target = report.partition(":")
        if kind == "term":
            terminalreporter.section("workflow definition coverage")
            for line in coverage.table():
                terminalreporter.write_line(line)
        elif kind == "json":
            path = Path(target or "workflows-coverage.json")
            coverage.write_json(path)
            terminalreporter.write_line(f"workflow coverage JSON written to {path}")
        elif kind == "html":
            index = coverage.write_html(Path(target or "workflows-htmlcov"))
            terminalreporter.write_line(f"workflow coverage HTML written to {index}")
        else:
            terminalreporter.write_line(f"unknown --workflows-cov-report {report!r}")
    threshold = config.getoption("--workflows-cov-fail-under")
    if threshold is not None and coverage.percent < threshold:
        terminalreporter.write_line(
            f"FAIL: workflow coverage {coverage.percent:.1f}% is below {threshold}%", red=True
        )


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    coverage = session.config.stash.get(_COVERAGE, None)
    threshold = session.config.getoption("--workflows-cov-fail-under", default=None)
    if coverage is not None and threshold is not None and coverage.percent < threshold:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    recorder = item.config.stash.get(_REPORTS, None)
    if recorder is not None:
        recorder.runs.clear()  # each test's report holds its own executions


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    recorder = item.config.stash.get(_REPORTS, None)
    if recorder is not None and report.failed and recorder.runs:
        path = recorder.write(item.nodeid)
        count = len(recorder.runs)
        report.sections.append(
            ("workflows report", f"{count} execution(s) of this test, to open in a browser: {path}")
        )
    return report


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
