"""The same workloads on this engine and on its peers, side by side, with the ratios.

    python -m bench.compare                      # every sequential workload
    python -m bench.compare order_flow hello     # some of them
    npm ci --prefix bench/peers                  # once, to add aws-local-stepfunctions

Peers: moto's Step Functions with its state machine execution switched on (moto is
already a dependency; its executions run in a thread behind the boto3 API, so each
one is a StartExecution and DescribeExecution polls until it ends), and
aws-local-stepfunctions (Node) when ``bench/peers/node_modules`` has it. This
engine runs through its public ``StateMachine.run()`` in the default handler mode.
moto cannot call in-process handlers (its Lambda needs Docker), so on moto each
Task state becomes a Pass state whose ``Result`` is the Task's canned result: the
same data flow, without the invocation. Every figure is the median time per
execution over ``--batches`` batches of at least ``--batch-seconds``, and every
peer's output is checked against the workload's expected output.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.__main__ import (
    EXTRA,
    SETTINGS,
    WORKLOADS,
    batch,
    check,
    handlers,
    spread,
    strip,
    through_run,
)
from bench.pair import rounds_in_order, summary
from workflows.engine import StateMachine

PEERS = Path(__file__).with_name("peers")
# issue #14: order_flow through run() at least 2.5x aws-local-stepfunctions
LOCAL_SFN = "aws-local-stepfunctions"
RATIO_TARGETS = {("order_flow", LOCAL_SFN): 2.5}


class _PeerFailed(Exception):
    """The peer could not run the workload (its execution did not succeed)."""


def tasks_as_pass(definition: dict[str, Any], results: dict[str, Any]) -> dict[str, Any]:
    """``definition`` with each Task state replaced by a Pass state returning its result."""
    states: dict[str, Any] = {}
    for name, state in definition["States"].items():
        state = dict(state)
        if state["Type"] == "Task":
            state = {
                k: v
                for k, v in state.items()
                if k in ("Comment", "InputPath", "Parameters", "ResultPath", "OutputPath")
                or k in ("Next", "End")
            }
            state.update(Type="Pass", Result=results.get(name))
            state.pop("Parameters", None)  # a Pass with Result ignores its Parameters
        for key in ("Branches",):
            if key in state:
                state[key] = [tasks_as_pass(branch, results) for branch in state[key]]
        for key in ("Iterator", "ItemProcessor"):
            if key in state:
                state[key] = tasks_as_pass(state[key], results)
        states[name] = state
    return {**definition, "States": states}


def _batches(once: Callable[[], Any]) -> tuple[dict[str, Any], Any]:
    per_batch: list[float] = []
    output = None
    for _ in range(int(SETTINGS["batches"])):
        ms, _, output = batch(once)
        per_batch.append(ms)
    return spread(per_batch), output


def _checked(spec: dict[str, Any], figures: dict[str, Any], output: Any) -> None:
    """Marks ``figures`` when the peer's output differs from the expected one."""
    keys = spec.get("nondeterministic_keys", [])
    figures["correct"] = strip(output, keys) == strip(spec["expected_output"], keys)
    if not figures["correct"]:
        figures["output"] = output


def ours(spec: dict[str, Any]) -> dict[str, float]:
    figures = through_run(StateMachine(spec["definition"], name=spec["name"]), spec)
    return {k: figures[k] for k in ("ms_per_execution", "ms_min", "ms_p90")}


def on_moto(spec: dict[str, Any]) -> dict[str, Any]:
    import logging

    import boto3
    from moto import mock_aws

    # a failing execution logs its whole parse tree at ERROR; the row says it failed
    logging.getLogger("moto").setLevel(logging.CRITICAL)

    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    definition = tasks_as_pass(spec["definition"], spec.get("task_results", {}))
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        client = boto3.client("stepfunctions", region_name="us-east-1")
        arn = client.create_state_machine(
            name=spec["name"],
            definition=json.dumps(definition),
            roleArn="arn:aws:iam::123456789012:role/bench",
        )["stateMachineArn"]
        text = json.dumps(spec["input"])

        def once() -> Any:
            started = client.start_execution(stateMachineArn=arn, input=text, name=uuid.uuid4().hex)
            while True:
                described = client.describe_execution(executionArn=started["executionArn"])
                if described["status"] != "RUNNING":
                    break
                time.sleep(0.0002)
            if described["status"] != "SUCCEEDED":
                raise _PeerFailed(described["status"])
            return json.loads(described["output"])

        try:
            once()
        except _PeerFailed as failed:  # e.g. JSONata, which moto's interpreter lacks
            return {"failed": str(failed)}
        figures, output = _batches(once)
    _checked(spec, figures, output)
    return figures


def local_stepfunctions_missing() -> str | None:
    """Why aws-local-stepfunctions cannot run here, or None when it can."""
    if shutil.which("node") is None:
        return "node not found"
    if not (PEERS / "node_modules" / "aws-local-stepfunctions").is_dir():
        return "aws-local-stepfunctions not installed (npm ci --prefix bench/peers)"
    return None


def on_local_stepfunctions(file: Path, spec: dict[str, Any]) -> dict[str, Any]:
    """The peer alone, in its own batches (for workloads without a ratio target)."""
    missing = local_stepfunctions_missing()
    if missing is not None:
        return {"skipped": missing}
    done = subprocess.run(
        [
            "node",
            str(PEERS / "local_stepfunctions.mjs"),
            str(file),
            str(int(SETTINGS["batches"])),
            str(SETTINGS["batch_seconds"]),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    _checked(spec, result, result.pop("output"))
    return result


def interleaved_with_local_stepfunctions(
    file: Path, spec: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Ours through ``run()`` and the peer in alternating batches (bench.pair's ABBA).

    The peer serves batches on request from one warm Node process, so both sides are
    measured in the same minutes; the ratio is the median of the per-round ratios.
    """
    missing = local_stepfunctions_missing()
    if missing is not None:
        return ours(spec), {"skipped": missing}
    machine = StateMachine(spec["definition"], name=spec["name"])
    lambdas = handlers(spec.get("task_results", {}))

    def once() -> Any:
        return machine.run(spec["input"], lambdas=lambdas)

    batch(once)  # as the peer warms up for a batch before it is ready
    command = ["node", str(PEERS / "local_stepfunctions.mjs"), str(file), "serve"]
    command.append(str(SETTINGS["batch_seconds"]))
    with subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    ) as peer:
        asks, answers = peer.stdin, peer.stdout
        assert asks is not None
        assert answers is not None
        answers.readline()  # {"ready": true}: warmed up

        def peer_batch() -> tuple[float, Any]:
            asks.write("batch\n")
            asks.flush()
            answer = json.loads(answers.readline())
            return float(answer["ms"]), answer["output"]

        mine: list[float] = []
        theirs: list[float] = []
        output: Any = None
        their_output: Any = None
        for ours_first in rounds_in_order(int(SETTINGS["batches"])):
            for side in ("ours", "peer") if ours_first else ("peer", "ours"):
                if side == "ours":
                    ms, _, output = batch(once)
                    mine.append(ms)
                else:
                    ms, their_output = peer_batch()
                    theirs.append(ms)
        asks.close()
    paired = summary(mine, theirs)
    _checked(spec, paired["second"], their_output)
    check(spec, output.status, output.output)
    ours_figures: dict[str, Any] = dict(paired["first"])
    peer_figures: dict[str, Any] = {**paired["second"], "ratio": paired["ratio"]}
    peer_figures["ratios"] = paired["ratios"]
    return ours_figures, peer_figures


HEADING = (
    f"{'ms per execution':<20}{'this engine':>16}{'moto':>16}{'local-sfn':>16}   "
    "(! = the peer's output differs from the expected one; not run = skipped or "
    "not installed)"
)


def _cell(figures: dict[str, Any]) -> str:
    if "skipped" in figures:
        return f"{'(not run)':>16}"
    if "failed" in figures:
        return f"{'failed':>16}"
    wrong = " !" if figures.get("correct") is False else "  "
    return f"{figures['ms_per_execution']:>10.3f} ms{wrong}"


def render(name: str, row: dict[str, dict[str, Any]]) -> str:
    """One workload's row: the time per execution on each, and our speed-up over each peer."""
    ours_ms = row["ours"]["ms_per_execution"]
    ratios = []
    for peer in ("moto", "aws-local-stepfunctions"):
        figures = row[peer]
        if "skipped" in figures or "failed" in figures:
            continue
        ratio = figures.get("ratio") or figures["ms_per_execution"] / ours_ms
        note = f"{ratio:.2f}x as fast as {peer}"
        if "ratios" in figures:
            note += f" (median of {len(figures['ratios'])} interleaved rounds)"
        target = RATIO_TARGETS.get((name, peer))
        if target is not None:
            note += f" (>= {target:g}x: {'PASS' if ratio >= target else 'FAIL'})"
        ratios.append(note)
    return (
        f"{name:<20}{_cell(row['ours'])}{_cell(row['moto'])}"
        f"{_cell(row['aws-local-stepfunctions'])}   {', '.join(ratios)}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.compare", description=__doc__)
    parser.add_argument("names", nargs="*", help="workload names (default: all sequential)")
    parser.add_argument("--batch-seconds", type=float, default=1.0)
    parser.add_argument("--batches", type=int, default=3)
    parser.add_argument("--no-moto", action="store_true", help="skip moto (slow on big maps)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    SETTINGS.update(batch_seconds=args.batch_seconds, batches=args.batches)
    files = sorted(WORKLOADS.glob("*.json")) + sorted(EXTRA.glob("*.json"))
    if not args.json:
        print(HEADING)
    for file in files:
        spec = json.loads(file.read_text())
        if spec["mode"] != "sequential" or (args.names and spec["name"] not in args.names):
            continue
        row: dict[str, dict[str, Any]] = {}
        if any(name == spec["name"] for name, _ in RATIO_TARGETS):
            # a target judges this ratio: measure both sides in the same minutes
            row["ours"], row[LOCAL_SFN] = interleaved_with_local_stepfunctions(file, spec)
        else:
            row["ours"] = ours(spec)
            row[LOCAL_SFN] = on_local_stepfunctions(file, spec)
        row["moto"] = {"skipped": "--no-moto"} if args.no_moto else on_moto(spec)
        print(json.dumps({"name": spec["name"], **row}) if args.json else render(spec["name"], row))
        sys.stdout.flush()
    missing = local_stepfunctions_missing()
    if missing is not None and not args.json:
        print(f"aws-local-stepfunctions skipped: {missing}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
