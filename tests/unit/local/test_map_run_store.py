"""Map runs and their children in the execution store (issue #11): the schema version and
the migration of an older store, the rows as they are written and read back, what an
earlier attempt did per slot, and what ``recover`` does with the map runs of the
executions it aborts."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from workflows.local.store import SCHEMA_VERSION, ChildRow, ExecutionRow, ExecutionStore, MapRunRow

PARENT = "arn:aws:states:us-east-1:123456789012:execution:M:parent"
RUN = "arn:aws:states:us-east-1:123456789012:mapRun:M/L:run"


def run_row(status: str = "RUNNING", **more: object) -> MapRunRow:
    values: dict[str, object] = {
        "arn": RUN,
        "execution_arn": PARENT,
        "state_machine_arn": "arn:aws:states:us-east-1:123456789012:stateMachine:M/L",
        "label": "L",
        "status": status,
        "start_date": 1000.0,
        "stop_date": None,
        "settings": "{}",
        "definition": "{}",
        "item_counts": '{"running": 2}',
        "execution_counts": '{"running": 2}',
        **more,
    }
    return MapRunRow(**values)  # type: ignore[arg-type]


def child(slot: int, status: str = "RUNNING", kind: str = "STANDARD", name: str = "") -> ChildRow:
    name = name or f"c{slot}"
    return ChildRow(
        arn=f"arn:aws:states:us-east-1:123456789012:execution:M/L:{name}",
        map_run_arn=RUN,
        state_machine_arn="arn:aws:states:us-east-1:123456789012:stateMachine:M/L",
        name=name,
        type=kind,
        slot=slot,
        items=1,
        status=status,
        input=f'{{"n":{slot}}}',
        start_date=1000.0 + slot,
    )


def test_an_older_store_gets_the_map_run_tables_and_the_schema_version(tmp_path: Path) -> None:
    path = tmp_path / "executions.sqlite3"
    ExecutionStore(path, recover=False).close()
    with sqlite3.connect(path) as old:  # made a store as the previous version made it
        old.execute("DROP TABLE map_runs")
        old.execute("DROP TABLE map_run_children")
        old.execute("PRAGMA user_version=0")
    with ExecutionStore(path, recover=False) as store:
        store.put_map_run(run_row()).result()
        assert store.map_run(RUN) == run_row(seq=1)
    with sqlite3.connect(path) as again:
        assert again.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 1


def test_map_runs_and_children_are_written_updated_and_listed(tmp_path: Path) -> None:
    with ExecutionStore(tmp_path / "s.sqlite3", recover=False) as store:
        store.put_map_run(run_row()).result()
        store.put_map_run(run_row("FAILED", stop_date=1010.0, redrive_count=0)).result()
        for slot in range(3):
            store.put_child(child(slot)).result()
        store.put_child(child(1, "FAILED")).result()
        store.put_child(child(2, "SUCCEEDED", "EXPRESS", name="e2")).result()  # a rerun
        stored = store.map_run(RUN)
        assert stored is not None
        assert (stored.status, stored.stop_date) == ("FAILED", 1010.0)
        assert [r.arn for r in store.map_runs_of(PARENT)] == [RUN]
        listed = store.children(RUN, type="STANDARD")
        assert [c.name for c in listed] == ["c2", "c1", "c0"]  # newest first
        assert [c.name for c in store.children(RUN, status="FAILED")] == ["c1"]
        page = store.children(RUN, type="STANDARD", limit=2)
        assert [c.name for c in store.children(RUN, before_seq=page[-1].seq)] == ["c0"]
        latest = {c.slot: (c.name, c.status) for c in store.latest_children(RUN)}
        assert latest == {0: ("c0", "RUNNING"), 1: ("c1", "FAILED"), 2: ("e2", "SUCCEEDED")}


def test_recover_aborts_the_map_runs_of_the_executions_it_aborts(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    with ExecutionStore(path, recover=False) as store:
        store.insert_execution(ExecutionRow(PARENT, "M", "parent", "RUNNING", "{}", 1000.0))
        store.put_map_run(run_row()).result()
        store.put_child(child(0)).result()
        store.put_child(child(1, "SUCCEEDED")).result()
    with ExecutionStore(path) as store:
        assert store.recovered == [PARENT]
        stored = store.map_run(RUN)
        assert stored is not None
        assert stored.status == "ABORTED"
        statuses = {c.name: c.status for c in store.children(RUN)}
        assert statuses == {"c0": "ABORTED", "c1": "SUCCEEDED"}
