"""The local AWS services' data kept across restarts: a snapshot in ``.workflows/``.

moto keeps everything in memory and has no persistence of its own, so ``workflows
up`` writes what the application stores in its services to
``<state dir>/services.json``: every DynamoDB item (read through the DynamoDB API,
in its typed JSON) and every SQS message still in a queue, with its attributes and
receive count (read from moto's queue, since SQS has no way to look at a message
without receiving it). The snapshot is written atomically on a graceful stop and
every ``interval`` seconds while running, and loaded after the template's resources
are provisioned.

A ``kill -9`` loses what the services stored since the last snapshot (executions
are not affected: they have their own store, committed as they go). Messages that
were in flight come back visible. Sent emails (SES) are not kept.
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path
from typing import Any, Final

from workflows.local.template import ACCOUNT, REGION

__all__ = ["SNAPSHOT_NAME", "restore", "save", "snapshot"]

log = logging.getLogger("workflows.local")

SNAPSHOT_NAME: Final = "services.json"
_VERSION: Final = 1


def snapshot(session: Any) -> dict[str, Any]:
    """What the services hold now, as JSON."""
    return {"version": _VERSION, "dynamodb": _tables(session), "sqs": _queues()}


def save(data: dict[str, Any], path: Path) -> None:
    """Write ``data`` to ``path`` atomically (a crash leaves the previous snapshot)."""
    partial = path.with_suffix(".partial")
    with partial.open("w") as file:
        json.dump(data, file, separators=(",", ":"))
        file.flush()
        os.fsync(file.fileno())
    os.replace(partial, path)


def restore(session: Any, path: Path) -> int:
    """Put a snapshot's items and messages back; returns how many. Missing file: 0."""
    if not path.is_file():
        return 0
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise ValueError(
            f"{path} cannot be read ({error}); remove it, or start with --fresh"
        ) from None
    if data.get("version") != _VERSION:
        raise ValueError(f"{path} was written by another version; start with --fresh")
    restored = _put_items(session, data.get("dynamodb") or {})
    restored += _put_messages(data.get("sqs") or {})
    return restored


# ------------------------------------------------------------------------ DynamoDB


def _tables(session: Any) -> dict[str, list[dict[str, Any]]]:
    dynamodb = session.client("dynamodb")
    tables: dict[str, list[dict[str, Any]]] = {}
    for page in dynamodb.get_paginator("list_tables").paginate():
        for name in page.get("TableNames", []):
            items: list[dict[str, Any]] = []
            for scanned in dynamodb.get_paginator("scan").paginate(TableName=name):
                items.extend(scanned.get("Items", []))
            tables[name] = items
    return tables


def _put_items(session: Any, tables: dict[str, list[dict[str, Any]]]) -> int:
    dynamodb = session.client("dynamodb")
    count = 0
    for name, items in tables.items():
        for start in range(0, len(items), 25):
            requests = [{"PutRequest": {"Item": item}} for item in items[start : start + 25]]
            while requests:  # BatchWriteItem may leave some for a second round
                answer = dynamodb.batch_write_item(RequestItems={name: requests})
                requests = (answer.get("UnprocessedItems") or {}).get(name, [])
        count += len(items)
    return count


# ----------------------------------------------------------------------------- SQS


def _backend() -> Any:
    from moto.sqs.models import sqs_backends

    return sqs_backends[ACCOUNT][REGION]


def _queues() -> dict[str, list[dict[str, Any]]]:
    queues: dict[str, list[dict[str, Any]]] = {}
    for name, queue in list(_backend().queues.items()):
        queues[name] = [
            {
                "id": message.id,
                "body": message.body,
                "attributes": message.message_attributes,
                "receiveCount": message.approximate_receive_count,
                "sent": message.sent_timestamp,
                "groupId": message.group_id,
                "deduplicationId": message.deduplication_id,
            }
            for message in list(queue._messages)  # SQS has no way to peek: moto's list
        ]
    return queues


def _put_messages(queues: dict[str, list[dict[str, Any]]]) -> int:
    from moto.sqs.models import Message

    backend = _backend()
    count = 0
    for name, messages in queues.items():
        queue = backend.queues.get(name)
        if queue is None:
            log.warning(
                "queue %s is no longer declared; its %d messages are dropped", name, len(messages)
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
            queue.add_message(message)
            count += 1
    return count
