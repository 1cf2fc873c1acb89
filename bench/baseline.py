"""The engine against a bare dict-walking interpreter, on the same workload (issue #14).

    python -m bench.baseline                 # pass_chain (target: >= 0.3x the bare walker)
    python -m bench.baseline --batches 7

The bare walker is the least an interpreter of these definitions can do: it reads each
state's dict on every transition, follows ``Next``, fills ``Parameters`` (constants and
``.$`` paths of plain keys) and writes ``ResultPath`` in place into its own copy of the
input (made once per execution), and nothing else: no validation, no compilation, no
history, no context object, no payload limit, no error texts. The engine runs
``await execute()`` on one loop, as ``python -m bench`` does. Both are measured in the
same process, batch after batch interleaved, and the figure is the ratio of the medians
(engine / bare, in transitions per second).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from collections.abc import Callable
from typing import Any

from bench.__main__ import EXTRA, SETTINGS, WORKLOADS, check
from workflows.engine import StateMachine

# issue #14: the engine at least this fraction of the bare walker's transitions per second
TARGET_RATIO = 0.3
AIM_RATIO = 0.5


def _read(data: Any, path: str) -> Any:
    if path == "$":
        return data
    for key in path[2:].split("."):
        data = data[key]
    return data


def _write(data: Any, path: str, value: Any) -> Any:
    if path == "$":
        return value
    keys = path[2:].split(".")
    node = data
    for key in keys[:-1]:
        node = node[key]
    node[keys[-1]] = value  # in place: the walker owns its copy of the input
    return data


def _fill(template: Any, data: Any) -> Any:
    if isinstance(template, dict):
        out = {}
        for key, value in template.items():
            if key.endswith(".$"):
                out[key[:-2]] = _read(data, value)
            else:
                out[key] = _fill(value, data)
        return out
    if isinstance(template, list):
        return [_fill(item, data) for item in template]
    return template


def bare_run(definition: dict[str, Any], data: Any) -> Any:
    """Pass, Succeed and Choice-free chains: the dict walked on every transition."""
    states = definition["States"]
    name = definition["StartAt"]
    data = json.loads(json.dumps(data))  # its own copy, once: then states write in place
    while True:
        state = states[name]
        kind = state["Type"]
        if kind == "Succeed":
            return data
        if kind != "Pass":
            raise ValueError(f"the bare walker runs Pass and Succeed states only, not {kind}")
        if "Result" in state:
            result = state["Result"]
        elif "Parameters" in state:
            result = _fill(state["Parameters"], data)
        else:
            result = data
        data = _write(data, state.get("ResultPath", "$"), result)
        if state.get("End"):
            return data
        name = state["Next"]


def _batch(once: Callable[[], Any]) -> float:
    count = 0
    start = time.perf_counter()
    while count == 0 or time.perf_counter() - start < SETTINGS["batch_seconds"]:
        once()
        count += 1
    return (time.perf_counter() - start) / count * 1e3


def measure(spec: dict[str, Any]) -> dict[str, float]:
    definition = spec["definition"]
    machine = StateMachine(definition, name=spec["name"])
    loop = asyncio.new_event_loop()
    try:
        result = loop.run_until_complete(machine.execute(spec["input"]))
        check(spec, result.status, result.output)
        check(spec, "SUCCEEDED", bare_run(definition, spec["input"]))

        def engine() -> None:
            loop.run_until_complete(_engine_batch(machine, spec["input"]))

        engine_ms: list[float] = []
        bare_ms: list[float] = []
        for _ in range(int(SETTINGS["batches"])):
            engine_ms.append(_batch(engine) / _PER_BATCH)
            bare_ms.append(_batch(lambda: bare_run(definition, spec["input"])))
    finally:
        loop.close()
    engine_median = statistics.median(engine_ms)
    bare_median = statistics.median(bare_ms)
    transitions = spec["transitions_per_execution"]
    return {
        "engine_ms": engine_median,
        "bare_ms": bare_median,
        "engine_transitions_per_s": transitions / engine_median * 1e3,
        "bare_transitions_per_s": transitions / bare_median * 1e3,
        "ratio": bare_median / engine_median,
    }


_PER_BATCH = 20  # executions per loop entry, so that run_until_complete is not measured


async def _engine_batch(machine: StateMachine, data: Any) -> None:
    for _ in range(_PER_BATCH):
        await machine.execute(data)


def render(name: str, figures: dict[str, float]) -> str:
    verdict = "PASS" if figures["ratio"] >= TARGET_RATIO else "FAIL"
    return (
        f"{name:<12} engine {figures['engine_ms']:.3f} ms "
        f"({figures['engine_transitions_per_s']:,.0f} transitions/s)  "
        f"bare walker {figures['bare_ms']:.3f} ms "
        f"({figures['bare_transitions_per_s']:,.0f} transitions/s)  "
        f"{figures['ratio']:.2f}x the bare walker (>= {TARGET_RATIO}x: {verdict}; "
        f"aim {AIM_RATIO}x)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.baseline", description=__doc__)
    parser.add_argument("names", nargs="*", default=["pass_chain"])
    parser.add_argument("--batch-seconds", type=float, default=1.0)
    parser.add_argument("--batches", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="print one JSON object per workload")
    args = parser.parse_args(argv)
    SETTINGS.update(batch_seconds=args.batch_seconds, batches=args.batches)
    files = {f.stem: f for f in [*sorted(WORKLOADS.glob("*.json")), *sorted(EXTRA.glob("*.json"))]}
    for name in args.names:
        if name not in files:
            raise SystemExit(f"{name}: no such workload in {WORKLOADS} or {EXTRA}")
        figures = measure(json.loads(files[name].read_text()))
        print(
            json.dumps({"name": name, **figures}) if args.json else render(name, figures),
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
