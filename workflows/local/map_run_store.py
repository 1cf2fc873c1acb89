"""Map runs and their child executions in the execution store (issue #11).

``StoredMapRuns`` is the engine's ``MapRunStore`` for ``workflows up``: every map run is
written when it starts, ends or is redriven; every STANDARD child when it starts and
ends, and each event of its history as it is recorded (the events table, as a
top-level execution's: an execution waits for its history before its next effect,
``before_effect``, and that wait covers its children's too); an EXPRESS child only when
it ends (its outcome, no history, as on AWS). Memory keeps the running ones only, so a
run of 10,000 children does not hold 10,000 histories.

When an execution runs again on its stored history (``resume.py``, ``sfn_redrive.py``),
its Distributed Maps ask ``prior`` for the map run they had started, and continue it.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from typing import TYPE_CHECKING, Any

from workflows.engine.history import RawEvent, dumps
from workflows.engine.map_runs import ChildExecution, MapRun, PriorChild, PriorRun
from workflows.local.resume import ReplayClock, stored_events
from workflows.local.store import ChildRow, ExecutionStore, MapRunRow

if TYPE_CHECKING:
    from workflows.engine.clock import Clock
    from workflows.engine.replay import Replay

__all__ = ["StoredMapRuns", "map_run_of", "run_row"]


def _json(text: str | None) -> Any:
    return json.loads(text) if text is not None else None


def run_row(run: MapRun) -> MapRunRow:
    settings = {
        "maxConcurrency": run.max_concurrency,
        "toleratedFailureCount": run.tolerated_failure_count,
        "toleratedFailurePercentage": run.tolerated_failure_percentage,
        "countGiven": run.count_given,
        "percentageGiven": run.percentage_given,
        "executionType": run.execution_type,
    }
    return MapRunRow(
        arn=run.arn,
        execution_arn=run.execution_arn,
        state_machine_arn=run.state_machine_arn,
        label=run.label,
        status=run.status,
        start_date=run.start_date,
        stop_date=run.stop_date,
        settings=json.dumps(settings),
        definition=run.definition,
        item_counts=json.dumps(dict(run.items)),
        execution_counts=json.dumps(dict(run.executions)),
        results_written=run.results_written,
        redrive_count=run.redrive_count,
        redrive_date=run.redrive_date,
    )


def map_run_of(row: MapRunRow) -> MapRun:
    """A stored map run as the engine's ``MapRun`` (not running: nothing updates it)."""
    settings = json.loads(row.settings)
    return MapRun(
        arn=row.arn,
        execution_arn=row.execution_arn,
        state_machine_arn=row.state_machine_arn,
        label=row.label,
        start_date=row.start_date,
        max_concurrency=int(settings["maxConcurrency"]),
        tolerated_failure_count=int(settings["toleratedFailureCount"]),
        tolerated_failure_percentage=float(settings["toleratedFailurePercentage"]),
        execution_type=str(settings["executionType"]),
        count_given=bool(settings["countGiven"]),
        percentage_given=bool(settings["percentageGiven"]),
        definition=row.definition,
        status=row.status,  # type: ignore[arg-type]
        stop_date=row.stop_date,
        items=Counter({k: int(v) for k, v in json.loads(row.item_counts).items()}),
        executions=Counter({k: int(v) for k, v in json.loads(row.execution_counts).items()}),
        results_written=row.results_written,
        redrive_count=row.redrive_count,
        redrive_date=row.redrive_date,
    )


def _child_row(child: ChildExecution) -> ChildRow:
    result = child.result
    status = child.status
    return ChildRow(
        arn=child.arn,
        map_run_arn=child.map_run_arn,
        state_machine_arn=child.state_machine_arn,
        name=child.name,
        type=child.execution_type,
        slot=child.slot,
        items=child.items,
        status=status,
        input=dumps(child.input),
        start_date=child.start_date,
        output=dumps(result.output) if result is not None and status == "SUCCEEDED" else None,
        error=result.error if result is not None else None,
        cause=result.cause if result is not None else None,
        stop_date=result.stop_date if result is not None else None,
        redrive_count=child.redrive_count,
        redrive_date=child.redrive_date,
    )


class StoredMapRuns:
    """The engine's ``MapRunStore`` over an ``ExecutionStore``."""

    def __init__(self, store: ExecutionStore, clock: Clock) -> None:
        self.store = store
        self.clock = clock  # the executions' clock, under a replaying child's

    def run_changed(self, run: MapRun) -> None:
        self.store.put_map_run(run_row(run))

    def child_started(
        self, run: MapRun, child: ChildExecution, redriven: dict[str, Any] | None
    ) -> None:
        store = self.store
        store.put_child(_child_row(child))
        if redriven is not None:
            store.add_event(child.arn, redriven)
        arn = child.arn

        def record(event_id: int, raw: RawEvent) -> None:
            store.add_raw_event(arn, event_id, raw)  # committed before the child's next effect

        child.history.subscribe_raw(record)

    def child_ended(self, run: MapRun, child: ChildExecution) -> None:
        self.store.put_child(_child_row(child))

    async def prior(
        self, execution_arn: str, state_machine_arn: str, claimed: set[str]
    ) -> PriorRun | None:
        # read in a thread: a map run of 10,000 children is 10,000 rows
        return await asyncio.to_thread(self._prior, execution_arn, state_machine_arn, claimed)

    def _prior(
        self, execution_arn: str, state_machine_arn: str, claimed: set[str]
    ) -> PriorRun | None:
        for row in self.store.map_runs_of(execution_arn):
            if row.state_machine_arn != state_machine_arn or row.arn in claimed:
                continue
            children = {
                child.slot: PriorChild(
                    arn=child.arn,
                    name=child.name,
                    slot=child.slot,
                    items=child.items,
                    execution_type=child.type,
                    status=child.status,
                    input=_json(child.input),
                    output=_json(child.output),
                    error=child.error,
                    cause=child.cause,
                    start_date=child.start_date,
                    stop_date=child.stop_date,
                    redrive_count=child.redrive_count,
                )
                for child in self.store.latest_children(row.arn)
            }
            return PriorRun(
                arn=row.arn,
                status=row.status,
                start_date=row.start_date,
                redrive_count=row.redrive_count,
                redrive_date=row.redrive_date,
                children=children,
            )
        return None

    async def child_events(self, arn: str) -> list[dict[str, Any]]:
        return await asyncio.to_thread(stored_events, self.store, arn)

    def replay_clock(self, replay: Replay) -> Clock:
        return ReplayClock(self.clock, replay)
