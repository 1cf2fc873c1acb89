"""The application of a SAM template, running in one process.

``LocalApp`` wires what the template declares to the engine: every
``AWS::Serverless::Function`` becomes an in-process Lambda (its ``Handler`` imported
on first use), service integrations go through boto3 to whatever endpoint boto3 is
pointed at (moto in ``workflows run``, the local services under ``workflows up``),
``events:putEvents`` is followed by the template's EventBridge rules (matching
events start their target state machines), and a message sent to a queue that a
function consumes is delivered to that function as an SQS batch, with partial batch
failures honoured. Deliveries and rule targets run as tracked tasks; ``drain``
waits for all of them, so a run ends only when everything it caused has ended.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import boto3

from workflows.engine import StateMachine, TaskTokens
from workflows.engine.clock import Clock, RealClock
from workflows.engine.frame import iso_timestamp
from workflows.engine.lambdas import HandlerMode, InProcessLambdas
from workflows.engine.machine import ExecutionResult
from workflows.engine.tasks import ServiceIntegration, TaskRequest, TaskRunner
from workflows.integrations import aws_integrations
from workflows.local.event_patterns import matches
from workflows.local.template import ACCOUNT, REGION, FunctionSpec, StateMachineSpec, Template

__all__ = ["ExecutionRecord", "LocalApp"]


class _LazyHandler:
    """A handler given as ``module.function``, imported when first called."""

    def __init__(self, reference: str) -> None:
        self.reference = reference
        self._function: Callable[[Any, Any], Any] | None = None

    def __call__(self, event: Any, context: Any) -> Any:
        if self._function is None:
            module_name, _, attribute = self.reference.rpartition(".")
            self._function = getattr(importlib.import_module(module_name), attribute)
        return self._function(event, context)


@dataclass
class ExecutionRecord:
    """One execution the app ran, and what started it."""

    state_machine: str
    started_by: str
    result: ExecutionResult


@dataclass
class _Background:
    tasks: set[asyncio.Task[Any]] = field(default_factory=set)

    def spawn(self, coroutine: Any) -> asyncio.Task[Any]:
        task: asyncio.Task[Any] = asyncio.ensure_future(coroutine)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task


class LocalApp:
    def __init__(
        self,
        template: Template,
        *,
        clock: Clock | None = None,
        handler_mode: HandlerMode = "thread",
        session_factory: Callable[[], Any] | None = None,
    ) -> None:
        self.template = template
        self.clock = clock or RealClock()
        self.tokens = TaskTokens()
        self.records: list[ExecutionRecord] = []
        self._session_factory = session_factory or (lambda: boto3.Session(region_name=REGION))
        self._background = _Background()
        self._machines: dict[str, StateMachine] = {}
        self.lambdas = InProcessLambdas(
            {f.logical_id: _LazyHandler(f.handler) for f in template.functions.values()},
            mode=handler_mode,
            region=REGION,
            account=ACCOUNT,
            one_at_a_time=True,
        )
        integrations: dict[str, ServiceIntegration] = aws_integrations(
            self._session_factory, start_execution=self._start_execution_task
        )
        integrations["events:putEvents"] = self._follow_rules(integrations["events:putEvents"])
        integrations["sqs:sendMessage"] = self._deliver_after(integrations["sqs:sendMessage"])
        self.runner = TaskRunner(self.lambdas, integrations, self.tokens)

    # ------------------------------------------------------------------ resources

    def environment(self) -> dict[str, str]:
        """The functions' environment variables (the union; the template keeps them equal)."""
        merged: dict[str, str] = {}
        for function in self.template.functions.values():
            merged.update(function.environment)
        return merged

    def provision(self) -> None:
        """Create the template's tables, queues, buses and sender identities."""
        session = self._session_factory()
        dynamodb = session.client("dynamodb")
        for logical_id, resource in self.template.of_type("AWS::DynamoDB::Table").items():
            props = resource.get("Properties") or {}
            request: dict[str, Any] = {
                "TableName": logical_id,
                "KeySchema": props["KeySchema"],
                "AttributeDefinitions": props["AttributeDefinitions"],
                "BillingMode": "PAY_PER_REQUEST",
            }
            if props.get("GlobalSecondaryIndexes"):
                request["GlobalSecondaryIndexes"] = [
                    {
                        k: v
                        for k, v in index.items()
                        if k in ("IndexName", "KeySchema", "Projection")
                    }
                    for index in props["GlobalSecondaryIndexes"]
                ]
            with contextlib.suppress(dynamodb.exceptions.ResourceInUseException):
                dynamodb.create_table(**request)
        sqs = session.client("sqs")
        for logical_id in self.template.of_type("AWS::SQS::Queue"):
            sqs.create_queue(QueueName=logical_id)
        events = session.client("events")
        for logical_id in self.template.of_type("AWS::Events::EventBus"):
            with contextlib.suppress(events.exceptions.ResourceAlreadyExistsException):
                events.create_event_bus(Name=self.template.physical_names[logical_id])
        senders = {f.environment.get("SENDER_EMAIL") for f in self.template.functions.values()}
        ses = session.client("ses")
        for sender in filter(None, senders):
            ses.verify_email_identity(EmailAddress=sender)
        for handler, arguments in self.template.seeds:
            module_name, _, attribute = handler.rpartition(".")
            getattr(importlib.import_module(module_name), attribute)(*arguments)

    # ----------------------------------------------------------------- executions

    def machine(self, spec: StateMachineSpec) -> StateMachine:
        machine = self._machines.get(spec.arn)
        if machine is None:
            machine = StateMachine(
                spec.definition_text(), name=spec.name, region=REGION, account=ACCOUNT
            )
            self._machines[spec.arn] = machine
        return machine

    async def execute(
        self, reference: str, input: Any, *, name: str | None = None, started_by: str = "you"
    ) -> ExecutionResult:
        """Run one execution of a template state machine to its end."""
        spec = self.template.state_machine(reference)
        result = await self.machine(spec).execute(
            input, clock=self.clock, name=name, runner=self.runner
        )
        self.records.append(ExecutionRecord(spec.logical_id, started_by, result))
        return result

    async def drain(self) -> None:
        """Wait until every delivery and every execution started along the way has ended."""
        while self._background.tasks:
            await asyncio.gather(*list(self._background.tasks), return_exceptions=True)

    async def _start_execution_task(
        self, state_machine_arn: str, input: str, name: str | None, *, wait: bool
    ) -> Mapping[str, Any]:
        spec = next(
            (s for s in self.template.state_machines.values() if s.arn == state_machine_arn), None
        )
        if spec is None:
            from workflows.engine.errors import StatesError

            raise StatesError(
                "StepFunctions.StateMachineDoesNotExistException",
                f"State Machine Does Not Exist: '{state_machine_arn}'",
            )
        name = name or str(uuid.uuid4())
        run = self._background.spawn(
            self.execute(spec.logical_id, json.loads(input), name=name, started_by="a Task")
        )
        if not wait:
            execution_arn = f"arn:aws:states:{REGION}:{ACCOUNT}:execution:{spec.name}:{name}"
            return {"executionArn": execution_arn, "startDate": self.clock.now()}
        result: ExecutionResult = await run
        described: dict[str, Any] = {
            "executionArn": result.execution_arn,
            "stateMachineArn": spec.arn,
            "name": result.name,
            "status": result.status,
            "startDate": result.start_date,
            "stopDate": result.stop_date,
            "input": json.dumps(result.input),
        }
        if result.status == "SUCCEEDED":
            described["output"] = json.dumps(result.output)
        else:
            described["error"], described["cause"] = result.error, result.cause
        return described

    # ---------------------------------------------------------- events and queues

    def _follow_rules(self, put_events: ServiceIntegration) -> ServiceIntegration:
        async def put_events_then_route(request: TaskRequest) -> Any:
            response = await put_events(request)
            entries = (request.parameters or {}).get("Entries") or []
            for entry in entries:
                self.publish(entry)
            return response

        return put_events_then_route

    def publish(self, entry: Mapping[str, Any]) -> list[str]:
        """Route one PutEvents entry through the template's rules; returns started machines."""
        detail = entry.get("Detail", {})
        event = {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": entry.get("DetailType"),
            "source": entry.get("Source"),
            "account": ACCOUNT,
            "time": iso_timestamp(self.clock.now())[:19] + "Z",
            "region": REGION,
            "resources": list(entry.get("Resources") or []),
            "detail": json.loads(detail) if isinstance(detail, str) else detail,
        }
        bus = entry.get("EventBusName") or "default"
        started = []
        for spec in self.template.state_machines.values():
            for rule in spec.rules:
                if rule.bus == bus and matches(rule.pattern, event):
                    started.append(spec.logical_id)
                    self._background.spawn(
                        self.execute(
                            spec.logical_id,
                            event,
                            started_by=f"rule {rule.name} ({event['detail-type']})",
                        )
                    )
        return started

    def _deliver_after(self, send_message: ServiceIntegration) -> ServiceIntegration:
        async def send_then_deliver(request: TaskRequest) -> Any:
            response = await send_message(request)
            queue_url = str((request.parameters or {}).get("QueueUrl", ""))
            queue = queue_url.rstrip("/").rsplit("/", 1)[-1]
            for function in self.template.functions.values():
                for source in function.sqs_sources:
                    if source.queue == queue:
                        self._background.spawn(self.deliver(function, queue_url, source.batch_size))
            return response

        return send_then_deliver

    async def deliver(self, function: FunctionSpec, queue_url: str, batch_size: int) -> int:
        """Hand the queue's waiting messages to ``function`` as SQS batches; returns how many."""
        sqs = self._session_factory().client("sqs")
        queue_arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{queue_url.rsplit('/', 1)[-1]}"
        delivered = 0
        with self.clock.busy():
            while True:
                received = await asyncio.to_thread(
                    sqs.receive_message,
                    QueueUrl=queue_url,
                    MaxNumberOfMessages=min(10, batch_size),
                    AttributeNames=["All"],
                    MessageAttributeNames=["All"],
                )
                messages = received.get("Messages") or []
                if not messages:
                    return delivered
                event = {"Records": [_sqs_record(m, queue_arn) for m in messages]}
                response = await self.lambdas.invoke(function.arn, event, self.clock)
                failed = {
                    item.get("itemIdentifier")
                    for item in (response or {}).get("batchItemFailures", [])
                    if isinstance(response, dict)
                }
                done = [m for m in messages if m["MessageId"] not in failed]
                for message in done:
                    await asyncio.to_thread(
                        sqs.delete_message,
                        QueueUrl=queue_url,
                        ReceiptHandle=message["ReceiptHandle"],
                    )
                delivered += len(done)
                if failed:
                    return delivered  # the rest comes back after the visibility timeout


def _sqs_record(message: Mapping[str, Any], queue_arn: str) -> dict[str, Any]:
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message.get("Attributes", {}),
        "messageAttributes": message.get("MessageAttributes", {}),
        "md5OfBody": message.get("MD5OfBody"),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": REGION,
    }
