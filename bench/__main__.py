"""Measure the engine on the shared workloads and check the targets of issue #2.

    python -m bench                       # every workload
    python -m bench order_flow map_fanout # some of them
    python -m bench --scale 10000         # concurrency workloads with 10,000 executions

Each workload runs inside one event loop (as a server would run it). Sequential
workloads run in batches of at least ``--batch-seconds`` (default 1 s) each and report
the median time per execution over ``--batches`` batches (default 5), with the min and
p90 beside it, so one noisy moment does not decide a target; workloads with Tasks are
also measured through the public ``StateMachine.run()`` (what users' tests call).
Concurrent ones start all executions at once on the real clock and report wall time
and the memory each waiting execution costs. Targets are reported, never asserted in
tests.

The workloads are ``$WORKFLOWS_BENCH_DIR`` (default ``../shared/bench-workloads``) and
``bench/workloads``. Without the shared ones, ``python -m bench`` with no name exits 2
saying where it looked; a workload of ``bench/workloads`` named on the command line runs.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from workflows.engine import StateMachine
from workflows.engine.lambdas import HandlerMode

WORKLOADS = Path(
    os.environ.get(
        "WORKFLOWS_BENCH_DIR",
        Path(__file__).resolve().parents[1].parent / "shared" / "bench-workloads",
    )
)
EXTRA = Path(__file__).with_name("workloads")

# target per workload: (metric, limit, direction)
TARGETS: dict[str, tuple[str, float, str]] = {
    "pass_chain": ("transitions_per_s", 150_000, ">="),
    "order_flow": ("ms_per_execution", 0.15, "<="),
    "map_fanout": ("ms_per_execution", 25.0, "<="),
    "concurrency": ("wall_s", 1.1, "<="),
}
MEMORY_TARGETS = {"concurrency": 10.0}  # KB per waiting execution
# issue #14, ms per execution by (workload, mode): run() in its default mode, and
# ``await execute()`` on one loop without thread-pool hops (inline), as #2's target
RUN_TARGETS: dict[tuple[str, str], float] = {
    ("order_flow", "run"): 0.1,
    ("order_flow", "inline"): 0.08,
}


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1e6


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3


def handlers(task_results: dict[str, Any]) -> dict[str, Callable[[Any, Any], Any]]:
    def make(result: Any) -> Callable[[Any, Any], Any]:
        def handler(event: Any, context: Any) -> Any:
            return result

        return handler

    return {name: make(result) for name, result in task_results.items()}


def strip(value: Any, keys: list[str]) -> Any:
    if isinstance(value, dict):
        return {k: strip(v, keys) for k, v in value.items() if k not in keys}
    return value


# least seconds of one measured batch, and batches per workload (set from the command line)
SETTINGS: dict[str, float] = {"batch_seconds": 1.0, "batches": 5}


def workload_file(name: str) -> Path:
    """The workload ``name``'s file: a shared one, else bench/workloads' own (which may
    not exist: the caller says what is missing)."""
    shared = WORKLOADS / f"{name}.json"
    return shared if shared.exists() else EXTRA / f"{name}.json"


def spread(per_batch_ms: list[float]) -> dict[str, float]:
    """The median time per execution over the batches, with the min and p90 beside it."""
    ordered = sorted(per_batch_ms)
    p90 = ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]
    return {
        "ms_per_execution": statistics.median(ordered),
        "ms_min": ordered[0],
        "ms_p90": p90,
    }


def batch(once: Callable[[], Any]) -> tuple[float, int, Any]:
    """One batch of ``once`` lasting at least ``batch_seconds``: (ms per call, calls, the
    last call's result)."""
    count, result = 0, None
    start = time.perf_counter()
    while count == 0 or time.perf_counter() - start < SETTINGS["batch_seconds"]:
        result = once()
        count += 1
    return (time.perf_counter() - start) / count * 1e3, count, result


async def batch_async(once: Callable[[], Awaitable[Any]]) -> tuple[float, int, Any]:
    """As ``batch``, for a coroutine function, awaited on the running loop."""
    count, result = 0, None
    start = time.perf_counter()
    while count == 0 or time.perf_counter() - start < SETTINGS["batch_seconds"]:
        result = await once()
        count += 1
    return (time.perf_counter() - start) / count * 1e3, count, result


async def sequential(sm: StateMachine, spec: dict[str, Any], mode: HandlerMode) -> dict[str, Any]:
    lambdas = handlers(spec.get("task_results", {}))
    for _ in range(spec["defaults"]["warmup"]):
        await sm.execute(spec["input"], lambdas=lambdas, handler_mode=mode)
    per_batch: list[float] = []
    runs = 0
    result = None
    for _ in range(int(SETTINGS["batches"])):
        ms, count, result = await batch_async(
            lambda: sm.execute(spec["input"], lambdas=lambdas, handler_mode=mode)
        )
        per_batch.append(ms)
        runs += count
    assert result is not None
    check(spec, result.status, result.output)
    return _sequential_figures(spec, runs, per_batch)


def through_run(sm: StateMachine, spec: dict[str, Any]) -> dict[str, Any]:
    """The public synchronous path: ``StateMachine.run`` in the default handler mode."""
    lambdas = handlers(spec.get("task_results", {}))
    for _ in range(spec["defaults"]["warmup"]):
        sm.run(spec["input"], lambdas=lambdas)
    per_batch: list[float] = []
    runs = 0
    result = None
    for _ in range(int(SETTINGS["batches"])):
        ms, count, result = batch(lambda: sm.run(spec["input"], lambdas=lambdas))
        per_batch.append(ms)
        runs += count
    assert result is not None
    check(spec, result.status, result.output)
    return _sequential_figures(spec, runs, per_batch)


def _sequential_figures(spec: dict[str, Any], runs: int, per_batch: list[float]) -> dict[str, Any]:
    figures: dict[str, Any] = {"executions": runs, **spread(per_batch)}
    median_s = figures["ms_per_execution"] / 1e3
    figures["executions_per_s"] = 1 / median_s
    figures["transitions_per_s"] = spec["transitions_per_execution"] / median_s
    return figures


async def concurrent(sm: StateMachine, spec: dict[str, Any], count: int) -> dict[str, Any]:
    gc.collect()
    before = rss_mb()
    start = time.perf_counter()
    tasks = [asyncio.ensure_future(sm.execute(spec["input"])) for _ in range(count)]
    await asyncio.sleep(0.05)  # every execution has started and is waiting now
    during = rss_mb()
    results = await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - start
    for result in results:
        check(spec, result.status, result.output)
    return {
        "executions": count,
        "wall_s": elapsed,
        "executions_per_s": count / elapsed,
        "transitions_per_s": count * spec["transitions_per_execution"] / elapsed,
        "kb_per_waiting_execution": max(0.0, during - before) * 1e3 / count,
    }


def check(spec: dict[str, Any], status: str, output: Any) -> None:
    keys = spec.get("nondeterministic_keys", [])
    if status != "SUCCEEDED" or strip(output, keys) != strip(spec["expected_output"], keys):
        raise SystemExit(f"{spec['name']}: wrong result {status} {output!r}")


def verdict(name: str, figures: dict[str, Any]) -> str:
    notes = []
    if figures.get("scaled"):
        # issue #2: 10,000 concurrent waiting executions in <= 200 MB RSS
        if figures["executions"] >= 10_000:
            ok = figures["peak_rss_mb"] <= 200
            notes.append(
                f"peak RSS <= 200 MB at {figures['executions']}: {'PASS' if ok else 'FAIL'}"
            )
        return "; ".join(notes)
    target = TARGETS.get(name)
    if target:
        metric, limit, direction = target
        value = figures[metric]
        ok = value >= limit if direction == ">=" else value <= limit
        note = f"{metric} {direction} {limit:g}: {'PASS' if ok else 'FAIL'}"
        if not ok and figures.get("with_tasks") and figures.get("mode") == "thread":
            note += " (each Task adds a thread-pool hop, ~70 us here; docs/decisions/0003)"
        notes.append(note)
    run_limit = RUN_TARGETS.get((name, figures.get("mode", "")))
    if run_limit is not None:
        ok = figures["ms_per_execution"] <= run_limit
        notes.append(f"#14 ms_per_execution <= {run_limit:g}: {'PASS' if ok else 'FAIL'}")
    if name in MEMORY_TARGETS:
        limit_kb = MEMORY_TARGETS[name]
        ok = figures["kb_per_waiting_execution"] <= limit_kb
        notes.append(f"KB/waiting <= {limit_kb:g}: {'PASS' if ok else 'FAIL'}")
    return "; ".join(notes)


def measure(spec: dict[str, Any], scale: int | None, mode: str) -> dict[str, Any]:
    start = time.perf_counter()
    sm = StateMachine(spec["definition"], name=spec["name"])
    parse_ms = (time.perf_counter() - start) * 1e3
    if spec["mode"] == "concurrent":
        count = scale or spec["concurrent_executions"]
        figures = asyncio.run(concurrent(sm, spec, count))
        figures["scaled"] = count != spec["concurrent_executions"]
    elif mode == "run":
        figures = through_run(sm, spec)
    else:
        figures = asyncio.run(sequential(sm, spec, mode))  # type: ignore[arg-type]
    figures.update(name=spec["name"], mode=mode, parse_ms=parse_ms, peak_rss_mb=peak_rss_mb())
    return figures


def render(figures: dict[str, Any]) -> str:
    name = figures["name"]
    mode = "run(), thread" if figures["mode"] == "run" else figures["mode"]
    label = name if not figures.get("with_tasks") else f"{name} [{mode}]"
    if figures["mode"] == "run" and not figures.get("with_tasks"):
        label = f"{name} [run()]"
    line = (
        f"{label:<26} {figures['executions']:>6} exec  "
        f"{figures['executions_per_s']:>10.1f} exec/s  "
        f"{figures['transitions_per_s']:>10.0f} transitions/s  "
    )
    if "ms_per_execution" in figures:
        line += (
            f"{figures['ms_per_execution']:>8.3f} ms/exec "
            f"(min {figures['ms_min']:.3f}, p90 {figures['ms_p90']:.3f})  "
        )
    else:
        line += f"{figures['wall_s']:>6.3f} s wall  "
        line += f"{figures['kb_per_waiting_execution']:.2f} KB/waiting  "
    return line + f"peak RSS {figures['peak_rss_mb']:.0f} MB  {verdict(name, figures)}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("names", nargs="*", help="workload names (default: all)")
    parser.add_argument("--scale", type=int, help="executions for concurrent workloads")
    parser.add_argument(
        "--handler-mode",
        choices=["thread", "inline", "run", "both"],
        default="both",
        help="how plain Lambda handlers run: thread pool, on the loop, or both (default)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object per run")
    parser.add_argument("--batch-seconds", type=float, default=1.0, help="least time of one batch")
    parser.add_argument("--batches", type=int, default=5, help="batches per workload")
    parser.add_argument("--in-process", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    SETTINGS.update(batch_seconds=args.batch_seconds, batches=args.batches)
    files = sorted(WORKLOADS.glob("*.json")) + sorted(EXTRA.glob("*.json"))
    specs = {file: json.loads(file.read_text()) for file in files}
    problem = _missing_workloads(args.names, specs)
    if problem:
        print(f"python -m bench: {problem}", file=sys.stderr)
        return 2
    measured: dict[tuple[str, str], dict[str, Any]] = {}
    for spec in specs.values():
        if args.names and spec["name"] not in args.names:
            continue
        with_tasks = bool(spec.get("task_results"))
        sequential = spec["mode"] != "concurrent"
        modes: list[str] = ["thread"]
        if with_tasks:
            modes = ["thread", "inline"] if args.handler_mode == "both" else [args.handler_mode]
        elif args.handler_mode == "run" and sequential:
            modes = ["run"]
        if args.handler_mode == "both" and sequential:
            modes.append("run")  # what users' tests call, with or without Tasks
        for mode in modes:
            if args.in_process:
                figures = measure(spec, args.scale, mode)
            else:
                figures = _in_subprocess(spec["name"], args.scale, mode)
            figures["with_tasks"] = with_tasks
            print(json.dumps(figures) if args.json else render(figures), flush=True)
            measured[(spec["name"], mode)] = figures
    if not args.in_process and _jsonata_pair_wanted(measured):
        row = _pair_in_subprocess()
        print(json.dumps(row) if args.json else pair_line(row), flush=True)
    return 0


def _missing_workloads(names: list[str], specs: dict[Path, dict[str, Any]]) -> str | None:
    """Why the workloads asked for cannot all run, or None.

    Without the shared directory only bench/workloads' own workload would run, and a
    run that measured one workload of eight must not look like a measurement of all.
    """
    where = f"set WORKFLOWS_BENCH_DIR to the bench-workloads directory (looked in {WORKLOADS})"
    if not names and not any(file.parent == WORKLOADS for file in specs):
        return f"no shared workloads found: {where}"
    unknown = sorted(set(names) - {spec["name"] for spec in specs.values()})
    if unknown:
        return f"no workload named {', '.join(unknown)} in {EXTRA} or the shared ones: {where}"
    return None


def _jsonata_pair_wanted(measured: dict[tuple[str, str], dict[str, Any]]) -> bool:
    """Issue #3's ratio is judged when both order_flows ran inline."""
    return ("order_flow", "inline") in measured and ("order_flow_jsonata", "inline") in measured


def pair_line(row: dict[str, Any]) -> str:
    from bench.pair import verdict_line  # bench.pair imports this module

    return verdict_line(row)


def _pair_in_subprocess() -> dict[str, Any]:
    """Issue #3's ratio from interleaved batches (bench.pair): not from two figures
    taken minutes apart, which a shared machine's load can skew either way."""
    command = [sys.executable, "-m", "bench.pair", "--json"]
    command += ["--batch-seconds", str(SETTINGS["batch_seconds"])]
    command += ["--batches", str(int(SETTINGS["batches"]))]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"bench.pair: {done.stderr.strip() or done.stdout.strip()}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _in_subprocess(name: str, scale: int | None, mode: str) -> dict[str, Any]:
    """One workload in a fresh interpreter, so its peak RSS is its own."""
    command = [
        sys.executable,
        "-m",
        "bench",
        name,
        "--in-process",
        "--json",
        "--handler-mode",
        mode,
        "--batch-seconds",
        str(SETTINGS["batch_seconds"]),
        "--batches",
        str(int(SETTINGS["batches"])),
    ]
    if scale:
        command += ["--scale", str(scale)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{name}: {done.stderr.strip() or done.stdout.strip()}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


if __name__ == "__main__":
    raise SystemExit(main())
