"""The application of a SAM template, running in one process.

``LocalApp`` wires what the template declares to the engine: every
``AWS::Serverless::Function`` becomes a Lambda run in sandboxes (in-process, its
``Handler`` imported on first use; or, under ``workflows up``, a pool of worker
processes per function: ``sandbox_pool.py``), service integrations go through
boto3 to whatever endpoint boto3 is pointed at (moto in ``workflows run``, the
local services under ``workflows up``), ``events:putEvents`` is followed by the
template's EventBridge rules (matching events start their target state machines),
and a message sent to a queue that a function consumes is delivered to that
function as an SQS batch, with partial batch failures honoured. Deliveries and
rule targets run as tracked tasks; ``drain`` waits for all of them, so a run ends
only when everything it caused has ended.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import importlib
import json
import re
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Mapping
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from botocore.exceptions import ClientError

from workflows.engine import StateMachine, TaskTokens
from workflows.engine.clock import Clock, RealClock, held_still
from workflows.engine.errors import StatesError
from workflows.engine.frame import iso_timestamp
from workflows.engine.history import History
from workflows.engine.lambdas import HandlerMode, InProcessLambdas, function_name_of
from workflows.engine.machine import ExecutionResult
from workflows.engine.tasks import ServiceIntegration, TaskRequest, TaskRunner
from workflows.integrations import aws_integrations, new_session
from workflows.local.event_patterns import matches
from workflows.local.template import ACCOUNT, REGION, FunctionSpec, StateMachineSpec, Template

if TYPE_CHECKING:
    from workflows.integrations import StartExecutionFn
    from workflows.local.sandbox_pool import ProcessLambdas

__all__ = [
    "ExecutionListener",
    "ExecutionRecord",
    "ExecutionStarting",
    "LocalApp",
    "SandboxKind",
]

# "in-process": each function's module imported into this process, one invocation at a
# time per function (``workflows run``, tests); "process": each function a pool of
# worker processes, as Lambda runs it (``workflows up``; sandbox_pool.py)
SandboxKind = Literal["in-process", "process"]

# an optimized integration a definition names: "dynamodb:updateItem" of its Task's ARN
_INTEGRATION = re.compile(r"arn:aws:states:::([a-z0-9-]+:[A-Za-z0-9]+)")


class _LazyHandler:
    """A handler given as ``module.function``, imported when first called."""

    def __init__(self, reference: str) -> None:
        self.reference = reference
        self._function: Callable[[Any, Any], Any] | None = None

    def resolve(self) -> Callable[[Any, Any], Any]:
        if self._function is None:
            module_name, _, attribute = self.reference.rpartition(".")
            self._function = getattr(importlib.import_module(module_name), attribute)
        return self._function

    def __call__(self, event: Any, context: Any) -> Any:
        return self.resolve()(event, context)


class _Sandbox:
    """One function's sandbox: its module imported once (its SDK clients and other
    module state kept between invocations), one invocation at a time."""

    def __init__(
        self,
        name: str,
        handler: _LazyHandler,
        mode: HandlerMode,
        threads: ThreadPoolExecutor,
        timeout_seconds: float,
    ) -> None:
        self.name = name
        self.handler = handler
        self.mode = mode
        self.threads = threads
        # the function's Timeout: what context.get_remaining_time_in_millis() counts
        # down from (Powertools Idempotency keeps an IN_PROGRESS record that long)
        self.timeout_seconds = timeout_seconds
        self._lambdas: InProcessLambdas | None = None
        self._loading: asyncio.Lock | None = None

    async def lambdas(self) -> InProcessLambdas:
        """The function's runner, once its module is imported (a cold start)."""
        if self._lambdas is None:
            self._loading = self._loading or asyncio.Lock()
            async with self._loading:
                if self._lambdas is None:
                    function = await self._import()
                    # the engine calls the handler itself, so a stack trace starts there
                    self._lambdas = InProcessLambdas(
                        {self.name: function},
                        mode=self.mode,
                        region=REGION,
                        account=ACCOUNT,
                        timeout_seconds=self.timeout_seconds,
                        executor=self.threads,
                        one_at_a_time=True,
                    )
        return self._lambdas

    async def _import(self) -> Callable[[Any, Any], Any]:
        try:
            return await asyncio.get_running_loop().run_in_executor(
                self.threads, self.handler.resolve
            )
        except Exception as error:  # what the Lambda runtime answers for a bad Handler
            raise StatesError(
                "Runtime.ImportModuleError",
                json.dumps(
                    {
                        "errorMessage": f"Unable to import module {self.handler.reference!r}: "
                        f"{error}",
                        "errorType": "Runtime.ImportModuleError",
                        "stackTrace": [],
                    }
                ),
            ) from error


def started_by_task(parent: str | None) -> str:
    """What a child started by a parent's ``states:startExecution`` Task says started it:
    the parent's execution ARN (the console links it), or "a Task" if it is not known."""
    return parent if parent is not None else "a Task"


@dataclass
class ExecutionRecord:
    """One execution the app ran, and what started it."""

    state_machine: str
    started_by: str
    result: ExecutionResult


@dataclass(frozen=True)
class ExecutionStarting:
    """An execution about to record its first event, as execution listeners see it.

    ``task`` runs the execution; cancelling it stops the execution (ABORTED).
    """

    state_machine_arn: str
    execution_arn: str
    name: str
    input: Any
    history: History
    started_by: str
    task: asyncio.Task[ExecutionResult]


ExecutionListener = Callable[[ExecutionStarting], None]


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
        keep_records: bool = True,
        sandboxes: SandboxKind = "in-process",
        function_concurrency: int | None = None,
        make_bucket: Callable[[str], bool] | None = None,
    ) -> None:
        """``sandboxes`` says what a function runs in (see ``SandboxKind``);
        ``function_concurrency`` is the most process sandboxes of one function at once
        (default ``DEFAULT_CONCURRENCY``; a function's ReservedConcurrentExecutions in the
        template lowers it for that function). ``make_bucket``, given, makes a template
        bucket by its name without the S3 API (moto in this process: ``workflows run``)
        and says whether it did; a bucket it leaves is created through the API."""
        self.template = template
        self._make_bucket = make_bucket
        self.clock = clock or RealClock()
        self.tokens = TaskTokens()
        # every execution's result, for a run that ends (workflows run, tests); a
        # long-running server keeps them in its store instead
        self.keep_records = keep_records
        self.records: list[ExecutionRecord] = []
        # told of every execution the app runs (the Step Functions endpoint registers them);
        # a listener may raise to refuse the start (e.g. ExecutionAlreadyExists)
        self.execution_listeners: list[ExecutionListener] = []
        # states:startExecution goes here when set: the Step Functions service of
        # `workflows up` starts any machine it knows (the template's and those created
        # over its API); without it only the template's machines can be started
        self.nested_executions: StartExecutionFn | None = None
        # awaited before each effect of an execution (a Task, a Wait, a retry's back-off):
        # the Step Functions endpoint makes it "the history so far is stored"
        self.before_effect: Callable[[], Awaitable[None]] | None = None
        self._execution_clock = _EffectClock(self)
        self._session_factory = session_factory or (lambda: new_session(region_name=REGION))
        self._background = _Background()
        self._sqs: Any = None
        self._machines: dict[str, StateMachine] = {}
        self._process_lambdas: ProcessLambdas | None = None
        task_lambdas: InProcessLambdas
        if sandboxes == "process":
            # a pool of worker processes per function: one invocation at a time per
            # sandbox, up to the function's concurrency at once, functions side by side
            # (imported here: `workflows run` runs its functions in-process)
            from workflows.local.sandbox_pool import (
                BACKGROUND_NICENESS,
                DEFAULT_CONCURRENCY,
                FunctionSandboxSpec,
                ProcessLambdas,
                SandboxPool,
            )

            limit = function_concurrency or DEFAULT_CONCURRENCY
            pools = {
                f.logical_id: SandboxPool(
                    FunctionSandboxSpec(
                        f.logical_id,
                        f.handler,
                        dict(f.environment),
                        f.timeout,
                        REGION,
                        ACCOUNT,
                        niceness=0 if f.api_events else BACKGROUND_NICENESS,
                    ),
                    min(limit, f.reserved_concurrency or limit),
                    # an API's clients wait on its function: its sandboxes are started
                    # with the runtime and kept (``warm_sandboxes``), so that no request
                    # waits for a cold start, as provisioned concurrency does on Lambda
                    keep_warm=limit if f.api_events else 0,
                    # one of each other function's too, reclaimed when idle as usual:
                    # started on demand, they all cold-started in the first seconds of
                    # the first orders (~0.07 s of CPU each), taking the cores the API's
                    # clients needed (docs/benchmarks-history.md, `accept2`)
                    start_with=1,
                )
                for f in template.functions.values()
            }
            self._process_lambdas = ProcessLambdas(pools, region=REGION, account=ACCOUNT)
            self.lambdas: InProcessLambdas = self._process_lambdas
            task_lambdas = self._process_lambdas.with_before(self.effect_allowed)
        else:
            # one sandbox per function: a function handles one invocation at a time,
            # different functions run at the same time, each on a thread of its own
            # (so the API's function never queues behind the tasks')
            self._sandbox_threads = ThreadPoolExecutor(
                max_workers=len(template.functions) + 1, thread_name_prefix="lambda"
            )
            handlers = {f.logical_id: _LazyHandler(f.handler) for f in template.functions.values()}
            in_process = {
                name: _Sandbox(
                    name,
                    handler,
                    handler_mode,
                    self._sandbox_threads,
                    template.functions[name].timeout,
                )
                for name, handler in handlers.items()
            }
            self.lambdas = _Sandboxes(handlers, in_process)
            task_lambdas = _Sandboxes(handlers, in_process, before=self.effect_allowed)
        integrations: dict[str, ServiceIntegration] = aws_integrations(
            self._session_factory, start_execution=self._start_execution_task
        )
        self._service_integrations = dict(integrations)  # as made, for warm_integrations
        integrations["events:putEvents"] = self._follow_rules(integrations["events:putEvents"])
        integrations["sqs:sendMessage"] = self._deliver_after(integrations["sqs:sendMessage"])
        self.runner = TaskRunner(
            task_lambdas,
            {key: self._after_stored(call) for key, call in integrations.items()},
            self.tokens,
        )

    async def close(self) -> None:
        """Stop the functions' sandbox processes, if any (the runtime is stopping)."""
        if self._process_lambdas is not None:
            await self._process_lambdas.close()

    @property
    def execution_clock(self) -> Clock:
        """The clock executions run on (a wait starts once the history is stored)."""
        return self._execution_clock

    # ------------------------------------------------------------------ resources

    def session(self) -> Any:
        """A boto3 session for the application's AWS services (local ones here)."""
        return self._session_factory()

    def environment(self) -> dict[str, str]:
        """The functions' environment variables (the union; the template keeps them equal)."""
        merged: dict[str, str] = {}
        for function in self.template.functions.values():
            merged.update(function.environment)
        return merged

    def provision(self) -> None:
        """Create the template's tables, queues, buses, buckets and sender identities
        (and start the sandboxes' fork server, when functions run in processes)."""
        if self._process_lambdas is not None:
            self._process_lambdas.warm_up()
        session = self._session_factory()
        dynamodb = session.client("dynamodb")
        for request in table_requests(self.template):
            with contextlib.suppress(dynamodb.exceptions.ResourceInUseException):
                dynamodb.create_table(**request)
        sqs = session.client("sqs")
        queues = self.template.of_type("AWS::SQS::Queue")
        # dead-letter queues first: a redrive policy names an existing queue
        for logical_id in sorted(queues, key=lambda q: "RedrivePolicy" in _properties(queues[q])):
            attributes = _queue_attributes(
                self.template.resolve(_properties(queues[logical_id]), logical_id)
            )
            try:
                sqs.create_queue(QueueName=logical_id, Attributes=attributes)
            except sqs.exceptions.QueueNameExists:  # kept from a previous run, settings may differ
                url = sqs.get_queue_url(QueueName=logical_id)["QueueUrl"]
                sqs.set_queue_attributes(QueueUrl=url, Attributes=attributes)
        events = session.client("events")
        for logical_id in self.template.of_type("AWS::Events::EventBus"):
            with contextlib.suppress(events.exceptions.ResourceAlreadyExistsException):
                events.create_event_bus(Name=self.template.physical_names[logical_id])
        buckets = [
            self.template.physical_names[logical_id]
            for logical_id in self.template.of_type("AWS::S3::Bucket")
        ]
        if self._make_bucket is not None:
            buckets = [bucket for bucket in buckets if not self._make_bucket(bucket)]
        if buckets:
            s3 = session.client("s3")
            for bucket in buckets:
                with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou):
                    s3.create_bucket(Bucket=bucket)
        senders = {f.environment.get("SENDER_EMAIL") for f in self.template.functions.values()}
        ses = session.client("ses")
        for sender in filter(None, senders):
            ses.verify_email_identity(EmailAddress=sender)
        for handler, arguments in self.template.seeds:
            module_name, _, attribute = handler.rpartition(".")
            getattr(importlib.import_module(module_name), attribute)(*arguments)

    async def warm_sandboxes(self) -> None:
        """Start the functions' sandboxes (process sandboxes only): those behind the API
        are kept, the others reclaimed when idle (``SandboxPool.start_with``)."""
        if self._process_lambdas is not None:
            await self._process_lambdas.prewarm()

    def warm_integrations(self) -> None:
        """Make the AWS clients the template's state machines call through optimized
        integrations now (a session, then a client per service: ~0.1 s of CPU), not in
        the first Task that calls each. Blocks; call it off the loop."""
        used: set[str] = set()
        for spec in self.template.state_machines.values():
            used.update(_INTEGRATION.findall(spec.definition_text()))
        for key in sorted(used):
            integration = self._service_integrations.get(key)
            integration = getattr(integration, "sender", integration)  # events:putEvents
            pool = getattr(integration, "pool", None)
            service = getattr(integration, "boto_service", None)
            if pool is not None and isinstance(service, str):
                pool.client(service)

    # ----------------------------------------------------------------- executions

    async def effect_allowed(self) -> None:
        if self.before_effect is not None:
            # storing is the runtime's chore: a virtual clock neither jumps nor flows meanwhile
            with held_still(self.clock):
                await self.before_effect()

    def _after_stored(self, call: ServiceIntegration) -> ServiceIntegration:
        async def stored_then_call(request: TaskRequest) -> Any:
            await self.effect_allowed()
            return await call(request)

        return stored_then_call

    def machine(self, spec: StateMachineSpec) -> StateMachine:
        machine = self._machines.get(spec.arn)
        if machine is None:
            props = self.template.resources.get(spec.logical_id, {}).get("Properties") or {}
            machine = StateMachine(
                spec.definition_text(),
                name=spec.name,
                region=REGION,
                account=ACCOUNT,
                machine_type="EXPRESS" if props.get("Type") == "EXPRESS" else "STANDARD",
            )
            self._machines[spec.arn] = machine
        return machine

    async def execute(
        self,
        reference: str,
        input: Any,
        *,
        name: str | None = None,
        started_by: str = "you",
        history: History | None = None,
        execution_arn: str | None = None,
    ) -> ExecutionResult:
        """Run one execution of a template state machine to its end."""
        spec = self.template.state_machine(reference)
        return await self.execute_machine(
            self.machine(spec),
            input,
            name=name,
            started_by=started_by,
            history=history,
            label=spec.logical_id,
            execution_arn=execution_arn,
        )

    async def execute_machine(
        self,
        machine: StateMachine,
        input: Any,
        *,
        name: str | None = None,
        started_by: str = "you",
        history: History | None = None,
        label: str | None = None,
        execution_arn: str | None = None,
        clock: Clock | None = None,
    ) -> ExecutionResult:
        """Run one execution of ``machine`` (from the template or not) on the app's runner.

        With execution listeners the execution runs as a task of its own, announced to
        each listener before it starts; if that task is cancelled (StopExecution) while
        the caller is not, the result is ABORTED instead of a ``CancelledError``.
        ``clock`` replaces the app's (an execution that resumes reads its stored times).
        """
        name = str(uuid.uuid4()) if name is None else name
        history = History() if history is None else history
        execution_arn = execution_arn or machine.execution_arn(name)
        execution = machine.execute(
            input,
            clock=clock or self._execution_clock,
            name=name,
            runner=self.runner,
            history=history,
            execution_arn=execution_arn,
        )
        if not self.execution_listeners:
            result = await execution
        else:
            result = await self._announced(
                machine, execution, input, name, started_by, history, execution_arn
            )
        if self.keep_records:
            self.records.append(ExecutionRecord(label or machine.name, started_by, result))
        return result

    async def _announced(
        self,
        machine: StateMachine,
        execution: Coroutine[Any, Any, ExecutionResult],
        input: Any,
        name: str,
        started_by: str,
        history: History,
        execution_arn: str,
    ) -> ExecutionResult:
        run: asyncio.Task[ExecutionResult] = asyncio.ensure_future(execution)
        starting = ExecutionStarting(
            machine.arn, execution_arn, name, input, history, started_by, run
        )
        try:
            for listener in self.execution_listeners:
                listener(starting)
        except BaseException:
            run.cancel()  # not started yet: nothing is recorded
            raise
        try:
            result = await run
            await self.effect_allowed()  # whoever awaits the end sees it stored
            return result
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if not run.cancelled() or (current is not None and current.cancelling()):
                raise
            events = history.events()
            return ExecutionResult(
                status="ABORTED",
                execution_arn=execution_arn,
                name=name,
                input=input,
                start_date=events[0]["timestamp"].timestamp() if events else self.clock.now(),
                stop_date=self.clock.now(),
                _history=history,
            )

    async def drain(self) -> None:
        """Wait until every delivery and every execution started along the way has ended."""
        while self._background.tasks:
            await asyncio.gather(*list(self._background.tasks), return_exceptions=True)

    async def _start_execution_task(
        self,
        state_machine_arn: str,
        input: str,
        name: str | None,
        *,
        wait: bool,
        parent: str | None = None,
    ) -> Mapping[str, Any]:
        if self.nested_executions is not None:
            return await self.nested_executions(
                state_machine_arn, input, name, wait=wait, parent=parent
            )
        spec = next(
            (s for s in self.template.state_machines.values() if s.arn == state_machine_arn), None
        )
        if spec is None:
            # as Step Functions answers it; the integration adds the SDK's suffix
            raise ClientError(
                {
                    "Error": {
                        "Code": "StateMachineDoesNotExist",
                        "Message": f"State Machine Does Not Exist: '{state_machine_arn}'",
                    },
                    "ResponseMetadata": {"HTTPStatusCode": 400, "RequestId": str(uuid.uuid4())},
                },
                "StartExecution",
            )
        name = name or str(uuid.uuid4())
        run = self._background.spawn(
            self.execute(
                spec.logical_id, json.loads(input), name=name, started_by=started_by_task(parent)
            )
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
            # the optimized integration appends the execution's and its state machine's
            # ARNs to each entry's Resources (AWS's "connect-eventbridge" page)
            machine_arn = _state_machine_of(request.execution_arn)
            for entry in entries:
                given = list(entry.get("Resources") or [])
                self.publish({**entry, "Resources": [*given, request.execution_arn, machine_arn]})
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

    def sqs(self) -> Any:
        """The app's SQS client, built once (boto3 clients are thread-safe)."""
        if self._sqs is None:
            self._sqs = self._session_factory().client("sqs")
        return self._sqs

    async def deliver(
        self,
        function: FunctionSpec,
        queue_url: str,
        batch_size: int,
        *,
        wait_seconds: int = 0,
        receiver: Executor | None = None,
    ) -> int:
        """Hand the queue's waiting messages to ``function`` as SQS batches; returns how many.

        ``wait_seconds`` long-polls for the first batch (as Lambda's poller does), on
        ``receiver``'s threads when given (a poll holds its thread while it waits).
        """
        sqs = self.sqs()
        queue_arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{queue_url.rsplit('/', 1)[-1]}"
        delivered = 0
        loop = asyncio.get_running_loop()
        while True:
            receive = functools.partial(
                sqs.receive_message,
                QueueUrl=queue_url,
                MaxNumberOfMessages=min(10, batch_size),
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
                WaitTimeSeconds=wait_seconds if not delivered else 0,
            )
            # a short receive keeps a virtual clock still (it is work under way); a long
            # poll is waiting, during which time may pass
            long_poll = bool(receive.keywords["WaitTimeSeconds"])
            with contextlib.nullcontext() if long_poll else self.clock.busy():
                received = await loop.run_in_executor(receiver, receive)
            messages = received.get("Messages") or []
            if not messages:
                return delivered
            with self.clock.busy():
                event = {"Records": [_sqs_record(m, queue_arn) for m in messages]}
                try:
                    response = await self.lambdas.invoke(function.arn, event, self.clock)
                except StatesError:
                    # the whole batch failed: every message comes back after the
                    # visibility timeout, and goes to the dead-letter queue in the end
                    return delivered
                failed = {
                    item.get("itemIdentifier")
                    for item in (response or {}).get("batchItemFailures", [])
                    if isinstance(response, dict)
                }
                done = [m for m in messages if m["MessageId"] not in failed]
                if done:
                    await asyncio.to_thread(
                        sqs.delete_message_batch,
                        QueueUrl=queue_url,
                        Entries=[
                            {"Id": str(index), "ReceiptHandle": m["ReceiptHandle"]}
                            for index, m in enumerate(done)
                        ],
                    )
                delivered += len(done)
                if failed:
                    return delivered  # the rest comes back after the visibility timeout


class _EffectClock:
    """The app's clock as executions see it: a wait starts once the history is stored."""

    def __init__(self, app: LocalApp) -> None:
        self._app = app

    def now(self) -> float:
        return self._app.clock.now()

    async def sleep(self, seconds: float) -> None:
        await self._app.effect_allowed()
        await self._app.clock.sleep(seconds)

    @contextlib.contextmanager
    def busy(self) -> Iterator[None]:
        with self._app.clock.busy():
            yield


class _Sandboxes(InProcessLambdas):
    """The template's functions, each invoked in its own sandbox.

    ``before`` is awaited first (for Task states: the history so far is stored). The
    sandbox (an ``InProcessLambdas`` of one function) reports a handler's error, so
    its stack trace starts at the handler, as Lambda's does.
    """

    def __init__(
        self,
        handlers: Mapping[str, Callable[[Any, Any], Any]],
        sandboxes: Mapping[str, _Sandbox],
        *,
        before: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        super().__init__(handlers, region=REGION, account=ACCOUNT)
        self._sandboxes = dict(sandboxes)
        self._before = before

    def timeout_of(self, name: str) -> float:
        sandbox = self._sandboxes.get(name)
        return super().timeout_of(name) if sandbox is None else sandbox.timeout_seconds

    async def invoke(
        self, reference: str, event: Any, clock: Clock, request_id: str | None = None
    ) -> Any:
        if self._before is not None:
            await self._before()
        sandbox = self._sandboxes.get(function_name_of(reference))
        if sandbox is None:
            return await super().invoke(reference, event, clock, request_id)  # not found
        lambdas = await sandbox.lambdas()
        return await lambdas.invoke(reference, event, clock, request_id)


def _state_machine_of(execution_arn: str) -> str:
    """arn:aws:states:R:A:execution:MACHINE:NAME -> arn:aws:states:R:A:stateMachine:MACHINE."""
    parts = execution_arn.split(":")
    return ":".join([*parts[:5], "stateMachine", parts[6]]) if len(parts) >= 8 else execution_arn


def table_requests(template: Template) -> Iterator[dict[str, Any]]:
    """A DynamoDB CreateTable request for each of the template's tables, named by its
    logical id (what ``provision`` creates; ``bench.handler_loop`` creates the same)."""
    for logical_id, resource in template.of_type("AWS::DynamoDB::Table").items():
        props = resource.get("Properties") or {}
        request: dict[str, Any] = {
            "TableName": logical_id,
            "KeySchema": props["KeySchema"],
            "AttributeDefinitions": props["AttributeDefinitions"],
            "BillingMode": "PAY_PER_REQUEST",
        }
        if props.get("GlobalSecondaryIndexes"):
            request["GlobalSecondaryIndexes"] = [
                {k: v for k, v in index.items() if k in ("IndexName", "KeySchema", "Projection")}
                for index in props["GlobalSecondaryIndexes"]
            ]
        yield request


def _properties(resource: Mapping[str, Any]) -> dict[str, Any]:
    return dict(resource.get("Properties") or {})


# the queue properties of CloudFormation that are SQS attributes of the same name
_QUEUE_ATTRIBUTES = (
    "DelaySeconds",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds",
    "VisibilityTimeout",
    "FifoQueue",
    "ContentBasedDeduplication",
)


def _queue_attributes(properties: Mapping[str, Any]) -> dict[str, str]:
    """A queue's SQS attributes as its template declares them."""
    attributes = {
        name: str(properties[name]).lower()
        if isinstance(properties[name], bool)
        else str(properties[name])
        for name in _QUEUE_ATTRIBUTES
        if name in properties
    }
    redrive = properties.get("RedrivePolicy")
    if isinstance(redrive, Mapping):
        attributes["RedrivePolicy"] = json.dumps(
            {
                "deadLetterTargetArn": redrive["deadLetterTargetArn"],
                "maxReceiveCount": int(redrive.get("maxReceiveCount", 10)),
            }
        )
    return attributes


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
