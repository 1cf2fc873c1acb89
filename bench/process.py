"""Whole-process figures of issue #14: a task Lambda's cold import and ``make demo``.

    python -m bench.process            # both
    python -m bench.process --runs 7   # more fresh processes per figure
    python -m bench.process --bytecode cached   # the demo only as a laptop runs it

Each figure is the median over ``--runs`` fresh interpreters (a cold start is paid
once per process, so it cannot be measured in a loop), printed with the min and max.
Wall times on a shared machine move with its load: CPU seconds are printed beside
them.

The demo is measured two ways (``--bytecode both``, the default): as this environment
runs it (``PYTHONDONTWRITEBYTECODE=1`` here: Python writes no bytecode, and reads
what ``make setup`` compiled; a module changed since is compiled at every start) and
with bytecode cached, as on a newcomer's laptop, where Python writes it on the first
run (``PYTHONPYCACHEPREFIX``: a folder of the temporary directory per checkout, filled
by one unmeasured run first).
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
import tempfile
import time
import zlib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# one module per kind of task: the order tasks (pydantic models, idempotency, DynamoDB)
# and the notification tasks (senders)
TASK_MODULES = ["tasks.orders.charge_payment", "tasks.notifications.send_email"]
COLD_IMPORT_TARGET_S = 0.2
DEMO_TARGETS = {"wall_s": 1.0, "order_ms": 100.0, "notification_ms": 60.0}
BYTECODE_LABELS = {"environment": "as run here", "cached": "bytecode cached"}

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


def cached_bytecode_environment() -> dict[str, str]:
    """The environment with Python writing (and reading) bytecode in a folder of its own."""
    folder = Path(tempfile.gettempdir()) / f"bench-pycache-{zlib.crc32(bytes(ROOT)):08x}"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(folder)
    return env


def demo(runs: int, env: dict[str, str] | None = None) -> dict[str, Any]:
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
    if env is not None and "PYTHONPYCACHEPREFIX" in env:
        # the first run writes the bytecode; a laptop's make demo has run once before
        subprocess.run(command, capture_output=True, check=True, cwd=ROOT, env=env)
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        done = subprocess.run(
            command, capture_output=True, text=True, check=True, cwd=ROOT, env=env
        )
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


def render(imports: list[dict[str, Any]], processes: dict[str, dict[str, Any]]) -> list[str]:
    lines = []
    for figures in imports:
        wall, cpu = figures["wall_s"], figures["cpu_s"]
        lines.append(
            f"cold import {figures['module']:<32} {wall['median']:.3f} s "
            f"(min {wall['min']:.3f}, max {wall['max']:.3f}; CPU {cpu['median']:.3f} s)  "
            f"{_verdict(wall['median'], COLD_IMPORT_TARGET_S)}"
        )
    for bytecode, process in processes.items():
        wall, cpu = process["wall_s"], process["cpu_s"]
        title = f"make demo process ({BYTECODE_LABELS[bytecode]})"
        lines.append(
            f"{title:<45}{wall['median']:.3f} s "
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
    parser.add_argument(
        "--bytecode",
        choices=["environment", "cached", "both"],
        default="both",
        help="the demo as this environment runs it, with bytecode cached, or both",
    )
    args = parser.parse_args(argv)
    imports = [cold_import(module, args.runs) for module in TASK_MODULES]
    processes: dict[str, dict[str, Any]] = {}
    if not args.no_demo:
        if args.bytecode in ("environment", "both"):
            processes["environment"] = demo(args.runs)
        if args.bytecode in ("cached", "both"):
            processes["cached"] = demo(args.runs, cached_bytecode_environment())
    if args.json:
        print(json.dumps({"cold_imports": imports, "demo": processes}))
    else:
        print("\n".join(render(imports, processes)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
