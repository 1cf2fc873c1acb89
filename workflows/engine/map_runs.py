"""Map runs: what a Distributed Map started, as DescribeMapRun and ListExecutions show it.

A ``MapRun`` is created when a Distributed Map starts. It counts items and child
executions by status, carries the run's settings that UpdateMapRun may change while
it runs (max concurrency, tolerated failures), and keeps the child executions of
``STANDARD`` type with their histories (AWS keeps no history of EXPRESS executions,
and neither do we: a large EXPRESS run then costs no memory per finished child).

Every map run of an engine instance is in its task runner's ``MapRuns``, which the
local Step Functions endpoint reads.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Literal

if TYPE_CHECKING:
    from workflows.engine.history import History
    from workflows.engine.machine import ExecutionResult

__all__ = ["ChildExecution", "MapRun", "MapRunStatus", "MapRuns"]

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

    @property
    def status(self) -> str:
        return "RUNNING" if self.result is None else self.result.status


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
    children: dict[str, ChildExecution] = field(default_factory=dict)
    # set whenever UpdateMapRun changes a setting, so a waiting run looks again
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def counts(self, counter: Counter[str]) -> dict[str, int]:
        counts = {key: counter[key] for key in COUNT_KEYS}
        counts["total"] = sum(counts.values())
        counts["resultsWritten"] = self.results_written if counter is self.items else 0
        counts["failuresNotRedrivable"] = 0
        counts["pendingRedrive"] = 0
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

    def add(self, run: MapRun) -> None:
        self._runs[run.arn] = run
        finished = [r for r in self._runs.values() if r.status != "RUNNING"]
        for old in finished[: max(0, len(finished) - self._keep)]:
            del self._runs[old.arn]
            for child in old.children:
                self._children.pop(child, None)

    def add_child(self, run: MapRun, child: ChildExecution) -> None:
        run.children[child.arn] = child
        self._children[child.arn] = child

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
            "redriveCount": 0,
        }
        if run.stop_date is not None:
            described["stopDate"] = run.stop_date
        return described
