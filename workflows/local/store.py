"""Executions and their history, kept in SQLite so that a restart loses nothing.

``ExecutionStore`` holds three tables: ``executions`` (one row per execution, its
status and result), ``events`` (each history event of GetExecutionHistory, in
order; its ``input``/``output`` JSON text in columns of their own, so that the
largest values are written as they are, not escaped into another JSON text) and
``state_machines`` (those created through CreateStateMachine; the template's come
from the template).

Writes are on the engine's hot path (two events per state), so they are queued and
written in batches: one connection, ``executemany`` per statement, one commit per
batch, WAL journal without a sync per commit. A batch is written a moment after the
first write queued it (``flush_interval``), when enough has been queued, before
every read, and on ``close``. Opening a store whose previous process stopped with
executions RUNNING marks them ABORTED (``recover``).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Final

__all__ = [
    "DEFAULT_PATH",
    "INTERRUPTED_CAUSE",
    "ExecutionRow",
    "ExecutionStore",
    "StateMachineRow",
]

DEFAULT_PATH: Final = Path(".workflows") / "executions.sqlite3"
INTERRUPTED_CAUSE: Final = "the local runtime stopped while it was running"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS executions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    arn TEXT NOT NULL UNIQUE,
    state_machine_arn TEXT NOT NULL,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    input TEXT,
    output TEXT,
    error TEXT,
    cause TEXT,
    start_date REAL NOT NULL,
    stop_date REAL,
    started_by TEXT
);
CREATE INDEX IF NOT EXISTS executions_by_machine ON executions (state_machine_arn, seq);
CREATE TABLE IF NOT EXISTS events (
    execution_arn TEXT NOT NULL,
    id INTEGER NOT NULL,
    type TEXT NOT NULL,
    timestamp REAL NOT NULL,
    previous_id INTEGER NOT NULL,
    details_key TEXT,
    details TEXT,
    input TEXT,
    output TEXT,
    PRIMARY KEY (execution_arn, id)
);
CREATE TABLE IF NOT EXISTS state_machines (
    arn TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    definition TEXT NOT NULL,
    role_arn TEXT NOT NULL,
    type TEXT NOT NULL,
    creation_date REAL NOT NULL
);
"""

_INSERT_EXECUTION = (
    "INSERT OR REPLACE INTO executions (arn, state_machine_arn, name, status, input, output,"
    " error, cause, start_date, stop_date, started_by) VALUES (?,?,?,?,?,?,?,?,?,?,?)"
)
_FINISH_EXECUTION = (
    "UPDATE executions SET status = ?, output = ?, error = ?, cause = ?, stop_date = ?"
    " WHERE arn = ?"
)
_INSERT_EVENT = (
    "INSERT OR REPLACE INTO events (execution_arn, id, type, timestamp, previous_id,"
    " details_key, details, input, output) VALUES (?,?,?,?,?,?,?,?,?)"
)
_EVENT_COLUMNS = "id, type, timestamp, previous_id, details_key, details, input, output"
_COLUMNS = (
    "seq, arn, state_machine_arn, name, status, input, output, error, cause, start_date,"
    " stop_date, started_by"
)


@dataclass(frozen=True, slots=True)
class ExecutionRow:
    """One execution as stored; ``input``/``output`` are JSON text."""

    arn: str
    state_machine_arn: str
    name: str
    status: str
    input: str | None
    start_date: float
    output: str | None = None
    error: str | None = None
    cause: str | None = None
    stop_date: float | None = None
    started_by: str | None = None
    seq: int = 0  # insertion order (0 until stored)


@dataclass(frozen=True, slots=True)
class StateMachineRow:
    arn: str
    name: str
    definition: str
    role_arn: str
    type: str
    creation_date: float


def _event_row(arn: str, event: dict[str, Any]) -> tuple[Any, ...]:
    """The row of one GetExecutionHistory event (see ``_event``)."""
    timestamp = event["timestamp"]
    if isinstance(timestamp, datetime):
        timestamp = timestamp.timestamp()
    key = next((k for k in event if k.endswith("EventDetails")), None)
    details: Any = event.get(key) if key is not None else None
    text = input = output = None
    if isinstance(details, dict):
        if "input" in details or "output" in details:
            details = dict(details)
            input = details.pop("input", None)
            output = details.pop("output", None)
        text = json.dumps(details, separators=(",", ":"), ensure_ascii=False, default=str)
    return (
        arn,
        int(event["id"]),
        event["type"],
        float(timestamp),
        int(event.get("previousEventId", 0)),
        key,
        text,
        input,
        output,
    )


def _event(row: tuple[Any, ...]) -> dict[str, Any]:
    event_id, kind, timestamp, previous, key, text, input, output = row
    event: dict[str, Any] = {
        "timestamp": timestamp,
        "type": kind,
        "id": event_id,
        "previousEventId": previous,
    }
    if key is not None:
        details = json.loads(text) if text is not None else {}
        if input is not None:
            details["input"] = input
        if output is not None:
            details["output"] = output
        event[key] = details
    return event


class ExecutionStore:
    """SQLite-backed executions, history events and ad-hoc state machines.

    Use it from one thread at a time (the event loop's); a lock guards the
    connection anyway. ``path`` may be ``":memory:"``.
    """

    def __init__(
        self,
        path: str | Path = DEFAULT_PATH,
        *,
        recover: bool = True,
        flush_interval: float = 0.05,
        batch_size: int = 500,
    ) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._lock = threading.RLock()
        # queued writes: (statement, parameters), written in order; event rows keep
        # their dict until the batch is written (JSON text is made then, off the hot path)
        self._pending: list[tuple[str, tuple[Any, ...] | dict[str, Any]]] = []
        self._pending_arns: set[str] = set()  # executions inserted but not yet written
        self._flush_interval = flush_interval
        self._batch_size = batch_size
        self._flush_handle: asyncio.TimerHandle | None = None
        self._flush_loop: asyncio.AbstractEventLoop | None = None
        self._closed = False
        self.recovered: list[str] = self.recover() if recover else []

    # ------------------------------------------------------------------ writes

    def insert_execution(self, row: ExecutionRow) -> None:
        self._pending_arns.add(row.arn)
        self._queue(
            _INSERT_EXECUTION,
            (
                row.arn,
                row.state_machine_arn,
                row.name,
                row.status,
                row.input,
                row.output,
                row.error,
                row.cause,
                row.start_date,
                row.stop_date,
                row.started_by,
            ),
        )

    def finish_execution(
        self,
        arn: str,
        status: str,
        *,
        stop_date: float,
        output: str | None = None,
        error: str | None = None,
        cause: str | None = None,
    ) -> None:
        self._queue(_FINISH_EXECUTION, (status, output, error, cause, stop_date, arn))

    def add_event(self, execution_arn: str, event: dict[str, Any]) -> None:
        """Queue one history event in GetExecutionHistory's shape (timestamp: datetime/float)."""
        self._queue(_INSERT_EVENT, {"arn": execution_arn, "event": event})

    def put_state_machine(self, row: StateMachineRow) -> None:
        with self._lock:
            self._flush_locked()
            self._db.execute(
                "INSERT OR REPLACE INTO state_machines VALUES (?,?,?,?,?,?)",
                (row.arn, row.name, row.definition, row.role_arn, row.type, row.creation_date),
            )

    def delete_state_machine(self, arn: str) -> None:
        with self._lock:
            self._flush_locked()
            self._db.execute("DELETE FROM state_machines WHERE arn = ?", (arn,))

    def recover(self) -> list[str]:
        """Mark executions left RUNNING by a stopped process ABORTED; returns their ARNs."""
        with self._lock:
            self._flush_locked()
            rows = self._db.execute(
                "SELECT arn, start_date FROM executions WHERE status = 'RUNNING'"
            ).fetchall()
            if not rows:
                return []
            self._db.execute("BEGIN")
            for arn, start_date in rows:
                last = self._db.execute(
                    "SELECT id, timestamp FROM events WHERE execution_arn = ?"
                    " ORDER BY id DESC LIMIT 1",
                    (arn,),
                ).fetchone()
                last_id, stopped = (0, start_date)
                if last is not None:
                    last_id, stopped = int(last[0]), float(last[1])
                aborted = {
                    "timestamp": stopped,
                    "type": "ExecutionAborted",
                    "id": last_id + 1,
                    "previousEventId": last_id,
                    "executionAbortedEventDetails": {"cause": INTERRUPTED_CAUSE},
                }
                self._db.execute(_INSERT_EVENT, _event_row(arn, aborted))
                self._db.execute(
                    _FINISH_EXECUTION, ("ABORTED", None, None, INTERRUPTED_CAUSE, stopped, arn)
                )
            self._db.execute("COMMIT")
            return [str(arn) for arn, _ in rows]

    # ------------------------------------------------------------------- reads

    def exists(self, arn: str) -> bool:
        """Whether an execution is known (queued or written), without writing the queue."""
        if arn in self._pending_arns:
            return True
        with self._lock:
            found = self._db.execute("SELECT 1 FROM executions WHERE arn = ?", (arn,)).fetchone()
        return found is not None

    def get_execution(self, arn: str) -> ExecutionRow | None:
        with self._lock:
            self._flush_locked()
            row = self._db.execute(
                f"SELECT {_COLUMNS} FROM executions WHERE arn = ?", (arn,)
            ).fetchone()
        return None if row is None else _execution(row)

    def list_executions(
        self,
        state_machine_arn: str,
        *,
        status: str | None = None,
        before_seq: int | None = None,
        limit: int = 100,
    ) -> list[ExecutionRow]:
        """Newest first; ``before_seq`` continues a previous page."""
        sql = f"SELECT {_COLUMNS} FROM executions WHERE state_machine_arn = ?"
        params: list[Any] = [state_machine_arn]
        if status is not None:
            sql += " AND status = ?"
            params.append(status)
        if before_seq is not None:
            sql += " AND seq < ?"
            params.append(before_seq)
        sql += " ORDER BY seq DESC LIMIT ?"
        params.append(limit)
        with self._lock:
            self._flush_locked()
            rows = self._db.execute(sql, params).fetchall()
        return [_execution(row) for row in rows]

    def search_executions(
        self,
        *,
        state_machine_arn: str | None = None,
        status: str | None = None,
        name_contains: str | None = None,
        before_seq: int | None = None,
        limit: int = 100,
    ) -> list[ExecutionRow]:
        """Newest first over every state machine (the console's list); filters optional.

        Walks the primary key backwards and stops at ``limit`` matches, so a page
        costs the rows it skips, not the whole table.
        """
        clauses: list[str] = []
        params: list[Any] = []
        for clause, value in (
            ("state_machine_arn = ?", state_machine_arn),
            ("status = ?", status),
            ("seq < ?", before_seq),
        ):
            if value is not None:
                clauses.append(clause)
                params.append(value)
        if name_contains:
            escaped = name_contains.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            clauses.append("name LIKE ? ESCAPE '\\'")
            params.append(f"%{escaped}%")
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        sql = f"SELECT {_COLUMNS} FROM executions{where} ORDER BY seq DESC LIMIT ?"
        params.append(limit)
        with self._lock:
            self._flush_locked()
            rows = self._db.execute(sql, params).fetchall()
        return [_execution(row) for row in rows]

    def count_executions(self) -> dict[tuple[str, str], int]:
        """How many executions each state machine has, by status."""
        with self._lock:
            self._flush_locked()
            rows = self._db.execute(
                "SELECT state_machine_arn, status, COUNT(*) FROM executions"
                " GROUP BY state_machine_arn, status"
            ).fetchall()
        return {(str(machine), str(status)): int(count) for machine, status, count in rows}

    def events(
        self,
        execution_arn: str,
        *,
        after_id: int | None = None,
        before_id: int | None = None,
        reverse: bool = False,
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        """History events (``timestamp`` as epoch seconds), oldest first unless ``reverse``."""
        sql = f"SELECT {_EVENT_COLUMNS} FROM events WHERE execution_arn = ?"
        params: list[Any] = [execution_arn]
        if after_id is not None:
            sql += " AND id > ?"
            params.append(after_id)
        if before_id is not None:
            sql += " AND id < ?"
            params.append(before_id)
        sql += f" ORDER BY id {'DESC' if reverse else 'ASC'} LIMIT ?"
        params.append(limit)
        with self._lock:
            self._flush_locked()
            rows = self._db.execute(sql, params).fetchall()
        return [_event(row) for row in rows]

    def state_machines(self) -> list[StateMachineRow]:
        with self._lock:
            rows = self._db.execute(
                "SELECT arn, name, definition, role_arn, type, creation_date"
                " FROM state_machines ORDER BY creation_date"
            ).fetchall()
        return [StateMachineRow(*row) for row in rows]

    # ------------------------------------------------------------------ batches

    def _queue(self, statement: str, parameters: tuple[Any, ...] | dict[str, Any]) -> None:
        with self._lock:
            if self._closed:
                return
            self._pending.append((statement, parameters))
            if len(self._pending) >= self._batch_size:
                self._flush_locked()
                return
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                self._flush_locked()  # no event loop: nothing to batch with
                return
            if self._flush_handle is None or self._flush_loop is not loop:
                if self._flush_handle is not None:
                    self._flush_handle.cancel()
                self._flush_loop = loop
                self._flush_handle = loop.call_later(self._flush_interval, self.flush)

    def flush(self) -> None:
        """Write every queued change now (one transaction)."""
        with self._lock:
            self._flush_locked()

    def _flush_locked(self) -> None:
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        if not self._pending or self._closed:
            return
        pending, self._pending = self._pending, []
        self._pending_arns.clear()
        self._db.execute("BEGIN")
        try:
            for statement, group in itertools.groupby(pending, key=lambda item: item[0]):
                self._db.executemany(statement, _rows(p for _, p in group))
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._flush_locked()
            self._closed = True
            self._db.close()

    def __enter__(self) -> ExecutionStore:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def _rows(parameters: Iterable[tuple[Any, ...] | dict[str, Any]]) -> Iterator[tuple[Any, ...]]:
    for item in parameters:
        if isinstance(item, dict):
            event = item["event"]
            yield _event_row(item["arn"], event)
        else:
            yield item


def _execution(row: tuple[Any, ...]) -> ExecutionRow:
    (seq, arn, machine, name, status, input, output, error, cause, start, stop, by) = row
    return ExecutionRow(
        arn=arn,
        state_machine_arn=machine,
        name=name,
        status=status,
        input=input,
        start_date=start,
        output=output,
        error=error,
        cause=cause,
        stop_date=stop,
        started_by=by,
        seq=seq,
    )
