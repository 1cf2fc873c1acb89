"""A Distributed Map that runs again on its execution's stored history continues its
stored map run (issue #11), on the engine alone with an in-memory ``MapRunStore``: a
redrive runs only the children that did not succeed, a resume after a stop keeps the
children that ended and resumes the running ones on their own histories."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from typing import Any

from workflows.engine import StateMachine
from workflows.engine.clock import Clock, RealClock
from workflows.engine.history import History
from workflows.engine.lambdas import InProcessLambdas
from workflows.engine.map_runs import ChildExecution, MapRun, PriorChild, PriorRun
from workflows.engine.replay import Replay
from workflows.engine.tasks import TaskRunner


def fn_arn(name: str) -> str:
    return f"arn:aws:lambda:us-east-1:123456789012:function:{name}"


class MemoryStore:
    """What ``workflows up``'s store keeps, in dictionaries."""

    def __init__(self) -> None:
        self.runs: dict[str, MapRun] = {}
        self.statuses: dict[str, str] = {}
        self.children: dict[str, tuple[ChildExecution, str]] = {}
        self.events: dict[str, list[dict[str, Any]]] = {}
        self.closed = False  # the process stopped: nothing more is written

    def run_changed(self, run: MapRun) -> None:
        self.runs[run.arn] = run
        self.statuses[run.arn] = run.status

    def child_started(
        self, run: MapRun, child: ChildExecution, redriven: dict[str, Any] | None
    ) -> None:
        self.children.pop(child.arn, None)  # the newest of a slot comes last
        self.children[child.arn] = (child, "RUNNING")
        events = self.events.setdefault(child.arn, [])
        if redriven is not None:
            events.append(redriven)

        def record(event: dict[str, Any]) -> None:
            if not self.closed:
                events.append(event)

        child.history.subscribe(record)

    def child_ended(self, run: MapRun, child: ChildExecution) -> None:
        self.children.pop(child.arn, None)
        self.children[child.arn] = (child, child.status)

    async def prior(self, execution_arn: str, machine: str, claimed: set[str]) -> PriorRun | None:
        for arn, run in self.runs.items():
            if run.execution_arn != execution_arn or run.state_machine_arn != machine:
                continue
            if arn in claimed:
                continue
            slots: dict[int, PriorChild] = {}
            for child, status in self.children.values():
                if child.map_run_arn != arn:
                    continue
                result = child.result if status != "RUNNING" else None
                slots[child.slot] = PriorChild(
                    arn=child.arn,
                    name=child.name,
                    slot=child.slot,
                    items=child.items,
                    execution_type=child.execution_type,
                    status=status,
                    input=child.input,
                    output=result.output if result is not None else None,
                    error=result.error if result is not None else None,
                    cause=result.cause if result is not None else None,
                    start_date=child.start_date,
                    stop_date=result.stop_date if result is not None else None,
                    redrive_count=child.redrive_count,
                )
            return PriorRun(
                arn, self.statuses[arn], run.start_date, run.redrive_count, run.redrive_date, slots
            )
        return None

    async def child_events(self, arn: str) -> list[dict[str, Any]]:
        return list(self.events.get(arn, []))

    def replay_clock(self, replay: Replay) -> Clock:
        return RealClock()


def machine() -> StateMachine:
    return StateMachine(
        {
            "StartAt": "Ship",
            "States": {
                "Ship": {
                    "Type": "Map",
                    "Label": "Orders",
                    "MaxConcurrency": 3,
                    "ItemProcessor": {
                        "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                        "StartAt": "Count",
                        "States": {
                            "Count": {"Type": "Task", "Resource": fn_arn("count"), "Next": "Send"},
                            "Send": {"Type": "Task", "Resource": fn_arn("send"), "End": True},
                        },
                    },
                    "End": True,
                }
            },
        },
        name="ship",
    )


async def test_a_redrive_runs_the_failed_children_from_the_state_that_failed() -> None:
    counted: Counter[int] = Counter()
    sent: Counter[int] = Counter()
    broken = {2}

    def count(event: Any, context: Any) -> Any:
        counted[event] += 1
        return event

    def send(event: Any, context: Any) -> Any:
        sent[event] += 1
        if event in broken:
            raise RuntimeError("no box")
        return event

    store = MemoryStore()
    runner = TaskRunner(InProcessLambdas({"count": count, "send": send}))
    runner.map_runs.store = store
    sm = machine()
    first = await sm.execute([1, 2, 3], runner=runner)
    assert first.status == "FAILED"
    (run,) = store.runs.values()
    assert store.statuses[run.arn] == "FAILED"

    broken.clear()
    redriven = {
        "timestamp": first.stop_date,
        "type": "ExecutionRedriven",
        "id": len(first.history) + 1,
        "previousEventId": len(first.history),
        "executionRedrivenEventDetails": {"redriveCount": 1},
    }
    history = History.resumed([*first.history, redriven], redriven=True)
    again = await sm.execute(
        [1, 2, 3],
        runner=runner,
        history=history,
        name=first.name,
        execution_arn=first.execution_arn,
    )
    assert again.status == "SUCCEEDED", again.cause
    assert again.output == [1, 2, 3]
    assert counted == {1: 1, 2: 1, 3: 1}, "Count of the failed child was not run again"
    assert sent == {1: 1, 2: 2, 3: 1}
    (same,) = store.runs.values()
    assert (same.arn, same.redrive_count, same.status) == (run.arn, 1, "SUCCEEDED")
    kinds = [e["type"] for e in again.history]
    assert kinds.count("MapRunStarted") == 1
    assert kinds.count("MapRunRedriven") == 1


async def test_a_resume_keeps_ended_children_and_resumes_running_ones() -> None:
    counted: Counter[int] = Counter()
    release = threading.Event()

    def count(event: Any, context: Any) -> Any:
        counted[event] += 1
        return event

    def send(event: Any, context: Any) -> Any:
        if event != 1:
            release.wait(10)  # 2 and 3 are in flight when the process "stops"
        return event

    store = MemoryStore()
    runner = TaskRunner(InProcessLambdas({"count": count, "send": send}))
    runner.map_runs.store = store
    sm = machine()
    history = History()
    task = asyncio.ensure_future(sm.execute([1, 2, 3], runner=runner, history=history))
    while sorted(s for _, s in store.children.values()) != ["RUNNING", "RUNNING", "SUCCEEDED"]:
        await asyncio.sleep(0.01)
    while counted.total() < 3:
        await asyncio.sleep(0.01)
    # the process stops: nothing more reaches the store
    stored = list(history)
    store.closed = True
    runner.map_runs.store = None
    task.cancel()
    release.set()
    await asyncio.gather(task, return_exceptions=True)

    resumed_runner = TaskRunner(InProcessLambdas({"count": count, "send": send}))
    resumed_runner.map_runs.store = store
    (run,) = store.runs.values()
    again = await sm.execute(
        [1, 2, 3],
        runner=resumed_runner,
        history=History.resumed(stored),
        execution_arn=run.execution_arn,
        name=run.execution_arn.rpartition(":")[2],
    )
    assert again.status == "SUCCEEDED", again.cause
    assert again.output == [1, 2, 3]
    assert counted == {1: 1, 2: 1, 3: 1}, "no child ran its Count again"
    assert len(store.children) == 3, "the same three children"
    assert {s for _, s in store.children.values()} == {"SUCCEEDED"}
    assert [e["type"] for e in again.history].count("MapRunStarted") == 1


async def test_a_map_run_redriven_1000_times_is_not_redriven_again() -> None:
    def send(event: Any, context: Any) -> Any:
        raise RuntimeError("no box")

    store = MemoryStore()
    runner = TaskRunner(InProcessLambdas({"count": lambda e, c: e, "send": send}))
    runner.map_runs.store = store
    sm = machine()
    first = await sm.execute([1], runner=runner)
    (run,) = store.runs.values()
    run.redrive_count = 1000
    redriven = {
        "timestamp": first.stop_date,
        "type": "ExecutionRedriven",
        "id": len(first.history) + 1,
        "previousEventId": len(first.history),
        "executionRedrivenEventDetails": {"redriveCount": 1001},
    }
    history = History.resumed([*first.history, redriven], redriven=True)
    history.replay.redrive_count = 1001  # type: ignore[union-attr]
    again = await sm.execute(
        [1], runner=runner, history=history, name=first.name, execution_arn=first.execution_arn
    )
    assert (again.status, again.error) == ("FAILED", "States.Runtime")
    assert "redriven 1000 times" in (again.cause or "")
