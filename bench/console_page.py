"""How long the console takes to open a big execution in a real browser (issue #10).

    python -m bench.console_page                 # 200 states, a 1,300-item Map (10,794 events)
    python -m bench.console_page --items 300     # a smaller execution of the same definition
    python -m bench.console_page --opens 5       # more opens of each page

It builds a definition of 200 states (a Choice, a Parallel of four branches, a Map
with a Catch and a Retry among them), runs one execution of it through the console's
own ``ExecutionService`` (the local runtime's, over moto), serves the console as
``workflows up`` does and opens the execution page in Chromium (Debian's, as the
browser tests use it), then opens the same execution as a ``--report`` file.

For each open it prints what the page script marks with ``performance.mark``:
``console:graph`` (the graph drawn and coloured) and ``console:events`` (the events
table filled), measured from the start of the navigation, and the page's size. The
first open of each page is the first request the console gets for it (nothing read
or kept before, in the server or the browser); later opens are in the same browser
context. Figures go in docs/benchmarks.md. The target (under 1 s to the graph) is reported here,
never asserted in a test.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("WORKFLOWS_CHROMIUM", "/usr/bin/chromium")
ROLE = "arn:aws:iam::123456789012:role/StepFunctionsExecutionRole"
TARGET_S = 1.0

T = TypeVar("T")


def big_definition(states: int = 200) -> dict[str, Any]:
    """A definition of exactly ``states`` states, shaped like a large real workflow."""
    inner: dict[str, Any] = {
        "Check": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.n", "NumericGreaterThan": 1_000_000, "Next": "TooBig"}],
            "Default": "Price",
        },
        "TooBig": {"Type": "Fail", "Error": "TooBig", "Cause": "an item over a million"},
        "Price": {"Type": "Pass", "Result": 1, "ResultPath": "$.price", "Next": "Tax"},
        "Tax": {"Type": "Pass", "Result": 0.2, "ResultPath": "$.tax", "End": True},
    }
    branches = []
    per_branch = 25
    for b in range(4):
        names = [f"B{b}Step{i:02d}" for i in range(per_branch)]
        branch = {name: {"Type": "Pass", "Next": names[i + 1]} for i, name in enumerate(names[:-1])}
        branch[names[-1]] = {"Type": "Pass", "End": True}
        branches.append({"StartAt": names[0], "States": branch})
    top: dict[str, Any] = {
        "Route": {
            "Type": "Choice",
            "Choices": [
                {"Variable": "$.kind", "StringEquals": "express", "Next": "Express"},
                {"Variable": "$.kind", "StringEquals": "bulk", "Next": "Step000"},
            ],
            "Default": "Step000",
        },
        "Express": {"Type": "Pass", "Next": "Step000"},
        "Fanout": {
            "Type": "Parallel",
            "Branches": branches,
            "Retry": [{"ErrorEquals": ["States.ALL"], "MaxAttempts": 2}],
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Recover"}],
            "ResultPath": None,
            "Next": "Items",
        },
        "Items": {
            "Type": "Map",
            "ItemsPath": "$.items",
            "MaxConcurrency": 50,
            "ItemProcessor": {"StartAt": "Check", "States": inner},
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Recover"}],
            "ResultPath": "$.priced",
            "Next": "Step041",
        },
        "Recover": {"Type": "Pass", "Next": "Done"},
        "Done": {"Type": "Succeed"},
    }
    chain = states - len(top) - len(inner) - 4 * per_branch
    names = [f"Step{i:03d}" for i in range(chain)]
    for i, name in enumerate(names):
        following = names[i + 1] if i + 1 < len(names) else "Done"
        if name == "Step040":
            following = "Fanout"
        top[name] = {"Type": "Pass", "Next": following}
    definition = {"StartAt": "Route", "States": top}
    assert _count(definition["States"]) == states, _count(definition["States"])
    return definition


def _count(states: dict[str, Any]) -> int:
    total = 0
    for state in states.values():
        total += 1
        for branch in state.get("Branches", []):
            total += _count(branch["States"])
        if "ItemProcessor" in state:
            total += _count(state["ItemProcessor"]["States"])
    return total


class Served:
    """The local runtime's service and its console on a loop in a thread (over moto)."""

    def __init__(self) -> None:
        from moto import mock_aws

        from workflows.console.server import start_console
        from workflows.engine.clock import RealClock
        from workflows.local.app import LocalApp
        from workflows.local.executions import ExecutionService
        from workflows.local.run import fake_aws_environment
        from workflows.local.store import ExecutionStore
        from workflows.local.template import load_template

        os.environ.update(fake_aws_environment())
        os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
        os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
        for key in [k for k in os.environ if k.startswith("AWS_ENDPOINT_URL")]:
            del os.environ[key]
        self._moto = mock_aws()
        self._moto.start()
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()
        app = LocalApp(
            load_template(REPO / "infra" / "sam" / "template.yaml"),
            clock=RealClock(),
            keep_records=False,
        )
        os.environ.update(app.environment())
        app.provision()
        self.service = ExecutionService(app, ExecutionStore(":memory:"))
        self.runner, self.url = self.call(lambda: start_console(self.service, "127.0.0.1", 0))

    def call(self, work: Callable[[], Coroutine[Any, Any, T]]) -> T:
        return asyncio.run_coroutine_threadsafe(work(), self.loop).result(600)

    def run(self, definition: dict[str, Any], data: Any) -> str:
        async def go() -> str:
            created = await self.service.create_state_machine("Big", json.dumps(definition), ROLE)
            started = await self.service.start_execution(
                created["stateMachineArn"], json.dumps(data), "big-1"
            )
            await self.service.wait(started["executionArn"])
            return str(started["executionArn"])

        return self.call(go)

    def report(self, arn: str, path: Path) -> Path:
        from workflows.console.report import ReportRun, write_report

        async def go() -> Path:
            described = self.service.describe_execution(arn)
            definition = self.service.describe_state_machine_for_execution(arn)["definition"]
            from workflows.console.server import CONSOLE_KEY  # noqa: F401 (same data path)

            events: list[dict[str, Any]] = []
            token = None
            while True:
                page = self.service.get_execution_history(arn, max_results=1000, next_token=token)
                events.extend(page["events"])
                token = page.get("nextToken")
                if token is None:
                    break
            return write_report(path, [ReportRun(definition, described, events)])

        return self.call(go)


def open_page(browser: Any, url: str, opens: int) -> list[dict[str, float]]:
    """Open ``url`` ``opens`` times: the first in a fresh context, the rest in the same one."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    figures = []
    try:
        for _ in range(opens):
            page = context.new_page()
            answer = page.goto(url)
            size = len(answer.body()) if answer is not None else 0
            page.wait_for_function(
                "performance.getEntriesByName('console:graph').length > 0", timeout=120_000
            )
            page.wait_for_function(
                "performance.getEntriesByName('console:events').length > 0", timeout=120_000
            )
            marks = page.evaluate(
                """() => {
                  const at = (n) => performance.getEntriesByName(n)[0].startTime;
                  const nav = performance.getEntriesByType('navigation')[0];
                  return {graph: at('console:graph'), events: at('console:events'),
                          response: nav.responseEnd, dom: nav.domContentLoadedEventEnd};
                }"""
            )
            figures.append({**{k: float(v) / 1000 for k, v in marks.items()}, "size": size})
            page.close()
    finally:
        context.close()
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=1300, help="items of the Map (default 1300)")
    parser.add_argument("--opens", type=int, default=3, help="opens of each page (default 3)")
    args = parser.parse_args(argv)
    if not Path(CHROMIUM).exists():
        print(f"no Chromium at {CHROMIUM} (set WORKFLOWS_CHROMIUM)", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    definition = big_definition()
    served = Served()
    began = time.perf_counter()
    arn = served.run(definition, {"kind": "bulk", "items": [{"n": i} for i in range(args.items)]})
    ran = time.perf_counter() - began
    events = len(served.call(_history_length(served, arn)))
    url = f"{served.url}/executions/{quote(arn, safe='')}"
    with tempfile.TemporaryDirectory() as scratch:
        report = served.report(arn, Path(scratch) / "big.html")
        report_size = report.stat().st_size
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"]
            )
            try:
                page_figures = open_page(browser, url, args.opens)
                report_figures = open_page(browser, report.as_uri(), args.opens)
            finally:
                browser.close()
    print(f"definition: {_count(definition['States'])} states; execution: {events} events")
    print(f"ran in {ran:.1f} s; page {page_figures[0]['size'] / 1e6:.2f} MB, "
          f"report file {report_size / 1e6:.2f} MB")  # fmt: skip
    worst = 0.0
    for label, figures in (("console page", page_figures), ("report file", report_figures)):
        for n, f in enumerate(figures, 1):
            print(
                f"{label:13} open {n}: response {f['response']:.2f} s, DOM ready {f['dom']:.2f} s,"
                f" graph {f['graph']:.2f} s, events {f['events']:.2f} s"
            )
        first = figures[0]["graph"]
        worst = max(worst, first)
        later = [f["graph"] for f in figures[1:]]
        median = f", later opens median {statistics.median(later):.2f} s" if later else ""
        print(f"{label:13} graph on first open {first:.2f} s{median}")
    verdict = "PASS" if worst < TARGET_S else "FAIL"
    print(f"graph of {_count(definition['States'])} states opens in {worst:.2f} s: "
          f"{verdict} (< {TARGET_S:.0f} s)")  # fmt: skip
    return 0


def _history_length(served: Served, arn: str) -> Callable[[], Coroutine[Any, Any, list[Any]]]:
    async def go() -> list[Any]:
        events: list[Any] = []
        token = None
        while True:
            page = served.service.get_execution_history(arn, max_results=1000, next_token=token)
            events.extend(page["events"])
            token = page.get("nextToken")
            if token is None:
                return events

    return go


if __name__ == "__main__":
    sys.exit(main())
