"""`--report`'s file: one self-contained page, payloads only ever as text."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from workflows.console.report import ReportRun, report_run, write_report
from workflows.engine import StateMachine, VirtualClock

REPO = Path(__file__).resolve().parents[3]
XSS = "<img src=x onerror=alert(1)>"
MACHINE = {"StartAt": "Echo", "States": {"Echo": {"Type": "Pass", "End": True}}}


def echo_report(tmp_path: Path, name: str) -> tuple[ReportRun, str]:
    """The report of one run of MACHINE (as "Echoes") with XSS in its input, and its page."""
    result = StateMachine(MACHINE, name="Echoes").run(
        {"note": XSS}, clock=VirtualClock(), name=name
    )
    run = report_run(json.dumps(MACHINE), result)
    return run, write_report(tmp_path / "run.html", [run]).read_text()


def test_the_report_needs_no_server_and_escapes_payloads(tmp_path: Path) -> None:
    run, html = echo_report(tmp_path, "run-1")
    assert XSS not in html  # nowhere as markup: escaped in the page and in its JSON
    assert "\\u003cimg src=x onerror=alert(1)\\u003e" in html  # the data, as JSON escapes
    # nothing to fetch: no external script, style or link
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=", html)
    assert "ELK" in html
    assert "class ExecutionView" in html
    assert "run-1" in html
    assert "Echoes" in html
    assert run.execution["stateMachineArn"].endswith(":stateMachine:Echoes")


def test_workflows_run_writes_the_report_of_its_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from workflows.cli import main

    monkeypatch.chdir(REPO)
    report = tmp_path / "quote.html"
    result = CliRunner().invoke(
        main,
        ["run", "order_quote", "--input", "@examples/order_quote.json", "--name", "q-1",
         "--report", str(report)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert f"Report: {report}" in result.stdout
    html = report.read_text()
    assert html.count('<article class="report-execution"') == 1
    assert ":execution:order_quote:q-1" in html
    assert '"HoldQuote"' in html  # a state of the graph, in the page's data


def test_the_report_carries_its_layout_and_its_payloads_packed(tmp_path: Path) -> None:
    import base64
    import gzip

    _, html = echo_report(tmp_path, "run-2")
    holder = r'<script type="application/json" class="console-data">(.*?)</script>'
    found = re.search(holder, html, re.S)
    assert found is not None
    data = json.loads(found.group(1))
    laid_out = {child["id"] for child in data["layout"]["children"]}
    assert laid_out == {"__start__", "Echo", "__end__"}  # ELK ran here, not in the browser
    assert "org.eclipse.elk" not in html  # so ELK itself is not in the file
    packed = re.search(r'class="console-details" data-encoding="gzip\+base64">(.*?)</script>', html)
    assert packed is not None
    details = json.loads(gzip.decompress(base64.b64decode(packed.group(1))))
    assert [json.loads(v["input"]) for v in details["visits"]] == [{"note": XSS}]
    assert all(XSS not in json.dumps(v) for v in data["trace"]["visits"])
