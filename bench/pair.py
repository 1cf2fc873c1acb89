"""Two things measured in the same minutes, batch for batch, and the ratio of their times.

    python -m bench.pair                          # order_flow_jsonata over order_flow, inline

A ratio of two figures taken minutes apart measures the machine as much as the code:
on a shared two-core machine one batch can take twice as long as the next because
another program woke up. So a ratio target (issue #3: the JSONata order_flow within 3x
of the JSONPath one; issue #14: order_flow against aws-local-stepfunctions) is taken
from interleaved batches: a batch of one, a batch of the other, then the other way
round (ABBA), and the verdict is the median of the per-round ratios. A load that comes
and goes then slows both sides of a round alike.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
from typing import Any

from bench.__main__ import SETTINGS, batch_async, check, handlers, spread, workload_file
from workflows.engine import StateMachine

JSONATA_RATIO = 3.0  # issue #3: order_flow_jsonata at most 3x order_flow


def summary(first: list[float], second: list[float]) -> dict[str, Any]:
    """Both sides' spreads and the median of the per-round ratios second / first."""
    ratios = [b / a for a, b in zip(first, second, strict=True)]
    return {
        "first": spread(first),
        "second": spread(second),
        "ratio": statistics.median(ratios),
        "ratios": ratios,
    }


def rounds_in_order(rounds: int) -> list[bool]:
    """For each round, whether the first side goes first: ABBA, so drift cancels."""
    return [index % 2 == 0 for index in range(rounds)]


async def jsonata_over_jsonpath(rounds: int) -> dict[str, Any]:
    """order_flow and order_flow_jsonata, inline on one loop, in interleaved batches."""
    sides = []
    for name in ("order_flow", "order_flow_jsonata"):
        spec = json.loads(workload_file(name).read_text())
        machine = StateMachine(spec["definition"], name=name)
        lambdas = handlers(spec.get("task_results", {}))

        def once(m: StateMachine = machine, s: dict[str, Any] = spec, h: Any = lambdas) -> Any:
            return m.execute(s["input"], lambdas=h, handler_mode="inline")

        for _ in range(spec["defaults"]["warmup"]):
            await once()
        sides.append((spec, once))
    times: list[list[float]] = [[], []]
    for plain_first in rounds_in_order(rounds):
        order = (0, 1) if plain_first else (1, 0)
        for side in order:
            spec, once = sides[side]
            ms, _, result = await batch_async(once)
            check(spec, result.status, result.output)
            times[side].append(ms)
    return {
        "name": "order_flow_jsonata",
        "over": "order_flow",
        "mode": "inline",
        **summary(times[0], times[1]),
    }


def verdict_line(row: dict[str, Any]) -> str:
    ratio = row["ratio"]
    low, high = min(row["ratios"]), max(row["ratios"])
    return (
        f"{row['name']} / {row['over']} [{row['mode']}]: {ratio:.2f}x "
        f"(median of {len(row['ratios'])} interleaved rounds, {low:.2f}-{high:.2f}; "
        f"<= {JSONATA_RATIO:g}x: {'PASS' if ratio <= JSONATA_RATIO else 'FAIL'})"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.pair", description=__doc__)
    parser.add_argument("--batch-seconds", type=float, default=1.0, help="least time of a batch")
    parser.add_argument("--batches", type=int, default=5, help="rounds (one batch of each)")
    parser.add_argument("--json", action="store_true", help="print the row as one JSON object")
    args = parser.parse_args(argv)
    SETTINGS.update(batch_seconds=args.batch_seconds, batches=args.batches)
    row = asyncio.run(jsonata_over_jsonpath(args.batches))
    print(json.dumps(row) if args.json else verdict_line(row), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
