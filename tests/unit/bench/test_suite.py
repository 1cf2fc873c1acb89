"""`make bench` (bench.suite): each part's lines as they come, then the table of verdicts.

The parts here are small scripts that print figures made up for the test, in the JSON
the real parts print: what is checked is what the suite does with them.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from bench import suite, targets


def _sequential(name: str, mode: str, ms: float, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "mode": mode,
        "with_tasks": name.startswith("order_flow"),
        "executions": 1000,
        "executions_per_s": 1e3 / ms,
        "transitions_per_s": 1e4 / ms,
        "ms_per_execution": ms,
        "ms_min": ms,
        "ms_p90": ms,
        "peak_rss_mb": 30.0,
        "parse_ms": 1.0,
        **extra,
    }


def _concurrent(name: str, executions: int, scaled: bool, peak_rss_mb: float) -> dict[str, Any]:
    return {
        "name": name,
        "mode": "thread",
        "with_tasks": False,
        "executions": executions,
        "executions_per_s": executions,
        "transitions_per_s": 2 * executions,
        "wall_s": 1.02,
        "kb_per_waiting_execution": 5.0,
        "peak_rss_mb": peak_rss_mb,
        "scaled": scaled,
    }


def _spread(value: float) -> dict[str, float]:
    return {"median": value, "min": value, "max": value}


ENGINE_ROWS = [
    _concurrent("concurrency", 1000, False, 32.0),
    _sequential("map_fanout", "thread", 7.0),
    _sequential("order_flow", "inline", 0.06),
    _sequential("order_flow", "run", 0.09),
    _sequential("order_flow_jsonata", "inline", 0.12),
    _sequential("pass_chain", "thread", 0.14, transitions_per_s=7e5),
    # bench.pair's interleaved rounds judge the ratio, not the two rows above
    {
        "name": "order_flow_jsonata",
        "over": "order_flow",
        "mode": "inline",
        "first": {"ms_per_execution": 0.06, "ms_min": 0.06, "ms_p90": 0.06},
        "second": {"ms_per_execution": 0.15, "ms_min": 0.15, "ms_p90": 0.15},
        "ratio": 2.5,
        "ratios": [2.4, 2.5, 2.6],
    },
]
SCALED_ROWS = [_concurrent("concurrency_w10", 10_000, True, 80.0)]
BASELINE_ROWS = [
    {
        "name": "pass_chain",
        "engine_ms": 0.14,
        "bare_ms": 0.19,
        "engine_transitions_per_s": 7e5,
        "bare_transitions_per_s": 5e5,
        "ratio": 1.3,
    }
]
COMPARE_ROWS = [
    {
        "name": "order_flow",
        "ours": {"ms_per_execution": 0.1},
        "moto": {"ms_per_execution": 150.0, "correct": True},
        "aws-local-stepfunctions": {
            "ms_per_execution": 0.4,
            "correct": True,
            "ratio": 4.5,
            "ratios": [4.4, 4.5, 4.6],
        },
    }
]
_DEMO = {
    "wall_s": _spread(0.6),
    "cpu_s": _spread(0.6),
    "order_ms": _spread(55.0),
    "notification_ms": _spread(40.0),
}
PROCESS_ROWS = [
    {
        "cold_imports": [
            {"module": module, "wall_s": _spread(0.09), "cpu_s": _spread(0.09)}
            for module in ("tasks.orders.charge_payment", "tasks.notifications.send_email")
        ],
        "demo": {"environment": _DEMO},
    }
]


def _script(tmp_path: Path, name: str, rows: list[dict[str, Any]], status: int = 0) -> list[str]:
    """A command that prints a line of text, then ``rows`` as JSON lines, and exits ``status``."""
    script = tmp_path / f"{name}.py"
    text = "\n".join(json.dumps(row) for row in rows)
    script.write_text(
        f"import sys\nprint('warming up {name}')\nprint({text!r})\nsys.exit({status})\n"
    )
    return [sys.executable, str(script)]


def _parts(tmp_path: Path, process_status: int = 0) -> list[suite.Part]:
    real = {part.measures: part for part in suite.parts(1, 0.1, 1)}
    rows = {
        targets.ENGINE: ENGINE_ROWS,
        targets.SCALED: SCALED_ROWS,
        targets.BASELINE: BASELINE_ROWS,
        targets.COMPARE: COMPARE_ROWS,
        targets.PROCESS: PROCESS_ROWS,
    }
    made = []
    for index, (measures, part) in enumerate(real.items()):
        status = process_status if measures == targets.PROCESS else 0
        argv = _script(tmp_path, f"part{index}", rows[measures], status)
        made.append(suite.Part(measures, argv, part.render, part.heading))
    return made


@pytest.fixture
def workloads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(suite, "WORKLOADS", tmp_path)


@pytest.mark.usefixtures("workloads")
def test_every_part_is_shown_as_alone_then_each_target_with_its_verdict(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    made = _parts(tmp_path)
    monkeypatch.setattr(suite, "parts", lambda *_: made)
    assert suite.main([]) == 0
    out = capsys.readouterr().out
    # the parts' own lines: text as printed, figures rendered as the part renders them
    assert "warming up part0" in out
    assert "order_flow [run(), thread]" in out
    assert "#14 ms_per_execution <= 0.1: PASS" in out
    assert (
        "order_flow_jsonata / order_flow [inline]: 2.50x (median of 3 interleaved rounds, "
        "2.40-2.60; <= 3x: PASS)" in out
    )
    assert "1.30x the bare walker (>= 0.3x: PASS" in out
    assert (
        "4.50x as fast as aws-local-stepfunctions (median of 3 interleaved rounds) "
        "(>= 2.5x: PASS)" in out
    )
    assert "make demo order execution" in out
    table = out[out.index("== Targets on this machine") :]
    assert f"{len(targets.TARGETS)} PASS\n" in table
    assert "order_flow through run(), default thread mode" in table
    assert "bench.local_load" in table


@pytest.mark.usefixtures("workloads")
def test_a_part_that_fails_leaves_its_targets_missing_and_the_suite_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    made = _parts(tmp_path, process_status=1)
    monkeypatch.setattr(suite, "parts", lambda *_: made)
    assert suite.main([]) == 1
    table = capsys.readouterr().out.split("== Targets on this machine")[1]
    demo = next(line for line in table.splitlines() if "make demo: the whole process" in line)
    # its figures were printed before it failed: the suite does not judge a broken part's
    assert demo.endswith("MISSING: python -m bench.process exited with status 1")
    assert "MISSING" not in next(line for line in table.splitlines() if "map_fanout" in line)


def test_without_the_shared_workloads_the_engine_targets_are_missing_not_passed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(suite, "WORKLOADS", tmp_path / "absent")
    # bench/workloads' own order_flow_jsonata still runs: it alone must not look like a pass
    only_own = _parts(tmp_path)
    only_own[0].argv = _script(tmp_path, "own", [_sequential("order_flow_jsonata", "inline", 0.1)])
    monkeypatch.setattr(suite, "parts", lambda *_: only_own)
    assert suite.main([]) == 1
    table = capsys.readouterr().out.split("== Targets on this machine")[1]
    line = next(line for line in table.splitlines() if "order_flow through run()" in line)
    assert "MISSING: no workloads in" in line
    assert "WORKFLOWS_BENCH_DIR" in line
