"""Acknowledged means stored: a write-ahead journal of the local services' effects.

moto keeps the local AWS services in memory; ``services.json`` (``service_data.py``)
is a snapshot of them. Between two snapshots, every write a service acknowledges is
first appended to ``<state dir>/services.journal.<generation>`` and made durable
(fdatasync), and only then is the answer sent: a ``kill -9`` loses nothing a client
was told had been stored.

The journal keeps *effects*, not requests: after moto handled a write, the
middleware reads what the write left in moto's backend and records that, so a
replay is a deterministic put or delete (no condition expression, generated id or
clock is evaluated twice):

- DynamoDB PutItem, UpdateItem, DeleteItem, BatchWriteItem, TransactWriteItems:
  each named item's image after the write, by key (``None`` once deleted);
- SQS SendMessage(Batch): each message as sent (id, body, attributes, timestamps,
  delay); DeleteMessage(Batch): the ids of the messages it removed (receipt handles
  are resolved before moto deletes); PurgeQueue. Receives are not journaled: a
  message in flight at a crash comes back visible (at-least-once, as SQS promises);
- S3 PutObject, CopyObject, CompleteMultipartUpload, DeleteObject(s): the object's
  metadata after the write, its bytes in ``<state dir>/services.objects/`` (written and
  synced before the record), or ``None`` once deleted.

Reads (Get, Query, Scan, Receive, List...) pass straight through and pay nothing.
Records are appended under moto's request lock (so the journal's order is the order
moto applied them) and synced outside it: threads waiting for their records share
one fdatasync (group commit).

A record is one line: the CRC-32 of its JSON, a space, the JSON. The first record of
a file names its generation. A snapshot says which generation comes after it;
``recover`` loads the snapshot and folds every journal file of that generation or
later on top, in order. ``compact`` (at start, every ``interval`` seconds when there
was a write, and at a graceful stop) opens the next generation and captures moto
under the request lock, writes the snapshot naming that generation, then removes
the older files and the object files nothing refers to any more. A crash anywhere in
between leaves either the old snapshot and every journal since it, or the new
snapshot (older journal files are then skipped): nothing is lost or applied twice
(and applying a record twice would not change the result anyway: each one is an image).

A last record cut short by a crash is ignored with a warning (its write was never
acknowledged); damage anywhere else stops the start with the file's name and ``--fresh``.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import threading
import zlib
from collections.abc import Callable, Iterable
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Final
from urllib.parse import parse_qsl, unquote, urlsplit
from xml.sax.saxutils import unescape

from workflows.local import service_data
from workflows.local.service_data import OBJECTS_DIR, SNAPSHOT_NAME, ServiceDataError

__all__ = [
    "JOURNAL_NAME",
    "JournalError",
    "ServiceJournal",
    "encode",
    "fold",
    "read_journal",
    "state_paths",
]

log = logging.getLogger("workflows.local")

JOURNAL_NAME: Final = "services.journal"
_FORMAT: Final = 1
_sync = getattr(os, "fdatasync", os.fsync)

Record = dict[str, Any]
WsgiApp = Callable[[dict[str, Any], Any], Iterable[bytes]]


class JournalError(ServiceDataError):
    """A journal file is damaged before its last record."""


def state_paths(state_dir: Path) -> list[Path]:
    """The services' files in ``state_dir`` (what ``--fresh`` and ``reset`` remove)."""
    paths = [state_dir / SNAPSHOT_NAME, state_dir / f"{SNAPSHOT_NAME[:-5]}.partial"]
    paths += sorted(state_dir.glob(f"{JOURNAL_NAME}.*"))
    return [path for path in paths if path.exists()] + [
        path for path in [state_dir / OBJECTS_DIR] if path.is_dir()
    ]


# --------------------------------------------------------------------- the file


def encode(record: Record) -> bytes:
    payload = json.dumps(record, separators=(",", ":")).encode()  # ASCII: any text encodes
    return b"%08x %s\n" % (zlib.crc32(payload), payload)


def _decode(line: bytes) -> Record | None:
    checksum, _, payload = line.partition(b" ")
    try:
        if int(checksum, 16) != zlib.crc32(payload) or len(checksum) != 8:
            return None
        record = json.loads(payload)
    except ValueError:
        return None
    return record if isinstance(record, dict) else None


def read_journal(path: Path) -> tuple[int, list[Record]]:
    """A journal file's generation and records; a torn last record is left out."""
    lines = path.read_bytes().split(b"\n")
    records: list[Record] = []
    for number, line in enumerate(lines[:-1], start=1):
        record = _decode(line)
        if record is None:
            if number == len(lines) - 1 and number > 1 and not lines[-1]:
                log.warning("%s: the last record is damaged (cut by a crash?); ignored", path)
                break
            raise JournalError(
                f"{path} is damaged at record {number}; remove it, or start with --fresh"
            )
        records.append(record)
    if lines[-1]:
        log.warning("%s: the last record was cut short by a crash; ignored", path)
    if not records or records[0].get("journal") != _FORMAT or "generation" not in records[0]:
        raise JournalError(f"{path} is not a services journal; remove it, or start with --fresh")
    return int(records[0]["generation"]), records[1:]


def _journal_files(state_dir: Path) -> list[tuple[int, Path]]:
    found = []
    for path in state_dir.glob(f"{JOURNAL_NAME}.*"):
        suffix = path.name[len(JOURNAL_NAME) + 1 :]
        if suffix.isdigit():
            found.append((int(suffix), path))
    return sorted(found)


# --------------------------------------------------------------------- replay


def _key_text(item: dict[str, Any], names: Iterable[str]) -> str:
    return json.dumps({name: item.get(name) for name in names}, sort_keys=True)


def fold(data: dict[str, Any], records: Iterable[Record]) -> dict[str, Any]:
    """``data`` (a snapshot) with ``records`` applied in order; changes ``data``."""
    tables: dict[tuple[str, tuple[str, ...]], dict[str, dict[str, Any]]] = {}
    queues: dict[str, dict[str, dict[str, Any]]] = {}
    dynamodb = data.setdefault("dynamodb", {})
    sqs = data.setdefault("sqs", {})
    s3 = data.setdefault("s3", {})
    for record in records:
        if "ddb" in record:
            names = tuple(sorted(record["key"]))
            table = tables.get((record["ddb"], names))
            if table is None:
                items = dynamodb.get(record["ddb"]) or []
                table = {_key_text(item, names): item for item in items}
                tables[(record["ddb"], names)] = table
            key = _key_text(record["key"], names)
            if record.get("item") is None:
                table.pop(key, None)
            else:
                table[key] = record["item"]
        elif "sqs" in record:
            queue = queues.get(record["sqs"])
            if queue is None:
                queue = {m["id"]: m for m in sqs.get(record["sqs"]) or []}
                queues[record["sqs"]] = queue
            if "send" in record:
                queue.setdefault(record["send"]["id"], record["send"])
            elif "delete" in record:
                queue.pop(record["delete"], None)
            elif record.get("purge"):
                queue.clear()
        elif "s3" in record:
            objects = s3.setdefault(record["s3"], {})
            if record.get("object") is None:
                objects.pop(record["key"], None)
            else:
                objects[record["key"]] = record["object"]
    for (name, _), table in tables.items():
        dynamodb[name] = list(table.values())
    for name, queue in queues.items():
        sqs[name] = list(queue.values())
    return data


def _record_blobs(records: Iterable[Record]) -> set[str]:
    return {r["object"]["body"] for r in records if "s3" in r and r.get("object")}


# --------------------------------------------------------------------- the journal


class ServiceJournal:
    """The journal of one state directory; see the module's text."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.snapshot_path = state_dir / SNAPSHOT_NAME
        self.objects_dir = state_dir / OBJECTS_DIR
        # moto's request lock: writes are applied and journaled one at a time under it
        self.turn = threading.Lock()
        self._generation = 0
        self._fd: int | None = None
        self._written = 0  # records appended so far (all generations)
        self._durable = 0  # of which synced
        self._syncing = False
        self._synced = threading.Condition()
        self._pending = threading.local()
        self._blobs: set[str] = set()  # object files the current generation's records use
        self._changed = False  # a record since the last compaction
        self.appended = 0  # records, for the curious (tests, benchmarks)
        self.replayed = 0
        self.syncs = 0

    # ------------------------------------------------------------ start and compaction

    def recover(self) -> dict[str, Any]:
        """The snapshot with every later journal record folded in (to ``restore``)."""
        data = service_data.load(self.snapshot_path)
        base = int(data.get("generation") or 0)
        self._generation = base
        replayed = 0
        for generation, path in _journal_files(self.state_dir):
            self._generation = max(self._generation, generation)
            if generation < base:
                continue  # folded into the snapshot already (a compaction stopped short)
            stored, records = read_journal(path)
            if stored != generation:
                raise JournalError(
                    f"{path} says it is generation {stored}; remove it, or start with --fresh"
                )
            fold(data, records)
            replayed += len(records)
        self.replayed = replayed
        if replayed:
            log.info("services' journal: %d writes since the snapshot replayed", replayed)
        return data

    @property
    def changed(self) -> bool:
        return self._changed

    def compact(self) -> None:
        """A new snapshot of moto, then a fresh journal; journaling is on afterwards."""
        generation = self._generation + 1
        fd = self._create(generation)
        with self.turn:
            try:
                data = service_data.capture(self.objects_dir)
            except BaseException:
                # nothing was appended to it: the current journal stays the one in use
                os.close(fd)
                (self.state_dir / f"{JOURNAL_NAME}.{generation}").unlink(missing_ok=True)
                raise
            self._switch(fd)
            self._generation = generation
            self._blobs = set()
            self._changed = False
        data["generation"] = generation
        service_data.save(data, self.snapshot_path)
        for older, path in _journal_files(self.state_dir):
            if older < generation:
                path.unlink(missing_ok=True)
        with self.turn:
            keep = service_data.object_blobs(data) | self._blobs
            if self.objects_dir.is_dir():
                for blob in self.objects_dir.iterdir():
                    if blob.name not in keep:
                        blob.unlink(missing_ok=True)

    def close(self) -> None:
        """Stop journaling (what was appended is synced first)."""
        with self.turn:
            self._switch(None)

    def _create(self, generation: int) -> int:
        path = self.state_dir / f"{JOURNAL_NAME}.{generation}"
        partial = path.with_name(f"{path.name}.partial")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o644)
        try:
            os.write(fd, encode({"journal": _FORMAT, "generation": generation}))
            os.fsync(fd)
            os.replace(partial, path)
            service_data.fsync_directory(self.state_dir)
        except BaseException:
            os.close(fd)
            raise
        return fd

    def _switch(self, fd: int | None) -> None:
        """Make ``fd`` the file appended to (under ``turn``: no append meanwhile)."""
        with self._synced:
            while self._syncing:
                self._synced.wait()
            old, self._fd = self._fd, fd
            if old is not None:
                _sync(old)
                os.close(old)
            self._durable = self._written
            self._synced.notify_all()

    # ------------------------------------------------------------ append and sync

    def _append(self, records: list[Record]) -> int:
        """Under ``turn``: write ``records``; returns the sequence to wait for."""
        fd = self._fd
        if fd is None:
            return 0
        os.write(fd, b"".join(encode(record) for record in records))
        self._blobs |= _record_blobs(records)
        self._changed = True
        self.appended += len(records)
        self._written += len(records)
        return self._written

    def _wait_durable(self, sequence: int) -> None:
        with self._synced:
            while self._durable < sequence:
                if self._syncing:
                    self._synced.wait()
                    continue
                self._syncing = True
                target, fd = self._written, self._fd
                self._synced.release()
                try:
                    if fd is not None:
                        _sync(fd)
                        self.syncs += 1
                finally:
                    self._synced.acquire()
                    self._syncing = False
                    self._durable = max(self._durable, target)
                    self._synced.notify_all()

    # ------------------------------------------------------------ WSGI

    def durable(self, app: WsgiApp) -> WsgiApp:
        """Outside moto's request lock: the answer waits until its records are synced."""

        def serve(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
            self._pending.sequence = 0
            body = app(environ, start_response)
            sequence = self._pending.sequence
            if sequence:
                self._wait_durable(sequence)
            return body

        return serve

    def capturing(self, app: WsgiApp) -> WsgiApp:
        """Inside moto's request lock: after a write, append what it left in moto."""

        def serve(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
            if self._fd is None:
                return app(environ, start_response)
            effects = _effects_of(environ, self.objects_dir)
            if effects is None:
                return app(environ, start_response)
            statuses: list[str] = []

            def recording(status: str, headers: Any, exc_info: Any = None) -> Any:
                statuses.append(status)
                return start_response(status, headers, exc_info)

            before = effects.before()
            body = list(app(environ, recording))
            if statuses and statuses[-1].startswith("2"):
                records = effects.after(before, b"".join(body))
                if records:
                    self._pending.sequence = self._append(records)
            return body

        return serve


# --------------------------------------------------------------------- effects


class _Effects:
    def before(self) -> Any:
        return None

    def after(self, before: Any, answer: bytes) -> list[Record]:
        raise NotImplementedError


_CREDENTIAL = re.compile(r"Credential=[^/,\s]+/[^/]+/[^/]+/([^/]+)/")
_DYNAMODB_WRITES: Final = frozenset(
    {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}
)
_SQS_WRITES: Final = frozenset(
    {"SendMessage", "SendMessageBatch", "DeleteMessage", "DeleteMessageBatch", "PurgeQueue"}
)


def _effects_of(environ: dict[str, Any], objects_dir: Path) -> _Effects | None:
    """What to record for this request, or ``None`` for one that changes nothing kept."""
    target = str(environ.get("HTTP_X_AMZ_TARGET") or "")
    found = _CREDENTIAL.search(str(environ.get("HTTP_AUTHORIZATION") or ""))
    service = found.group(1) if found else None
    if service == "dynamodb" or (service is None and target.startswith("DynamoDB_")):
        action = target.rpartition(".")[2]
        if action in _DYNAMODB_WRITES:
            return _DynamoDB(action, json.loads(_body(environ) or b"{}"))
        return None
    if service == "sqs" or (service is None and target.startswith("AmazonSQS.")):
        if target:
            action = target.rpartition(".")[2]
            if action not in _SQS_WRITES:
                return None
            return _Sqs(action, json.loads(_body(environ) or b"{}"), environ)
        if environ.get("REQUEST_METHOD") != "POST":
            return None
        form = dict(parse_qsl(_body(environ).decode()))
        if form.get("Action") not in _SQS_WRITES:
            return None
        return _Sqs(form["Action"], form, environ)
    if service == "s3" and environ.get("REQUEST_METHOD") in ("PUT", "POST", "DELETE"):
        return _s3_effects(environ, objects_dir)
    return None


def _body(environ: dict[str, Any]) -> bytes:
    """The request's body, left readable for moto."""
    stream = environ["wsgi.input"]
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length:
        body = stream.read(length)
    elif environ.get("wsgi.input_terminated"):  # chunked: the server ends the stream
        body = stream.read()
    else:
        return b""
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    return bytes(body)


class _DynamoDB(_Effects):
    def __init__(self, action: str, request: dict[str, Any]) -> None:
        self.named: list[tuple[str, dict[str, Any] | None, dict[str, Any] | None]] = []
        if action in ("PutItem", "UpdateItem", "DeleteItem"):
            self.named.append((request["TableName"], request.get("Key"), request.get("Item")))
        elif action == "BatchWriteItem":
            for table, writes in (request.get("RequestItems") or {}).items():
                for write in writes:
                    if "PutRequest" in write:
                        self.named.append((table, None, write["PutRequest"]["Item"]))
                    elif "DeleteRequest" in write:
                        self.named.append((table, write["DeleteRequest"]["Key"], None))
        else:  # TransactWriteItems
            for entry in request.get("TransactItems") or []:
                for kind in ("Put", "Update", "Delete"):
                    if kind in entry:
                        part = entry[kind]
                        self.named.append((part["TableName"], part.get("Key"), part.get("Item")))

    def after(self, before: Any, answer: bytes) -> list[Record]:
        backend = service_data.dynamodb_backend()
        records = []
        for name, key, item in self.named:
            table = backend.get_table(name)
            if key is None:
                attributes = [table.hash_key_attr, table.range_key_attr]
                key = {a: (item or {})[a] for a in attributes if a}
            stored = backend.get_item(table.name, key)
            image = service_data.item_json(stored) if stored is not None else None
            records.append({"ddb": table.name, "key": key, "item": image})
        return records


class _Sqs(_Effects):
    def __init__(self, action: str, request: dict[str, Any], environ: dict[str, Any]) -> None:
        self.action = action
        url = str(request.get("QueueUrl") or environ.get("PATH_INFO") or "")
        self.queue_name = url.rstrip("/").rsplit("/", 1)[-1]
        if "Entries" in request:
            self.handles = [str(e.get("ReceiptHandle")) for e in request["Entries"] or []]
        else:
            self.handles = [
                value
                for name, value in request.items()
                if name == "ReceiptHandle" or name.endswith(".ReceiptHandle")
            ]

    def _queue(self) -> Any:
        return service_data.sqs_backend().queues.get(self.queue_name)

    def before(self) -> Any:
        queue = self._queue()
        if queue is None or not self.action.startswith("DeleteMessage"):
            return set()
        return {
            m.id
            for m in list(queue._messages)
            if any(m.had_receipt_handle(handle) for handle in self.handles)
        }

    def after(self, before: Any, answer: bytes) -> list[Record]:
        queue = self._queue()
        if queue is None:
            return []
        name = queue.name
        if self.action == "PurgeQueue":
            return [{"sqs": name, "purge": True}]
        messages = {m.id: m for m in list(queue._messages)}
        if self.action.startswith("DeleteMessage"):
            return [{"sqs": name, "delete": i} for i in sorted(before) if i not in messages]
        sent = _sent_ids(answer)
        return [
            {"sqs": name, "send": service_data.message_json(messages[i])}
            for i in sent
            if i in messages  # a FIFO queue's duplicate is answered but not kept
        ]


def _sent_ids(answer: bytes) -> list[str]:
    try:
        parsed = json.loads(answer)
    except ValueError:  # the query protocol answers XML
        return re.findall(r"<MessageId>([^<]+)</MessageId>", answer.decode(errors="replace"))
    if "Successful" in parsed:
        return [str(entry["MessageId"]) for entry in parsed["Successful"] or []]
    return [str(parsed["MessageId"])] if "MessageId" in parsed else []


def _s3_effects(environ: dict[str, Any], objects_dir: Path) -> _Effects | None:
    bucket, key = _s3_target(environ)
    if not bucket:
        return None
    method = environ["REQUEST_METHOD"]
    query = dict(parse_qsl(str(environ.get("QUERY_STRING") or ""), keep_blank_values=True))
    if not key:
        if method == "POST" and "delete" in query:  # DeleteObjects
            names = re.findall(r"<Key>([^<]*)</Key>", _body(environ).decode(errors="replace"))
            return _S3(bucket, [unescape(name) for name in names], objects_dir)
        return None  # the bucket's own settings, or the bucket itself: the template's
    if "uploads" in query or ("uploadId" in query and method != "POST"):
        return None  # a multipart upload begun, a part, or an abort: no object yet
    return _S3(bucket, [key], objects_dir)


def _s3_target(environ: dict[str, Any]) -> tuple[str, str]:
    """(bucket, key) of an S3 request, as moto reads them (path or virtual host style)."""
    from moto.s3.responses import S3Response

    host = str(environ.get("HTTP_HOST") or "")
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI") or environ.get("PATH_INFO", "")
    path = unquote(urlsplit(str(raw)).path)
    request = SimpleNamespace(headers={"host": host}, url=f"http://{host}{path}")
    if S3Response.subdomain_based_buckets(request):
        return host.split(".", 1)[0], path.lstrip("/")
    bucket, _, key = path.lstrip("/").partition("/")
    return bucket, key


class _S3(_Effects):
    def __init__(self, bucket: str, keys: list[str], objects_dir: Path) -> None:
        self.bucket = bucket
        self.keys = keys
        self.objects_dir = objects_dir

    def after(self, before: Any, answer: bytes) -> list[Record]:
        backend = service_data.s3_backend()
        if self.bucket not in backend.buckets:
            return []
        records = []
        for name in self.keys:
            key = backend.get_object(self.bucket, name)
            saved = service_data.object_json(self.objects_dir, key) if key is not None else None
            records.append({"s3": self.bucket, "key": name, "object": saved})
        return records
