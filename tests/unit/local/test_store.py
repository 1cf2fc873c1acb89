"""ExecutionStore: executions and history in SQLite, committed before anyone relies on them."""

from __future__ import annotations

import asyncio
import sqlite3
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from workflows.engine import StateMachine
from workflows.engine.history import History, RawEvent, materialize
from workflows.local import store as store_module
from workflows.local.store import (
    INTERRUPTED_CAUSE,
    ExecutionRow,
    ExecutionStore,
    StateMachineRow,
    StoreUnavailable,
    ValueTexts,
    _event_row,
    _raw_event_row,
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
        store.insert_execution(row("one")).result(timeout=5)
        assert store.get_execution(execution_arn("one")) == ExecutionRow(
            execution_arn("one"), MACHINE, "one", "RUNNING", '{"a":1}', 1000.0, seq=1
        )
        store.finish_execution(execution_arn("one"), "SUCCEEDED", stop_date=1002.5, output="[1]")
        store.flush()
        done = store.get_execution(execution_arn("one"))
        assert done is not None
        assert (done.status, done.output, done.stop_date) == ("SUCCEEDED", "[1]", 1002.5)
        assert store.get_execution(execution_arn("other")) is None


def test_events_page_forwards_and_backwards() -> None:
    with ExecutionStore(":memory:") as store:
        store.insert_execution(row("one"))
        for event_id in range(1, 11):
            store.add_event(execution_arn("one"), event(event_id))
        store.flush()
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
        store.flush()
        stored = store.events("arn:x", limit=1000)
    expected = [{**e, "timestamp": e["timestamp"].timestamp()} for e in result.history]
    assert stored == expected
    assert stored[0]["executionStartedEventDetails"]["input"] == '{"in":true}'


RAW_EVENTS: list[RawEvent] = [
    ("ExecutionStarted", 1000.1234567, 0, {"input": {"a": [1, "é"]}, "roleArn": "arn:r"}),
    ("PassStateEntered", 1000.5, 1, {"name": "A", "input": {"a": 1}}),
    (
        "TaskScheduled",
        1001.0000005,
        2,
        {
            "resourceType": "events",
            "resource": "putEvents",
            "region": "us-east-1",
            "parameters": {"Entries": [{"Detail": {"n": Decimal("1.5")}}]},
        },
    ),
    ("TaskSucceeded", 1002.0, 3, {"resourceType": "events", "output": Decimal("7")}),
    (
        "PassStateExited",
        1003.25,
        4,
        {"name": "A", "output": None, "assignedVariables": {"x": {"y": 2}, "z": "t"}},
    ),
    ("WaitStateEntered", 1004.0, 5, {}),
    ("ExecutionSucceeded", 1005.0, 6, None),
]


@pytest.mark.parametrize("raw", RAW_EVENTS, ids=lambda raw: raw[0])
def test_a_raw_event_makes_the_row_its_materialized_event_makes(raw: RawEvent) -> None:
    """The runtime stores the engine's raw events (one encoding, no event in between):
    the row must be the one GetExecutionHistory's event gave."""
    assert _raw_event_row("arn:x", 3, raw) == _event_row("arn:x", materialize(3, raw))


def test_an_executions_repeated_values_are_encoded_once_into_the_same_rows(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A state's output is the next state's input (the same object): ``ValueTexts``
    encodes it once, and every row is the one made without it."""
    machine = StateMachine(
        {
            "StartAt": "A",
            "States": {
                "A": {"Type": "Pass", "Result": {"x": [1, "é"]}, "Next": "B"},
                "B": {
                    "Type": "Choice",
                    "Choices": [{"Variable": "$.x[0]", "NumericEquals": 2, "Next": "D"}],
                    "Default": "C",
                },
                "C": {"Type": "Pass", "Parameters": {"y.$": "$.x"}, "Next": "D"},
                "D": {"Type": "Succeed"},
            },
        }
    )
    history = History()
    texts = ValueTexts()
    with_texts: list[tuple[Any, ...]] = []
    history.subscribe_raw(
        lambda event_id, raw: with_texts.append(_raw_event_row("arn:x", event_id, raw, texts))
    )
    encoded: list[Any] = []
    encode = store_module._VALUES.encode
    monkeypatch.setattr(
        store_module, "_VALUES", SimpleNamespace(encode=lambda v: encoded.append(v) or encode(v))
    )
    asyncio.run(machine.execute({"in": 1}, history=history))
    monkeypatch.undo()
    assert with_texts == [
        _raw_event_row("arn:x", event_id, raw)
        for event_id, raw in enumerate(history._events, start=1)
    ]
    values = [row[7] or row[8] for row in with_texts if row[7] or row[8]]
    assert len(values) > len(encoded) + 3  # A's and C's output, B's input and output...
    assert len({id(v) for v in encoded if isinstance(v, dict)}) == len(
        [v for v in encoded if isinstance(v, dict)]
    )  # ...each object encoded once


def test_raw_events_are_stored_as_get_execution_history_gives_them() -> None:
    machine = StateMachine(
        {
            "StartAt": "A",
            "States": {
                "A": {"Type": "Pass", "Result": {"x": 1}, "Assign": {"v.$": "$.x"}, "End": True}
            },
        }
    )
    history = History()
    with ExecutionStore(":memory:") as store:
        history.subscribe_raw(lambda event_id, raw: store.add_raw_event("arn:x", event_id, raw))
        result = asyncio.run(machine.execute({"in": "é"}, history=history))
        store.flush()
        stored = store.events("arn:x", limit=1000)
    expected = [{**e, "timestamp": e["timestamp"].timestamp()} for e in result.history]
    assert stored == expected
    assert stored[0]["executionStartedEventDetails"]["input"] == '{"in":"é"}'


def test_list_is_newest_first_filtered_and_continues() -> None:
    with ExecutionStore(":memory:") as store:
        for index, status in enumerate(["SUCCEEDED", "RUNNING", "FAILED", "RUNNING"]):
            store.insert_execution(row(f"e{index}", status, start=1000.0 + index))
        store.flush()
        assert [r.name for r in store.list_executions(MACHINE)] == ["e3", "e2", "e1", "e0"]
        assert [r.name for r in store.list_executions(MACHINE, status="RUNNING")] == ["e3", "e1"]
        first = store.list_executions(MACHINE, limit=2)
        rest = store.list_executions(MACHINE, before_seq=first[-1].seq, limit=2)
        assert [r.name for r in rest] == ["e1", "e0"]
        assert store.list_executions("arn:aws:states:us-east-1:123456789012:stateMachine:N") == []


def test_a_write_is_on_disk_when_its_future_resolves(tmp_path: Path) -> None:
    path = tmp_path / "durable.sqlite3"
    with ExecutionStore(path) as store:
        store.insert_execution(row("one")).result(timeout=5)
        assert rows_on_disk(path, "executions") == 1
        for event_id in range(1, 4):
            store.add_event(execution_arn("one"), event(event_id))
        store.barrier().result(timeout=5)
        assert rows_on_disk(path, "events") == 3


async def test_a_loop_s_wait_for_a_commit_ends_once_what_came_before_is_on_disk(
    tmp_path: Path,
) -> None:
    path = tmp_path / "waits.sqlite3"
    with ExecutionStore(path) as store:
        store.insert_execution(row("one"))
        for event_id in range(1, 4):
            store.add_raw_event(execution_arn("one"), event_id, ("PassStateEntered", 1.0, 0, None))
        waits = [store.committed() for _ in range(3)]
        given_up = store.committed()
        given_up.cancel()  # a waiter that gave up is left alone
        await asyncio.gather(*waits)
        assert rows_on_disk(path, "executions") == 1
        assert rows_on_disk(path, "events") == 3
        await store.committed()
    with pytest.raises(StoreUnavailable, match="closed"):
        await store.committed()


async def test_many_writers_share_commits_and_the_loop_never_waits(tmp_path: Path) -> None:
    path = tmp_path / "group.sqlite3"
    with ExecutionStore(path) as store:
        futures = [
            asyncio.wrap_future(store.insert_execution(row(f"e{index}"))) for index in range(200)
        ]
        await asyncio.gather(*futures)
        assert rows_on_disk(path, "executions") == 200


def test_a_locked_store_fails_the_caller_and_keeps_the_history(tmp_path: Path) -> None:
    path = tmp_path / "locked.sqlite3"
    store = ExecutionStore(path, busy_timeout=0.1, retry_delay=0.05)
    store.insert_execution(row("before")).result(timeout=5)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")  # another process holds the write lock
    try:
        refused = store.insert_execution(row("refused"))
        with pytest.raises(StoreUnavailable, match="cannot be written now"):
            refused.result(timeout=5)
        kept = store.add_event(execution_arn("before"), event(1))
        store.add_raw_event(execution_arn("before"), 2, ("PassStateEntered", 1.0, 1, None))
        assert not kept.done(), "a history event waits for the store, it is not dropped"
        assert store.get_execution(execution_arn("before")) is not None, "reads still work"
    finally:
        other.execute("ROLLBACK")
        other.close()
    kept.result(timeout=5)
    store.barrier().result(timeout=5)
    assert [e["id"] for e in store.events(execution_arn("before"))] == [1, 2]
    assert store.get_execution(execution_arn("refused")) is None
    store.close()


def test_after_close_writes_fail_and_nothing_is_written(tmp_path: Path) -> None:
    path = tmp_path / "direct.sqlite3"
    store = ExecutionStore(path)
    store.insert_execution(row("one")).result(timeout=5)
    store.close()
    with pytest.raises(StoreUnavailable):
        store.insert_execution(row("two")).result(timeout=5)
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
        store.put_state_machine(machine).result(timeout=5)
        assert store.state_machines() == [machine]
        store.delete_state_machine(MACHINE).result(timeout=5)
        assert store.state_machines() == []


@pytest.mark.parametrize("path", [":memory:"])
def test_memory_stores_are_independent(path: str) -> None:
    first, second = ExecutionStore(path), ExecutionStore(path)
    first.insert_execution(row("one")).result(timeout=5)
    assert second.get_execution(execution_arn("one")) is None
    first.close()
    second.close()
