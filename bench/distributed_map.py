"""Distributed Map at scale (issue #11): CSV rows from S3 through child executions.

    python -m bench.distributed_map                     # 100,000 rows, batches of 100
    python -m bench.distributed_map --items 10000 --batch 0   # 10,000 rows, no batching
    python -m bench.distributed_map --items 10000 --batch 0 --type STANDARD --store
        # 10,000 STANDARD children, map run and children in an execution store (a
        # temporary SQLite file), as under `workflows up`

S3 is moto in this process (as under ``workflows run``); the definition reads a CSV
with an ItemReader, batches it (``MaxItemsPerBatch``), runs up to ``--concurrency``
EXPRESS children at once, each a Pass and a Lambda function (a Python handler on the
handler threads), and keeps the results as the Map's output... unless they would
exceed 256 KiB, so the output here is written to S3 by a ResultWriter, as a real job
of this size would. Reported: wall time, items/s, and RSS sampled while the run goes
(after a quarter, half, three quarters of the items, and the peak), so that memory
that grows with the items already done would show. A benchmark, never a test.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import resource
import time
from typing import Any

from workflows.engine import StateMachine
from workflows.engine.lambdas import InProcessLambdas
from workflows.engine.tasks import TaskRunner

BUCKET = "bench-exports"


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1e6


def definition(batch: int, concurrency: int, execution_type: str = "EXPRESS") -> dict[str, Any]:
    state: dict[str, Any] = {
        "Type": "Map",
        "Label": "Bench",
        "ItemReader": {
            "Resource": "arn:aws:states:::s3:getObject",
            "ReaderConfig": {"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW"},
            "Parameters": {"Bucket": BUCKET, "Key": "orders.csv"},
        },
        "MaxConcurrency": concurrency,
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": execution_type},
            "StartAt": "Tag",
            "States": {
                "Tag": {"Type": "Pass", "Result": "bench", "ResultPath": "$.tag", "Next": "Count"},
                "Count": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::lambda:invoke",
                    "Parameters": {"FunctionName": "CountOrders", "Payload.$": "$"},
                    "OutputPath": "$.Payload",
                    "End": True,
                },
            },
        },
        "ResultWriter": {
            "Resource": "arn:aws:states:::s3:putObject",
            "Parameters": {"Bucket": BUCKET, "Prefix": "results"},
            "WriterConfig": {"Transformation": "COMPACT"},
        },
        "End": True,
    }
    if batch:
        state["ItemBatcher"] = {"MaxItemsPerBatch": batch}
    return {"StartAt": "Process", "States": {"Process": state}}


def count_orders(event: Any, context: Any) -> dict[str, Any]:
    items = event.get("Items", [event])
    return {"orders": len(items), "total": sum(int(i["total"]) for i in items)}


def csv_export(items: int) -> bytes:
    out = io.StringIO()
    out.write("orderId,customerId,status,total\n")
    for n in range(items):
        out.write(f"ORD-{n:07d},CUST-{n % 997},PENDING,{n % 100}\n")
    return out.getvalue().encode()


async def sample(run: dict[str, Any], runner: TaskRunner, items: int, stop: asyncio.Event) -> None:
    marks = [0.25, 0.5, 0.75]
    while not stop.is_set():
        run["peak"] = max(run.get("peak", 0.0), rss_mb())
        done = 0
        for map_run in runner.map_runs._runs.values():
            run["run"] = map_run  # a stored run leaves memory when it ends
            counts = map_run.items
            done = counts["succeeded"] + counts["failed"]
        while marks and done >= marks[0] * items:
            run[f"{int(marks.pop(0) * 100)}%"] = rss_mb()
        await asyncio.sleep(0.05)


async def main(
    items: int, batch: int, concurrency: int, execution_type: str = "EXPRESS", store: bool = False
) -> None:
    import boto3
    from moto import mock_aws

    from workflows.integrations import aws_integrations

    for key in [k for k in os.environ if k.startswith("AWS_ENDPOINT_URL")]:
        del os.environ[key]
    os.environ.update(
        AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1"
    )
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        s3.put_object(Bucket=BUCKET, Key="orders.csv", Body=csv_export(items))
        machine = StateMachine(
            definition(batch, concurrency, execution_type), name="DistributedBench"
        )
        handler = count_orders
        executions = None
        if store:
            from workflows.engine.clock import RealClock
            from workflows.local.map_run_store import StoredMapRuns
            from workflows.local.store import ExecutionStore

            executions = ExecutionStore(":memory:", recover=False)

            def handler(event: Any, context: Any) -> dict[str, Any]:
                # as under `workflows up`: an effect waits for the history to be stored
                assert executions is not None
                executions.barrier().result()
                return count_orders(event, context)

        runner = TaskRunner(
            InProcessLambdas({"CountOrders": handler}),
            aws_integrations(lambda: boto3.Session(region_name="us-east-1")),
        )
        if executions is not None:
            runner.map_runs.store = StoredMapRuns(executions, RealClock())
        figures: dict[str, Any] = {"start": rss_mb()}
        stop = asyncio.Event()
        sampler = asyncio.ensure_future(sample(figures, runner, items, stop))
        started = time.perf_counter()
        result = await machine.execute({}, runner=runner)
        if executions is not None:  # everything written is committed
            await asyncio.to_thread(executions.flush)
        wall = time.perf_counter() - started
        stop.set()
        await sampler
        if result.status != "SUCCEEDED":
            raise SystemExit(f"bench failed: {result.error}: {result.cause}")
        run = figures.get("run") or next(iter(runner.map_runs._runs.values()))
        done = run.items["succeeded"]
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3
        shape = f"batches of {batch}" if batch else "no batching"
        print(
            f"distributed_map {items} items ({shape}, MaxConcurrency {concurrency}, "
            f"{run.executions['succeeded']} {execution_type} children"
            f"{', stored' if store else ''})"
        )
        print(f"  wall {wall:.2f} s   {done / wall:,.0f} items/s   peak RSS {peak:.0f} MB")
        print(
            "  RSS MB at start {start:.0f}, 25% {a:.0f}, 50% {b:.0f}, 75% {c:.0f}".format(
                start=figures["start"],
                a=figures.get("25%", 0.0),
                b=figures.get("50%", 0.0),
                c=figures.get("75%", 0.0),
            )
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=100, help="MaxItemsPerBatch; 0: none")
    parser.add_argument("--concurrency", type=int, default=1000)
    parser.add_argument("--type", default="EXPRESS", choices=("EXPRESS", "STANDARD"))
    parser.add_argument("--store", action="store_true", help="keep map runs in a store")
    arguments = parser.parse_args()
    asyncio.run(
        main(
            arguments.items,
            arguments.batch,
            arguments.concurrency,
            arguments.type,
            arguments.store,
        )
    )
