"""What the Step Functions API creates besides state machines and executions, on disk.

Published versions, aliases, tags, activities, and which version (and alias) each
execution started on live in tables of their own in the execution store's SQLite file,
so that they survive a restart of ``workflows up`` as the state machines do. Writes go
through the store's writer thread (``ExecutionStore.submit_writes``: one group commit
with everything else, never on the event loop); an API call answers once its write is
committed. Everything is read once, when the service starts, and kept in memory.
"""

from __future__ import annotations

import json
import sqlite3
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Final

from workflows.local.store import ExecutionStore, StoreUnavailable, redriven_condition

__all__ = [
    "AliasRow",
    "MachineSettings",
    "ResourceStore",
    "Resources",
    "VersionRow",
]

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS sfn_versions (
    machine_arn TEXT NOT NULL,
    number INTEGER NOT NULL,
    definition TEXT NOT NULL,
    role_arn TEXT NOT NULL,
    creation_date REAL NOT NULL,
    description TEXT,
    revision_id TEXT,
    logging TEXT,
    tracing TEXT,
    deleted INTEGER NOT NULL DEFAULT 0,  -- kept: a version number is never used again
    PRIMARY KEY (machine_arn, number)
);
CREATE TABLE IF NOT EXISTS sfn_aliases (
    arn TEXT PRIMARY KEY,
    machine_arn TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT,
    routing TEXT NOT NULL,
    creation_date REAL NOT NULL,
    update_date REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS sfn_tags (
    resource_arn TEXT PRIMARY KEY,
    tags TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sfn_activities (
    arn TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    creation_date REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS sfn_machine_settings (
    arn TEXT PRIMARY KEY,
    revision_id TEXT,
    update_date REAL,
    logging TEXT,
    tracing TEXT
);
CREATE TABLE IF NOT EXISTS sfn_execution_targets (
    execution_arn TEXT PRIMARY KEY,
    version_arn TEXT,
    alias_arn TEXT
);
CREATE INDEX IF NOT EXISTS sfn_targets_by_version ON sfn_execution_targets (version_arn);
CREATE INDEX IF NOT EXISTS sfn_targets_by_alias ON sfn_execution_targets (alias_arn);
"""


@dataclass(frozen=True, slots=True)
class VersionRow:
    machine_arn: str
    number: int
    definition: str
    role_arn: str
    creation_date: float
    description: str | None = None
    revision_id: str | None = None
    logging: dict[str, Any] | None = None
    tracing: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class MachineSettings:
    """What UpdateStateMachine changes besides the definition and role (those are in the
    executions store's ``state_machines`` table)."""

    arn: str
    revision_id: str | None
    update_date: float | None
    logging: dict[str, Any] | None
    tracing: dict[str, Any] | None


@dataclass(slots=True)
class AliasRow:
    """One alias: ``routing`` is ``[(version ARN, weight), ...]`` (one or two)."""

    arn: str
    machine_arn: str
    name: str
    description: str | None
    routing: list[tuple[str, int]]
    creation_date: float
    update_date: float


@dataclass
class Resources:
    """Everything stored, as read when the service starts."""

    versions: list[VersionRow] = field(default_factory=list)
    aliases: list[AliasRow] = field(default_factory=list)
    tags: dict[str, dict[str, str]] = field(default_factory=dict)
    activities: dict[str, tuple[str, float]] = field(default_factory=dict)
    targets: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)
    highest_versions: dict[str, int] = field(default_factory=dict)  # deleted ones included
    settings: list[MachineSettings] = field(default_factory=list)


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, separators=(",", ":"))


class ResourceStore:
    """The tables above, in ``store``'s file; each write returns a ``Future`` resolved
    once committed (``StoreUnavailable`` if the file cannot be written now)."""

    def __init__(self, store: ExecutionStore) -> None:
        self.store = store
        try:
            with sqlite3.connect(store.path, timeout=5.0) as db:
                db.executescript(_SCHEMA)
            db.close()
        except sqlite3.OperationalError as error:
            raise StoreUnavailable(
                f"cannot prepare the Step Functions resources in {store.path}: {error}"
            ) from None

    def load(self) -> Resources:
        query = self.store.query
        loaded = Resources()
        for row in query(
            "SELECT machine_arn, number, definition, role_arn, creation_date, description,"
            " revision_id, logging, tracing, deleted FROM sfn_versions"
            " ORDER BY machine_arn, number"
        ):
            machine, number, definition, role, created, description, revision, log, trace = row[:9]
            highest = loaded.highest_versions.get(machine, 0)
            loaded.highest_versions[machine] = max(highest, int(number))
            if row[9]:
                continue
            loaded.versions.append(
                VersionRow(
                    machine,
                    int(number),
                    definition,
                    role,
                    float(created),
                    description,
                    revision,
                    json.loads(log) if log else None,
                    json.loads(trace) if trace else None,
                )
            )
        for arn, machine, name, description, routing, created, updated in query(
            "SELECT arn, machine_arn, name, description, routing, creation_date, update_date"
            " FROM sfn_aliases ORDER BY creation_date"
        ):
            loaded.aliases.append(
                AliasRow(
                    arn,
                    machine,
                    name,
                    description,
                    [(str(v), int(w)) for v, w in json.loads(routing)],
                    float(created),
                    float(updated),
                )
            )
        for arn, tags in query("SELECT resource_arn, tags FROM sfn_tags"):
            loaded.tags[arn] = dict(json.loads(tags))
        for arn, name, created in query(
            "SELECT arn, name, creation_date FROM sfn_activities ORDER BY creation_date"
        ):
            loaded.activities[arn] = (name, float(created))
        for arn, revision, updated, log, trace in query(
            "SELECT arn, revision_id, update_date, logging, tracing FROM sfn_machine_settings"
        ):
            loaded.settings.append(
                MachineSettings(
                    arn,
                    revision,
                    None if updated is None else float(updated),
                    json.loads(log) if log else None,
                    json.loads(trace) if trace else None,
                )
            )
        for execution, version, alias in query(
            "SELECT execution_arn, version_arn, alias_arn FROM sfn_execution_targets"
        ):
            loaded.targets[execution] = (version, alias)
        return loaded

    # ------------------------------------------------------------------ writes

    def put_version(self, row: VersionRow) -> Future[None]:
        return self.store.submit_writes(
            [
                (
                    "INSERT OR REPLACE INTO sfn_versions VALUES (?,?,?,?,?,?,?,?,?,0)",
                    (
                        row.machine_arn,
                        row.number,
                        row.definition,
                        row.role_arn,
                        row.creation_date,
                        row.description,
                        row.revision_id,
                        _json(row.logging),
                        _json(row.tracing),
                    ),
                )
            ]
        )

    def delete_version(self, machine_arn: str, number: int) -> Future[None]:
        return self.store.submit_writes(
            [
                (
                    "UPDATE sfn_versions SET deleted = 1 WHERE machine_arn = ? AND number = ?",
                    (machine_arn, number),
                )
            ]
        )

    def put_alias(self, alias: AliasRow) -> Future[None]:
        return self.store.submit_writes(
            [
                (
                    "INSERT OR REPLACE INTO sfn_aliases VALUES (?,?,?,?,?,?,?)",
                    (
                        alias.arn,
                        alias.machine_arn,
                        alias.name,
                        alias.description,
                        json.dumps(alias.routing),
                        alias.creation_date,
                        alias.update_date,
                    ),
                )
            ]
        )

    def put_settings(self, settings: MachineSettings) -> Future[None]:
        return self.store.submit_writes(
            [
                (
                    "INSERT OR REPLACE INTO sfn_machine_settings VALUES (?,?,?,?,?)",
                    (
                        settings.arn,
                        settings.revision_id,
                        settings.update_date,
                        _json(settings.logging),
                        _json(settings.tracing),
                    ),
                )
            ]
        )

    def delete_alias(self, arn: str) -> Future[None]:
        return self.store.submit_writes([("DELETE FROM sfn_aliases WHERE arn = ?", (arn,))])

    def put_tags(self, resource_arn: str, tags: dict[str, str]) -> Future[None]:
        if not tags:
            return self.store.submit_writes(
                [("DELETE FROM sfn_tags WHERE resource_arn = ?", (resource_arn,))]
            )
        return self.store.submit_writes(
            [("INSERT OR REPLACE INTO sfn_tags VALUES (?,?)", (resource_arn, json.dumps(tags)))]
        )

    def put_activity(self, arn: str, name: str, created: float) -> Future[None]:
        return self.store.submit_writes(
            [("INSERT OR REPLACE INTO sfn_activities VALUES (?,?,?)", (arn, name, created))]
        )

    def delete_activity(self, arn: str) -> Future[None]:
        return self.store.submit_writes(
            [
                ("DELETE FROM sfn_activities WHERE arn = ?", (arn,)),
                ("DELETE FROM sfn_tags WHERE resource_arn = ?", (arn,)),
            ]
        )

    def put_target(
        self, execution_arn: str, version_arn: str | None, alias_arn: str | None
    ) -> Future[None]:
        return self.store.submit_writes(
            [
                (
                    "INSERT OR REPLACE INTO sfn_execution_targets VALUES (?,?,?)",
                    (execution_arn, version_arn, alias_arn),
                )
            ]
        )

    def forget_machine(self, machine_arn: str) -> Future[None]:
        """A deleted state machine takes its versions, aliases and tags with it."""
        return self.store.submit_writes(
            [
                ("DELETE FROM sfn_versions WHERE machine_arn = ?", (machine_arn,)),
                ("DELETE FROM sfn_aliases WHERE machine_arn = ?", (machine_arn,)),
                ("DELETE FROM sfn_tags WHERE resource_arn = ?", (machine_arn,)),
                ("DELETE FROM sfn_machine_settings WHERE arn = ?", (machine_arn,)),
            ]
        )

    def executions_started_on(
        self,
        arn: str,
        *,
        alias: bool,
        status: str | None = None,
        redriven: bool | None = None,
        before_seq: int | None = None,
        limit: int = 100,
    ) -> list[str]:
        """The executions started on a version (or through an alias), newest first;
        ``before_seq`` continues a page (the executions table's insertion order)."""
        column = "t.alias_arn" if alias else "t.version_arn"
        sql = (
            "SELECT e.arn FROM executions e JOIN sfn_execution_targets t"
            f" ON t.execution_arn = e.arn WHERE {column} = ?"
        )
        params: list[Any] = [arn]
        if status is not None:
            sql += " AND e.status = ?"
            params.append(status)
        if redriven is not None:
            sql += f" AND {redriven_condition(redriven, 'e.arn')}"
        if before_seq is not None:
            sql += " AND e.seq < ?"
            params.append(before_seq)
        sql += " ORDER BY e.seq DESC LIMIT ?"
        params.append(limit)
        return [str(row[0]) for row in self.store.query(sql, params)]
