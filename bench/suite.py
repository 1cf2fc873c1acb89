"""Every engine and process target of issues #2, #3 and #14, measured and judged at once.

    python -m bench.suite                  # what `make bench` runs (about 3 minutes)
    python -m bench.suite --batches 3      # fewer batches per workload, for a quicker look

Each part runs as its own command, exactly as it runs alone (``python -m bench``,
``bench.baseline``, ``bench.compare``, ``bench.process``), with ``--json``; the suite
prints each part's usual lines as its figures arrive, then one table: every target, its
limit, the figure measured here and a verdict. PASS and FAIL judge the figure; SKIPPED
says why a figure cannot be taken on this machine (node not installed: the comparison
with aws-local-stepfunctions needs it); MISSING says why a part gave none (it failed,
or the workloads were not found), so no target passes silently. The exit status is 1
when a figure is MISSING, else 0: a FAIL is a figure of this machine, not a fault.
`workflows up` is not loaded here (``bench.local_load`` needs minutes of its own); the
summary prints its command and targets.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import baseline, compare, process, targets
from bench.__main__ import WORKLOADS, pair_line
from bench.__main__ import render as render_workload

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Part:
    """One command of the bench and what to do with the JSON objects it prints."""

    measures: str  # the command the targets name (targets.ENGINE, ...)
    argv: list[str]  # how the suite runs it: with --json, and its batches
    render: Callable[[dict[str, Any]], list[str]]
    heading: str = ""  # what the part prints first when run alone, without --json
    rows: list[dict[str, Any]] = field(default_factory=list)
    error: str = ""
    seconds: float = 0.0


def _workload_lines(row: dict[str, Any]) -> list[str]:
    return [pair_line(row) if "over" in row else render_workload(row)]


def _baseline_lines(row: dict[str, Any]) -> list[str]:
    return [baseline.render(row["name"], row)]


def _compare_lines(row: dict[str, Any]) -> list[str]:
    return [compare.render(row["name"], row)]


def _process_lines(result: dict[str, Any]) -> list[str]:
    return process.render(result["cold_imports"], result["demo"])


def _command(measures: str, *options: str) -> list[str]:
    return [sys.executable, *measures.split()[1:], *options]


def parts(batches: int, batch_seconds: float, runs: int) -> list[Part]:
    timing = ["--batches", str(batches), "--batch-seconds", str(batch_seconds)]
    return [
        Part(targets.ENGINE, _command(targets.ENGINE, "--json", *timing), _workload_lines),
        Part(targets.SCALED, _command(targets.SCALED, "--json"), _workload_lines),
        Part(targets.BASELINE, _command(targets.BASELINE, "--json", *timing), _baseline_lines),
        Part(
            targets.COMPARE,
            _command(targets.COMPARE, "--json", *timing),
            _compare_lines,
            compare.HEADING,
        ),
        Part(
            targets.PROCESS,
            _command(targets.PROCESS, "--runs", str(runs), "--json"),
            _process_lines,
        ),
    ]


def run_part(part: Part) -> None:
    """Runs ``part``, printing its lines as they come and keeping its JSON objects."""
    print(f"\n$ python {' '.join(part.argv[1:])}", flush=True)
    if part.heading:
        print(part.heading)
    start = time.perf_counter()
    with subprocess.Popen(part.argv, cwd=ROOT, stdout=subprocess.PIPE, text=True) as child:
        assert child.stdout is not None
        for line in child.stdout:
            try:
                row = json.loads(line)
            except ValueError:
                row = None
            if isinstance(row, dict):
                part.rows.append(row)
                lines = part.render(row)
            else:
                lines = [line.rstrip("\n")]
            print("\n".join(lines), flush=True)
    part.seconds = time.perf_counter() - start
    if child.returncode != 0:
        part.error = f"{part.measures} exited with status {child.returncode}"


def collect(done: list[Part]) -> tuple[dict[str, float], dict[str, str], dict[str, str]]:
    """The figures of every target, the skipped ones' reasons, and each silent part's."""
    figures: dict[str, float] = {}
    skipped: dict[str, str] = {}
    missing: dict[str, str] = {}
    for part in done:
        if part.error:  # what it printed before it failed is not judged
            missing[part.measures] = part.error
            continue
        if not part.rows:
            missing[part.measures] = f"{part.measures} printed no figures"
        if part.measures in (targets.ENGINE, targets.SCALED):
            figures.update(targets.figures_from_bench(part.rows))
        elif part.measures == targets.BASELINE:
            figures.update(targets.figures_from_baseline(part.rows))
        elif part.measures == targets.COMPARE:
            found, why = targets.figures_from_compare(part.rows)
            figures.update(found)
            skipped.update(why)
        elif part.measures == targets.PROCESS and part.rows:
            figures.update(targets.figures_from_process(part.rows[-1]))
    return figures, skipped, missing


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.suite", description=__doc__)
    parser.add_argument("--batches", type=int, default=5, help="batches per workload")
    parser.add_argument("--batch-seconds", type=float, default=1.0, help="least time of a batch")
    parser.add_argument("--runs", type=int, default=5, help="fresh processes per process figure")
    args = parser.parse_args(argv)
    load_before = os.getloadavg()[0]
    start = time.perf_counter()
    done = parts(args.batches, args.batch_seconds, args.runs)
    for part in done:
        run_part(part)
        print(f"({part.seconds:.0f} s)")
    figures, skipped, missing = collect(done)
    if not WORKLOADS.is_dir():  # the shared workloads: only bench/workloads' own ran
        for part in done:
            if part.measures != targets.PROCESS:  # the one part that reads no workload
                missing[part.measures] = f"no workloads in {WORKLOADS} (set WORKFLOWS_BENCH_DIR)"
    outcomes = targets.judge(figures, skipped, missing)
    elapsed = time.perf_counter() - start
    print(
        f"\n== Targets on this machine ({os.cpu_count()} cores, load average "
        f"{load_before:.2f} at the start, {os.getloadavg()[0]:.2f} at the end; "
        f"{elapsed / 60:.1f} min) =="
    )
    print("\n".join(targets.render(outcomes)))
    print(f"not run here: {targets.LOCAL_LOAD_COMMAND}")
    return 1 if any(outcome.verdict == "MISSING" for outcome in outcomes) else 0


if __name__ == "__main__":
    raise SystemExit(main())
