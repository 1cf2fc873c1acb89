"""`--report`'s file: one self-contained page, payloads only ever as text."""

from __future__ import annotations

import json
import re
from pathlib import Path

from workflows.console.report import ReportRun, describe, write_report
from workflows.engine import StateMachine, VirtualClock

XSS = "<img src=x onerror=alert(1)>"
MACHINE = {"StartAt": "Echo", "States": {"Echo": {"Type": "Pass", "End": True}}}


def test_the_report_needs_no_server_and_escapes_payloads(tmp_path: Path) -> None:
    machine = StateMachine(MACHINE, name="Echoes")
    result = machine.run({"note": XSS}, clock=VirtualClock(), name="run-1")
    described = describe(
        result.execution_arn,
        status=result.status,
        input=result.input,
        output=result.output,
        start_date=result.start_date,
        stop_date=result.stop_date,
    )
    path = write_report(
        tmp_path / "run.html", [ReportRun(json.dumps(MACHINE), described, result.history)]
    )
    html = path.read_text()
    assert XSS not in html  # nowhere as markup: escaped in the page and in its JSON
    assert "\\u003cimg src=x onerror=alert(1)\\u003e" in html  # the data, as JSON escapes
    # nothing to fetch: no external script, style or link
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=", html)
    assert "ELK" in html
    assert "class ExecutionView" in html
    assert "run-1" in html
    assert "Echoes" in html
    assert described["stateMachineArn"].endswith(":stateMachine:Echoes")
