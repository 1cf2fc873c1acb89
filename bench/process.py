"""Whole-process figures of issue #14: a task Lambda's cold import and ``make demo``.

    python -m bench.process            # both
    python -m bench.process --runs 7   # more fresh processes per figure

Each figure is the median over ``--runs`` fresh interpreters (a cold start is paid
once per process, so it cannot be measured in a loop), printed with the min and max.
Wall times on a shared machine move with its load: CPU seconds are printed beside
them.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# one module per kind of task: the order tasks (pydantic models, idempotency, DynamoDB)
# and the notification tasks (senders)
TASK_MODULES = ["tasks.orders.charge_payment", "tasks.notifications.send_email"]
COLD_IMPORT_TARGET_S = 0.2
DEMO_TARGETS = {"wall_s": 1.0, "order_ms": 100.0, "notification_ms": 60.0}

_IMPORT_PROBE = (
    "import time, json, resource\n"
    "start = time.perf_counter(); cpu = time.process_time()\n"
    "import {module}\n"
    "print(json.dumps({{'s': time.perf_counter() - start, 'cpu_s': time.process_time() - cpu}}))\n"
)


def _summary(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def cold_import(module: str, runs: int) -> dict[str, Any]:
    """Seconds to import ``module`` in a fresh interpreter, off Lambda (tracing off)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAMBDA_")}
    walls, cpus = [], []
    for _ in range(runs):
        done = subprocess.run(
            [sys.executable, "-c", _IMPORT_PROBE.format(module=module)],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
            env=env,
        )
        figures = json.loads(done.stdout)
        walls.append(figures["s"])
        cpus.append(figures["cpu_s"])
    return {"module": module, "wall_s": _summary(walls), "cpu_s": _summary(cpus)}


_TOTAL = re.compile(r"^\s*([\d.]+) (ms|s)\s+SUCCEEDED\s*$", re.MULTILINE)


def _ms(value: str, unit: str) -> float:
    return float(value) * (1000.0 if unit == "s" else 1.0)


def demo(runs: int) -> dict[str, Any]:
    """``workflows run order_processing --input @examples/order.json`` as ``make demo`` runs it."""
    # ``-m`` from the checkout, so that another checkout's code is measured there
    command = [
        sys.executable,
        "-m",
        "workflows.cli",
        "run",
        "order_processing",
        "--input",
        "@examples/order.json",
    ]
    walls, cpus, orders, notifications = [], [], [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, check=True, cwd=ROOT)
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        # the timeline prints each execution's total: the order first, then its notification
        totals = [_ms(value, unit) for value, unit in _TOTAL.findall(done.stdout)]
        if len(totals) < 2:
            raise SystemExit(f"demo: expected two executions in\n{done.stdout}")
        orders.append(totals[0])
        notifications.append(totals[1])
    return {
        "wall_s": _summary(walls),
        "cpu_s": _summary(cpus),
        "order_ms": _summary(orders),
        "notification_ms": _summary(notifications),
    }


def _verdict(value: float, limit: float) -> str:
    return f"<= {limit:g}: {'PASS' if value <= limit else 'FAIL'}"


def render(imports: list[dict[str, Any]], process: dict[str, Any] | None) -> list[str]:
    lines = []
    for figures in imports:
        wall, cpu = figures["wall_s"], figures["cpu_s"]
        lines.append(
            f"cold import {figures['module']:<32} {wall['median']:.3f} s "
            f"(min {wall['min']:.3f}, max {wall['max']:.3f}; CPU {cpu['median']:.3f} s)  "
            f"{_verdict(wall['median'], COLD_IMPORT_TARGET_S)}"
        )
    if process is not None:
        wall, cpu = process["wall_s"], process["cpu_s"]
        lines.append(
            f"make demo process                            {wall['median']:.3f} s "
            f"(min {wall['min']:.3f}, max {wall['max']:.3f}; CPU {cpu['median']:.3f} s)  "
            f"{_verdict(wall['median'], DEMO_TARGETS['wall_s'])}"
        )
        for key, label in (("order_ms", "order"), ("notification_ms", "notification")):
            figures = process[key]
            lines.append(
                f"make demo {label + ' execution':<34} {figures['median']:>7.1f} ms "
                f"(min {figures['min']:.1f}, max {figures['max']:.1f})  "
                f"{_verdict(figures['median'], DEMO_TARGETS[key])}"
            )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.process", description=__doc__)
    parser.add_argument("--runs", type=int, default=5, help="fresh processes per figure")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--no-demo", action="store_true", help="only the cold imports")
    args = parser.parse_args(argv)
    imports = [cold_import(module, args.runs) for module in TASK_MODULES]
    process = None if args.no_demo else demo(args.runs)
    if args.json:
        print(json.dumps({"cold_imports": imports, "demo": process}))
    else:
        print("\n".join(render(imports, process)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
