"""The local AWS services' data kept across restarts: a snapshot in ``.workflows/``.

moto keeps everything in memory and has no persistence of its own, so ``workflows
up`` writes what the application stores in its services to
``<state dir>/services.json``:

- every DynamoDB item, in DynamoDB's typed JSON as the API sends it;
- every SQS message still in a queue, with its attributes and receive count (read
  from moto's queue, since SQS has no way to look at a message without receiving it);
- every S3 object's metadata; its bytes go to a file of their own under
  ``<state dir>/services.objects/`` (named by the object's ETag), not into the JSON.

Everything is read from and put back into moto's backends directly (no HTTP), for
the resources the template declares: items, messages or objects of a table, queue
or bucket that no longer exists are dropped with a warning.

The snapshot is the base; ``workflows/local/service_journal.py`` makes each write
durable before it is acknowledged and folds what was written since into the next
snapshot. ``capture`` must run while no request changes moto (the journal holds
moto's request lock for it). Messages that were in flight come back visible. Sent
emails (SES) are not kept.
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path
from typing import Any, Final

from workflows.local.template import ACCOUNT, REGION

__all__ = [
    "OBJECTS_DIR",
    "SNAPSHOT_NAME",
    "ServiceDataError",
    "capture",
    "empty",
    "load",
    "object_blobs",
    "restore",
    "save",
    "write_blob",
]

log = logging.getLogger("workflows.local")

SNAPSHOT_NAME: Final = "services.json"
OBJECTS_DIR: Final = "services.objects"
# 1: DynamoDB and SQS; 2: S3 objects too, and the journal generation it includes
_VERSION: Final = 2
_READABLE: Final = (1, 2)


class ServiceDataError(ValueError):
    """The services' kept data cannot be read; the message names the file and ``--fresh``."""


def empty() -> dict[str, Any]:
    return {"version": _VERSION, "generation": 0, "dynamodb": {}, "sqs": {}, "s3": {}}


def capture(objects_dir: Path) -> dict[str, Any]:
    """What the services hold now, as JSON (S3 bodies written to ``objects_dir``)."""
    return {
        **empty(),
        "dynamodb": _tables(),
        "sqs": _queues(),
        "s3": _buckets(objects_dir),
    }


def save(data: dict[str, Any], path: Path) -> None:
    """Write ``data`` to ``path`` atomically (a crash leaves the previous snapshot)."""
    partial = path.with_suffix(".partial")
    with partial.open("w") as file:
        json.dump(data, file, separators=(",", ":"))
        file.flush()
        os.fsync(file.fileno())
    os.replace(partial, path)
    fsync_directory(path.parent)


def load(path: Path) -> dict[str, Any]:
    """The snapshot in ``path`` (an empty one when there is none)."""
    if not path.is_file():
        return empty()
    try:
        data = json.loads(path.read_text())
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
    except (OSError, ValueError) as error:
        raise ServiceDataError(
            f"{path} cannot be read ({error}); remove it, or start with --fresh"
        ) from None
    if data.get("version") not in _READABLE:
        raise ServiceDataError(f"{path} was written by another version; start with --fresh")
    return {**empty(), **data, "version": _VERSION}


def restore(data: dict[str, Any], objects_dir: Path) -> int:
    """Put a snapshot's items, messages and objects back into moto; returns how many."""
    restored = _put_items(data.get("dynamodb") or {})
    restored += _put_messages(data.get("sqs") or {})
    restored += _put_objects(data.get("s3") or {}, objects_dir)
    return restored


def fsync_directory(directory: Path) -> None:
    """Make a rename or a new file in ``directory`` durable."""
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


# ------------------------------------------------------------------------ DynamoDB


def dynamodb_backend() -> Any:
    from moto.dynamodb.models import dynamodb_backends

    return dynamodb_backends[ACCOUNT][REGION]


def item_json(item: Any) -> dict[str, Any]:
    """One of moto's items in DynamoDB's typed JSON, as the API sends it (binary in base64).

    Read from the item's attributes directly when each is a string, number, boolean,
    null, set of strings or numbers, or a map or list of those (what ``_moto_item_json``
    gives for them: a copy); the journal does this for every item each write leaves,
    and a snapshot for every item there is. Any other value (binary) takes moto's way.
    """
    try:
        return {name: _plain_value(value) for name, value in item.attrs.items()}
    except _NotPlain:
        return _moto_item_json(item)


def _moto_item_json(item: Any) -> dict[str, Any]:
    from moto.dynamodb.models.utilities import dynamo_json_dump

    attributes: dict[str, Any] = json.loads(dynamo_json_dump(item.to_json()["Attributes"]))
    return attributes


class _NotPlain(Exception):
    """A value ``item_json`` leaves to moto's encoding."""


def _plain_value(value: Any) -> dict[str, Any]:
    from moto.dynamodb.models.dynamo_type import DynamoType

    if type(value) is not DynamoType:
        raise _NotPlain
    kind, member = value.type, value.value
    if kind in ("S", "N"):
        if type(member) is str:
            return {kind: member}
    elif kind in ("SS", "NS"):
        if type(member) is list and all(type(text) is str for text in member):
            return {kind: list(member)}
    elif kind == "M":
        if type(member) is dict and all(type(key) is str for key in member):
            return {"M": {key: _plain_value(nested) for key, nested in member.items()}}
    elif kind == "L":
        if type(member) is list:
            return {"L": [_plain_value(nested) for nested in member]}
    elif kind in ("BOOL", "NULL") and type(member) is bool:
        return {kind: member}
    raise _NotPlain


def _tables() -> dict[str, list[dict[str, Any]]]:
    return {
        name: [item_json(item) for item in table.all_items()]
        for name, table in list(dynamodb_backend().tables.items())
    }


def _put_items(tables: dict[str, list[dict[str, Any]]]) -> int:
    backend = dynamodb_backend()
    count = 0
    for name, items in tables.items():
        if name not in backend.tables:
            if items:
                log.warning(
                    "table %s is no longer declared; its %d items are dropped", name, len(items)
                )
            continue
        for item in items:
            backend.put_item(name, item)
        count += len(items)
    return count


# ----------------------------------------------------------------------------- SQS


def sqs_backend() -> Any:
    from moto.sqs.models import sqs_backends

    return sqs_backends[ACCOUNT][REGION]


def message_json(message: Any) -> dict[str, Any]:
    """One of moto's SQS messages as the snapshot and the journal keep it."""
    saved = {
        "id": message.id,
        "body": message.body,
        "attributes": message.message_attributes,
        "receiveCount": message.approximate_receive_count,
        "sent": message.sent_timestamp,
        "groupId": message.group_id,
        "deduplicationId": message.deduplication_id,
    }
    if message.delayed_until:
        saved["delayedUntil"] = message.delayed_until
    return saved


def _queues() -> dict[str, list[dict[str, Any]]]:
    return {
        name: [message_json(m) for m in list(queue._messages)]  # SQS has no way to peek
        for name, queue in list(sqs_backend().queues.items())
    }


def _put_messages(queues: dict[str, list[dict[str, Any]]]) -> int:
    from moto.sqs.models import Message

    backend = sqs_backend()
    count = 0
    for name, messages in queues.items():
        queue = backend.queues.get(name)
        if queue is None:
            if messages:
                log.warning(
                    "queue %s is no longer declared; its %d messages are dropped",
                    name,
                    len(messages),
                )
            continue
        known = {m.id for m in queue._messages}
        for saved in messages:
            if saved["id"] in known:
                continue
            message = Message(saved["id"], saved["body"])
            message.message_attributes = saved.get("attributes") or {}
            message.approximate_receive_count = int(saved.get("receiveCount") or 0)
            sent = saved.get("sent") or int(time.time() * 1000)
            message.sent_timestamp = sent  # type: ignore[assignment]  # moto types it None
            message.group_id = saved.get("groupId")
            message.deduplication_id = saved.get("deduplicationId")
            message.delayed_until = float(saved.get("delayedUntil") or 0.0)
            # not queue.add_message: a FIFO queue's deduplication must not drop what was sent
            with queue._messages_lock:
                queue._messages.append(message)
            count += 1
    return count


# ------------------------------------------------------------------------------ S3


def s3_backend() -> Any:
    from moto.s3.models import s3_backends

    return s3_backends[ACCOUNT]["aws"]


def write_blob(objects_dir: Path, key: Any) -> str:
    """Keep one S3 object's bytes under ``objects_dir``; returns the file's name.

    Named by the object's ETag (its content's MD5, or the multipart one), so an object
    written again with the same bytes reuses its file. Durable when this returns.
    """
    name = str(key.etag).strip('"')
    path = objects_dir / name
    if not path.exists():
        objects_dir.mkdir(parents=True, exist_ok=True)
        partial = objects_dir / f"{name}.partial"
        with partial.open("wb") as file:
            file.write(key.value)
            file.flush()
            os.fsync(file.fileno())
        os.replace(partial, path)
        fsync_directory(objects_dir)
    return name


def object_json(objects_dir: Path, key: Any) -> dict[str, Any]:
    return {"body": write_blob(objects_dir, key), "metadata": dict(key.metadata)}


def _buckets(objects_dir: Path) -> dict[str, dict[str, dict[str, Any]]]:
    buckets: dict[str, dict[str, dict[str, Any]]] = {}
    for name, bucket in list(s3_backend().buckets.items()):
        objects: dict[str, dict[str, Any]] = {}
        for key_name in list(bucket.keys):
            key = s3_backend().get_object(name, key_name)
            if key is not None:
                objects[key_name] = object_json(objects_dir, key)
        buckets[name] = objects
    return buckets


def object_blobs(data: dict[str, Any]) -> set[str]:
    """The names of the files a snapshot's objects keep their bytes in."""
    return {
        saved["body"]
        for objects in (data.get("s3") or {}).values()
        for saved in objects.values()
        if saved is not None
    }


def _put_objects(buckets: dict[str, dict[str, dict[str, Any]]], objects_dir: Path) -> int:
    backend = s3_backend()
    count = 0
    for name, objects in buckets.items():
        if name not in backend.buckets:
            if objects:
                log.warning(
                    "bucket %s is no longer declared; its %d objects are dropped",
                    name,
                    len(objects),
                )
            continue
        for key_name, saved in objects.items():
            path = objects_dir / saved["body"]
            try:
                body = path.read_bytes()
            except OSError as error:
                raise ServiceDataError(
                    f"{path} (the bytes of s3://{name}/{key_name}) cannot be read ({error});"
                    " start with --fresh"
                ) from None
            key = backend.put_object(name, key_name, body, disable_notification=True)
            key.set_metadata(dict(saved.get("metadata") or {}))
            count += 1
    return count
