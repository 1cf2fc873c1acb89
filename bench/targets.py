"""The targets of issues #2, #3 and #14 as one table, judged from the parts' JSON figures.

``python -m bench.suite`` (``make bench``) runs each part of the bench with ``--json``
and hands its rows here: ``figures_from_*`` pick the figure each target is judged on,
``judge`` gives each target its verdict and ``render`` prints the table. Nothing here
measures, so the verdicts are tested on figures made up in tests.

The limits are the parts' own constants (each part prints its verdicts when run
alone), so a target is written down once. The table is fixed-width text like the parts'
own lines: a table library (none is a dependency) would add nothing to 16 rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bench.__main__ import MEMORY_TARGETS, RUN_TARGETS
from bench.__main__ import TARGETS as ENGINE_TARGETS
from bench.baseline import TARGET_RATIO
from bench.compare import RATIO_TARGETS
from bench.pair import JSONATA_RATIO
from bench.process import COLD_IMPORT_TARGET_S, DEMO_TARGETS, TASK_MODULES

LOCAL_SFN = "aws-local-stepfunctions"
SCALED_EXECUTIONS = 10_000  # issue #2: this many waiting executions ...
SCALED_PEAK_RSS_MB = 200.0  # ... in at most this much memory

# `workflows up` is measured by bench.local_load (minutes of load on a server of its
# own): make bench names its targets and the command rather than running it
LOCAL_LOAD_COMMAND = (
    ".venv/bin/python -m bench.local_load --orders 600 --clients 50 --rate 20"
    "   # workflows up (#14): >= 20 orders/s end to end, <= 0.1 s CPU per order,"
    " accept p99 < 100 ms, idle < 1% of a core"
)


@dataclass(frozen=True)
class Target:
    key: str  # the figure it is judged on (a key of the figures dict)
    issue: int
    label: str
    direction: str  # "<=" or ">="
    limit: float
    unit: str
    part: str  # the command that measures it, to run it alone


@dataclass(frozen=True)
class Outcome:
    target: Target
    verdict: str  # PASS, FAIL, SKIPPED or MISSING (the figure was not measured)
    figure: float | None = None
    reason: str = ""


# the commands that measure them (bench.suite runs each once, with --json)
ENGINE = "python -m bench"
SCALED = f"python -m bench concurrency_w10 --scale {SCALED_EXECUTIONS}"
BASELINE = "python -m bench.baseline pass_chain"
COMPARE = "python -m bench.compare order_flow"
PROCESS = "python -m bench.process"
_ENGINE_MS = ENGINE_TARGETS["order_flow"][1]

TARGETS: list[Target] = [
    # issue #2 judges order_flow inline (decisions/0003): its thread mode adds a pool hop per Task
    Target(
        "pass_chain.transitions_per_s",
        2,
        "pass_chain, await execute()",
        ">=",
        ENGINE_TARGETS["pass_chain"][1],
        "transitions/s",
        ENGINE,
    ),
    Target(
        "order_flow.inline.ms",
        2,
        "order_flow [inline], await execute()",
        "<=",
        _ENGINE_MS,
        "ms",
        ENGINE,
    ),
    Target(
        "map_fanout.ms",
        2,
        "map_fanout (Map over 1,000 items)",
        "<=",
        ENGINE_TARGETS["map_fanout"][1],
        "ms",
        ENGINE,
    ),
    Target(
        "concurrency.wall_s",
        2,
        "concurrency: 1,000 executions waiting 1 s",
        "<=",
        ENGINE_TARGETS["concurrency"][1],
        "s",
        ENGINE,
    ),
    Target(
        "concurrency.kb_per_waiting",
        2,
        "concurrency: memory per waiting execution",
        "<=",
        MEMORY_TARGETS["concurrency"],
        "KB",
        ENGINE,
    ),
    Target(
        "concurrency_w10.peak_rss_mb",
        2,
        f"{SCALED_EXECUTIONS:,} waiting executions, peak RSS",
        "<=",
        SCALED_PEAK_RSS_MB,
        "MB",
        SCALED,
    ),
    Target(
        "order_flow_jsonata.ratio",
        3,
        "order_flow_jsonata / order_flow [inline]",
        "<=",
        JSONATA_RATIO,
        "x",
        ENGINE,
    ),
    Target(
        "order_flow.run.ms",
        14,
        "order_flow through run(), default thread mode",
        "<=",
        RUN_TARGETS[("order_flow", "run")],
        "ms",
        ENGINE,
    ),
    # "await execute() on one loop": the engine's own cost, without thread-pool hops,
    # as #2's order_flow target and decisions/0003 judge it (its [thread] row is ~5x)
    Target(
        "order_flow.inline.ms",
        14,
        "order_flow [inline], await execute() on one loop",
        "<=",
        RUN_TARGETS[("order_flow", "inline")],
        "ms",
        ENGINE,
    ),
    Target(
        "order_flow.vs_local_sfn",
        14,
        f"order_flow run() against {LOCAL_SFN}",
        ">=",
        RATIO_TARGETS[("order_flow", LOCAL_SFN)],
        "x",
        COMPARE,
    ),
    Target(
        "pass_chain.vs_bare",
        14,
        "pass_chain against a bare dict-walking interpreter",
        ">=",
        TARGET_RATIO,
        "x",
        BASELINE,
    ),
    Target(
        "demo.wall_s",
        14,
        "make demo: the whole process",
        "<=",
        DEMO_TARGETS["wall_s"],
        "s",
        PROCESS,
    ),
    Target(
        "demo.order_ms",
        14,
        "make demo: the order execution",
        "<=",
        DEMO_TARGETS["order_ms"],
        "ms",
        PROCESS,
    ),
    Target(
        "demo.notification_ms",
        14,
        "make demo: the notification execution",
        "<=",
        DEMO_TARGETS["notification_ms"],
        "ms",
        PROCESS,
    ),
    *[
        Target(
            f"cold_import.{module}",
            14,
            f"cold import of {module}",
            "<=",
            COLD_IMPORT_TARGET_S,
            "s",
            PROCESS,
        )
        for module in TASK_MODULES
    ],
]


def figures_from_bench(rows: list[dict[str, Any]]) -> dict[str, float]:
    """The targets' figures in the JSON rows of ``python -m bench --json``."""
    by_run = {(row["name"], row["mode"]): row for row in rows if "over" not in row}
    figures: dict[str, float] = {}
    for (name, mode), row in by_run.items():
        if row.get("scaled"):
            if name == "concurrency_w10" and row["executions"] >= SCALED_EXECUTIONS:
                figures["concurrency_w10.peak_rss_mb"] = row["peak_rss_mb"]
            continue
        if name == "order_flow" and mode in ("run", "inline"):
            figures[f"order_flow.{mode}.ms"] = row["ms_per_execution"]
        elif name == "pass_chain" and mode == "thread":
            figures["pass_chain.transitions_per_s"] = row["transitions_per_s"]
        elif name == "map_fanout" and mode == "thread":
            figures["map_fanout.ms"] = row["ms_per_execution"]
        elif name == "concurrency":
            figures["concurrency.wall_s"] = row["wall_s"]
            figures["concurrency.kb_per_waiting"] = row["kb_per_waiting_execution"]
    for row in rows:
        if row.get("over") == "order_flow" and row["name"] == "order_flow_jsonata":
            figures["order_flow_jsonata.ratio"] = row["ratio"]  # interleaved: bench.pair
    return figures


def figures_from_compare(rows: list[dict[str, Any]]) -> tuple[dict[str, float], dict[str, str]]:
    """The ratio to aws-local-stepfunctions in ``bench.compare --json``, or why it was skipped."""
    for row in rows:
        if row["name"] != "order_flow":
            continue
        peer = row.get(LOCAL_SFN) or {"skipped": "not run"}
        if "skipped" in peer:
            return {}, {"order_flow.vs_local_sfn": str(peer["skipped"])}
        if "failed" in peer:
            return {}, {"order_flow.vs_local_sfn": f"{LOCAL_SFN} failed: {peer['failed']}"}
        if peer.get("correct") is False:
            return {}, {"order_flow.vs_local_sfn": f"{LOCAL_SFN}'s output differs"}
        # interleaved rounds' median (bench.compare); else the two medians' ratio
        ratio = peer.get("ratio") or peer["ms_per_execution"] / row["ours"]["ms_per_execution"]
        return {"order_flow.vs_local_sfn": ratio}, {}
    return {}, {}


def figures_from_baseline(rows: list[dict[str, Any]]) -> dict[str, float]:
    """The engine's share of the bare walker's speed in ``bench.baseline --json``."""
    ratios = [row["ratio"] for row in rows if row["name"] == "pass_chain"]
    return {"pass_chain.vs_bare": ratios[-1]} if ratios else {}


def figures_from_process(result: dict[str, Any]) -> dict[str, float]:
    """The demo as this environment runs it, and the cold imports (``bench.process --json``)."""
    figures = {
        f"cold_import.{row['module']}": row["wall_s"]["median"] for row in result["cold_imports"]
    }
    demo = result["demo"].get("environment")
    if demo:
        for key in ("wall_s", "order_ms", "notification_ms"):
            figures[f"demo.{key}"] = demo[key]["median"]
    return figures


def judge(
    figures: dict[str, float], skipped: dict[str, str], missing: dict[str, str] | None = None
) -> list[Outcome]:
    """Each target's verdict: its figure against its limit, else why there is none.

    ``skipped``: figures a part could not take on this machine for a reason that is not
    a fault (node not installed); ``missing``: why a part gave no figures at all (it
    failed, or its workloads were not found). A figure that is simply absent is
    MISSING too: a target is never passed silently.
    """
    missing = missing or {}
    outcomes = []
    for target in TARGETS:
        value = figures.get(target.key)
        if value is not None:
            ok = value <= target.limit if target.direction == "<=" else value >= target.limit
            outcomes.append(Outcome(target, "PASS" if ok else "FAIL", value))
        elif target.key in skipped:
            outcomes.append(Outcome(target, "SKIPPED", reason=skipped[target.key]))
        else:
            reason = missing.get(target.part, f"no figure from {target.part}")
            outcomes.append(Outcome(target, "MISSING", reason=reason))
    return outcomes


def _number(value: float, unit: str) -> str:
    if unit == "transitions/s":
        return f"{value:,.0f} {unit}"
    if unit == "x":
        return f"{value:.2f}x"
    if unit == "ms":
        return f"{value:.3f} ms" if value < 10 else f"{value:.1f} ms"
    return f"{value:.3f} {unit}" if value < 10 else f"{value:.1f} {unit}"


def _limit(target: Target) -> str:
    if target.unit == "x":
        return f"{target.direction} {target.limit:g}x"
    if target.unit == "transitions/s":
        return f"{target.direction} {target.limit:,.0f}/s"
    return f"{target.direction} {target.limit:g} {target.unit}"


def render(outcomes: list[Outcome]) -> list[str]:
    """The summary table: one line per target, then the counts by verdict."""
    lines = [f"{'issue':<6}{'target':<52}{'limit':<14}{'figure':<26}verdict"]
    for outcome in outcomes:
        target = outcome.target
        if outcome.figure is not None:
            figure, verdict = _number(outcome.figure, target.unit), outcome.verdict
        else:
            figure, verdict = "-", f"{outcome.verdict}: {outcome.reason}"
        lines.append(
            f"#{target.issue:<5}{target.label:<52}{_limit(target):<14}{figure:<26}{verdict}"
        )
    counts = {
        v: sum(o.verdict == v for o in outcomes) for v in ("PASS", "FAIL", "SKIPPED", "MISSING")
    }
    lines.append(", ".join(f"{count} {verdict}" for verdict, count in counts.items() if count))
    return lines
