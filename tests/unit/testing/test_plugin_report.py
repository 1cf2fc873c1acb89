"""``--workflows-report-dir``: a failing test leaves the report of its executions behind."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

SUITE = """
from workflows.engine import StateMachine, VirtualClock

MACHINE = {
    "StartAt": "Total",
    "States": {"Total": {"Type": "Pass", "Result": 41, "ResultPath": "$.total", "End": True}},
}


def run(name):
    machine = StateMachine(MACHINE, name="Totals")
    return machine.run({"note": "<b>bold</b>"}, clock=VirtualClock(), name=name)


def test_the_total_is_42():
    assert run("wrong-total").output["total"] == 42


def test_the_total_is_41():
    assert run("right-total").output["total"] == 41


def test_a_failure_without_executions():
    assert False
"""


def test_a_failing_test_writes_the_report_of_the_executions_it_ran(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    pytester.makepyfile(test_totals=SUITE)
    folder = tmp_path / "reports"
    result = pytester.runpytest("--workflows-report-dir", str(folder))
    result.assert_outcomes(passed=1, failed=2)
    written = list(folder.glob("*.html"))
    assert len(written) == 1  # the passing test and the one without executions write none
    report = written[0]
    assert report.name.startswith("test_totals.py_test_the_total_is_42-")
    html = report.read_text()
    assert "wrong-total" in html
    assert "right-total" not in html  # only the failing test's own executions
    found = re.search(r'class="console-data">(.*?)</script>', html, re.S)
    assert found is not None
    data = json.loads(found.group(1))
    assert data["execution"]["stateMachineArn"].endswith(":stateMachine:Totals")
    assert json.loads(data["execution"]["output"]) == {"note": "<b>bold</b>", "total": 41}
    assert "<b>bold</b>" not in html  # a payload is never markup, here either
    result.stdout.fnmatch_lines(["*workflows report*", f"*to open in a browser: {report}*"])


def test_without_the_option_no_report_is_written(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_totals=SUITE)
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, failed=2)
    assert not list(pytester.path.rglob("*.html"))
    assert "workflows report" not in result.stdout.str()
