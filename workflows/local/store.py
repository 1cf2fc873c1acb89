"""Executions and their history, kept in SQLite so that a restart loses nothing.

``ExecutionStore`` holds three tables: ``executions`` (one row per execution, its
status and result), ``events`` (each history event of GetExecutionHistory, in
order; its ``input``/``output`` JSON text in columns of their own, so that the
largest values are written as they are, not escaped into another JSON text) and
``state_machines`` (those created through CreateStateMachine; the template's come
from the template).

What is acknowledged is stored: every write returns a ``Future`` resolved once its
transaction is committed (``synchronous=FULL``), and the runtime answers an API call
or lets an execution take its next effect (a Task, a Wait) only then. Writes from
every execution and every call go to one writer thread that commits whatever has
queued up as one transaction (group commit), so durability costs one commit per
batch, not per event, and SQLite never blocks the event loop. A write that cannot be
committed (the file locked by another process) fails its caller with
``StoreUnavailable``; history events are retried instead, and the execution waits.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import json
import logging
import queue
import shutil
import sqlite3
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from workflows.engine.history import RawEvent, details_key, json_default, shape_details
from workflows.local import spans

__all__ = [
    "DEFAULT_PATH",
    "INTERRUPTED_CAUSE",
    "ChildRow",
    "ExecutionRow",
    "ExecutionStore",
    "MapRunRow",
    "StateMachineRow",
    "StoreUnavailable",
    "ValueTexts",
]

log = logging.getLogger("workflows.local")

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
CREATE TABLE IF NOT EXISTS task_answers (
    token TEXT PRIMARY KEY,
    execution_arn TEXT NOT NULL,
    answer TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS map_runs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    arn TEXT NOT NULL UNIQUE,
    execution_arn TEXT NOT NULL,
    state_machine_arn TEXT NOT NULL,
    label TEXT NOT NULL,
    status TEXT NOT NULL,
    start_date REAL NOT NULL,
    stop_date REAL,
    settings TEXT NOT NULL,
    definition TEXT NOT NULL,
    item_counts TEXT NOT NULL,
    execution_counts TEXT NOT NULL,
    results_written INTEGER NOT NULL DEFAULT 0,
    redrive_count INTEGER NOT NULL DEFAULT 0,
    redrive_date REAL
);
CREATE INDEX IF NOT EXISTS map_runs_by_execution ON map_runs (execution_arn, seq);
CREATE TABLE IF NOT EXISTS map_run_children (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    arn TEXT NOT NULL UNIQUE,
    map_run_arn TEXT NOT NULL,
    state_machine_arn TEXT NOT NULL,
    name TEXT NOT NULL,
    type TEXT NOT NULL,
    slot INTEGER NOT NULL,
    items INTEGER NOT NULL,
    status TEXT NOT NULL,
    input TEXT,
    output TEXT,
    error TEXT,
    cause TEXT,
    start_date REAL NOT NULL,
    stop_date REAL,
    redrive_count INTEGER NOT NULL DEFAULT 0,
    redrive_date REAL
);
CREATE INDEX IF NOT EXISTS map_run_children_by_run ON map_run_children (map_run_arn, seq);
CREATE INDEX IF NOT EXISTS map_run_children_by_slot ON map_run_children (map_run_arn, slot);
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
# The version of the schema above: a store made by an older version gets the tables it
# lacks (CREATE TABLE IF NOT EXISTS) and is marked with this one (PRAGMA user_version).
# 1: map runs and their children (issue #11).
SCHEMA_VERSION: Final = 1
# the writer connection's page cache, in KiB
WRITER_CACHE_KB: Final = 16384
_MAP_RUN_COLUMNS = (
    "seq, arn, execution_arn, state_machine_arn, label, status, start_date, stop_date,"
    " settings, definition, item_counts, execution_counts, results_written, redrive_count,"
    " redrive_date"
)
_PUT_MAP_RUN = (
    "INSERT INTO map_runs (arn, execution_arn, state_machine_arn, label, status, start_date,"
    " stop_date, settings, definition, item_counts, execution_counts, results_written,"
    " redrive_count, redrive_date) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
    " ON CONFLICT (arn) DO UPDATE SET status = excluded.status, stop_date = excluded.stop_date,"
    " settings = excluded.settings, item_counts = excluded.item_counts,"
    " execution_counts = excluded.execution_counts, results_written = excluded.results_written,"
    " redrive_count = excluded.redrive_count, redrive_date = excluded.redrive_date"
)
_CHILD_COLUMNS = (
    "seq, arn, map_run_arn, state_machine_arn, name, type, slot, items, status, input, output,"
    " error, cause, start_date, stop_date, redrive_count, redrive_date"
)
_PUT_CHILD = (
    "INSERT INTO map_run_children (arn, map_run_arn, state_machine_arn, name, type, slot, items,"
    " status, input, output, error, cause, start_date, stop_date, redrive_count, redrive_date)"
    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT (arn) DO UPDATE SET"
    " status = excluded.status, output = excluded.output, error = excluded.error,"
    " cause = excluded.cause, stop_date = excluded.stop_date,"
    " redrive_count = excluded.redrive_count, redrive_date = excluded.redrive_date"
)
_EVENT_COLUMNS = "id, type, timestamp, previous_id, details_key, details, input, output"


def redriven_condition(redriven: bool, arn_column: str = "executions.arn") -> str:
    """SQL that keeps the executions (ARN in ``arn_column``) that were redriven, or not."""
    return (
        f"{'' if redriven else 'NOT '}EXISTS (SELECT 1 FROM events"
        f" WHERE events.execution_arn = {arn_column} AND events.type = 'ExecutionRedriven')"
    )


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
class MapRunRow:
    """One map run as stored: ``settings`` and the counts are JSON text."""

    arn: str
    execution_arn: str
    state_machine_arn: str
    label: str
    status: str
    start_date: float
    stop_date: float | None
    settings: str
    definition: str
    item_counts: str
    execution_counts: str
    results_written: int = 0
    redrive_count: int = 0
    redrive_date: float | None = None
    seq: int = 0


@dataclass(frozen=True, slots=True)
class ChildRow:
    """One child execution of a map run (``slot``: which unit of items it ran)."""

    arn: str
    map_run_arn: str
    state_machine_arn: str
    name: str
    type: str
    slot: int
    items: int
    status: str
    input: str | None
    start_date: float
    output: str | None = None
    error: str | None = None
    cause: str | None = None
    stop_date: float | None = None
    redrive_count: int = 0
    redrive_date: float | None = None
    seq: int = 0


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


# the encoders ``history.dumps`` and ``_event_row`` use, made once (``json.dumps`` with
# options builds an encoder for every call): the same text
_VALUES: Final = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, default=json_default)
_DETAILS: Final = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, default=str)


class ValueTexts:
    """The JSON text of the last values one execution's events held, known by identity.

    A state's output is the next state's input, a Choice or Succeed state's input its
    output, the last state's output the execution's: the same object, in two to four
    events in a row. The engine never changes a value in place (History itself keeps
    references to them and encodes them only when read), so the object held here still
    has the text made of it; holding it also keeps its ``id`` from being reused."""

    __slots__ = ("_held",)

    KEPT: Final = 2

    def __init__(self) -> None:
        self._held: list[tuple[Any, str]] = []

    def encode(self, value: Any) -> str:
        for held, text in self._held:
            if held is value:
                return text
        text = _VALUES.encode(value)
        if isinstance(value, dict | list):  # scalars cost less to encode than to look up
            held_now = self._held
            if len(held_now) >= self.KEPT:
                del held_now[0]
            held_now.append((value, text))
        return text


def _raw_event_row(
    arn: str, event_id: int, raw: RawEvent, texts: ValueTexts | None = None
) -> tuple[Any, ...]:
    """The row ``_event_row`` makes of ``history.materialize(event_id, raw)``, without the
    event in between: ``input``/``output`` are encoded into their columns, the rest of the
    details (``parameters``, variables as JSON text) into the details column; ``texts``,
    the execution's values encoded last (the same text, made once)."""
    event_type, timestamp, previous, details = raw
    key = text = input = output = None
    if details is not None:
        key = details_key(event_type)
        shaped = shape_details(details, _VALUES.encode if texts is None else texts.encode)
        # input and output have columns of their own
        input = shaped.pop("input", None)
        output = shaped.pop("output", None)
        text = _DETAILS.encode(shaped)
    # the timestamp as the event's datetime holds it (microseconds)
    stamp = datetime.fromtimestamp(timestamp, UTC).timestamp()
    return (arn, event_id, event_type, stamp, previous, key, text, input, output)


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


class StoreUnavailable(Exception):
    """The store could not write (or read) now: SQLite is locked by another process, ..."""


@dataclass(slots=True)
class _Job:
    """Writes committed together, and whoever waits for them.

    A ``durable`` job (the history of a running execution, a barrier) is retried until
    it is written: the execution waits for it before its next effect, nothing is lost.
    Any other job (what an API call asked for) fails at once with ``StoreUnavailable``,
    so the caller gets an error instead of a silent loss.
    """

    writes: Sequence[tuple[str, tuple[Any, ...] | dict[str, Any]]]
    # who waits: a thread's future, a future of an event loop (resolved on that loop, in
    # one call per commit for all of them), or None (nobody: a barrier does)
    future: Future[Any] | asyncio.Future[Any] | None
    durable: bool
    action: Callable[[sqlite3.Connection], Any] | None = None


_STOP: Final = object()


class ExecutionStore:
    """SQLite-backed executions, history events and ad-hoc state machines.

    Every write goes to one writer thread, which commits whatever has queued up in one
    transaction (group commit across executions) and then resolves each writer's
    ``Future``; callers on the event loop await it (``asyncio.wrap_future``), so SQLite
    never blocks the loop and an answer is given only after its data is on disk. Reads
    use a second connection: in WAL mode a reader never waits for a writer. ``path``
    may be ``":memory:"`` (a temporary file, removed on ``close``).
    """

    def __init__(
        self,
        path: str | Path = DEFAULT_PATH,
        *,
        recover: bool = True,
        busy_timeout: float = 1.0,
        retry_delay: float = 0.2,
        synchronous: str = "FULL",
        batch_size: int = 2000,
    ) -> None:
        self._temporary: str | None = None
        if str(path) == ":memory:":
            self._temporary = tempfile.mkdtemp(prefix="workflows-store-")
            path = Path(self._temporary) / "executions.sqlite3"
        self.path = str(path)
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._busy_timeout = busy_timeout
        self._retry_delay = retry_delay
        self._batch_size = batch_size
        try:
            self._db = sqlite3.connect(
                self.path, timeout=busy_timeout, check_same_thread=False, isolation_level=None
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            # FULL: a commit is on disk when it returns (NORMAL in WAL mode survives a
            # killed process but not a power cut); group commit keeps its cost small
            self._db.execute(f"PRAGMA synchronous={synchronous}")
            # the writer's page cache (SQLite's default, 2 MB, held less than the index
            # pages every insert touches: under load each commit read ~20 pages back)
            self._db.execute(f"PRAGMA cache_size={-WRITER_CACHE_KB}")
            self._db.executescript(_SCHEMA)
            if self._db.execute("PRAGMA user_version").fetchone()[0] < SCHEMA_VERSION:
                self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            self._reader = sqlite3.connect(
                self.path, timeout=busy_timeout, check_same_thread=False, isolation_level=None
            )
        except sqlite3.OperationalError as error:
            raise StoreUnavailable(
                f"cannot open the execution store {self.path}: {error}"
            ) from None
        self._read_lock = threading.Lock()
        self._pending_lock = threading.Lock()
        self._pending_arns: set[str] = set()  # executions inserted but not yet committed
        # history events made in this turn of the loop, not yet queued (``add_raw_event``)
        self._rows: list[tuple[str, tuple[Any, ...] | dict[str, Any]]] = []
        self._rows_lock = threading.Lock()
        self._queue: queue.SimpleQueue[_Job | object] = queue.SimpleQueue()
        self._committing = 0.0  # when the writer's last COMMIT began (spans)
        self._closed = False
        self._writer = threading.Thread(
            target=self._write_loop, name="workflows-store", daemon=True
        )
        self._writer.start()
        self.recovered: list[str] = self.recover() if recover else []

    # ------------------------------------------------------------------ writes

    def insert_execution(self, row: ExecutionRow, *, durable: bool = False) -> Future[None]:
        """Store a new execution; the future fails with ``StoreUnavailable`` unless ``durable``."""
        with self._pending_lock:
            self._pending_arns.add(row.arn)
        params = (
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
        )
        future = self._submit([(_INSERT_EXECUTION, params)], durable=durable)
        future.add_done_callback(lambda _: self._forget_pending(row.arn))
        return future

    def finish_execution(
        self,
        arn: str,
        status: str,
        *,
        stop_date: float,
        output: str | None = None,
        error: str | None = None,
        cause: str | None = None,
        event: dict[str, Any] | None = None,
    ) -> Future[None]:
        """Mark an execution ended; ``event``, its end event (GetExecutionHistory's shape),
        is stored in the same transaction: no reader sees the end event of an execution
        still RUNNING, and a kill -9 cannot leave one (whose recovery would then add
        ExecutionAborted after it)."""
        writes: list[tuple[str, tuple[Any, ...] | dict[str, Any]]] = [
            (_FINISH_EXECUTION, (status, output, error, cause, stop_date, arn)),
            ("DELETE FROM task_answers WHERE execution_arn = ?", (arn,)),
        ]
        if event is not None:
            writes.insert(0, (_INSERT_EVENT, {"arn": arn, "event": event}))
        return self._submit(writes, durable=True)

    def put_task_answer(
        self, token: str, execution_arn: str, answer: dict[str, Any]
    ) -> Future[None]:
        """A SendTaskSuccess/Failure, kept until its execution ends: one acknowledged but
        not yet applied when the process stopped is applied when the execution resumes."""
        text = json.dumps(answer, separators=(",", ":"))
        return self._submit(
            [("INSERT OR REPLACE INTO task_answers VALUES (?,?,?)", (token, execution_arn, text))],
            durable=False,
        )

    def task_answers(self, execution_arn: str) -> dict[str, dict[str, Any]]:
        rows = self._read(
            "SELECT token, answer FROM task_answers WHERE execution_arn = ?", (execution_arn,)
        )
        return {str(token): json.loads(text) for token, text in rows}

    def add_event(self, execution_arn: str, event: dict[str, Any]) -> Future[None]:
        """Store one history event in GetExecutionHistory's shape (timestamp: datetime/float)."""
        return self._submit([(_INSERT_EVENT, {"arn": execution_arn, "event": event})], durable=True)

    def add_raw_event(
        self,
        execution_arn: str,
        event_id: int,
        raw: RawEvent,
        texts: ValueTexts | None = None,
    ) -> None:
        """Store one event as the engine recorded it (``History.subscribe_raw``), durably
        and with no future of its own: whoever needs it on disk waits for a ``barrier``.
        ``texts``: the execution's own (its values repeat from one event to the next)."""
        if self._closed:
            return
        # the row is made here, by the caller, not by the writer: the writer's own Python
        # work holds the GIL the loop needs (under a closed loop of 50 clients the
        # runtime spent more CPU with the rows made by the writer)
        row = _raw_event_row(execution_arn, event_id, raw, texts)
        with self._rows_lock:
            rows = self._rows
            rows.append((_INSERT_EVENT, row))
            if len(rows) > 1:
                return  # handed over with the first
        # the events of one turn of the loop go to the writer as one job, at the end of the
        # turn or before any write submitted after them: one wake-up of the writer (and
        # often one commit) for all of them instead of one for each event
        loop = asyncio._get_running_loop()
        if loop is None:
            self._hand_over()
        else:
            loop.call_soon(self._hand_over)

    def _hand_over(self) -> None:
        """Queue the events made so far (``add_raw_event``) as one job."""
        with self._rows_lock:
            rows, self._rows = self._rows, []
            if rows:
                self._queue.put(_Job(rows, None, True))

    def _put(self, item: _Job | object) -> None:
        """Queue ``item`` after the events made before it."""
        with self._rows_lock:
            rows, self._rows = self._rows, []
            if rows:
                self._queue.put(_Job(rows, None, True))
            self._queue.put(item)

    def barrier(self) -> Future[None]:
        """Resolved once every write submitted before it is committed."""
        return self._submit([], durable=True)

    def committed(self) -> asyncio.Future[None]:
        """``barrier`` for a caller on an event loop: a future of the running loop,
        resolved there (the waiters of one commit are woken by one call to their loop,
        with no thread's future and no ``wrap_future`` for each)."""
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self._closed:
            waiter.set_exception(StoreUnavailable("the execution store is closed"))
        else:
            self._put(_Job([], waiter, True))
        return waiter

    def put_state_machine(self, row: StateMachineRow) -> Future[None]:
        return self._submit(
            [
                (
                    "INSERT OR REPLACE INTO state_machines VALUES (?,?,?,?,?,?)",
                    (row.arn, row.name, row.definition, row.role_arn, row.type, row.creation_date),
                )
            ],
            durable=False,
        )

    def delete_state_machine(self, arn: str) -> Future[None]:
        return self._submit([("DELETE FROM state_machines WHERE arn = ?", (arn,))], durable=False)

    def recover(self) -> list[str]:
        """Mark executions left RUNNING by a stopped process ABORTED; returns their ARNs."""
        future: Future[list[str]] = Future()
        self._put(_Job([], future, durable=False, action=_abort_running))
        return future.result()

    def abort(self, arn: str, cause: str) -> None:
        """Mark one RUNNING execution ABORTED with ``cause`` (an ExecutionAborted event
        after its last one)."""
        future: Future[list[str]] = Future()
        action = functools.partial(_abort_running, arns=(arn,), cause=cause)
        self._put(_Job([], future, durable=False, action=action))
        future.result()

    def _submit(
        self, writes: list[tuple[str, tuple[Any, ...] | dict[str, Any]]], *, durable: bool
    ) -> Future[Any]:
        future: Future[Any] = Future()
        if self._closed:
            future.set_exception(StoreUnavailable("the execution store is closed"))
            return future
        self._put(_Job(writes, future, durable))
        return future

    def _forget_pending(self, arn: str) -> None:
        with self._pending_lock:
            self._pending_arns.discard(arn)

    # ------------------------------------------------------------- the writer

    def _write_loop(self) -> None:
        waiting: list[_Job] = []  # durable jobs whose last attempt failed (store locked)
        carried: object = None  # the first job of the next batch, when one was full
        stopping = False
        deadline = 0.0
        while True:
            item = carried
            carried = None
            if item is None:
                try:
                    item = self._queue.get(timeout=self._retry_delay if waiting else None)
                except queue.Empty:
                    item = None
            batch, waiting = waiting, []
            while item is not None:
                if item is _STOP:
                    stopping, deadline = True, time.monotonic() + 10 * self._busy_timeout
                elif isinstance(item, _Job):
                    batch.append(item)
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if len(batch) >= self._batch_size:
                    carried = item
                    break
            if batch:
                waiting = self._write(batch)
            if stopping and carried is None and (not waiting or time.monotonic() > deadline):
                for job in waiting:
                    _settle(job.future, error=StoreUnavailable("closed before it could be written"))
                if waiting:
                    log.error("%d writes to %s could not be stored", len(waiting), self.path)
                self._db.close()
                return

    def _write(self, batch: list[_Job]) -> list[_Job]:
        """Commit ``batch`` in one transaction; returns the durable jobs to try again."""
        began, cpu = time.monotonic(), time.thread_time()
        try:
            results = self._transaction(batch)
            if spans.active():  # wall, then the writer's CPU, then the COMMIT (its fsync)
                ended = time.monotonic()
                spans.mark(
                    "store.commit",
                    len(batch),
                    f"{ended - began:.6f} {time.thread_time() - cpu:.6f}"
                    f" {ended - self._committing:.6f}",
                )
        except sqlite3.OperationalError as error:  # locked or busy: nothing was written
            problem = StoreUnavailable(
                f"the execution store {self.path} cannot be written now ({error}); "
                "is another process using it?"
            )
            log.warning("%s", problem)
            retry = []
            for job in batch:
                if job.durable:
                    retry.append(job)
                else:
                    _settle(job.future, error=problem)
            return retry
        except sqlite3.Error as error:  # one bad write must not fail the others
            if len(batch) > 1:
                return [job for one in batch for job in self._write([one])]
            only = batch[0]
            if only.future is None and len(only.writes) > 1:  # a turn's events: each alone
                return [
                    job for write in only.writes for job in self._write([_Job([write], None, True)])
                ]
            log.error("a write to %s failed: %s", self.path, error)
            _settle(batch[0].future, error=StoreUnavailable(str(error)))
            return []
        woken: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], Any]]] = {}
        for job, result in zip(batch, results, strict=True):
            future = job.future
            if isinstance(future, asyncio.Future):
                woken.setdefault(future.get_loop(), []).append((future, result))
            else:
                _settle(future, result)
        for loop, waiters in woken.items():
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits
                loop.call_soon_threadsafe(_wake, waiters)
        return []

    def _transaction(self, batch: list[_Job]) -> list[Any]:
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            results: list[Any] = []
            writes = [write for job in batch for write in job.writes]
            for statement, group in itertools.groupby(writes, key=lambda item: item[0]):
                db.executemany(statement, _rows(p for _, p in group))
            for job in batch:
                results.append(job.action(db) if job.action is not None else None)
            self._committing = time.monotonic()
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return results

    # ------------------------------------------------------------------- reads

    def _read(self, sql: str, params: Iterable[Any]) -> list[Any]:
        try:
            with self._read_lock:
                return self._reader.execute(sql, tuple(params)).fetchall()
        except sqlite3.OperationalError as error:
            raise StoreUnavailable(
                f"the execution store {self.path} cannot be read now ({error})"
            ) from None

    def exists(self, arn: str) -> bool:
        """Whether an execution is known (being written or written)."""
        with self._pending_lock:
            if arn in self._pending_arns:
                return True
        return bool(self._read("SELECT 1 FROM executions WHERE arn = ?", (arn,)))

    def get_execution(self, arn: str) -> ExecutionRow | None:
        rows = self._read(f"SELECT {_COLUMNS} FROM executions WHERE arn = ?", (arn,))
        return _execution(rows[0]) if rows else None

    def running(self) -> list[ExecutionRow]:
        """Executions stored as RUNNING, oldest first."""
        rows = self._read(
            f"SELECT {_COLUMNS} FROM executions WHERE status = 'RUNNING' ORDER BY seq", ()
        )
        return [_execution(row) for row in rows]

    def list_executions(
        self,
        state_machine_arn: str,
        *,
        status: str | None = None,
        before_seq: int | None = None,
        limit: int = 100,
        redriven: bool | None = None,
    ) -> list[ExecutionRow]:
        """Newest first; ``before_seq`` continues a previous page; ``redriven`` keeps only
        the executions that were (or were not) redriven."""
        sql = f"SELECT {_COLUMNS} FROM executions WHERE state_machine_arn = ?"
        params: list[Any] = [state_machine_arn]
        if status is not None:
            sql += " AND status = ?"
            params.append(status)
        if redriven is not None:
            sql += f" AND {redriven_condition(redriven)}"
        if before_seq is not None:
            sql += " AND seq < ?"
            params.append(before_seq)
        sql += " ORDER BY seq DESC LIMIT ?"
        params.append(limit)
        return [_execution(row) for row in self._read(sql, params)]

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
        rows = self._read(sql, params)
        return [_execution(row) for row in rows]

    def count_executions(self) -> dict[tuple[str, str], int]:
        """How many executions each state machine has, by status."""
        rows = self._read(
            "SELECT state_machine_arn, status, COUNT(*) FROM executions"
            " GROUP BY state_machine_arn, status",
            (),
        )
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
        return [_event(row) for row in self._read(sql, params)]

    def redrives(self, arns: Iterable[str]) -> dict[str, tuple[int, float]]:
        """How many times each execution was redriven, and when last (redriven ones only)."""
        chosen = list(arns)
        if not chosen:
            return {}
        marks = ",".join("?" * len(chosen))
        rows = self._read(
            "SELECT execution_arn, COUNT(*), MAX(timestamp) FROM events"
            f" WHERE type = 'ExecutionRedriven' AND execution_arn IN ({marks})"
            " GROUP BY execution_arn",
            chosen,
        )
        return {str(arn): (int(count), float(last)) for arn, count, last in rows}

    def reopen(self, arn: str, event: dict[str, Any]) -> Future[None]:
        """A redrive: store its ExecutionRedriven event and mark the execution RUNNING."""
        return self._submit(
            [
                (_INSERT_EVENT, {"arn": arn, "event": event}),
                (_FINISH_EXECUTION, ("RUNNING", None, None, None, None, arn)),
            ],
            durable=False,
        )

    # ---------------------------------------------------- map runs and children

    def put_map_run(self, row: MapRunRow) -> Future[None]:
        """Store a map run, or its new status, counts and redrives (retried until stored)."""
        params = (
            row.arn,
            row.execution_arn,
            row.state_machine_arn,
            row.label,
            row.status,
            row.start_date,
            row.stop_date,
            row.settings,
            row.definition,
            row.item_counts,
            row.execution_counts,
            row.results_written,
            row.redrive_count,
            row.redrive_date,
        )
        return self._submit([(_PUT_MAP_RUN, params)], durable=True)

    def map_run(self, arn: str) -> MapRunRow | None:
        rows = self._read(f"SELECT {_MAP_RUN_COLUMNS} FROM map_runs WHERE arn = ?", (arn,))
        return _map_run(rows[0]) if rows else None

    def map_runs_of(self, execution_arn: str) -> list[MapRunRow]:
        """The map runs an execution started, oldest first."""
        rows = self._read(
            f"SELECT {_MAP_RUN_COLUMNS} FROM map_runs WHERE execution_arn = ? ORDER BY seq",
            (execution_arn,),
        )
        return [_map_run(row) for row in rows]

    def put_child(self, row: ChildRow) -> Future[None]:
        """Store a child execution, or how it ended (retried until stored)."""
        params = (
            row.arn,
            row.map_run_arn,
            row.state_machine_arn,
            row.name,
            row.type,
            row.slot,
            row.items,
            row.status,
            row.input,
            row.output,
            row.error,
            row.cause,
            row.start_date,
            row.stop_date,
            row.redrive_count,
            row.redrive_date,
        )
        return self._submit([(_PUT_CHILD, params)], durable=True)

    def child(self, arn: str) -> ChildRow | None:
        rows = self._read(f"SELECT {_CHILD_COLUMNS} FROM map_run_children WHERE arn = ?", (arn,))
        return _child(rows[0]) if rows else None

    def children(
        self,
        map_run_arn: str,
        *,
        type: str | None = None,
        status: str | None = None,
        before_seq: int | None = None,
        limit: int = 100,
    ) -> list[ChildRow]:
        """A map run's children, newest first; ``before_seq`` continues a page."""
        sql = f"SELECT {_CHILD_COLUMNS} FROM map_run_children WHERE map_run_arn = ?"
        params: list[Any] = [map_run_arn]
        for clause, value in (("type = ?", type), ("status = ?", status), ("seq < ?", before_seq)):
            if value is not None:
                sql += f" AND {clause}"
                params.append(value)
        sql += " ORDER BY seq DESC LIMIT ?"
        params.append(limit)
        return [_child(row) for row in self._read(sql, params)]

    def latest_children(self, map_run_arn: str) -> Iterator[ChildRow]:
        """The newest child of each slot of a map run (what each unit of items did last),
        read a page at a time."""
        after = -1
        while True:
            rows = self._read(
                f"SELECT {_CHILD_COLUMNS} FROM map_run_children WHERE seq IN"
                " (SELECT MAX(seq) FROM map_run_children WHERE map_run_arn = ? GROUP BY slot)"
                " AND slot > ? ORDER BY slot LIMIT 1000",
                (map_run_arn, after),
            )
            for row in rows:
                yield _child(row)
            if len(rows) < 1000:
                return
            after = int(rows[-1][_CHILD_NAMES.index("slot")])

    def state_machines(self) -> list[StateMachineRow]:
        rows = self._read(
            "SELECT arn, name, definition, role_arn, type, creation_date"
            " FROM state_machines ORDER BY creation_date",
            (),
        )
        return [StateMachineRow(*row) for row in rows]

    # ------------------------------------------- other modules' tables in this file

    def submit_writes(self, writes: list[tuple[str, tuple[Any, ...]]]) -> Future[None]:
        """Commit ``(statement, parameters)`` writes to tables kept by other modules
        (``resource_store``) with the executions' group commit; fails with
        ``StoreUnavailable`` if the store cannot be written now."""
        return self._submit(list(writes), durable=False)

    def query(self, sql: str, params: Iterable[Any] = ()) -> list[Any]:
        """Rows of a read of such a table (the reader connection)."""
        return self._read(sql, params)

    # --------------------------------------------------------------- lifecycle

    def flush(self) -> None:
        """Wait until every write submitted so far is committed (from outside the loop)."""
        if not self._closed:
            self.barrier().result()

    def close(self) -> None:
        """Commit what is queued (retrying a locked store for a while), then close."""
        if self._closed:
            return
        self._closed = True
        self._put(_STOP)
        self._writer.join()
        with self._read_lock:
            self._reader.close()
        if self._temporary is not None:
            shutil.rmtree(self._temporary, ignore_errors=True)

    def __enter__(self) -> ExecutionStore:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def _wake(waiters: list[tuple[asyncio.Future[Any], Any]]) -> None:
    """On the waiters' loop: resolve them (one whose waiter gave up is left alone)."""
    for waiter, result in waiters:
        if not waiter.done():
            waiter.set_result(result)


def _fail_on_loop(waiter: asyncio.Future[Any], error: BaseException) -> None:
    if not waiter.done():
        waiter.set_exception(error)


def _settle(
    future: Future[Any] | asyncio.Future[Any] | None,
    result: Any = None,
    error: BaseException | None = None,
) -> None:
    """Resolve a writer's future; one whose waiter gave up (cancelled) is left alone."""
    if future is None:
        return
    if isinstance(future, asyncio.Future):  # the writer's thread: resolved on its loop
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits
            if error is not None:
                future.get_loop().call_soon_threadsafe(_fail_on_loop, future, error)
            else:
                future.get_loop().call_soon_threadsafe(_wake, [(future, result)])
        return
    try:
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)
    except InvalidStateError:
        pass  # cancelled by its waiter: the write itself is done all the same


def _abort_running(
    db: sqlite3.Connection,
    arns: Iterable[str] | None = None,
    cause: str = INTERRUPTED_CAUSE,
) -> list[str]:
    rows = db.execute("SELECT arn, start_date FROM executions WHERE status = 'RUNNING'").fetchall()
    if arns is not None:
        chosen = set(arns)
        rows = [row for row in rows if row[0] in chosen]
    for arn, start_date in rows:
        last = db.execute(
            "SELECT id, timestamp FROM events WHERE execution_arn = ? ORDER BY id DESC LIMIT 1",
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
            "executionAbortedEventDetails": {"cause": cause},
        }
        db.execute(_INSERT_EVENT, _event_row(arn, aborted))
        db.execute(_FINISH_EXECUTION, ("ABORTED", None, None, cause, stopped, arn))
        # its map runs, and their children that were running, end with it
        db.execute(
            "UPDATE map_run_children SET status = 'ABORTED', stop_date = ? WHERE status ="
            " 'RUNNING' AND map_run_arn IN (SELECT arn FROM map_runs WHERE execution_arn = ?)",
            (stopped, arn),
        )
        db.execute(
            "UPDATE map_runs SET status = 'ABORTED', stop_date = ?"
            " WHERE execution_arn = ? AND status = 'RUNNING'",
            (stopped, arn),
        )
    return [str(arn) for arn, _ in rows]


def _rows(
    parameters: Iterable[tuple[Any, ...] | dict[str, Any]],
) -> Iterator[tuple[Any, ...]]:
    for item in parameters:
        if isinstance(item, dict):
            event = item["event"]
            yield _event_row(item["arn"], event)
        else:
            yield item


_MAP_RUN_NAMES: Final = [name.strip() for name in _MAP_RUN_COLUMNS.split(",")]
_CHILD_NAMES: Final = [name.strip() for name in _CHILD_COLUMNS.split(",")]


def _map_run(row: tuple[Any, ...]) -> MapRunRow:
    return MapRunRow(**dict(zip(_MAP_RUN_NAMES, row, strict=True)))


def _child(row: tuple[Any, ...]) -> ChildRow:
    return ChildRow(**dict(zip(_CHILD_NAMES, row, strict=True)))


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
