"""Map runs: what a Distributed Map started, as DescribeMapRun and ListExecutions show it.

A ``MapRun`` is created when a Distributed Map starts. It counts items and child
executions by status, carries the run's settings that UpdateMapRun may change while
it runs (max concurrency, tolerated failures), and keeps the child executions of
``STANDARD`` type with their histories (AWS keeps no history of EXPRESS executions,
and neither do we: a large EXPRESS run then costs no memory per finished child).

Every map run of an engine instance is in its task runner's ``MapRuns``, which the
local Step Functions endpoint reads. A runtime that keeps executions (``workflows up``)
gives ``MapRuns`` a ``MapRunStore``: map runs and every child are then written to it as
they start and end, the children's histories as they are recorded, and a child leaves
memory when it ends. An execution that runs again on its stored history (a resume after
a restart, a redrive) continues its map runs from what that store holds: children
that ended are not run again, except the unsuccessful ones of a redrive (see
``PriorRun`` and decision 0008's addendum).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Literal, Protocol

if TYPE_CHECKING:
    from workflows.engine.clock import Clock
    from workflows.engine.history import History
    from workflows.engine.machine import ExecutionResult
    from workflows.engine.replay import Replay

__all__ = [
    "ChildExecution",
    "MapRun",
    "MapRunStatus",
    "MapRunStore",
    "MapRuns",
    "PriorChild",
    "PriorRun",
]

MapRunStatus = Literal["RUNNING", "SUCCEEDED", "FAILED", "ABORTED"]

# the keys of DescribeMapRun's itemCounts and executionCounts
COUNT_KEYS = ("pending", "running", "succeeded", "failed", "timedOut", "aborted")


@dataclass
class ChildExecution:
    """A STANDARD child execution, as ListExecutions/DescribeExecution report it."""

    arn: str
    name: str
    state_machine_arn: str
    map_run_arn: str
    start_date: float
    input: Any
    history: History
    result: ExecutionResult | None = None  # None while it runs
    slot: int = 0  # which unit of items (an item, a batch) it runs, in reading order
    items: int = 1
    execution_type: str = "STANDARD"
    redrive_count: int = 0
    redrive_date: float | None = None

    @property
    def status(self) -> str:
        return "RUNNING" if self.result is None else self.result.status


@dataclass(frozen=True, slots=True)
class PriorChild:
    """What a child of an earlier attempt of a map run did (from a ``MapRunStore``)."""

    arn: str
    name: str
    slot: int
    items: int
    execution_type: str
    status: str
    input: Any
    output: Any
    error: str | None
    cause: str | None
    start_date: float
    stop_date: float | None
    redrive_count: int = 0


@dataclass
class PriorRun:
    """A map run as stored, which an execution running again continues (same ARN)."""

    arn: str
    status: str
    start_date: float
    redrive_count: int
    redrive_date: float | None
    children: dict[int, PriorChild]  # by slot: the newest child of each unit of items


class MapRunStore(Protocol):
    """Where map runs and their children are kept beyond memory (``workflows up``'s
    execution store): told of every change, asked for what an earlier attempt did."""

    def run_changed(self, run: MapRun) -> None:
        """A map run started, ended or was redriven."""

    def child_started(
        self, run: MapRun, child: ChildExecution, redriven: dict[str, Any] | None
    ) -> None:
        """A STANDARD child started (or runs again: resumed, or redriven with the
        ``ExecutionRedriven`` event ``redriven``); its history's new events follow."""

    def child_ended(self, run: MapRun, child: ChildExecution) -> None:
        """A child (STANDARD or EXPRESS) ended: ``child.result`` is set."""

    async def prior(
        self, execution_arn: str, state_machine_arn: str, claimed: set[str]
    ) -> PriorRun | None:
        """The oldest stored map run of that execution and ``<machine>/<label>`` not in
        ``claimed`` (map runs already continued by this attempt), or None."""

    async def child_events(self, arn: str) -> list[dict[str, Any]]:
        """A stored child's history (GetExecutionHistory's shape)."""

    def replay_clock(self, replay: Replay) -> Clock:
        """The clock of a child that replays its stored history."""


@dataclass
class MapRun:
    arn: str
    execution_arn: str
    state_machine_arn: str  # the child executions' (``<machine>/<label>``)
    label: str
    start_date: float
    max_concurrency: int
    tolerated_failure_count: int
    tolerated_failure_percentage: float
    execution_type: str
    # which tolerances the definition (or UpdateMapRun) set: only those are judged
    count_given: bool = False
    percentage_given: bool = False
    definition: str = "{}"  # the children's state machine (the ItemProcessor), as JSON text
    status: MapRunStatus = "RUNNING"
    stop_date: float | None = None
    items: Counter[str] = field(default_factory=Counter)
    executions: Counter[str] = field(default_factory=Counter)
    results_written: int = 0
    redrive_count: int = 0
    redrive_date: float | None = None
    children: dict[str, ChildExecution] = field(default_factory=dict)
    # set whenever UpdateMapRun changes a setting, so a waiting run looks again
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def counts(self, counter: Counter[str]) -> dict[str, int]:
        counts = {key: counter[key] for key in COUNT_KEYS}
        counts["total"] = sum(counts.values())
        counts["resultsWritten"] = self.results_written if counter is self.items else 0
        counts["failuresNotRedrivable"] = 0
        # a run that ended unsuccessfully: what did not succeed waits for a redrive of
        # its parent (AWS: the parent is redrivable, so all of it is)
        ended = self.status in ("FAILED", "ABORTED")
        unsuccessful = counts["failed"] + counts["timedOut"] + counts["aborted"] + counts["pending"]
        counts["pendingRedrive"] = unsuccessful if ended else 0
        return counts

    def update(
        self,
        max_concurrency: int | None = None,
        tolerated_failure_count: int | None = None,
        tolerated_failure_percentage: float | None = None,
    ) -> None:
        if max_concurrency is not None:
            self.max_concurrency = max_concurrency
        if tolerated_failure_count is not None:
            self.tolerated_failure_count = tolerated_failure_count
            self.count_given = True
        if tolerated_failure_percentage is not None:
            self.tolerated_failure_percentage = tolerated_failure_percentage
            self.percentage_given = True
        self.changed.set()

    def exceeded(self, failed: int, total: int, final: bool) -> bool:
        """``failed`` of ``total`` items is past what this run tolerates.

        AWS: with both a count and a percentage the run fails when either is exceeded;
        with neither, no failure is tolerated. The percentage is only judged once every
        item has been read (``final``): before that the total is not known.
        """
        if not failed:
            return False
        if not self.count_given and not self.percentage_given:
            return True
        if self.count_given and failed > self.tolerated_failure_count:
            return True
        if self.percentage_given and final:
            return failed * 100.0 / total > self.tolerated_failure_percentage
        return False

    def move(self, items: int, before: str | None, after: str) -> None:
        """``items`` items of one child execution go from ``before`` to ``after``."""
        for counter, amount in ((self.items, items), (self.executions, 1)):
            if before is not None:
                counter[before] -= amount
            counter[after] += amount


# Finished map runs kept (with their STANDARD children's histories), newest first: a
# long-lived local runtime would otherwise hold every child history it ever ran.
KEPT_FINISHED_RUNS: Final = 100


class MapRuns:
    """The map runs of one engine instance, and the STANDARD children they started:
    every running one, and the newest ``keep`` finished ones."""

    def __init__(self, keep: int = KEPT_FINISHED_RUNS) -> None:
        self._runs: dict[str, MapRun] = {}
        self._children: dict[str, ChildExecution] = {}
        self._keep = keep
        # with a store, map runs and children live there: memory holds the running ones
        self.store: MapRunStore | None = None

    def add(self, run: MapRun) -> None:
        self._runs[run.arn] = run
        if self.store is not None:
            self.store.run_changed(run)
        finished = [r for r in self._runs.values() if r.status != "RUNNING"]
        for old in finished[: max(0, len(finished) - self._keep)]:
            del self._runs[old.arn]
            for child in old.children:
                self._children.pop(child, None)

    def add_child(
        self, run: MapRun, child: ChildExecution, redriven: dict[str, Any] | None = None
    ) -> None:
        run.children[child.arn] = child
        self._children[child.arn] = child
        if self.store is not None:
            self.store.child_started(run, child, redriven)

    def child_ended(self, run: MapRun, child: ChildExecution) -> None:
        """A child ended (``child.result`` set): stored, and with a store let go."""
        if self.store is None:
            return
        self.store.child_ended(run, child)
        run.children.pop(child.arn, None)
        self._children.pop(child.arn, None)

    def ended(self, run: MapRun) -> None:
        """A map run ended (or its counts changed for good): stored, and with a store
        let go (the store answers for it from now on)."""
        if self.store is None:
            return
        self.store.run_changed(run)
        if run.status != "RUNNING":
            self._runs.pop(run.arn, None)
            for arn in run.children:
                self._children.pop(arn, None)

    def get(self, arn: str) -> MapRun | None:
        return self._runs.get(arn)

    def child(self, arn: str) -> ChildExecution | None:
        return self._children.get(arn)

    def of_execution(self, execution_arn: str) -> list[MapRun]:
        return [run for run in self._runs.values() if run.execution_arn == execution_arn]

    def describe(self, run: MapRun) -> dict[str, Any]:
        """The fields of DescribeMapRun, dates as epoch seconds."""
        described: dict[str, Any] = {
            "mapRunArn": run.arn,
            "executionArn": run.execution_arn,
            "status": run.status,
            "startDate": run.start_date,
            "maxConcurrency": run.max_concurrency,
            "toleratedFailurePercentage": run.tolerated_failure_percentage,
            "toleratedFailureCount": run.tolerated_failure_count,
            "itemCounts": run.counts(run.items),
            "executionCounts": run.counts(run.executions),
            "redriveCount": run.redrive_count,
        }
        if run.stop_date is not None:
            described["stopDate"] = run.stop_date
        if run.redrive_date is not None:
            described["redriveDate"] = run.redrive_date
        return described
