"""What the local AWS services hold, for the console's Resources page.

Tables, queues and their counts are read through boto3 from the local services,
as an application would read them. What the AWS APIs cannot show without changing
it is read from moto's backends, read-only (in this process, or through the control
channel of ``workflows up``'s moto process, ``aws_services.py``): the messages waiting in a
queue (receiving them would hide them from their consumer and count a receive
towards the dead-letter queue), the emails SES sent and the SMS SNS sent (AWS
keeps no such list; moto does, for tests). Events put on a bus are those the
executions put (``events:putEvents`` Tasks), as their history shows them, with the
executions the template's rules started from them.
"""

from __future__ import annotations

import asyncio
import json
import os
import urllib.parse
import urllib.request
from collections import deque
from datetime import UTC, datetime
from typing import Any, Final

from workflows.engine.history import RawEvent, dumps
from workflows.local.app import ExecutionStarting, LocalApp
from workflows.local.aws_services import (
    CONTROL_PREFIX,
    SERVICES_URL_ENV,
    peek_messages,
    sent_messages,
)
from workflows.local.schedules import next_fire

__all__ = ["LocalResources"]

ITEMS_SHOWN: Final = 50
KEPT: Final = 200


class LocalResources:
    def __init__(self, app: LocalApp) -> None:
        self.app = app
        # (parameters, execution ARN, when) of the putEvents Tasks, shown as their entries
        # only when the page is read: none of it is made per order for nobody
        self.puts: deque[tuple[Any, str, float]] = deque(maxlen=KEPT)
        self.rule_starts: deque[dict[str, Any]] = deque(maxlen=KEPT)
        app.execution_listeners.append(self._on_execution)

    def close(self) -> None:
        if self._on_execution in self.app.execution_listeners:
            self.app.execution_listeners.remove(self._on_execution)

    async def snapshot(self) -> dict[str, Any]:
        data = await asyncio.to_thread(self._read)
        data["events"] = list(reversed(self.events_put()))
        data["rule_starts"] = list(reversed(self.rule_starts))
        data["schedules"] = self._schedules()
        return data

    # ------------------------------------------------------------ boto3 + moto

    def _read(self) -> dict[str, Any]:
        session = self.app.session()
        return {
            "tables": self._tables(session),
            "queues": self._queues(session),
            **_moto_sent(),
        }

    def _tables(self, session: Any) -> list[dict[str, Any]]:
        from boto3.dynamodb.types import TypeDeserializer

        client = session.client("dynamodb")
        plain = TypeDeserializer()
        tables = []
        for name in client.list_tables().get("TableNames", []):
            described = client.describe_table(TableName=name)["Table"]
            scanned = client.scan(TableName=name, Limit=ITEMS_SHOWN)
            items = [
                {k: plain.deserialize(v) for k, v in item.items()} for item in scanned["Items"]
            ]
            tables.append(
                {
                    "name": name,
                    "key_names": [k["AttributeName"] for k in described.get("KeySchema", [])],
                    "count": client.scan(TableName=name, Select="COUNT")["Count"],
                    "items": [_json(item) for item in items],
                }
            )
        return tables

    def _queues(self, session: Any) -> list[dict[str, Any]]:
        client = session.client("sqs")
        queues = []
        urls = client.list_queues().get("QueueUrls", [])
        dead_letter_targets: dict[str, list[str]] = {}
        for url in urls:
            attributes = client.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])[
                "Attributes"
            ]
            name = url.rstrip("/").rsplit("/", 1)[-1]
            policy = json.loads(attributes.get("RedrivePolicy") or "{}") or self._redrive(name)
            dlq = str(policy.get("deadLetterTargetArn", "")).rsplit(":", 1)[-1] or None
            if dlq:
                dead_letter_targets.setdefault(dlq, []).append(name)
            queues.append(
                {
                    "name": name,
                    "waiting": int(attributes.get("ApproximateNumberOfMessages", 0)),
                    "in_flight": int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0)),
                    "dead_letter_queue": dlq,
                    "max_receive_count": policy.get("maxReceiveCount"),
                    "messages": _moto_messages(name),
                }
            )
        for queue in queues:
            queue["dead_letter_for"] = dead_letter_targets.get(queue["name"], [])
        return queues

    def _redrive(self, queue: str) -> dict[str, Any]:
        """The template's RedrivePolicy of a queue (the local queues are created without it)."""
        resource = self.app.template.of_type("AWS::SQS::Queue").get(queue) or {}
        policy = (resource.get("Properties") or {}).get("RedrivePolicy") or {}
        if not isinstance(policy, dict):
            return {}
        target = policy.get("deadLetterTargetArn")
        # !GetAtt Queue.Arn stays a tag in the template's resources: its logical id is the name
        value = getattr(target, "value", target)
        if isinstance(value, list) and value:
            value = value[0]
        dlq = str(value or "").split(".", 1)[0].rsplit(":", 1)[-1]
        return {"deadLetterTargetArn": dlq, "maxReceiveCount": policy.get("maxReceiveCount")}

    # ------------------------------------------------------------------ the app

    def _schedules(self) -> list[dict[str, Any]]:
        now = datetime.fromtimestamp(self.app.clock.now(), UTC)
        found = []
        for spec in self.app.template.state_machines.values():
            for schedule in spec.schedules:
                try:
                    upcoming = next_fire(schedule.expression, now, schedule.timezone)
                except ValueError as problem:
                    upcoming, note = None, str(problem)
                else:
                    note = ""
                found.append(
                    {
                        "name": schedule.name,
                        "expression": schedule.expression,
                        "timezone": schedule.timezone,
                        "state_machine": spec.logical_id,
                        "next": upcoming.timestamp() if upcoming is not None else None,
                        "note": note,
                    }
                )
        return found

    def _on_execution(self, starting: ExecutionStarting) -> None:
        if starting.started_by.startswith("rule "):
            event = starting.input if isinstance(starting.input, dict) else {}
            self.rule_starts.append(
                {
                    "rule": starting.started_by,
                    "event_id": event.get("id"),
                    "detail_type": event.get("detail-type"),
                    "execution_arn": starting.execution_arn,
                    "at": self.app.clock.now(),
                }
            )
        arn = starting.execution_arn

        def on_event(_event_id: int, raw: RawEvent) -> None:
            kind, _, _, details = raw
            if kind != "TaskScheduled" or not details:
                return
            if (details.get("resourceType"), details.get("resource")) != ("events", "putEvents"):
                return
            # the engine never changes a value in place: read when the page is
            self.puts.append((details.get("parameters"), arn, self.app.clock.now()))

        starting.history.subscribe_raw(on_event)

    def events_put(self) -> list[dict[str, Any]]:
        """The last ``KEPT`` entries the executions put on a bus, oldest first."""
        entries: deque[dict[str, Any]] = deque(maxlen=KEPT)
        for value, arn, at in self.puts:
            # the parameters as GetExecutionHistory shows them (JSON text), read back
            text = dumps(value) if value is not None else None
            try:
                parameters = json.loads(text or "{}")
            except ValueError:
                continue
            if not isinstance(parameters, dict):
                continue
            for entry in parameters.get("Entries") or []:
                entries.append(
                    {
                        "bus": entry.get("EventBusName") or "default",
                        "source": entry.get("Source"),
                        "detail_type": entry.get("DetailType"),
                        "detail": _json(entry.get("Detail")),
                        "execution_arn": arn,
                        "at": at,
                    }
                )
        return list(entries)


def _json(value: Any) -> str:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return str(value)
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def _services_url() -> str | None:
    """The control channel of ``workflows up``'s moto process, when this runtime has one."""
    return os.environ.get(SERVICES_URL_ENV) or None


def _control(action: str, **query: str) -> Any:
    url = f"{_services_url()}{CONTROL_PREFIX}{action}"
    if query:
        url += "?" + urllib.parse.urlencode(query)
    with urllib.request.urlopen(url, timeout=10) as answer:
        return json.loads(answer.read())


def _moto_messages(queue: str) -> list[dict[str, Any]]:
    if _services_url():  # moto is in a process of its own (``workflows up``)
        messages: list[dict[str, Any]] = _control("peek", queue=queue)
    else:
        messages = peek_messages(queue)
    return [dict(m, body=_json(m["body"])) for m in messages]


def _moto_sent() -> dict[str, list[dict[str, Any]]]:
    if _services_url():
        sent: dict[str, list[dict[str, Any]]] = _control("sent")
        return sent
    return sent_messages()
