"""Parallel and (inline) Map: branches and iterations run in scopes of their own.

A branch or iteration starts with the variables of the state that runs it: it can
read them, and what it assigns stays inside it (its frame gets its own dict).
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Sequence
from typing import TYPE_CHECKING, Any

from workflows.engine.errors import QueryEvaluationError, StatesError
from workflows.engine.frame import Frame
from workflows.engine.history import dumps
from workflows.engine.jsonata_expr import JsonataTemplate, QueryError
from workflows.engine.paths import JsonPath, PathNotFound, resolve
from workflows.engine.payload import compile_template as compile_payload
from workflows.engine.states.common import (
    Caught,
    OutputPathFailure,
    ResultState,
    StepResult,
    error_output,
    evaluate_field,
    evaluate_payload,
    jayway,
    jsonata_field,
    number_or_expression,
    optional_path,
    path_field,
    query_failure,
    query_type_failure,
)
from workflows.engine.sync_runner import start_branches, waiting_for_branches

if TYPE_CHECKING:
    # imported by the first distributed Map (item readers, result writers, map runs)
    from workflows.engine.states.distributed import DistributedMap

__all__ = ["MapState", "ParallelState", "gather_or_cancel"]


class ParallelState(ResultState):
    type_name = "Parallel"
    sync = False

    def __init__(self, name: str, definition: dict[str, Any], language: str = "JSONPath") -> None:
        from workflows.engine.executor import run_machine, run_machine_sync
        from workflows.engine.states.compiler import compile_machine

        super().__init__(name, definition, language)
        # the executor's loops, bound here: it imports this module (through the states
        # package), and an import statement in each attempt cost ~8k instructions
        self.run_machine = run_machine
        self.run_machine_sync = run_machine_sync
        self.branches = [compile_machine(b, language) for b in definition["Branches"]]
        self.all_sync = all(branch.sync for branch in self.branches)

    async def astep(self, data: Any, frame: Frame) -> StepResult | Caught:
        if self.retriers or self.catchers:
            return await self.recover(data, frame, lambda: self._attempt(data, frame), False)
        return await once(self, self._attempt(data, frame), data, frame)

    async def _attempt(self, data: Any, frame: Frame) -> Any:
        run_machine, run_machine_sync = self.run_machine, self.run_machine_sync
        branch_input = self.effective_input(data, frame)
        frame.record("ParallelStateStarted")
        frames = [frame.child() for _ in self.branches]
        for child in frames:
            child.aborts_states = True
        try:
            if self.all_sync:
                results = []
                for branch, child in zip(self.branches, frames, strict=True):
                    try:
                        results.append(run_machine_sync(branch, branch_input, child))
                    except StatesError:
                        frame.failed_at = child.prev
                        raise
            else:
                # branches run now; only one that waits for more than a queued handler gets a task
                ended, tasks = start_branches(
                    [
                        run_machine(branch, branch_input, child)
                        for branch, child in zip(self.branches, frames, strict=True)
                    ]
                )
                try:
                    results = ended if ended is not None else await gather_or_cancel(tasks)
                except StatesError as error:
                    failing = next(
                        child
                        for task, child in zip(tasks, frames, strict=True)
                        if task.done() and not task.cancelled() and task.exception() is error
                    )
                    frame.failed_at = failing.prev
                    raise
        except StatesError:
            if frame.failed_at is None:
                frame.failed_at = frame.prev
            raise
        # AWS links ParallelStateSucceeded, and the state's exit, to the newest branch event.
        last = frame.prev if not frames else frames[0].last
        for child in frames:
            if child.last > last:
                last = child.last
        frame.record_linked("ParallelStateSucceeded", last)
        frame.prev = last
        # the JSON of the branches' outputs as an array: each known, the sum, commas
        # and brackets (run_machine's bounds), so the state's output is not encoded again
        size = len(frames) + 1
        for child in frames:
            if child.output_size < 0:
                size = -1
                break
            size += child.output_size
        frame.result_size = size
        return results


async def once(
    state: ResultState, attempt: Coroutine[Any, Any, Any], data: Any, frame: Frame
) -> StepResult:
    """``state.recover`` for a Parallel or Map without Retry or Catch, without its closure
    and its loop: the one attempt's outcome; a failure records <Type>StateFailed where
    the failing branch ended (``frame.failed_at``), as ``recover`` does, and passes on."""
    frame.failed_at = None
    try:
        result = await attempt
        if state.result_selector is not None:
            result = evaluate_payload(state.result_selector, result, frame)
        return state.finish(data, result, frame), state.next
    except StatesError as error:
        if isinstance(error, OutputPathFailure):
            raise
        failed_at, frame.failed_at = frame.failed_at, None
        if failed_at is not None:
            frame.record_linked(state.type_name + "StateFailed", failed_at)
        raise


# Loop passes a branch needs from its timer firing to its failure being recorded.
_SETTLE_PASSES = 8


async def gather_or_cancel(tasks: Sequence[asyncio.Future[Any]]) -> list[Any]:
    """All results in order; on the first failure, cancel the rest and raise it.

    Branches whose failure is already on its way (a timeout that fired at the same
    moment) record it before the rest are cancelled, as each concurrent iteration on AWS
    records its own timeout.
    """
    try:
        with waiting_for_branches():
            _done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
            if pending:
                for _ in range(_SETTLE_PASSES):
                    await asyncio.sleep(0)
                pending = {task for task in pending if not task.done()}
    except asyncio.CancelledError:
        for task in tasks:
            task.cancel()
        raise
    for task in tasks:
        if task.done() and not task.cancelled() and task.exception() is not None:
            for other in pending:
                other.cancel()
            if pending:
                await asyncio.wait(pending)
            raise task.exception()  # type: ignore[misc]
    return [task.result() for task in tasks]


class MapState(ResultState):
    type_name = "Map"
    sync = False

    def __init__(self, name: str, definition: dict[str, Any], language: str = "JSONPath") -> None:
        from workflows.engine.executor import run_machine, run_machine_sync
        from workflows.engine.states.compiler import compile_machine

        super().__init__(name, definition, language)
        self.run_machine = run_machine  # as in ParallelState
        self.run_machine_sync = run_machine_sync
        processor: dict[str, Any] = definition.get("ItemProcessor") or definition["Iterator"]
        self.processor = compile_machine(processor, language)
        self.processor_definition = processor
        config = processor.get("ProcessorConfig") or {}
        self.distributed = config.get("Mode") == "DISTRIBUTED"
        self.distributed_parts: DistributedMap | None = None
        if self.distributed:
            from workflows.engine.states.distributed import DistributedMap

            self.distributed_parts = DistributedMap(definition, config, language)
        self.label: str | None = definition.get("Label")
        self.items_path = path_field(definition, "ItemsPath")
        self.item_selector = None
        self.items: JsonataTemplate | None = None
        self.jsonata_selector: JsonataTemplate | None = None
        if self.jsonata:
            self.items = jsonata_field(definition, "Items")
            self.jsonata_selector = jsonata_field(definition, "ItemSelector")
        else:
            selector = definition.get("ItemSelector", definition.get("Parameters"))
            self.item_selector = compile_payload(selector) if selector is not None else None
        self.parameters = None  # legacy Parameters is the item selector, not the state's
        self.max_concurrency = number_or_expression(definition, "MaxConcurrency")
        if self.max_concurrency is None:
            self.max_concurrency = 0
        self.max_concurrency_path = optional_path(definition.get("MaxConcurrencyPath"))
        self.tolerated_count = number_or_expression(definition, "ToleratedFailureCount")
        self.tolerated_count_path = optional_path(definition.get("ToleratedFailureCountPath"))
        self.tolerated_percentage = number_or_expression(definition, "ToleratedFailurePercentage")
        self.tolerated_percentage_path = optional_path(
            definition.get("ToleratedFailurePercentagePath")
        )

    async def astep(self, data: Any, frame: Frame) -> StepResult | Caught:
        if self.retriers or self.catchers:
            return await self.recover(data, frame, lambda: self._attempt(data, frame), False)
        return await once(self, self._attempt(data, frame), data, frame)

    def _number(self, path: JsonPath, data: Any, frame: Frame, field: str, kind: str) -> Any:
        try:
            value = resolve(path, data, frame.context(), frame.variables)
        except PathNotFound:
            raise frame.runtime_error(
                f"Invalid path '{path.text}' : No results for path: {jayway(path)}"
            ) from None
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if kind == "integer":
            ok = ok and float(value).is_integer()
        if not ok:
            shown = value if isinstance(value, str) else dumps(value)
            raise frame.runtime_error(
                f'The {field} field refers to value "{shown}" which is not a valid {kind}: '
                f"{path.text}"
            )
        return int(value) if kind == "integer" else float(value)

    def _concurrency(self, effective: Any, frame: Frame) -> int:
        concurrency: int = self.number_field(
            self.max_concurrency, "MaxConcurrency", effective, frame
        )
        if self.max_concurrency_path is not None:
            concurrency = self._number(
                self.max_concurrency_path, effective, frame, "MaxConcurrencyPath", "integer"
            )
        return concurrency

    def _tolerances(self, effective: Any, frame: Frame) -> tuple[float | None, float | None]:
        count: float | None
        count = self.number_field(self.tolerated_count, "ToleratedFailureCount", effective, frame)
        if self.tolerated_count_path is not None:
            count = self._number(
                self.tolerated_count_path, effective, frame, "ToleratedFailureCountPath", "integer"
            )
        if count is not None and count < 0:
            raise frame.runtime_error("ToleratedFailureCount cannot be negative.")
        percentage = self.number_field(
            self.tolerated_percentage, "ToleratedFailurePercentage", effective, frame, "float"
        )
        if self.tolerated_percentage_path is not None:
            percentage = self._number(
                self.tolerated_percentage_path,
                effective,
                frame,
                "ToleratedFailurePercentagePath",
                "float",
            )
        if percentage is not None and not 0 <= percentage <= 100:
            raise frame.runtime_error("ToleratedFailurePercentage must be between 0 and 100.")
        return count, percentage

    def _items(self, effective: Any, frame: Frame) -> list[Any]:
        if self.jsonata:
            if self.items is None:
                items = effective
                if not isinstance(items, list):
                    failure = QueryEvaluationError.of(
                        frame.error_prefix()
                        + f"Map state input must be an array but was: {dumps(items)}"
                    )
                    frame.record_evaluation_failed(failure, None)
                    frame.failed_at = frame.prev
                    raise failure
                return items
            template = self.items
            items = evaluate_field(
                template, self.states(effective, frame, template.uses_context), frame
            )
            if not isinstance(items, list):
                raise query_type_failure(frame, template, "Items", items, "array")
            return items
        items = effective if self.items_path is None else self.items_path.select(effective, frame)
        if not isinstance(items, list):
            raise frame.runtime_error(
                f"Map state input must be an array, but the value at "
                f"ItemsPath '{self.items_path.text if self.items_path else '$'}' is "
                f"{dumps(items)}"
            )
        return items

    async def _attempt(self, data: Any, frame: Frame) -> Any:
        effective = data if self.input_path is None else self.input_path.select(data, frame)
        concurrency = self._concurrency(effective, frame)
        # An ItemReader's items are read as the map run goes: the count is not known here.
        reading = self.distributed_parts is not None and self.distributed_parts.reader is not None
        items = None if reading else self._items(effective, frame)
        frame.record("MapStateStarted", {"length": 0 if items is None else len(items)})
        # AWS reads the tolerated failure fields after MapStateStarted.
        tolerated_count, tolerated_percentage = self._tolerances(effective, frame)
        tolerant = tolerated_count is not None or tolerated_percentage is not None
        if self.distributed:
            from workflows.engine.states.distributed import run_distributed

            return await run_distributed(
                self,
                items,
                effective,
                frame,
                concurrency,
                (tolerated_count, tolerated_percentage),
            )
        assert items is not None
        runner = _MapRun(self, effective, frame, tolerant)
        try:
            results = await runner.run(items, concurrency)
        except StatesError:
            frame.failed_at = runner.failed_at
            raise
        failures = runner.failures
        if failures and _exceeds(failures, len(items), tolerated_count, tolerated_percentage):
            frame.failed_at = runner.last
            raise StatesError(
                "States.ExceedToleratedFailureThreshold",
                "The specified tolerated failure threshold was exceeded",
            )
        # MapStateSucceeded and the state's exit link to the newest iteration event.
        frame.record_linked("MapStateSucceeded", runner.last)
        frame.prev = runner.last
        return results


def _exceeds(failures: int, total: int, count: float | None, percentage: float | None) -> bool:
    within = False
    if count is not None and failures <= count:
        within = True
    if percentage is not None and total and failures * 100.0 / total <= percentage:
        within = True
    return not within


class _MapRun:
    """The iterations of one Map attempt."""

    def __init__(self, state: MapState, effective: Any, frame: Frame, tolerant: bool) -> None:
        self.state = state
        self.effective = effective
        self.frame = frame
        self.tolerant = tolerant
        self.failures = 0
        self.first_error: StatesError | None = None
        # the event the next iteration links to, the newest iteration event, and
        # where the iteration that failed the Map ended
        self.chain = frame.prev
        self.last = frame.prev
        self.failed_at: int | None = None

    def _start(self, index: int, item: Any) -> tuple[Frame, Any]:
        state = self.state
        child = self.frame.child({"Index": index, "Value": item})
        child.prev = child.last = self.chain
        child.state_name = self.frame.state_name
        child.entered_id = self.frame.entered_id
        child.entered_time = self.frame.entered_time
        value = item
        if state.item_selector is not None:
            value = evaluate_payload(state.item_selector, self.effective, child)
        elif state.jsonata_selector is not None:
            selector = state.jsonata_selector
            states = {"input": self.effective, "context": child.context()}
            try:
                value = selector.evaluate(states, child.variables)
            except QueryError as error:
                raise query_failure(self.frame, error) from None
        child.record("MapIterationStarted", {"name": state.name, "index": index})
        return child, value

    def _ended(self, child: Frame, event_type: str, index: int) -> None:
        child.record_aside(event_type, {"name": self.state.name, "index": index})
        self.chain = child.prev
        self.last = max(self.last, child.last)

    def _failed(self, child: Frame, index: int, error: StatesError) -> Any:
        self._ended(child, "MapIterationFailed", index)
        if self.first_error is None:
            self.first_error = error
        if not self.tolerant:
            if self.failed_at is None:
                self.failed_at = child.prev
            raise error
        self.failures += 1
        return error_output(error)

    async def run(self, items: list[Any], concurrency: int) -> list[Any]:
        run_machine, run_machine_sync = self.state.run_machine, self.state.run_machine_sync
        processor = self.state.processor
        results: list[Any] = [None] * len(items)
        if processor.sync:
            for index, item in enumerate(items):
                child, value = self._start(index, item)
                try:
                    results[index] = run_machine_sync(processor, value, child)
                except StatesError as error:
                    results[index] = self._failed(child, index, error)
                    continue
                self._ended(child, "MapIterationSucceeded", index)
            return results

        async def iterate(index: int) -> None:
            child, value = self._start(index, items[index])
            try:
                results[index] = await run_machine(processor, value, child)
            except StatesError as error:
                results[index] = self._failed(child, index, error)
                return
            except asyncio.CancelledError:
                self._ended(child, "MapIterationAborted", index)
                raise
            self._ended(child, "MapIterationSucceeded", index)

        if concurrency <= 0 or concurrency >= len(items):
            tasks = [asyncio.ensure_future(iterate(i)) for i in range(len(items))]
        else:
            indexes = iter(range(len(items)))

            async def worker() -> None:
                for index in indexes:
                    await iterate(index)

            tasks = [asyncio.ensure_future(worker()) for _ in range(concurrency)]
        if tasks:
            await gather_or_cancel(tasks)
        return results
