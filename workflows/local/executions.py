"""The Step Functions API of the local runtime, as Python: ``ExecutionService``.

The service answers what AWS Step Functions answers (StartExecution,
DescribeExecution, GetExecutionHistory, ListExecutions, StopExecution,
SendTask*, the state machine actions) over a running ``LocalApp``. Results are
dicts in the shape of the AWS responses (field names as AWS spells them,
timestamps as epoch seconds); problems are ``ServiceError``s carrying AWS's
error code. ``workflows.local.sfn_api`` puts this on HTTP.

Every execution the app runs is registered, not only those started here: the
service listens to ``LocalApp.execution_listeners``, so executions started by
EventBridge rules, schedules or a parent's ``states:startExecution`` are visible
too. Their history events go to the ``ExecutionStore`` as they are recorded, and each
status change of a STANDARD execution goes through the app's rules as AWS's "Step
Functions Execution Status Change" event (``status_events``). Versions, aliases, tags,
activities and the version each execution started on are kept by ``resource_store``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import logging
import random
import re
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Final

from botocore.exceptions import ClientError

from workflows.engine import DefinitionError, Diagnostic, StateMachine, StatesError
from workflows.engine.clock import Clock
from workflows.engine.history import (
    History,
    RawEvent,
    details_key,
    dumps,
    materialize,
    shape_details,
)
from workflows.engine.machine import ExecutionResult
from workflows.engine.validation import validate_definition
from workflows.local import json_text, spans
from workflows.local.app import ExecutionStarting, LocalApp, started_by_task
from workflows.local.map_run_store import StoredMapRuns
from workflows.local.resource_store import (
    AliasRow,
    MachineSettings,
    Resources,
    ResourceStore,
    VersionRow,
)
from workflows.local.status_events import status_change_entry
from workflows.local.store import (
    ExecutionRow,
    ExecutionStore,
    StateMachineRow,
    StoreUnavailable,
    ValueTexts,
)
from workflows.local.template import ACCOUNT, REGION

__all__ = ["ExecutionService", "ServiceError"]

log = logging.getLogger("workflows.local")

# AWS's rule for execution and state machine names (1-80 characters, no whitespace,
# brackets, wildcards or special characters), as the engine applies it too.
_NAME: Final = re.compile(r"^[^\s<>{}\[\]?*\"#%\\^|~`$&,;:/\x00-\x1f\x7f-\x9f]{1,80}$")
_TOKEN: Final = re.compile(r"^[0-9a-f]{64}$")  # what TaskTokens.issue hands out
_MAX_INPUT: Final = 256 * 1024
_STATUSES: Final = ("RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED", "PENDING_REDRIVE")
_TERMINAL: Final = {
    "ExecutionSucceeded": ("SUCCEEDED", "executionSucceededEventDetails"),
    "ExecutionFailed": ("FAILED", "executionFailedEventDetails"),
    "ExecutionTimedOut": ("TIMED_OUT", "executionTimedOutEventDetails"),
    "ExecutionAborted": ("ABORTED", "executionAbortedEventDetails"),
}
_DATA_FIELDS: Final = ("input", "output", "inputDetails", "outputDetails")


class ServiceError(Exception):
    """An error Step Functions would answer with: ``code`` is AWS's ``__type``."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status


def unavailable(problem: StoreUnavailable) -> ServiceError:
    """AWS's answer to a request it could not serve now (botocore retries it)."""
    return ServiceError("ServiceUnavailable", f"{problem}; nothing was changed, try again", 503)


async def committed(future: Future[Any], timeout: float | None = None) -> Any:
    """Wait (on the loop, without blocking it) until a store write is committed."""
    try:
        return await asyncio.wait_for(asyncio.wrap_future(future), timeout)
    except StoreUnavailable as problem:
        raise unavailable(problem) from None
    except TimeoutError:
        raise unavailable(StoreUnavailable("the execution store is not writable now")) from None


def validation_error(field_name: str, constraint: str, value: Any = None) -> ServiceError:
    """AWS's ValidationException text for one field."""
    shown = "null" if value is None else f"'{value}'"
    return ServiceError(
        "ValidationException",
        f"1 validation error detected: Value {shown} at '{field_name}' "
        f"failed to satisfy constraint: {constraint}",
    )


@dataclass
class _Machine:
    arn: str
    name: str
    type: str
    definition: str
    role_arn: str
    creation_date: float
    machine: StateMachine
    template_id: str | None = None  # logical id for the template's machines
    revision_id: str | None = None
    update_date: float | None = None
    description: str | None = None  # of a published version
    tags: dict[str, str] = field(default_factory=dict)
    logging: dict[str, Any] = field(
        default_factory=lambda: {"level": "OFF", "includeExecutionData": False}
    )
    tracing: dict[str, Any] = field(default_factory=lambda: {"enabled": False})
    versions: dict[int, _Machine] = field(default_factory=dict)  # published: number -> copy


def _is_version_arn(arn: str) -> bool:
    parts = arn.split(":")
    return len(parts) == 8 and parts[5] == "stateMachine" and parts[7].isdigit()


def is_alias_arn(arn: str) -> bool:
    """``arn:aws:states:R:A:stateMachine:NAME:ALIAS`` (an alias name is never all digits)."""
    parts = arn.split(":")
    return len(parts) == 8 and parts[5] == "stateMachine" and not parts[7].isdigit()


@dataclass
class _Live:
    """An execution running in this process."""

    arn: str
    state_machine_arn: str
    input: str
    start_date: float
    task: asyncio.Task[ExecutionResult] | None = None  # the engine's task, once announced
    outer: asyncio.Task[Any] | None = None  # what start_execution spawned
    stop: tuple[str | None, str | None] | None = None  # (error, cause) of StopExecution
    finished: bool = False
    waiters: list[asyncio.Future[None]] = field(default_factory=list)
    stored: Future[None] | None = None  # the write of its end, once it ended
    texts: ValueTexts = field(default_factory=ValueTexts)  # its values encoded last


class ExecutionService:
    """Step Functions over a ``LocalApp``; use it on the app's event loop."""

    def __init__(
        self,
        app: LocalApp,
        store: ExecutionStore | None = None,
        *,
        region: str = REGION,
        account: str = ACCOUNT,
    ) -> None:
        self.app = app
        self.store = store if store is not None else ExecutionStore(":memory:")
        self.region = region
        self.account = account
        self._machines: dict[str, _Machine] = {}
        self._live: dict[str, _Live] = {}
        # what each execution started by this service ran: its definition (or version);
        # executions that ran the same revision share one snapshot (_snapshot)
        self.ran_with: dict[str, _Machine] = {}
        self._snapshots: dict[str, _Machine] = {}
        self._closed = False
        # how long an API call waits for its write before answering ServiceUnavailable
        self.answer_timeout = 5.0
        created = time.time()
        for spec in app.template.state_machines.values():
            machine = app.machine(spec)
            props = app.template.resources.get(spec.logical_id, {}).get("Properties") or {}
            self._machines[spec.arn] = _Machine(
                arn=spec.arn,
                name=spec.name,
                type=str(props.get("Type", "STANDARD")),
                definition=spec.definition_text(),
                role_arn=machine.role_arn,
                creation_date=created,
                machine=machine,
                template_id=spec.logical_id,
            )
        for row in self.store.state_machines():
            try:
                machine = self._compile(row.definition, row.name, row.role_arn, row.type)
            except DefinitionError:  # pragma: no cover - validated when created
                log.warning("stored state machine %s no longer validates; skipped", row.arn)
                continue
            self._machines.setdefault(
                row.arn,
                _Machine(
                    row.arn,
                    row.name,
                    row.type,
                    row.definition,
                    row.role_arn,
                    row.creation_date,
                    machine,
                ),
            )
        # versions, aliases, tags, activities and what each execution started on
        self.resources = ResourceStore(self.store)
        self.aliases: dict[str, AliasRow] = {}
        self.targets: dict[str, tuple[str | None, str | None]] = {}
        self.activity_tags: dict[str, dict[str, str]] = {}
        # the highest version number each machine ever had: numbers are never reused
        self._published: dict[str, int] = {}
        self._restore(self.resources.load())
        app.execution_listeners.append(self._on_execution)
        app.nested_executions = self._start_nested
        app.before_effect = self._history_stored
        # map runs and their children are kept with the executions (issue #11)
        self._map_run_store = StoredMapRuns(self.store, app.execution_clock)
        app.runner.map_runs.store = self._map_run_store

    def _restore(self, stored: Resources) -> None:
        for row in stored.versions:
            base = self._machines.get(row.machine_arn)
            if base is None:
                continue
            try:
                machine = self._compile(row.definition, base.name, row.role_arn, base.type)
            except DefinitionError:  # pragma: no cover - validated when published
                continue
            version = _Machine(
                f"{base.arn}:{row.number}",
                base.name,
                base.type,
                row.definition,
                row.role_arn,
                row.creation_date,
                machine,
                template_id=base.template_id,
                revision_id=row.revision_id,
                description=row.description,
            )
            if row.logging is not None:
                version.logging = row.logging
            if row.tracing is not None:
                version.tracing = row.tracing
            base.versions[row.number] = version
        for alias in stored.aliases:
            if alias.machine_arn in self._machines:
                self.aliases[alias.arn] = alias
        for arn, activity in stored.activities.items():
            self.app.runner.activities.declared.setdefault(arn, activity)
        for arn, tags in stored.tags.items():
            if arn in self._machines:
                self._machines[arn].tags = tags
            elif arn in self.app.runner.activities.declared:
                self.activity_tags[arn] = tags
        self.targets = stored.targets
        for settings in stored.settings:
            machine_entry = self._machines.get(settings.arn)
            if machine_entry is None:
                continue
            machine_entry.revision_id = settings.revision_id
            machine_entry.update_date = settings.update_date
            if settings.logging is not None:
                machine_entry.logging = settings.logging
            if settings.tracing is not None:
                machine_entry.tracing = settings.tracing
        self._published = stored.highest_versions

    @staticmethod
    def _settings(entry: _Machine) -> MachineSettings:
        return MachineSettings(
            entry.arn, entry.revision_id, entry.update_date, entry.logging, entry.tracing
        )

    async def _history_stored(self) -> None:
        """What an execution awaits before its next effect: its history so far is on disk."""
        if not self._closed:
            await self.store.committed()

    # ------------------------------------------------------------ state machines

    async def create_state_machine(
        self,
        name: str,
        definition: str,
        role_arn: str,
        type: str = "STANDARD",
        *,
        tags: list[dict[str, str]] | None = None,
        logging: dict[str, Any] | None = None,
        tracing: dict[str, Any] | None = None,
        publish: bool = False,
        version_description: str | None = None,
    ) -> dict[str, Any]:
        if not _NAME.match(name):
            raise ServiceError("InvalidName", f"Invalid Name: '{name}'")
        if type not in ("STANDARD", "EXPRESS"):
            raise validation_error(
                "type", "Member must satisfy enum value set: [EXPRESS, STANDARD]", type
            )
        if not role_arn.startswith("arn:"):
            raise ServiceError("InvalidArn", f"Invalid Arn: 'Invalid ARN prefix: {role_arn}'")
        arn = f"arn:aws:states:{self.region}:{self.account}:stateMachine:{name}"
        existing = self._machines.get(arn)
        if existing is not None:
            same = (existing.definition, existing.role_arn, existing.type) == (
                definition,
                role_arn,
                type,
            )
            if not same or existing.template_id is not None:
                raise ServiceError(
                    "StateMachineAlreadyExists", f"State Machine Already Exists: '{arn}'"
                )
            return {"stateMachineArn": arn, "creationDate": existing.creation_date}
        try:
            machine = self._compile(definition, name, role_arn, type)
        except DefinitionError as error:
            raise ServiceError("InvalidDefinition", _definition_message(error)) from None
        except Exception as error:  # a validator gap must still answer as AWS would
            log.exception("validating the definition of %s failed", name)
            raise ServiceError(
                "InvalidDefinition", f"Invalid State Machine Definition: '{error}'"
            ) from None
        created = time.time()
        await committed(
            self.store.put_state_machine(
                StateMachineRow(arn, name, definition, role_arn, type, created)
            )
        )
        entry = _Machine(arn, name, type, definition, role_arn, created, machine)
        entry.tags = {t["key"]: t["value"] for t in tags or ()}
        if entry.tags:
            await committed(self.resources.put_tags(arn, entry.tags))
        if logging is not None:
            entry.logging = logging
        if tracing is not None:
            entry.tracing = tracing
        if logging is not None or tracing is not None:
            await committed(self.resources.put_settings(self._settings(entry)))
        self._machines[arn] = entry
        answer: dict[str, Any] = {"stateMachineArn": arn, "creationDate": created}
        if publish:
            published = await self.publish_state_machine_version(
                arn, description=version_description
            )
            answer["stateMachineVersionArn"] = published["stateMachineVersionArn"]
        return answer

    async def delete_state_machine(self, state_machine_arn: str) -> dict[str, Any]:
        self._check_arn(state_machine_arn, "stateMachine")
        entry = self._machines.get(state_machine_arn)
        if entry is None:
            return {}  # AWS answers success for a machine that is already gone
        if entry.template_id is not None:
            raise validation_error(
                "stateMachineArn",
                "a state machine of the SAM template cannot be deleted locally "
                "(remove it from infra/sam/template.yaml)",
                state_machine_arn,
            )
        await committed(self.store.delete_state_machine(state_machine_arn))
        await committed(self.resources.forget_machine(state_machine_arn))
        self._machines.pop(state_machine_arn, None)
        self._published.pop(state_machine_arn, None)  # a new machine of the name starts at 1
        for alias_arn in [a for a, alias in self.aliases.items() if alias.machine_arn == entry.arn]:
            del self.aliases[alias_arn]
        return {}

    def describe_state_machine(self, state_machine_arn: str) -> dict[str, Any]:
        entry = self._state_machine(state_machine_arn)
        answer: dict[str, Any] = {
            "stateMachineArn": entry.arn,
            "name": entry.name,
            "status": "ACTIVE",
            "definition": entry.definition,
            "roleArn": entry.role_arn,
            "type": entry.type,
            "creationDate": entry.creation_date,
            "loggingConfiguration": entry.logging,
            "tracingConfiguration": entry.tracing,
        }
        if entry.revision_id is not None:
            answer["revisionId"] = entry.revision_id
        if entry.description is not None:
            answer["description"] = entry.description
        return answer

    def list_state_machines(
        self, *, max_results: int = 0, next_token: str | None = None
    ) -> dict[str, Any]:
        limit = _page_size(max_results)
        entries = sorted(self._machines.values(), key=lambda m: m.name)
        start = 0
        if next_token is not None:
            start = _token_int(_decode_token(next_token, "machines"), next_token, "offset")
        page = entries[start : start + limit]
        answer: dict[str, Any] = {
            "stateMachines": [
                {
                    "stateMachineArn": m.arn,
                    "name": m.name,
                    "type": m.type,
                    "creationDate": m.creation_date,
                }
                for m in page
            ]
        }
        if start + limit < len(entries):
            answer["nextToken"] = _encode_token("machines", offset=start + limit)
        return answer

    def describe_state_machine_for_execution(self, execution_arn: str) -> dict[str, Any]:
        row = self._execution(execution_arn)
        ran = self.ran_with.get(execution_arn)
        version_arn = self.targets.get(execution_arn, (None, None))[0]
        if ran is None and version_arn is not None:  # started on a version before a restart
            with contextlib.suppress(ServiceError):  # unless the version was deleted since
                ran = self._state_machine(version_arn)
        if ran is not None:  # the definition the execution started with, not today's
            answer = {
                "stateMachineArn": row.state_machine_arn,
                "name": ran.name,
                "definition": ran.definition,
                "roleArn": ran.role_arn,
                "updateDate": ran.update_date or ran.creation_date,
                "loggingConfiguration": ran.logging,
                "tracingConfiguration": ran.tracing,
            }
            if ran.revision_id is not None:
                answer["revisionId"] = ran.revision_id
            return answer
        entry = self._machines.get(row.state_machine_arn)
        if entry is None:
            raise ServiceError(
                "StateMachineDoesNotExist",
                f"State Machine Does Not Exist: '{row.state_machine_arn}'",
            )
        return {
            "stateMachineArn": entry.arn,
            "name": entry.name,
            "definition": entry.definition,
            "roleArn": entry.role_arn,
            "updateDate": entry.creation_date,
            "loggingConfiguration": {"level": "OFF", "includeExecutionData": False},
            "tracingConfiguration": {"enabled": False},
        }

    def validate_state_machine_definition(
        self,
        definition: str,
        *,
        type: str | None = None,
        severity: str = "ERROR",
        max_results: int = 0,
    ) -> dict[str, Any]:
        if severity not in ("ERROR", "WARNING"):
            raise validation_error(
                "severity", "Member must satisfy enum value set: [ERROR, WARNING]", severity
            )
        if type is not None and type not in ("STANDARD", "EXPRESS"):
            raise validation_error(
                "type", "Member must satisfy enum value set: [EXPRESS, STANDARD]", type
            )
        limit = _page_size(max_results)
        try:
            diagnostics = validate_definition(
                definition, machine_type="EXPRESS" if type == "EXPRESS" else "STANDARD"
            )
        except Exception as error:  # a validator gap: still a diagnostic, never a 500
            log.exception("validating a definition failed")
            diagnostics = [
                Diagnostic(
                    "SCHEMA_VALIDATION_FAILED", f"the definition cannot be checked: {error}", ""
                )
            ]
        failed = any(d.severity == "ERROR" for d in diagnostics)
        shown = [d for d in diagnostics if severity == "WARNING" or d.severity == "ERROR"]
        return {
            "result": "FAIL" if failed else "OK",
            "diagnostics": [
                {
                    "severity": d.severity,
                    "code": d.code,
                    "message": d.message,
                    "location": d.location,
                }
                for d in shown[:limit]
            ],
            "truncated": len(shown) > limit,
        }

    # ---------------------------------------------------------------- executions

    async def start_execution(
        self,
        state_machine_arn: str,
        input_text: str | None = None,
        name: str | None = None,
        *,
        started_by: str = "StartExecution",
    ) -> dict[str, Any]:
        """Store a new execution, then start it (as a task of the app) and answer.

        The answer comes once the execution is committed: an acknowledged start is
        never lost. If the store cannot take it, the caller gets ServiceUnavailable and
        nothing runs.
        """
        alias_arn = None
        if is_alias_arn(state_machine_arn):  # an alias picks one of its versions by weight
            alias_arn = state_machine_arn
            state_machine_arn = self._route(alias_arn)
        entry = self._state_machine(state_machine_arn)
        # a version runs as an execution of its state machine (AWS lists it there)
        base_arn = entry.arn.rsplit(":", 1)[0] if _is_version_arn(entry.arn) else entry.arn
        version_arn = entry.arn if _is_version_arn(entry.arn) else None
        if name is None:
            name = str(uuid.uuid4())
        elif not _NAME.match(name):
            raise ServiceError("InvalidName", f"Invalid Name: '{name}'")
        text = "{}" if input_text is None else input_text
        if len(text.encode()) > _MAX_INPUT:
            raise ServiceError(
                "InvalidExecutionInput",
                f"Invalid State Machine Execution Input: 'the input is larger than "
                f"{_MAX_INPUT} bytes'",
            )
        try:
            value = json_text.loads(text)
        except json.JSONDecodeError as error:
            raise ServiceError(
                "InvalidExecutionInput",
                f"Invalid State Machine Execution Input: '{error.msg} "
                f"(line {error.lineno}, column {error.colno})'",
            ) from None
        # EXPRESS: a fresh ARN per start (names are not reserved, no idempotency)
        arn = entry.machine.execution_arn(name)
        live = self._live.get(arn)
        if live is not None and not live.finished and live.input == text:
            # STANDARD: the same name and input while it runs is the same request
            return {"executionArn": arn, "startDate": live.start_date}
        if live is not None or self.store.exists(arn):
            raise ServiceError("ExecutionAlreadyExists", f"Execution Already Exists: '{arn}'")
        start = self.app.clock.now()
        live = _Live(arn, base_arn, text, start)
        self._live[arn] = live  # a second start with this name now sees it
        spans.mark("sfn.committing", name)
        try:
            if version_arn is not None:
                self.targets[arn] = (version_arn, alias_arn)
                # queued before the execution's row: committed no later than it
                self.resources.put_target(arn, version_arn, alias_arn)
            await committed(
                self.store.insert_execution(
                    ExecutionRow(arn, base_arn, name, "RUNNING", text, start, started_by=started_by)
                )
            )
        except ServiceError:
            del self._live[arn]
            self.targets.pop(arn, None)
            raise
        spans.mark("sfn.committed", name)
        # RUNNING from the answer on, even if it is stopped before the engine starts it
        self._status_changed(live, "RUNNING")
        if entry.template_id is not None and version_arn is None:
            run = self.app.execute(
                entry.template_id, value, name=name, started_by=started_by, execution_arn=arn
            )
        else:
            run = self.app.execute_machine(
                entry.machine,
                value,
                name=name,
                started_by=started_by,
                label=entry.template_id or entry.name,
                execution_arn=arn,
            )
        self.ran_with[arn] = self._snapshot(entry)  # updates change the entry itself
        live.outer = self.app._background.spawn(run)
        live.outer.add_done_callback(lambda task: self._outer_done(live, task))
        return {"executionArn": arn, "startDate": start}

    def started_on(self, execution_arn: str) -> dict[str, str]:
        """``stateMachineVersionArn``/``stateMachineAliasArn`` of an execution started on
        a version or through an alias (empty otherwise)."""
        version_arn, alias_arn = self.targets.get(execution_arn, (None, None))
        answer = {}
        if version_arn is not None:
            answer["stateMachineVersionArn"] = version_arn
        if alias_arn is not None:
            answer["stateMachineAliasArn"] = alias_arn
        return answer

    def _route(self, alias_arn: str) -> str:
        """The version an execution through ``alias_arn`` runs: one drawn by weight."""
        alias = self.aliases.get(alias_arn)
        if alias is None:
            raise ServiceError(
                "StateMachineDoesNotExist", f"State Machine Does Not Exist: '{alias_arn}'"
            )
        versions = [version for version, _ in alias.routing]
        weights = [weight for _, weight in alias.routing]
        return random.choices(versions, weights=weights)[0]

    def machine_of_execution(self, row: ExecutionRow) -> _Machine | None:
        """The state machine a stored execution runs again with (None: deleted since):
        the version it started on, if any (versions are stored), else the machine."""
        ran = self.ran_with.get(row.arn)
        version_arn = self.targets.get(row.arn, (None, None))[0]
        if ran is None and version_arn is not None:
            with contextlib.suppress(ServiceError):  # unless the version was deleted since
                ran = self._state_machine(version_arn)
        return ran or self._machines.get(row.state_machine_arn)

    def execution_row(self, execution_arn: str) -> ExecutionRow:
        """The stored execution (InvalidArn, ExecutionDoesNotExist as AWS answers them)."""
        return self._execution(execution_arn)

    def is_live(self, execution_arn: str) -> bool:
        live = self._live.get(execution_arn)
        return live is not None and not live.finished

    def reserve(self, execution_arn: str) -> None:
        """Mark a stored execution as about to run again (a redrive being stored)."""
        row = self._execution(execution_arn)
        self._live[execution_arn] = _Live(
            row.arn, row.state_machine_arn, row.input or "{}", row.start_date
        )

    def release(self, execution_arn: str) -> None:
        live = self._live.get(execution_arn)
        if live is not None and live.task is None and live.outer is None:
            del self._live[execution_arn]

    def run_again(
        self, row: ExecutionRow, entry: _Machine, history: History, clock: Clock
    ) -> asyncio.Task[Any]:
        """Run a stored execution again on ``history`` (resume, redrive): same ARN, same
        input; the events it records past the stored ones are stored as they come."""
        text = row.input or "{}"
        live = _Live(row.arn, row.state_machine_arn, text, row.start_date)
        self._live[row.arn] = live
        run = self.app.execute_machine(
            entry.machine,
            json.loads(text),
            name=row.name,
            started_by=row.started_by or "StartExecution",
            history=history,
            label=entry.template_id or entry.name,
            clock=clock,
        )
        self.ran_with[row.arn] = self._snapshot(entry)
        live.outer = self.app._background.spawn(run)
        live.outer.add_done_callback(lambda task: self._outer_done(live, task))
        return live.outer

    def _snapshot(self, entry: _Machine) -> _Machine:
        """A copy of ``entry`` as it is now, shared by the executions that start on it
        until it changes (a copy per execution was ~0.6 KB per order kept, issue #13)."""
        kept = self._snapshots.get(entry.arn)
        if kept is None or kept != entry:
            kept = replace(entry)
            self._snapshots[entry.arn] = kept
        return kept

    def describe_execution(self, execution_arn: str) -> dict[str, Any]:
        row = self._execution(execution_arn)
        answer: dict[str, Any] = {
            "executionArn": row.arn,
            "stateMachineArn": row.state_machine_arn,
            "name": row.name,
            "status": row.status,
            "startDate": row.start_date,
        }
        if row.stop_date is not None and row.status != "RUNNING":
            answer["stopDate"] = row.stop_date
        answer["input"] = row.input
        answer["inputDetails"] = {"included": True}
        if row.status == "SUCCEEDED":
            answer["output"] = row.output
            answer["outputDetails"] = {"included": True}
        if row.error is not None:
            answer["error"] = row.error
        if row.cause is not None:
            answer["cause"] = row.cause
        answer.update(self.started_on(execution_arn))
        from workflows.local.sfn_redrive import redrive_fields  # it builds on this module

        answer.update(redrive_fields(self, row))
        return answer

    # ------------------------------------------------- updates, versions and tags

    async def update_state_machine(
        self,
        state_machine_arn: str,
        *,
        definition: str | None = None,
        role_arn: str | None = None,
        logging: dict[str, Any] | None = None,
        tracing: dict[str, Any] | None = None,
        publish: bool = False,
        version_description: str | None = None,
    ) -> dict[str, Any]:
        """UpdateStateMachine: the next executions run the new definition; running ones,
        and DescribeStateMachineForExecution of any started before, keep theirs."""
        entry = self._state_machine(state_machine_arn)
        if _is_version_arn(state_machine_arn):
            raise ServiceError("ValidationException", "A state machine version cannot be updated")
        if definition is None and role_arn is None and logging is None and tracing is None:
            raise ServiceError(
                "MissingRequiredParameter",
                "Either the definition, the role ARN, the LoggingConfiguration, or the "
                "TracingConfiguration must be specified",
            )
        if entry.template_id is not None:
            raise validation_error(
                "stateMachineArn",
                "a state machine of the SAM template is updated by editing its definition "
                "file and restarting",
                state_machine_arn,
            )
        if role_arn is not None and not role_arn.startswith("arn:"):
            raise ServiceError("InvalidArn", f"Invalid Arn: 'Invalid ARN prefix: {role_arn}'")
        new_definition = definition if definition is not None else entry.definition
        new_role = role_arn if role_arn is not None else entry.role_arn
        try:
            machine = self._compile(new_definition, entry.name, new_role, entry.type)
        except DefinitionError as error:
            raise ServiceError("InvalidDefinition", _definition_message(error)) from None
        await committed(
            self.store.put_state_machine(
                StateMachineRow(
                    entry.arn, entry.name, new_definition, new_role, entry.type, entry.creation_date
                )
            )
        )
        changed = replace(
            entry,
            logging=logging if logging is not None else entry.logging,
            tracing=tracing if tracing is not None else entry.tracing,
            revision_id=str(uuid.uuid4()),
            update_date=time.time(),
        )
        await committed(self.resources.put_settings(self._settings(changed)))
        entry.definition, entry.role_arn, entry.machine = new_definition, new_role, machine
        entry.logging, entry.tracing = changed.logging, changed.tracing
        entry.revision_id, entry.update_date = changed.revision_id, changed.update_date
        answer: dict[str, Any] = {"updateDate": entry.update_date, "revisionId": entry.revision_id}
        if publish:
            published = await self.publish_state_machine_version(
                entry.arn, description=version_description
            )
            answer["stateMachineVersionArn"] = published["stateMachineVersionArn"]
        return answer

    async def publish_state_machine_version(
        self,
        state_machine_arn: str,
        *,
        revision_id: str | None = None,
        description: str | None = None,
    ) -> dict[str, Any]:
        if _is_version_arn(state_machine_arn):  # a version is published from its machine
            raise ServiceError("InvalidArn", f"Invalid Arn: '{state_machine_arn}'")
        entry = self._state_machine(state_machine_arn)
        if revision_id is not None and revision_id != entry.revision_id:
            raise ServiceError(
                "ConflictException",
                f"The revisionId '{revision_id}' is not the state machine's current revision",
            )
        for number, version in entry.versions.items():
            if version.definition == entry.definition and version.role_arn == entry.role_arn:
                # publishing an unchanged revision returns the version it already is
                return {
                    "stateMachineVersionArn": f"{entry.arn}:{number}",
                    "creationDate": version.creation_date,
                }
        number = max(self._published.get(entry.arn, 0), max(entry.versions, default=0)) + 1
        created = time.time()
        await committed(
            self.resources.put_version(
                VersionRow(
                    entry.arn,
                    number,
                    entry.definition,
                    entry.role_arn,
                    created,
                    description,
                    entry.revision_id,
                    entry.logging,
                    entry.tracing,
                )
            )
        )
        self._published[entry.arn] = number
        entry.versions[number] = _Machine(
            f"{entry.arn}:{number}",
            entry.name,
            entry.type,
            entry.definition,
            entry.role_arn,
            created,
            entry.machine,
            template_id=entry.template_id,
            revision_id=entry.revision_id,
            description=description,
            logging=entry.logging,
            tracing=entry.tracing,
        )
        return {"stateMachineVersionArn": f"{entry.arn}:{number}", "creationDate": created}

    def list_state_machine_versions(
        self, state_machine_arn: str, *, max_results: int = 0, next_token: str | None = None
    ) -> dict[str, Any]:
        limit = _page_size(max_results)
        if _is_version_arn(state_machine_arn):
            raise ServiceError("InvalidArn", f"Invalid Arn: '{state_machine_arn}'")
        entry = self._state_machine(state_machine_arn)
        start = 0
        if next_token is not None:
            token = _decode_token(next_token, "versions")
            if token.get("machine") != entry.arn:
                raise _invalid_token(next_token)
            start = _token_int(token, next_token, "offset")
        versions = [v for _, v in sorted(entry.versions.items(), reverse=True)]  # newest first
        answer: dict[str, Any] = {
            "stateMachineVersions": [
                {"stateMachineVersionArn": v.arn, "creationDate": v.creation_date}
                for v in versions[start : start + limit]
            ]
        }
        if start + limit < len(versions):
            answer["nextToken"] = _encode_token("versions", machine=entry.arn, offset=start + limit)
        return answer

    async def delete_state_machine_version(self, version_arn: str) -> dict[str, Any]:
        if not _is_version_arn(version_arn):
            raise ServiceError("InvalidArn", f"Invalid Arn: '{version_arn}'")
        referenced = sorted(
            alias.name
            for alias in self.aliases.values()
            if any(version == version_arn for version, _ in alias.routing)
        )
        if referenced:
            raise ServiceError(
                "ConflictException",
                "Version to be deleted must not be referenced by an alias. Current list of "
                f"aliases referencing this version: [{', '.join(referenced)}]",
            )
        machine_arn, number = version_arn.rsplit(":", 1)
        base = self._machines.get(machine_arn)
        if base is not None and int(number) in base.versions:
            await committed(self.resources.delete_version(machine_arn, int(number)))
            base.versions.pop(int(number), None)
        return {}

    def _tags(self, resource_arn: str) -> dict[str, str]:
        """The tags of a state machine or an activity (the resources AWS tags)."""
        entry = self._machines.get(resource_arn)
        if entry is not None:
            return entry.tags
        if resource_arn in self.app.runner.activities.declared:
            return self.activity_tags.get(resource_arn, {})
        raise ServiceError("ResourceNotFound", f"Resource not found: '{resource_arn}'")

    async def _keep_tags(self, resource_arn: str, tags: dict[str, str]) -> None:
        await committed(self.resources.put_tags(resource_arn, tags))
        entry = self._machines.get(resource_arn)
        if entry is not None:
            entry.tags = tags
        else:
            self.activity_tags[resource_arn] = tags

    async def tag_resource(self, resource_arn: str, tags: list[dict[str, str]]) -> dict[str, Any]:
        merged = {**self._tags(resource_arn), **{t["key"]: t["value"] for t in tags}}
        if len(merged) > 50:
            raise ServiceError(
                "TooManyTags", f"Too many tags: '{resource_arn}' would have {len(merged)} (50 max)"
            )
        await self._keep_tags(resource_arn, merged)
        return {}

    async def untag_resource(self, resource_arn: str, keys: list[str]) -> dict[str, Any]:
        kept = {k: v for k, v in self._tags(resource_arn).items() if k not in keys}
        await self._keep_tags(resource_arn, kept)
        return {}

    def list_tags_for_resource(self, resource_arn: str) -> dict[str, Any]:
        tags = self._tags(resource_arn)
        return {"tags": [{"key": k, "value": v} for k, v in tags.items()]}

    def get_execution_history(
        self,
        execution_arn: str,
        *,
        max_results: int = 0,
        next_token: str | None = None,
        reverse_order: bool = False,
        include_execution_data: bool = True,
    ) -> dict[str, Any]:
        limit = _page_size(max_results)
        if self.store.child(execution_arn) is None:  # a map run's child has a history too
            self._execution(execution_arn)
        after = before = None
        if next_token is not None:
            token = _decode_token(next_token, "history")
            if token.get("arn") != execution_arn or token.get("reverse") != reverse_order:
                raise _invalid_token(next_token)
            if reverse_order:
                before = _token_int(token, next_token)
            else:
                after = _token_int(token, next_token)
        events = self.store.events(
            execution_arn,
            after_id=after,
            before_id=before,
            reverse=reverse_order,
            limit=limit + 1,
        )
        answer: dict[str, Any] = {"events": events[:limit]}
        if len(events) > limit:
            answer["nextToken"] = _encode_token(
                "history", arn=execution_arn, reverse=reverse_order, last=events[limit - 1]["id"]
            )
        if not include_execution_data:
            for event in answer["events"]:
                for key, details in event.items():
                    if key.endswith("EventDetails") and isinstance(details, dict):
                        for data_field in _DATA_FIELDS:
                            details.pop(data_field, None)
        return answer

    def list_executions(
        self,
        state_machine_arn: str,
        *,
        status_filter: str | None = None,
        max_results: int = 0,
        next_token: str | None = None,
        redriven: bool | None = None,
    ) -> dict[str, Any]:
        from workflows.local.sfn_redrive import list_item_fields  # it builds on this module

        if status_filter is not None and status_filter not in _STATUSES:
            raise validation_error(
                "statusFilter",
                "Member must satisfy enum value set: [" + ", ".join(_STATUSES) + "]",
                status_filter,
            )
        limit = _page_size(max_results)
        qualified = is_alias_arn(state_machine_arn)  # a version's or alias's executions only
        if qualified:
            alias = self.aliases.get(state_machine_arn)
            if alias is None:
                raise ServiceError(
                    "ResourceNotFound", "Request references a resource that does not exist."
                )
            entry = self._state_machine(alias.machine_arn)
            listed = state_machine_arn
        else:
            entry = self._state_machine(state_machine_arn)
            qualified = _is_version_arn(entry.arn)
            listed = entry.arn
        if entry.type == "EXPRESS":
            raise ServiceError(
                "StateMachineTypeNotSupported",
                "This operation is not supported by this type of state machine",
            )
        before = None
        if next_token is not None:
            token = _decode_token(next_token, "executions")
            if (
                token.get("machine") != listed
                or token.get("status") != status_filter
                or token.get("redriven") != redriven
            ):
                raise _invalid_token(next_token)
            before = _token_int(token, next_token)
        if qualified:
            arns = self.resources.executions_started_on(
                listed,
                alias=is_alias_arn(listed),
                status=status_filter,
                redriven=redriven,
                before_seq=before,
                limit=limit + 1,
            )
            rows = [row for row in map(self.store.get_execution, arns) if row is not None]
        else:
            rows = self.store.list_executions(
                listed, status=status_filter, before_seq=before, limit=limit + 1, redriven=redriven
            )
        items = []
        for row in rows[:limit]:
            item: dict[str, Any] = {
                "executionArn": row.arn,
                "stateMachineArn": row.state_machine_arn,
                "name": row.name,
                "status": row.status,
                "startDate": row.start_date,
            }
            if row.stop_date is not None and row.status != "RUNNING":
                item["stopDate"] = row.stop_date
            item.update(self.started_on(row.arn))
            items.append(item)
        list_item_fields(self, items)
        answer: dict[str, Any] = {"executions": items}
        if len(rows) > limit:
            answer["nextToken"] = _encode_token(
                "executions",
                machine=listed,
                status=status_filter,
                last=rows[limit - 1].seq,
                **({} if redriven is None else {"redriven": redriven}),
            )
        return answer

    async def stop_execution(
        self, execution_arn: str, *, error: str | None = None, cause: str | None = None
    ) -> dict[str, Any]:
        """Cancel a running execution (ABORTED, with ``error``/``cause``); waits for its end."""
        row = self._execution(execution_arn)
        live = self._live.get(execution_arn)
        if live is None or live.finished or row.status != "RUNNING":
            return {"stopDate": row.stop_date if row.stop_date is not None else row.start_date}
        live.stop = (error, cause)
        task = live.task if live.task is not None else live.outer
        if task is not None and not task.done():
            task.cancel()
            await asyncio.wait({task}, timeout=5.0)
        if not live.finished:  # it never started, or did not answer the cancellation
            self._finish(live, "ABORTED", self.app.clock.now(), None, error, cause)
        if live.stored is not None:
            await committed(live.stored, timeout=self.answer_timeout)
        stopped = self._execution(execution_arn).stop_date
        return {"stopDate": stopped if stopped is not None else self.app.clock.now()}

    async def _start_nested(
        self,
        state_machine_arn: str,
        input: str,
        name: str | None,
        *,
        wait: bool,
        parent: str | None = None,
    ) -> dict[str, Any]:
        """A parent's states:startExecution: any machine this service knows, answered as
        StartExecution (and, with ``wait``, DescribeExecution at the end) answer."""
        try:
            started = await self.start_execution(
                state_machine_arn, input, name, started_by=started_by_task(parent)
            )
        except ServiceError as error:
            raise ClientError(
                {
                    "Error": {"Code": error.code, "Message": error.message},
                    "ResponseMetadata": {"HTTPStatusCode": 400, "RequestId": str(uuid.uuid4())},
                },
                "StartExecution",
            ) from None
        if not wait:
            return started
        try:
            return await self.wait(started["executionArn"])
        except asyncio.CancelledError:
            # the parent's task timed out or stopped: its child stops too, as on AWS
            self.app._background.spawn(
                self.stop_execution(started["executionArn"], error="States.Aborted")
            )
            raise

    # ------------------------------------------------------------------ tokens

    async def send_task_success(self, task_token: str, output: str) -> dict[str, Any]:
        self._check_token(task_token)
        try:
            value = json_text.loads(output)
        except json.JSONDecodeError as error:
            raise ServiceError(
                "InvalidOutput", f"Invalid Output: '{error.msg} (column {error.colno})'"
            ) from None
        self._check_waiting(task_token)
        await self._answer_stored(task_token, {"output": value})
        self._with_token(lambda: self.app.tokens.succeed(task_token, value))
        return {}

    async def send_task_failure(
        self, task_token: str, *, error: str | None = None, cause: str | None = None
    ) -> dict[str, Any]:
        self._check_token(task_token)
        self._check_waiting(task_token)
        await self._answer_stored(task_token, {"error": error, "cause": cause})
        self._with_token(lambda: self.app.tokens.fail(task_token, error, cause))
        return {}

    async def _answer_stored(self, task_token: str, answer: dict[str, Any]) -> None:
        """Answer only once the history so far is stored, and the answer with it.

        The token's Task (and the event that issued the token) is durable before the
        answer is applied, and so is the answer itself: if the process stops before
        the answer's event is stored, the execution applies it when it resumes
        (resume.py); the answer's event follows in the next commit, which the
        execution awaits before its next effect.
        """
        owner = self.app.tokens.owner(task_token)
        if owner is None:
            await committed(self.store.barrier(), timeout=self.answer_timeout)
            return
        await committed(
            self.store.put_task_answer(task_token, owner[0], answer), timeout=self.answer_timeout
        )

    async def send_task_heartbeat(self, task_token: str) -> dict[str, Any]:
        self._check_token(task_token)
        self._with_token(lambda: self.app.tokens.heartbeat(task_token))
        return {}

    def _check_token(self, token: str) -> None:
        if not _TOKEN.match(token):
            raise ServiceError("InvalidToken", "Invalid Token: 'Invalid token'")

    def _check_waiting(self, token: str) -> None:
        if self.app.tokens.owner(token) is None:
            raise ServiceError(
                "TaskDoesNotExist", "Task Timed Out: 'Provided task does not exist anymore'"
            )

    @staticmethod
    def _with_token(action: Callable[[], None]) -> None:
        try:
            action()
        except StatesError as error:
            if error.error == "TaskDoesNotExist":
                raise ServiceError(
                    "TaskDoesNotExist", "Task Timed Out: 'Provided task does not exist anymore'"
                ) from None
            raise

    # --------------------------------------------------------------- lifecycle

    def close(self) -> None:
        """Stop recording (executions still running stay RUNNING: the next start aborts them).

        What was recorded until now is committed first.
        """
        self._closed = True
        if self.app.nested_executions == self._start_nested:
            self.app.nested_executions = None
        if self._on_execution in self.app.execution_listeners:
            self.app.execution_listeners.remove(self._on_execution)
        if self.app.before_effect == self._history_stored:
            self.app.before_effect = None
        if self.app.runner.map_runs.store is self._map_run_store:
            self.app.runner.map_runs.store = None
        self.store.close()

    async def wait(self, execution_arn: str) -> dict[str, Any]:
        """Wait until an execution has ended; returns DescribeExecution's answer."""
        live = self._live.get(execution_arn)
        if live is not None and not live.finished:
            future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            live.waiters.append(future)
            await future
        # its end may be written but not yet committed (it may even have ended before
        # this call): what is described is what is stored
        await asyncio.wrap_future(self.store.barrier())
        return self.describe_execution(execution_arn)

    # ------------------------------------------------------------ registration

    def _on_execution(self, starting: ExecutionStarting) -> None:
        """Every execution the app starts comes here before its first event."""
        if self._closed:
            return
        live = self._live.get(starting.execution_arn)
        if live is not None and live.task is None and not live.finished:
            live.task = starting.task  # started by start_execution
        else:
            if not _NAME.match(starting.name):
                return  # the engine refuses the name itself
            if live is not None or self.store.exists(starting.execution_arn):
                raise StatesError(
                    "StepFunctions.ExecutionAlreadyExistsException",
                    f"Execution Already Exists: '{starting.execution_arn}'",
                )
            text = dumps(starting.input if starting.input is not None else {})
            start = self.app.clock.now()
            live = _Live(starting.execution_arn, starting.state_machine_arn, text, start)
            live.task = starting.task
            self._live[live.arn] = live
            self.store.insert_execution(  # durable: retried until stored, before any effect
                ExecutionRow(
                    live.arn,
                    live.state_machine_arn,
                    starting.name,
                    "RUNNING",
                    text,
                    start,
                    started_by=starting.started_by,
                ),
                durable=True,
            )
            self._status_changed(live, "RUNNING")  # start_execution's own announce theirs
        registered = live

        def record(event_id: int, raw: RawEvent) -> None:
            try:
                self._on_raw_event(registered, event_id, raw)
            except Exception:  # the store must never break an execution
                log.exception("recording an event of %s failed", registered.arn)

        starting.history.subscribe_raw(record)
        starting.task.add_done_callback(lambda task: self._task_done(registered, task))

    def _on_raw_event(self, live: _Live, event_id: int, raw: RawEvent) -> None:
        """Store an event as the engine recorded it: encoded once, by the store's writer.
        Those this service reads or changes (the end, a start on a version) go through
        ``_on_event`` in GetExecutionHistory's shape."""
        if self._closed or live.finished:
            return
        kind = raw[0]
        if kind in _TERMINAL or (kind == "ExecutionStarted" and live.arn in self.targets):
            event = materialize(event_id, (kind, raw[1], raw[2], None))
            if raw[3] is not None:  # its output is the last state's: encoded already
                event[details_key(kind)] = shape_details(raw[3], live.texts.encode)
            self._on_event(live, event)
        else:
            self.store.add_raw_event(live.arn, event_id, raw, live.texts)

    def _on_event(self, live: _Live, event: dict[str, Any]) -> None:
        if self._closed or live.finished:
            return  # nothing is recorded after the end (a redrive records its own)
        kind = event["type"]
        terminal = _TERMINAL.get(kind)
        if terminal is not None and kind == "ExecutionAborted" and live.stop is not None:
            error, cause = live.stop
            details = {k: v for k, v in (("error", error), ("cause", cause)) if v is not None}
            event = {**event, "executionAbortedEventDetails": details}
        if kind == "ExecutionStarted" and live.arn in self.targets:
            # AWS names the version (and alias) an execution started on in this event
            started = dict(event.get("executionStartedEventDetails") or {})
            started.update(self.started_on(live.arn))
            event = {**event, "executionStartedEventDetails": started}
        if terminal is None:
            self.store.add_event(live.arn, event)
            return
        status, details_key = terminal
        details = event.get(details_key) or {}
        timestamp = event["timestamp"]
        stop = timestamp.timestamp() if isinstance(timestamp, datetime) else float(timestamp)
        self._finish(
            live,
            status,
            stop,
            details.get("output") if status == "SUCCEEDED" else None,
            details.get("error"),
            details.get("cause"),
            event,  # stored with the status, in one transaction
        )

    def _finish(
        self,
        live: _Live,
        status: str,
        stop: float,
        output: str | None,
        error: str | None,
        cause: str | None,
        event: dict[str, Any] | None = None,
    ) -> None:
        if live.finished:
            return
        live.finished = True
        live.stored = self.store.finish_execution(
            live.arn, status, stop_date=stop, output=output, error=error, cause=cause, event=event
        )
        self._status_changed(live, status, stop, output, error, cause)
        if self._live.get(live.arn) is live:
            del self._live[live.arn]
        for waiter in live.waiters:
            if not waiter.done():
                waiter.set_result(None)

    def _status_changed(
        self,
        live: _Live,
        status: str,
        stop: float | None = None,
        output: str | None = None,
        error: str | None = None,
        cause: str | None = None,
    ) -> None:
        """Put the status change on the default bus, as AWS does for STANDARD executions."""
        if live.arn.split(":")[5] != "execution":
            return  # Express workflows do not emit them
        entry = status_change_entry(
            execution_arn=live.arn,
            state_machine_arn=live.state_machine_arn,
            status=status,
            input=live.input,
            start_date=live.start_date,
            stop_date=stop,
            output=output,
            error=error,
            cause=cause,
        )
        try:
            self.app.publish(entry)
        except Exception:  # a rule's trouble must never break the execution
            log.exception("routing the status change of %s failed", live.arn)

    def _task_done(self, live: _Live, task: asyncio.Task[Any]) -> None:
        """The engine's task ended without a terminal event (a bug, or cancelled early)."""
        if live.finished or self._closed:
            return
        if task.cancelled():
            error, cause = live.stop or (None, None)
            self._finish(live, "ABORTED", self.app.clock.now(), None, error, cause)
        else:
            problem = task.exception()
            self._finish(
                live, "FAILED", self.app.clock.now(), None, "States.Runtime", repr(problem)
            )

    def _outer_done(self, live: _Live, task: asyncio.Task[Any]) -> None:
        if live.task is None:  # the execution never reached the engine
            self._task_done(live, task)

    # ------------------------------------------------------------------ lookups

    def _compile(
        self, definition: str, name: str, role_arn: str, type: str = "STANDARD"
    ) -> StateMachine:
        return StateMachine(
            definition,
            name=name,
            region=self.region,
            account=self.account,
            role_arn=role_arn,
            machine_type="EXPRESS" if type == "EXPRESS" else "STANDARD",
        )

    def _check_arn(self, arn: str, kind: str) -> None:
        parts = arn.split(":")
        if len(parts) < 7 or parts[0] != "arn" or parts[2] != "states":
            raise ServiceError("InvalidArn", f"Invalid Arn: 'Invalid ARN prefix: {arn}'")
        express = kind == "execution" and parts[5] == "express"  # ...:express:MACHINE:NAME:ID
        if parts[5] != kind and not express:
            raise ServiceError(
                "InvalidArn", f"Invalid Arn: 'Resource type not valid in this context: {parts[5]}'"
            )
        expected = 9 if express else 8 if kind == "execution" else 7
        if len(parts) != expected or not all(parts[6:]):
            raise ServiceError("InvalidArn", f"Invalid Arn: '{arn}'")

    def _state_machine(self, arn: str) -> _Machine:
        """The machine of a state machine ARN, or of a version ARN (``...:NAME:3``)."""
        parts = arn.split(":")
        if len(parts) == 8 and parts[7].isdigit():
            base = self._state_machine(":".join(parts[:7]))
            version = base.versions.get(int(parts[7]))
            if version is None:
                raise ServiceError(
                    "ResourceNotFound", f"State Machine Version Does Not Exist: '{arn}'"
                )
            return version
        self._check_arn(arn, "stateMachine")
        entry = self._machines.get(arn)
        if entry is None:
            raise ServiceError("StateMachineDoesNotExist", f"State Machine Does Not Exist: '{arn}'")
        return entry

    def _execution(self, arn: str) -> ExecutionRow:
        self._check_arn(arn, "execution")
        row = self.store.get_execution(arn)
        if row is None:
            raise ServiceError("ExecutionDoesNotExist", f"Execution Does Not Exist: '{arn}'")
        return row


def _definition_message(error: DefinitionError) -> str:
    first = error.diagnostics[0] if error.diagnostics else None
    if first is None:
        return "Invalid State Machine Definition"
    problems = ", ".join(f"{d.code}: {d.message} at {d.location or '/'}" for d in error.diagnostics)
    return f"Invalid State Machine Definition: '{problems}'"


def _page_size(max_results: int) -> int:
    if max_results < 0 or max_results > 1000:
        raise validation_error(
            "maxResults",
            "Member must have value less than or equal to 1000"
            if max_results > 1000
            else "Member must have value greater than or equal to 0",
            max_results,
        )
    return max_results or 100


def _encode_token(kind: str, **fields: Any) -> str:
    raw = json.dumps({"kind": kind, **fields}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode()


def _decode_token(token: str, kind: str) -> dict[str, Any]:
    try:
        decoded = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise _invalid_token(token) from None
    if not isinstance(decoded, dict) or decoded.get("kind") != kind:
        raise _invalid_token(token)
    return decoded


def _token_int(token: dict[str, Any], text: str, key: str = "last") -> int:
    value = token.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise _invalid_token(text)
    return value


def _invalid_token(token: str) -> ServiceError:
    return ServiceError("InvalidToken", f"Invalid Token: '{token}'")
