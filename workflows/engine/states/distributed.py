"""A Distributed Map run: items (from the input or an ItemReader), batches, child
executions, tolerated failures and the result writer.

Each item, or batch of items, runs as a child execution with an ARN, a history and
a context object of its own (``$$.Execution`` is the child's, ``$$.StateMachine``
is ``<machine>/<label>``); the parent history only records the map run. Items are
dispatched as they are read, at most ``MaxConcurrency`` children at a time (AWS's
ceiling of 10,000 when it is 0), and UpdateMapRun can change that limit and the
tolerated failures while the run goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, Final

from workflows.engine.errors import (
    ExceedToleratedFailureThreshold,
    ItemReaderFailed,
    StatesError,
)
from workflows.engine.frame import Execution, Frame
from workflows.engine.history import History, dumps
from workflows.engine.jsonata_expr import JsonataTemplate, QueryError
from workflows.engine.map_runs import ChildExecution, MapRun, PriorChild, PriorRun
from workflows.engine.payload import Template
from workflows.engine.payload import compile_template as compile_payload
from workflows.engine.states.common import (
    error_details,
    evaluate_field,
    evaluate_payload,
    jsonata_field,
    number_or_expression,
    optional_path,
    query_failure,
    states_of,
)
from workflows.engine.states.item_reader import ItemReader
from workflows.engine.states.result_writer import ResultWriter, execution_record

if TYPE_CHECKING:
    from workflows.engine.states.parallel import MapState

__all__ = ["DistributedMap", "ItemBatcher", "run_distributed"]

# AWS runs at most this many child executions at once, and that is what 0 means.
MAX_CHILDREN: Final = 10_000
# AWS redrives a map run at most this many times; past it the redrive fails the state.
MAX_MAP_RUN_REDRIVES: Final = 1000
# MaxInputBytesPerBatch cannot exceed the payload limit, which is also its default.
MAX_BATCH_BYTES: Final = 256 * 1024


class ItemBatcher:
    """A compiled ``ItemBatcher``: the limits, and the BatchInput added to each batch."""

    def __init__(self, spec: dict[str, Any], language: str) -> None:
        self.max_items: Any = number_or_expression(spec, "MaxItemsPerBatch")
        self.max_items_path = optional_path(spec.get("MaxItemsPerBatchPath"))
        self.max_bytes: Any = number_or_expression(spec, "MaxInputBytesPerBatch")
        self.max_bytes_path = optional_path(spec.get("MaxInputBytesPerBatchPath"))
        self.batch_input: Template | None = None
        self.jsonata_input: JsonataTemplate | None = None
        if language == "JSONata":
            self.jsonata_input = jsonata_field(spec, "BatchInput")
        elif "BatchInput" in spec:
            self.batch_input = compile_payload(spec["BatchInput"])


class DistributedMap:
    """The Distributed Map parts of a Map state's definition."""

    def __init__(self, definition: dict[str, Any], config: dict[str, Any], language: str) -> None:
        reader = definition.get("ItemReader")
        self.reader = ItemReader(reader, language) if reader is not None else None
        batcher = definition.get("ItemBatcher")
        self.batcher = ItemBatcher(batcher, language) if batcher is not None else None
        writer = definition.get("ResultWriter")
        self.writer = ResultWriter(writer, language) if writer is not None else None
        self.execution_type: str = config.get("ExecutionType", "STANDARD")


class _Run:
    """One attempt of a Distributed Map state."""

    def __init__(
        self,
        state: MapState,
        effective: Any,
        frame: Frame,
        run: MapRun,
        prior: PriorRun | None = None,
        redriving: bool = False,
    ) -> None:
        self.state = state
        assert state.distributed_parts is not None
        self.parts: DistributedMap = state.distributed_parts
        self.effective = effective
        self.frame = frame
        self.run = run
        self.total_items = 0
        self.failed_items = 0
        self.results: list[Any] = []
        self.failed_slots: set[int] = set()  # results that are failed children's records
        self.running: set[asyncio.Task[None]] = set()
        self.stopping: StatesError | None = None
        # an earlier attempt of this map run (a resume, a redrive): what it did per unit
        self.prior = prior
        self.redriving = redriving
        writer = self.parts.writer
        self.sink = writer.open_sink(run) if writer is not None else None
        # what is read but not started, for PENDING files if the run stops early
        self.units: AsyncIterator[tuple[int, Any]] | None = None
        self.held: list[Any] = []
        self.exported = False

    # ------------------------------------------------------------------ items

    async def _source(self, items: list[Any] | None) -> AsyncIterator[Any]:
        if items is not None:
            for item in items:
                yield item
            return
        reader = self.parts.reader
        assert reader is not None
        max_items = self._count(reader.max_items, reader.max_items_path, "MaxItems")
        try:
            async for item in reader.items(
                self.effective, self.frame, self.state.name, max_items or None
            ):
                yield item
        except ItemReaderFailed:
            raise
        except StatesError as error:  # S3's answer (S3.NoSuchKeyException, ...) as the cause
            raise ItemReaderFailed(ItemReaderFailed.name, error.cause or error.error) from None

    def _count(self, value: Any, path: Any, field: str) -> int:
        if path is not None:
            number: int = self.state._number(
                path, self.effective, self.frame, f"{field}Path", "integer"
            )
            return number
        found = self.state.number_field(value, field, self.effective, self.frame)
        return int(found) if found is not None else 0

    def _select(self, index: int, item: Any) -> Any:
        state = self.state
        if state.item_selector is None and state.jsonata_selector is None:
            return item
        frame = self.frame
        child = frame.child({"Index": index, "Value": item})
        child.state_name = frame.state_name
        child.entered_id = frame.entered_id
        child.entered_time = frame.entered_time
        if state.item_selector is not None:
            return evaluate_payload(state.item_selector, self.effective, child)
        assert state.jsonata_selector is not None
        try:
            return state.jsonata_selector.evaluate(
                {"input": self.effective, "context": child.context()}, child.variables
            )
        except QueryError as error:
            raise query_failure(frame, error) from None

    async def _units(self, items: list[Any] | None) -> AsyncIterator[tuple[int, Any]]:
        """(number of items, child input) for each child execution to start."""
        batcher = self.parts.batcher
        index = 0
        if batcher is None:
            async for item in self._source(items):
                yield 1, self._select(index, item)
                index += 1
            return
        max_items = self._count(batcher.max_items, batcher.max_items_path, "MaxItemsPerBatch")
        max_bytes = self._count(batcher.max_bytes, batcher.max_bytes_path, "MaxInputBytesPerBatch")
        max_bytes = min(max_bytes or MAX_BATCH_BYTES, MAX_BATCH_BYTES)
        shell: dict[str, Any] = {}
        if batcher.batch_input is not None:
            shell["BatchInput"] = evaluate_payload(batcher.batch_input, self.effective, self.frame)
        elif batcher.jsonata_input is not None:
            template = batcher.jsonata_input
            states = states_of(self.frame, self.effective, template.uses_context)
            shell["BatchInput"] = evaluate_field(template, states, self.frame)
        base = len(dumps({**shell, "Items": []}).encode())
        batch: list[Any] = []
        size = base
        async for item in self._source(items):
            value = self._select(index, item)
            index += 1
            encoded = len(dumps(value).encode()) + (1 if batch else 0)
            if batch and ((max_items and len(batch) >= max_items) or size + encoded > max_bytes):
                yield len(batch), {**shell, "Items": batch}
                batch, size = [], base
                encoded -= 1
            batch.append(value)
            size += encoded
        if batch:
            yield len(batch), {**shell, "Items": batch}

    # ---------------------------------------------------------- dispatching

    def _limit(self) -> int:
        concurrency = self.run.max_concurrency
        return MAX_CHILDREN if concurrency <= 0 else min(concurrency, MAX_CHILDREN)

    def _done_before(self, unit: int) -> PriorChild | None:
        """The earlier attempt's child of ``unit`` when its outcome stands: one that
        succeeded; when the map run is not redriven (a resume, a replay of a run that
        had ended), any that ended. A redrive runs the unsuccessful ones again."""
        prior = self.prior.children.get(unit) if self.prior is not None else None
        if prior is None or prior.status == "RUNNING":
            return None
        if prior.status == "SUCCEEDED" or not self.redriving:
            return prior
        return None

    def _keep(self, slot: int, count: int, prior: PriorChild) -> None:
        """Take an earlier child's outcome as this unit's, without running it again."""
        from workflows.engine.machine import ExecutionResult

        run = self.run
        status = {"SUCCEEDED": "succeeded", "TIMED_OUT": "timedOut", "ABORTED": "aborted"}
        run.move(count, None, status.get(prior.status, "failed"))
        self.total_items += count
        result = ExecutionResult(
            status=prior.status,  # type: ignore[arg-type]
            execution_arn=prior.arn,
            name=prior.name,
            input=prior.input,
            output=prior.output,
            error=prior.error,
            cause=prior.cause,
            start_date=prior.start_date,
            stop_date=prior.stop_date or prior.start_date,
        )
        if prior.status != "SUCCEEDED":
            self.failed_items += count
        if self.sink is not None:
            self.sink.add(result, run.state_machine_arn)
        elif prior.status == "SUCCEEDED":
            self.results[slot] = prior.output
        else:
            self.results[slot] = execution_record(result, run.state_machine_arn)
            self.failed_slots.add(slot)

    async def execute(self, items: list[Any] | None) -> list[Any] | None:
        run = self.run
        self.units = self._units(items)
        unit = -1
        try:
            async for count, child_input in self.units:
                self.held = [child_input]
                if self.stopping is not None:
                    break
                unit += 1
                done = self._done_before(unit)
                if done is not None:
                    self.held = []  # its outcome stands: not a PENDING item
                    slot = len(self.results)
                    if self.sink is None:
                        self.results.append(None)
                    self._keep(slot, count, done)
                    continue
                run.move(count, None, "pending")
                while len(self.running) >= self._limit() and self.stopping is None:
                    run.changed.clear()
                    await run.changed.wait()
                if self.stopping is not None:
                    run.move(count, "pending", "aborted")
                    break
                self.held = []
                self.total_items += count
                slot = len(self.results)
                if self.sink is None:
                    self.results.append(None)
                run.move(count, "pending", "running")
                again = self.prior.children.get(unit) if self.prior is not None else None
                task = asyncio.ensure_future(self._child(slot, unit, count, child_input, again))
                self.running.add(task)
                task.add_done_callback(self._ended)
            while self.running:
                run.changed.clear()
                await run.changed.wait()
        except BaseException:
            await self._abort()
            raise
        if self.stopping is not None:
            await self._abort()
            raise self.stopping
        if self.failed_items and self._exceeded(final=True):
            raise self._threshold_error()
        return None if self.sink is not None else self.results

    async def export_unfinished(self) -> None:
        """A run that fails over its tolerance or is aborted still exports what its
        children did, and the items it never started go to PENDING files (the rest of
        the items are read for them). This is best effort: a read or a write that fails
        then (however it fails) does not hide the run's own failure or abort."""
        writer = self.parts.writer
        if writer is None or self.sink is None or self.exported:
            return
        self.exported = True
        for child_input in self.held:
            self.sink.add_pending(child_input)
        self.held = []
        with contextlib.suppress(Exception):
            if self.units is not None:
                async for _count, child_input in self.units:
                    self.sink.add_pending(child_input)
        with contextlib.suppress(Exception):
            await writer.finish(self.sink, None, set(), self.run, self.effective, self.frame)

    def _ended(self, task: asyncio.Task[None]) -> None:
        self.running.discard(task)
        self.run.changed.set()

    async def _abort(self) -> None:
        for task in list(self.running):
            task.cancel()
        if self.running:
            await asyncio.gather(*self.running, return_exceptions=True)

    def _exceeded(self, final: bool) -> bool:
        return self.run.exceeded(self.failed_items, self.total_items, final)

    def _threshold_error(self) -> StatesError:
        # Without a tolerance AWS tolerates 0 failures and fails the same way: the
        # failing child's own error and cause are in its history and result record.
        return ExceedToleratedFailureThreshold.of(
            "The specified tolerated failure threshold was exceeded"
        )

    async def _child(
        self, slot: int, unit: int, count: int, child_input: Any, again: PriorChild | None
    ) -> None:
        from workflows.engine.machine import ExecutionResult, child_execution_ended, run_execution

        run, parent = self.run, self.frame.execution
        map_runs = parent.tasks.map_runs
        express = self.parts.execution_type == "EXPRESS"
        base = run.state_machine_arn.replace(":stateMachine:", ":", 1)
        region_account, _, machine = base.rpartition(":")
        history, clock = History(), parent.clock
        redriven: dict[str, Any] | None = None
        redrive_count, redrive_date = 0, None
        store = map_runs.store
        events = (
            await store.child_events(again.arn)
            if again is not None and not express and store is not None
            else []
        )
        if again is not None and store is not None and events:
            # a STANDARD child of an earlier attempt continues under its own ARN on its
            # stored history: resumed where it was, or (redrive) from what failed; one
            # that recorded nothing starts anew
            name, arn = again.name, again.arn
            redrive_count = again.redrive_count
            if again.status != "RUNNING":
                redrive_count += 1
                redrive_date = parent.clock.now()
                redriven = {
                    "timestamp": redrive_date,
                    "type": "ExecutionRedriven",
                    "id": len(events) + 1,
                    "previousEventId": len(events),
                    "executionRedrivenEventDetails": {"redriveCount": redrive_count},
                }
                events.append(redriven)
            history = History.resumed(events, redriven=redriven is not None)
            assert history.replay is not None
            history.replay.redriven_at = redrive_date
            clock = store.replay_clock(history.replay)
            child_input = again.input
        else:
            name = str(uuid.uuid4())
            if express:
                arn = f"{region_account}:express:{machine}:{name}:{uuid.uuid4()}"
            else:
                arn = f"{region_account}:execution:{machine}:{name}"
        execution = Execution(
            name=name,
            arn=arn,
            state_machine_name=machine,
            state_machine_arn=run.state_machine_arn,
            role_arn=parent.role_arn,
            input=child_input,
            clock=clock,
            tasks=parent.tasks,
            history=history,
            mocks=parent.mocks,
        )
        record: ChildExecution | None = None
        if not express or store is not None:
            record = ChildExecution(
                arn,
                name,
                run.state_machine_arn,
                run.arn,
                execution.start_time,
                child_input,
                execution.history,
                slot=unit,
                items=count,
                execution_type=self.parts.execution_type,
                redrive_count=redrive_count,
                redrive_date=redrive_date,
            )
            if not express:
                map_runs.add_child(run, record, redriven)
        try:
            result = await run_execution(self.state.processor, execution, None)
        except asyncio.CancelledError:
            run.move(count, "running", "aborted")
            result = ExecutionResult(
                status="ABORTED",
                execution_arn=arn,
                name=name,
                input=child_input,
                start_date=execution.start_time,
                stop_date=parent.clock.now(),
                _history=execution.history,
            )
            if record is not None:
                record.result = result
                map_runs.child_ended(run, record)
            if self.sink is not None:
                self.sink.add(result, run.state_machine_arn)
            raise
        if record is not None:
            record.result = result
            map_runs.child_ended(run, record)
        child_execution_ended(self.state.processor_definition, result)
        status = {"SUCCEEDED": "succeeded", "TIMED_OUT": "timedOut"}.get(result.status, "failed")
        run.move(count, "running", status)
        if result.status == "SUCCEEDED":
            output = result.output
            if self.sink is not None:
                self.sink.add(result, run.state_machine_arn)
            else:
                self.results[slot] = output
            return
        self.failed_items += count
        if self.sink is not None:
            self.sink.add(result, run.state_machine_arn)
        else:
            self.results[slot] = execution_record(result, run.state_machine_arn)
            self.failed_slots.add(slot)
        if self.stopping is None and self._exceeded(final=False):
            self.stopping = self._threshold_error()
            run.changed.set()


async def _prior_run(execution: Execution, children_machine: str) -> PriorRun | None:
    """The stored map run this Distributed Map continues: only when the execution runs
    again on its stored history (a resume, a redrive) and map runs are stored; a Map
    that runs several times (a loop) takes its stored runs in the order they started."""
    store = execution.tasks.map_runs.store
    replay = execution.history.replay
    if store is None or replay is None:
        return None
    prior = await store.prior(execution.arn, children_machine, replay.map_runs)
    if prior is not None:
        replay.map_runs.add(prior.arn)
    return prior


async def run_distributed(
    state: MapState,
    items: list[Any] | None,
    effective: Any,
    frame: Frame,
    concurrency: int,
    tolerated: tuple[float | None, float | None],
) -> Any:
    """Run a Distributed Map attempt; the parent history records the map run only."""
    execution = frame.execution
    parts = state.distributed_parts
    assert parts is not None
    label = state.label or str(uuid.uuid4())
    run_id = str(uuid.uuid4())
    machine_arn = execution.state_machine_arn
    count, percentage = tolerated
    map_runs = execution.tasks.map_runs
    children_machine = f"{machine_arn}/{label}"
    arn = f"{machine_arn.replace(':stateMachine:', ':mapRun:', 1)}/{label}:{run_id}"
    prior = await _prior_run(execution, children_machine)
    replay = execution.history.replay
    redriving = (
        prior is not None
        and replay is not None
        and prior.status in ("FAILED", "ABORTED")
        and replay.redrive_count > prior.redrive_count
    )
    if redriving and prior is not None and prior.redrive_count >= MAX_MAP_RUN_REDRIVES:
        raise frame.runtime_error(
            f"The Map Run '{prior.arn}' was redriven {MAX_MAP_RUN_REDRIVES} times, "
            "the most it can be"
        )
    run = MapRun(
        arn=arn if prior is None else prior.arn,
        execution_arn=execution.arn,
        state_machine_arn=children_machine,
        label=label,
        start_date=execution.clock.now(),
        max_concurrency=concurrency,
        tolerated_failure_count=int(count or 0),
        tolerated_failure_percentage=float(percentage or 0.0),
        count_given=count is not None,
        percentage_given=percentage is not None,
        execution_type=parts.execution_type,
        definition=dumps(state.processor_definition),
    )
    if prior is not None:
        run.start_date = prior.start_date
        run.redrive_count, run.redrive_date = prior.redrive_count, prior.redrive_date
        if redriving:
            run.redrive_count += 1
            run.redrive_date = execution.clock.now()
    map_runs.add(run)
    if run.redrive_count:
        started = frame.record(
            "MapRunRedriven", {"mapRunArn": run.arn, "redriveCount": run.redrive_count}
        )
    else:
        started = frame.record("MapRunStarted", {"mapRunArn": run.arn})
    attempt = _Run(state, effective, frame, run, prior, redriving)
    try:
        try:
            results = await attempt.execute(items)
        except ExceedToleratedFailureThreshold:
            await attempt.export_unfinished()
            raise
        if parts.writer is not None:
            attempt.exported = True
            output = await parts.writer.finish(
                attempt.sink, results, attempt.failed_slots, run, effective, frame
            )
        else:
            output = results
    except StatesError as error:
        run.status, run.stop_date = "FAILED", execution.clock.now()
        map_runs.ended(run)
        frame.record("MapRunFailed", error_details(error))
        frame.failed_at = frame.prev
        raise
    except asyncio.CancelledError:
        run.status, run.stop_date = "ABORTED", execution.clock.now()
        await attempt.export_unfinished()
        map_runs.ended(run)
        frame.record("MapRunAborted")
        raise
    run.status, run.stop_date = "SUCCEEDED", execution.clock.now()
    map_runs.ended(run)
    frame.record("MapRunSucceeded")
    frame.record("MapStateSucceeded")
    # Since late 2024 AWS links the Map's exit to MapRunStarted.
    frame.prev = started
    return output
