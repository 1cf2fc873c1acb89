"""``workflows run ... --report run.html``: one HTML file that shows a run without a server.

The file holds the console's execution page for every execution of the run (the
graph, the events, each state's input and output), with the page script, the
layout library and the styles inlined: it opens from disk, offline, anywhere a CI
artifact can be downloaded. It imports nothing of the runtime.
"""

from __future__ import annotations

import base64
import gzip
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import jinja2
from markupsafe import Markup

from workflows.console.layout import layouts
from workflows.console.views import details_of_view, execution_view, origin, page_view
from workflows.timeline import human
from workflows.trace import epoch

if TYPE_CHECKING:
    from workflows.engine.machine import ExecutionResult

__all__ = ["ReportRun", "render_report", "report_run", "write_report"]

HERE: Final = Path(__file__).parent
ELK: Final = "elk-0.12.1.bundled.js"


@dataclass(frozen=True)
class ReportRun:
    """One execution: its definition (ASL text), DescribeExecution's fields, its events."""

    definition: str
    execution: Mapping[str, Any]
    events: Sequence[Mapping[str, Any]]


def describe(
    execution_arn: str,
    *,
    status: str,
    input: Any,
    output: Any = None,
    error: str | None = None,
    cause: str | None = None,
    start_date: float,
    stop_date: float | None,
    started_by: str | None = None,
) -> dict[str, Any]:
    """DescribeExecution's answer for an execution that ran in this process."""
    parts = execution_arn.split(":")
    machine = ":".join([*parts[:5], "stateMachine", parts[6]]) if len(parts) >= 8 else ""
    described: dict[str, Any] = {
        "executionArn": execution_arn,
        "stateMachineArn": machine,
        "name": parts[-1],
        "status": status,
        "startDate": start_date,
        "input": json.dumps(input, ensure_ascii=False, default=str),
        "startedBy": started_by,
    }
    if stop_date is not None and status != "RUNNING":
        described["stopDate"] = stop_date
    if status == "SUCCEEDED":
        described["output"] = json.dumps(output, ensure_ascii=False, default=str)
    if error is not None:
        described["error"] = error
    if cause is not None:
        described["cause"] = cause
    return described


def report_run(
    definition: str, result: ExecutionResult, *, started_by: str | None = None
) -> ReportRun:
    """The report's run of an execution that ran in this process (`workflows run
    --report` and the testing plugin's failure reports)."""
    return ReportRun(
        definition,
        describe(
            result.execution_arn,
            status=result.status,
            input=result.input,
            output=result.output,
            error=result.error,
            cause=result.cause,
            start_date=result.start_date,
            stop_date=result.stop_date,
            started_by=started_by,
        ),
        result.history,
    )


def render_report(runs: Iterable[ReportRun]) -> str:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    environment.filters["when"] = _when
    environment.filters["took"] = lambda v: "" if v is None else human(float(v))
    environment.filters["arn"] = str
    environment.globals["origin"] = origin
    items = []
    for run in runs:
        view = execution_view(run.definition, run.execution, run.events)
        execution = view["execution"]
        start, stop = execution.get("startDate"), execution.get("stopDate")
        items.append(
            {
                "execution": execution,
                "machine_name": str(execution.get("stateMachineArn", "")).rsplit(":", 1)[-1],
                "duration": None if start is None or stop is None else stop - start,
                "data": {**page_view(view), "layout": layouts.layout(view["graph"])},
                "details": _packed(details_of_view(view)),
            }
        )
    unlaid = any(item["data"]["layout"] is None for item in items)
    static = HERE / "static"
    return environment.get_template("report.html").render(
        executions=items,
        execution=items[0]["execution"] if items else {"name": "no executions"},
        written=_when(datetime.now(UTC).timestamp()),
        css=_inline((static / "console.css").read_text()),
        # ELK itself only if a graph was not laid out here (mini-racer missing)
        elk=_inline((static / ELK).read_text()) if unlaid else "",
        elk_input=_inline((static / "elk-input.js").read_text()),
        script=_inline((static / "console.js").read_text()),
    )


def write_report(path: Path, runs: Iterable[ReportRun]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_report(runs), encoding="utf-8")
    return path


def _packed(details: Any) -> str:
    """The payloads the page reads when a state is opened: JSON, gzipped, in base64 (the
    page unpacks them with the browser's DecompressionStream); the file is a tenth of
    the size and the browser parses only the page's own data when it opens."""
    text = json.dumps(details, separators=(",", ":"), ensure_ascii=False, default=str)
    return base64.b64encode(gzip.compress(text.encode(), compresslevel=6, mtime=0)).decode()


def _inline(code: str) -> Markup:
    """Our own script or style, put inside a <script>/<style> element as it is.

    ``</`` is written ``<\\/`` so that no text in it can close the element early.
    """
    return Markup(code.replace("</", "<\\/"))  # our own files, never a payload


def _when(value: Any) -> str:
    if value is None:
        return ""
    return datetime.fromtimestamp(epoch(value), UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
