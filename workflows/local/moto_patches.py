"""A cheaper ``TransactWriteItems`` for moto's DynamoDB, for the local runtime's process.

moto 5.2 backs every transaction up by deep-copying each whole table it names, so
that it can put the tables back when a condition fails. The order tasks write in
transactions, so under ``workflows up`` each order cost time (and garbage) in
proportion to the size of the table: the measured cause of executions falling behind
accepts and of the runtime's RSS growth (issue #13).

``patch_transactions`` keeps moto's own transaction code and its answers, and
changes only what the backup holds: the items the transaction names (at most 100,
each one copied), instead of whole tables. Before moto runs the transaction, each
named item (or its absence) is recorded; moto's backup step then takes the table
itself rather than a copy of it (so its "put the tables back" is a no-op), and when
moto raises, each named item is put back as it was. A transaction touches no item
it does not name, so the tables end as moto's full copies would have left them.
(moto's copy also dropped stream records written during a failed transaction; the
template's tables have no streams.) The patch is for the runtime's own process
(``workflows run`` and ``workflows up``), switched on by them, never on import.

``patch_transactions`` also stops moto from keeping every model instance it ever
made (``untrack_instances``): moto's ``BaseModel`` appends each new instance to its
class's ``instances_tracked`` list, for its dashboard and its reset, and never lets
go of one. Every DynamoDB write makes new ``Item`` objects (an UpdateItem two, a
transaction's backup one per named item), so under ``workflows up`` copies of the
items piled up for the life of the process: after 400 orders 11,600 Items were
reachable and 4,808 were in the tables (issue #13). S3's keys and multipart uploads
stay tracked: moto's S3 reset goes through them to close their buffers.
"""

from __future__ import annotations

import copy
import functools
import threading
from types import SimpleNamespace
from typing import Any

__all__ = ["patch_transactions", "untrack_instances"]

_installed = threading.Lock()
_done = False


def patch_transactions() -> None:
    """Switch the cheaper backup on for this process's moto DynamoDB (idempotent)."""
    global _done
    with _installed:
        if _done:
            return
        from moto.dynamodb import models
        from moto.dynamodb.models.table import Table

        def deepcopy(value: Any, memo: Any = None) -> Any:
            # the whole-table backup: the items are restored one by one instead
            return value if isinstance(value, Table) else copy.deepcopy(value, memo)

        # only moto's DynamoDB models module sees this name
        models.copy = SimpleNamespace(deepcopy=deepcopy)  # type: ignore[attr-defined,assignment]
        original = models.DynamoDBBackend.transact_write_items

        @functools.wraps(original)
        def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
            saved = _named_items(self, transact_items)
            try:
                original(self, transact_items)
            except BaseException:
                _restore(saved)
                raise

        models.DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
        # here, as both callers of this patch want it too (the runtime's moto server and
        # `workflows run`); where moto runs in another process, call it there
        untrack_instances()
        _done = True


_TRACKED_STILL = ("moto.s3.",)  # moto's S3 reset disposes of its keys' buffers through them


def untrack_instances() -> None:
    """New moto model instances are no longer appended to their class's
    ``instances_tracked`` (S3's still are); what was tracked so far stays."""
    from moto.core.common_models import BaseModel

    if getattr(BaseModel.__new__, "_untracked", False):
        return

    def __new__(cls: Any, *args: Any, **kwargs: Any) -> Any:
        instance = object.__new__(cls)
        if cls.__module__.startswith(_TRACKED_STILL):
            cls.instances_tracked.append(instance)
        return instance

    __new__._untracked = True  # type: ignore[attr-defined]
    BaseModel.__new__ = __new__  # type: ignore[method-assign]


Saved = list[tuple[Any, Any, Any, Any]]  # (table, hash key, range key, item copy or None)


def _named_items(backend: Any, transact_items: list[dict[str, Any]]) -> Saved:
    from moto.dynamodb.models.dynamo_type import DynamoType

    saved: Saved = []
    for entry in transact_items[:100]:  # more is refused before anything is written
        if len(entry) != 1:
            continue
        operation, request = next(iter(entry.items()))
        table = backend.tables.get(request.get("TableName"))
        if table is None:
            continue
        key = request.get("Item") if operation == "Put" else request.get("Key")
        if not isinstance(key, dict) or table.hash_key_attr not in key:
            continue
        hash_key = DynamoType(key[table.hash_key_attr])
        range_key = None
        if table.range_key_attr is not None:
            if table.range_key_attr not in key:
                continue
            range_key = DynamoType(key[table.range_key_attr])
        current = table.get_item(hash_key, range_key)
        saved.append((table, hash_key, range_key, copy.deepcopy(current)))
    return saved


def _restore(saved: Saved) -> None:
    # moto keeps items as items[hash] or items[hash][range] (Table.put_item)
    for table, hash_key, range_key, item in reversed(saved):
        if range_key is not None:
            group = table.items[hash_key]
            if item is None:
                group.pop(range_key, None)
            else:
                group[range_key] = item
        elif item is None:
            table.items.pop(hash_key, None)
        else:
            table.items[hash_key] = item
