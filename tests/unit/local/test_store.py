"""ExecutionStore: executions and history in SQLite, written in batches, recovered on open."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from workflows.engine import StateMachine
from workflows.engine.history import History
from workflows.local.store import (
    INTERRUPTED_CAUSE,
    ExecutionRow,
    ExecutionStore,
    StateMachineRow,
)

MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:M"


def execution_arn(name: str) -> str:
    return f"arn:aws:states:us-east-1:123456789012:execution:M:{name}"


def row(name: str, status: str = "RUNNING", start: float = 1000.0) -> ExecutionRow:
    return ExecutionRow(execution_arn(name), MACHINE, name, status, '{"a":1}', start)


def event(event_id: int, kind: str = "PassStateEntered", at: float = 1000.0) -> dict[str, Any]:
    return {"timestamp": at, "type": kind, "id": event_id, "previousEventId": event_id - 1}


def rows_on_disk(path: Path, table: str) -> int:
    with sqlite3.connect(path) as other:
        count: int = other.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
    return count


def test_an_execution_round_trips_and_finishes() -> None:
    with ExecutionStore(":memory:") as store:
        store.insert_execution(row("one"))
        assert store.get_execution(execution_arn("one")) == ExecutionRow(
            execution_arn("one"), MACHINE, "one", "RUNNING", '{"a":1}', 1000.0, seq=1
        )
        store.finish_execution(execution_arn("one"), "SUCCEEDED", stop_date=1002.5, output="[1]")
        done = store.get_execution(execution_arn("one"))
        assert done is not None
        assert (done.status, done.output, done.stop_date) == ("SUCCEEDED", "[1]", 1002.5)
        assert store.get_execution(execution_arn("other")) is None


def test_events_page_forwards_and_backwards() -> None:
    with ExecutionStore(":memory:") as store:
        store.insert_execution(row("one"))
        for event_id in range(1, 11):
            store.add_event(execution_arn("one"), event(event_id))
        arn = execution_arn("one")
        assert [e["id"] for e in store.events(arn, limit=4)] == [1, 2, 3, 4]
        assert [e["id"] for e in store.events(arn, after_id=4, limit=4)] == [5, 6, 7, 8]
        assert [e["id"] for e in store.events(arn, reverse=True, limit=3)] == [10, 9, 8]
        assert [e["id"] for e in store.events(arn, reverse=True, before_id=8, limit=3)] == [7, 6, 5]
        assert store.events(execution_arn("none")) == []


def test_history_events_are_stored_as_get_execution_history_gives_them() -> None:
    machine = StateMachine(
        {"StartAt": "A", "States": {"A": {"Type": "Pass", "Result": {"x": 1}, "End": True}}}
    )
    history = History()
    with ExecutionStore(":memory:") as store:
        history.subscribe(lambda e: store.add_event("arn:x", e))
        result = asyncio.run(machine.execute({"in": True}, history=history))
        stored = store.events("arn:x", limit=1000)
    expected = [{**e, "timestamp": e["timestamp"].timestamp()} for e in result.history]
    assert stored == expected
    assert stored[0]["executionStartedEventDetails"]["input"] == '{"in":true}'


def test_list_is_newest_first_filtered_and_continues() -> None:
    with ExecutionStore(":memory:") as store:
        for index, status in enumerate(["SUCCEEDED", "RUNNING", "FAILED", "RUNNING"]):
            store.insert_execution(row(f"e{index}", status, start=1000.0 + index))
        assert [r.name for r in store.list_executions(MACHINE)] == ["e3", "e2", "e1", "e0"]
        assert [r.name for r in store.list_executions(MACHINE, status="RUNNING")] == ["e3", "e1"]
        first = store.list_executions(MACHINE, limit=2)
        rest = store.list_executions(MACHINE, before_seq=first[-1].seq, limit=2)
        assert [r.name for r in rest] == ["e1", "e0"]
        assert store.list_executions("arn:aws:states:us-east-1:123456789012:stateMachine:N") == []


def test_writes_are_batched_until_flushed(tmp_path: Path) -> None:
    path = tmp_path / "batched.sqlite3"

    async def scenario() -> None:
        store = ExecutionStore(path, flush_interval=0.05)
        store.insert_execution(row("one"))
        for event_id in range(1, 4):
            store.add_event(execution_arn("one"), event(event_id))
        assert rows_on_disk(path, "events") == 0, "queued, not yet written"
        await asyncio.sleep(0.15)
        assert rows_on_disk(path, "events") == 3, "written a moment later, in one batch"
        store.add_event(execution_arn("one"), event(4))
        assert len(store.events(execution_arn("one"))) == 4, "a read writes what is queued"
        store.close()

    asyncio.run(scenario())


def test_a_full_batch_is_written_at_once(tmp_path: Path) -> None:
    path = tmp_path / "full.sqlite3"

    async def scenario() -> None:
        store = ExecutionStore(path, flush_interval=60, batch_size=10)
        store.insert_execution(row("one"))
        for event_id in range(1, 10):
            store.add_event(execution_arn("one"), event(event_id))
        assert rows_on_disk(path, "events") == 9
        store.close()

    asyncio.run(scenario())


def test_without_an_event_loop_writes_are_immediate(tmp_path: Path) -> None:
    path = tmp_path / "direct.sqlite3"
    store = ExecutionStore(path)
    store.insert_execution(row("one"))
    assert rows_on_disk(path, "executions") == 1
    store.close()
    store.insert_execution(row("two"))  # after close: ignored, never raises
    assert rows_on_disk(path, "executions") == 1


def test_reopening_aborts_what_was_running(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "executions.sqlite3"
    store = ExecutionStore(path)
    store.insert_execution(row("finished", "RUNNING"))
    store.add_event(execution_arn("finished"), event(1, "ExecutionStarted"))
    store.finish_execution(execution_arn("finished"), "SUCCEEDED", stop_date=1001.0, output="{}")
    store.insert_execution(row("cut"))
    store.add_event(execution_arn("cut"), event(1, "ExecutionStarted", 1000.0))
    store.add_event(execution_arn("cut"), event(2, "WaitStateEntered", 1003.0))
    store.insert_execution(row("silent"))
    store.close()

    reopened = ExecutionStore(path)
    assert sorted(reopened.recovered) == [execution_arn("cut"), execution_arn("silent")]
    cut = reopened.get_execution(execution_arn("cut"))
    assert cut is not None
    assert (cut.status, cut.cause, cut.stop_date) == ("ABORTED", INTERRUPTED_CAUSE, 1003.0)
    last = reopened.events(execution_arn("cut"), reverse=True, limit=1)[0]
    assert last == {
        "timestamp": 1003.0,
        "type": "ExecutionAborted",
        "id": 3,
        "previousEventId": 2,
        "executionAbortedEventDetails": {"cause": INTERRUPTED_CAUSE},
    }
    silent = reopened.get_execution(execution_arn("silent"))
    assert silent is not None
    assert (silent.status, silent.stop_date) == ("ABORTED", 1000.0)
    finished = reopened.get_execution(execution_arn("finished"))
    assert finished is not None
    assert finished.status == "SUCCEEDED"
    assert ExecutionStore(path).recovered == []
    reopened.close()


def test_state_machines_are_kept() -> None:
    with ExecutionStore(":memory:") as store:
        machine = StateMachineRow(MACHINE, "M", "{}", "arn:aws:iam::1:role/r", "STANDARD", 5.0)
        store.put_state_machine(machine)
        assert store.state_machines() == [machine]
        store.delete_state_machine(MACHINE)
        assert store.state_machines() == []


@pytest.mark.parametrize("path", [":memory:"])
def test_memory_stores_are_independent(path: str) -> None:
    first, second = ExecutionStore(path), ExecutionStore(path)
    first.insert_execution(row("one"))
    assert second.get_execution(execution_arn("one")) is None
    first.close()
    second.close()
