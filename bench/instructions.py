"""Run one workload a fixed number of times, for an instruction count under callgrind.

    valgrind --tool=callgrind --callgrind-out-file=/dev/null \
        .venv/bin/python -m bench.instructions order_flow run 1000

Wall and CPU figures on a shared two-core machine move by 2x between minutes; the
instructions an execution takes do not (within about 1%). The figure per execution
is (instructions with N runs - instructions with 0 runs) / N: the second command,
with 0, counts the interpreter's start and the imports alone. ``run`` is the public
``StateMachine.run()`` in the default handler mode, ``execute`` is ``await
execute()`` on one loop with inline handlers (as ``python -m bench`` measures both).
"""

from __future__ import annotations

import argparse
import asyncio
import json

from bench.__main__ import EXTRA, WORKLOADS, handlers, workload_file
from workflows.engine import StateMachine


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workload")
    parser.add_argument("way", choices=["run", "execute"])
    parser.add_argument("runs", type=int)
    args = parser.parse_args()
    path = workload_file(args.workload)
    if not path.exists():
        raise SystemExit(
            f"python -m bench.instructions: no workload {args.workload!r} in {WORKLOADS} or "
            f"{EXTRA}: set WORKFLOWS_BENCH_DIR to the bench-workloads directory"
        )
    spec = json.loads(path.read_text())
    machine = StateMachine(spec["definition"])
    lambdas = handlers(spec.get("task_results", {}))
    if args.way == "run":
        for _ in range(args.runs):
            machine.run(spec["input"], lambdas=lambdas)
        return

    async def executions() -> None:
        for _ in range(args.runs):
            await machine.execute(spec["input"], lambdas=lambdas, handler_mode="inline")

    asyncio.run(executions())


if __name__ == "__main__":
    main()
