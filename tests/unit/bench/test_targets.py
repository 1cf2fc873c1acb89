"""The summary of `make bench`: which verdict each target gets from the parts' figures."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bench import compare, targets
from bench.__main__ import EXTRA, SETTINGS


def _verdicts(outcomes: list[targets.Outcome]) -> dict[tuple[int, str], str]:
    return {(o.target.issue, o.target.key): o.verdict for o in outcomes}


def _all_passing() -> dict[str, float]:
    """A figure exactly at each target's limit: every limit is inclusive."""
    return {target.key: target.limit for target in targets.TARGETS}


def test_a_figure_at_its_limit_passes_and_one_beyond_fails() -> None:
    figures = _all_passing()
    assert {o.verdict for o in targets.judge(figures, {})} == {"PASS"}

    figures["order_flow.run.ms"] = 0.11  # run() <= 0.1 ms
    figures["pass_chain.vs_bare"] = 0.29  # >= 0.3x the bare walker
    verdicts = _verdicts(targets.judge(figures, {}))
    assert verdicts[(14, "order_flow.run.ms")] == "FAIL"
    assert verdicts[(14, "pass_chain.vs_bare")] == "FAIL"
    assert list(verdicts.values()).count("FAIL") == 2


def test_one_figure_is_judged_against_each_issue_s_limit() -> None:
    # order_flow [inline]: <= 0.15 ms for #2, <= 0.08 ms for #14's await execute()
    figures = {**_all_passing(), "order_flow.inline.ms": 0.1}
    verdicts = _verdicts(targets.judge(figures, {}))
    assert verdicts[(2, "order_flow.inline.ms")] == "PASS"
    assert verdicts[(14, "order_flow.inline.ms")] == "FAIL"


def test_a_target_without_a_figure_is_skipped_with_its_reason_or_missing() -> None:
    figures = _all_passing()
    del figures["order_flow.vs_local_sfn"], figures["demo.wall_s"], figures["map_fanout.ms"]
    outcomes = {
        o.target.key: o
        for o in targets.judge(
            figures,
            {"order_flow.vs_local_sfn": "node not found"},
            {targets.PROCESS: "python -m bench.process exited with status 1"},
        )
    }
    assert (
        outcomes["order_flow.vs_local_sfn"].verdict,
        outcomes["order_flow.vs_local_sfn"].reason,
    ) == (
        "SKIPPED",
        "node not found",
    )
    assert outcomes["demo.wall_s"].verdict == "MISSING"
    assert outcomes["demo.wall_s"].reason == "python -m bench.process exited with status 1"
    # absent with no reason given: never a silent pass
    assert outcomes["map_fanout.ms"].verdict == "MISSING"
    assert outcomes["map_fanout.ms"].reason == "no figure from python -m bench"


def _row(name: str, mode: str, **figures: Any) -> dict[str, Any]:
    return {"name": name, "mode": mode, **figures}


def test_the_engine_rows_give_the_modes_each_target_judges() -> None:
    rows = [
        _row("order_flow", "thread", ms_per_execution=0.5),
        _row("order_flow", "inline", ms_per_execution=0.06),
        _row("order_flow", "run", ms_per_execution=0.09),
        _row("order_flow_jsonata", "inline", ms_per_execution=0.12),
        # the ratio judged is the interleaved one (bench.pair), not 0.12 / 0.06
        _row("order_flow_jsonata", "inline", over="order_flow", ratio=2.5, ratios=[2.5]),
        _row("pass_chain", "thread", transitions_per_s=700_000.0),
        _row("pass_chain", "run", transitions_per_s=1.0),
        _row("map_fanout", "thread", ms_per_execution=7.0),
        _row("concurrency", "thread", wall_s=1.02, kb_per_waiting_execution=5.0),
        # the default scale of concurrency_w10 judges nothing; 10,000 judges the peak RSS
        _row("concurrency_w10", "thread", scaled=False, executions=1000, peak_rss_mb=30.0),
    ]
    figures = targets.figures_from_bench(rows)
    assert figures == {
        "order_flow.inline.ms": 0.06,
        "order_flow.run.ms": 0.09,
        "order_flow_jsonata.ratio": 2.5,
        "pass_chain.transitions_per_s": 700_000.0,
        "map_fanout.ms": 7.0,
        "concurrency.wall_s": 1.02,
        "concurrency.kb_per_waiting": 5.0,
    }
    scaled = _row("concurrency_w10", "thread", scaled=True, executions=10_000, peak_rss_mb=80.0)
    assert targets.figures_from_bench([scaled]) == {"concurrency_w10.peak_rss_mb": 80.0}


def _compare_row(peer: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": "order_flow",
        "ours": {"ms_per_execution": 0.1},
        "moto": {"ms_per_execution": 150.0, "correct": True},
        "aws-local-stepfunctions": peer,
    }


def test_the_comparison_gives_a_ratio_or_says_why_it_has_none() -> None:
    row = _compare_row({"ms_per_execution": 0.3, "correct": True})
    figures, skipped = targets.figures_from_compare([row])
    assert figures == {"order_flow.vs_local_sfn": pytest.approx(3.0)}
    assert skipped == {}

    # measured in interleaved rounds: the median of the rounds' ratios is the figure
    row = _compare_row({"ms_per_execution": 0.3, "correct": True, "ratio": 2.8, "ratios": [2.8]})
    assert targets.figures_from_compare([row])[0] == {"order_flow.vs_local_sfn": 2.8}

    row = _compare_row({"skipped": "node not found"})
    assert targets.figures_from_compare([row]) == (
        {},
        {"order_flow.vs_local_sfn": "node not found"},
    )

    # a peer that computes something else is not a figure to be compared with
    row = _compare_row({"ms_per_execution": 0.3, "correct": False})
    figures, skipped = targets.figures_from_compare([row])
    assert figures == {}
    assert "differs" in skipped["order_flow.vs_local_sfn"]


def test_without_node_the_comparison_skips_its_peer_and_says_so(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PATH", "")
    monkeypatch.setitem(SETTINGS, "batch_seconds", 0.01)
    monkeypatch.setitem(SETTINGS, "batches", 2)
    assert compare.local_stepfunctions_missing() == "node not found"
    assert compare.on_local_stepfunctions(compare.PEERS, {}) == {"skipped": "node not found"}
    spec = json.loads((EXTRA / "order_flow_jsonata.json").read_text())
    ours, peer = compare.interleaved_with_local_stepfunctions(compare.PEERS, spec)
    assert peer == {"skipped": "node not found"}
    assert ours["ms_per_execution"] > 0  # ours is still measured, alone


def test_the_process_figures_judged_are_the_demo_as_run_here_and_each_cold_import() -> None:
    def spread(median: float) -> dict[str, float]:
        return {"median": median, "min": median, "max": median}

    demo = {"wall_s": spread(0.9), "order_ms": spread(80.0), "notification_ms": spread(50.0)}
    result = {
        "cold_imports": [{"module": "tasks.orders.charge_payment", "wall_s": spread(0.15)}],
        "demo": {"environment": demo, "cached": {k: spread(0.0) for k in demo}},
    }
    assert targets.figures_from_process(result) == {
        "cold_import.tasks.orders.charge_payment": 0.15,
        "demo.wall_s": 0.9,
        "demo.order_ms": 80.0,
        "demo.notification_ms": 50.0,
    }


def test_the_table_has_a_line_per_target_with_its_figure_or_reason_then_the_counts() -> None:
    figures = {**_all_passing(), "order_flow.run.ms": 0.123}
    del figures["order_flow.vs_local_sfn"]
    lines = targets.render(targets.judge(figures, {"order_flow.vs_local_sfn": "node not found"}))
    assert len(lines) == 1 + len(targets.TARGETS) + 1
    run_line = next(line for line in lines if "order_flow through run()" in line)
    assert "<= 0.1 ms" in run_line
    assert "0.123 ms" in run_line
    assert run_line.endswith("FAIL")
    assert any(line.endswith("SKIPPED: node not found") for line in lines)
    assert lines[-1] == f"{len(targets.TARGETS) - 2} PASS, 1 FAIL, 1 SKIPPED"
