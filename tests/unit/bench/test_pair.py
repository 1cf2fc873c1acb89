"""bench.pair: ratio targets from interleaved batches, so a load that comes and goes
slows both sides of a round alike instead of deciding the verdict."""

from __future__ import annotations

import asyncio

import pytest

from bench import pair
from bench.__main__ import SETTINGS, WORKLOADS


def test_rounds_alternate_which_side_goes_first() -> None:
    assert pair.rounds_in_order(4) == [True, False, True, False]


def test_the_ratio_is_the_median_of_the_rounds_not_of_the_medians() -> None:
    # the machine got three times slower after the second round: each round's ratio
    # is still 2, which two medians taken from different rounds would not show
    first = [1.0, 1.0, 3.0, 3.0, 3.0]
    second = [2.0, 2.0, 6.0, 6.0, 6.0]
    summary = pair.summary(first, second)
    assert summary["ratio"] == 2.0
    assert summary["ratios"] == [2.0] * 5
    assert summary["first"]["ms_per_execution"] == 3.0
    assert summary["second"]["ms_min"] == 2.0
    one_slow_round = pair.summary([1.0, 1.0, 1.0], [2.0, 9.0, 2.0])
    assert one_slow_round["ratio"] == 2.0


@pytest.mark.skipif(
    not (WORKLOADS / "order_flow.json").exists(), reason=f"no order_flow.json in {WORKLOADS}"
)
def test_the_jsonata_pair_runs_both_workloads_and_checks_their_outputs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(SETTINGS, "batch_seconds", 0.01)
    row = asyncio.run(pair.jsonata_over_jsonpath(3))
    assert (row["name"], row["over"], row["mode"]) == ("order_flow_jsonata", "order_flow", "inline")
    assert len(row["ratios"]) == 3
    assert row["ratio"] > 0
    line = pair.verdict_line(row)
    assert line.startswith("order_flow_jsonata / order_flow [inline]: ")
    assert "median of 3 interleaved rounds" in line
