"""Lambda sandboxes as processes: what ``workflows up`` runs each function in.

On Lambda, a function's concurrency is a number of sandboxes: each is a process that
imported the function's module once (a cold start), keeps its module state and SDK
clients between invocations (warm starts), and handles one invocation at a time. More
invocations at once means more sandboxes, up to the function's concurrency limit;
beyond it, invocations wait. A sandbox that crashes or runs out of time is thrown
away and the next invocation gets a fresh one.

Here a sandbox is a worker process forked from one fork server
(``multiprocessing``'s "forkserver"), which imported the libraries handlers spend
their cold start on and parsed the botocore models they use
(``sandbox_preload.py``). The worker sets its function's environment (the runtime's
endpoints and credentials, the template's variables, ``AWS_LAMBDA_FUNCTION_NAME``
and the other variables Lambda sets), imports the handler, and then serves
invocations over a pipe: the request body in, the response body (or the runtime's
error document) out. It calls the handler through the engine's ``InProcessLambdas``,
so results are marshalled, errors documented (the stack trace starts at the
handler), and logs captured for ``LogType: Tail`` exactly as in-process sandboxes do.

``ProcessLambdas`` is the function registry the local app hands to the engine, the
API Gateway and the SQS pollers: one ``SandboxPool`` per function.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import importlib
import multiprocessing
import os
import pickle
import signal
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any, Final

from workflows.engine.clock import Clock, RealClock
from workflows.engine.errors import StatesError
from workflows.engine.lambdas import (
    MEMORY_SIZE_MB,
    FunctionError,
    InProcessLambdas,
    Invocation,
    LambdaContext,
    function_name_of,
    parse_body,
    to_json_bytes,
)
from workflows.local import spans

__all__ = [
    "BACKGROUND_NICENESS",
    "DEFAULT_CONCURRENCY",
    "PLAIN_BOTOCORE_VARIABLE",
    "FunctionSandboxSpec",
    "ProcessLambdas",
    "SandboxPool",
    "sandbox_environment",
]

# Sandboxes per function unless told otherwise: one per core (2 to 4). Enough that the
# API's function serves two clients at once and a Map's iterations overlap; more
# only competes for the same cores: 4 per function on 2 cores placed orders slower than
# 2 (docs/benchmarks-history.md), and each sandbox is a process of ~25-30 MB of its own.
DEFAULT_CONCURRENCY = max(2, min(4, os.cpu_count() or 1))


# The niceness of the sandboxes of functions no HTTP client waits on. On AWS an API's
# answer does not wait for the executions it started; here they share the cores, and
# under load the API's function got a third of them: orders waited seconds to be accepted.
BACKGROUND_NICENESS = 10


# Set to "1" in the runtime's environment, the sandboxes' botocore sends and signs its
# requests its own way (urllib3, botocore's signer) instead of sandbox_botocore's: the
# same requests, for more CPU; a way out should the lean path ever be wrong.
PLAIN_BOTOCORE_VARIABLE = "WORKFLOWS_SANDBOX_PLAIN_BOTOCORE"


# How long an idle sandbox is kept warm. Lambda does not say; it keeps them for minutes.
IDLE_SECONDS = 300.0


@dataclass(frozen=True)
class FunctionSandboxSpec:
    """What a sandbox of one function needs: its name, handler, environment and limits."""

    name: str
    handler: str  # module.function
    environment: Mapping[str, str]  # the template's variables of the function
    timeout_seconds: float
    region: str
    account: str
    # added to the sandbox's scheduling niceness: functions no one waits on at a terminal
    # (Tasks, queue consumers) yield the cores to the ones answering an HTTP request
    niceness: int = 0


def sandbox_environment(
    base: Mapping[str, str], function_env: Mapping[str, str], name: str, handler: str, region: str
) -> dict[str, str]:
    """A sandbox's environment: the runtime's (endpoints, credentials), the function's
    variables from the template, and what Lambda sets for every function."""
    environment = dict(base)
    environment.update(function_env)
    environment.update(
        {
            "AWS_LAMBDA_FUNCTION_NAME": name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(MEMORY_SIZE_MB),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": time.strftime("%Y/%m/%d/[$LATEST]") + uuid.uuid4().hex,
            "AWS_REGION": region,
            "AWS_DEFAULT_REGION": environment.get("AWS_DEFAULT_REGION", region),
            "_HANDLER": handler,
            # what `sam local` sets: Powertools' Tracer stays off without an X-Ray daemon
            "AWS_SAM_LOCAL": "true",
        }
    )
    return environment


# ---------------------------------------------------------------- the worker process


def _serve(connection: Connection, spec: FunctionSandboxSpec, environment: dict[str, str]) -> None:
    """The sandbox: import the handler once, then one invocation at a time until EOF."""
    os.environ.clear()
    os.environ.update(environment)
    # the runtime stops its sandboxes itself; Ctrl-C in the terminal reaches the whole
    # process group, and a sandbox should not die of it in the middle of an invocation
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if spec.niceness:
        os.nice(spec.niceness)
    if environment.get(PLAIN_BOTOCORE_VARIABLE, "") != "1":
        # the handler's AWS calls: the same requests, for less CPU (sandbox_botocore.py)
        from workflows.local.sandbox_botocore import install

        install()
    from workflows.engine.sync_runner import run_sync

    module_name, _, attribute = spec.handler.rpartition(".")
    try:
        handler = getattr(importlib.import_module(module_name), attribute)
    except Exception as error:  # what the Lambda runtime answers for a bad Handler
        connection.send(("import_error", f"Unable to import module {spec.handler!r}: {error}"))
        return
    # the handler's module and its clients live as long as the sandbox (as in the fork
    # server: collections then leave the pages shared with it alone)
    gc.freeze()
    lambdas = InProcessLambdas(
        {spec.name: handler},
        region=spec.region,
        account=spec.account,
        timeout_seconds=spec.timeout_seconds,
    )
    clock = RealClock()
    spans.enabled()  # WORKFLOWS_SPANS: this sandbox marks its invocations
    connection.send(("ready", os.getpid()))
    while True:
        try:
            reference, request_id, body, log = connection.recv()
        except (EOFError, OSError):
            return
        spans.invocation = request_id
        spans.mark("sandbox.received", request_id, spec.name)
        try:
            invocation = run_sync(
                lambdas.call(reference, None, clock, request_id=request_id, body=body, log=log)
            )
            reply: tuple[Any, ...] = ("ok", invocation.body, invocation.body_is_raw, invocation.log)
        except FunctionError as error:
            reply = ("function_error", error.document)
        except StatesError as error:
            reply = ("error", error.error, error.cause)
        spans.mark("sandbox.done", request_id)
        connection.send(reply)


# ------------------------------------------------------------------ the runtime side

# the protocol Connection.send pickles with (ForkingPickler's default)
_PROTOCOL: Final = pickle.DEFAULT_PROTOCOL

_context_lock = threading.Lock()
_context: Any = None


def _fork_server() -> Any:
    """The multiprocessing context whose fork server preloads the handlers' libraries."""
    global _context
    with _context_lock:
        if _context is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(["workflows.local.sandbox_preload"])
            _context = context
        return _context


class SandboxDied(Exception):
    """The sandbox's process ended while it handled an invocation."""

    def __init__(self, exit_code: int | None) -> None:
        super().__init__(exit_code)
        self.exit_code = exit_code


class ProcessSandbox:
    """One sandbox: a worker process serving one invocation at a time."""

    def __init__(self, spec: FunctionSandboxSpec) -> None:
        self.spec = spec
        self.process: Any = None
        self.pid: int | None = None
        self._connection: Connection | None = None
        self.broken = False
        self.uses = 0  # invocations handled
        # the one pending reclaim of this sandbox while it is idle (see SandboxPool)
        self.idle_timer: asyncio.TimerHandle | None = None
        self.idle_since = 0.0  # the loop's time at the end of its last invocation
        # the pipe is watched from the first reply on, not added to and removed from the
        # loop's selector for every reply; ``_ready`` is the reply being waited for
        self._watching: asyncio.AbstractEventLoop | None = None
        self._ready: asyncio.Future[Any] | None = None

    async def start(self) -> None:
        """Fork the worker and wait until it imported its handler (the cold start)."""
        context = _fork_server()
        ours, theirs = context.Pipe()
        spec = self.spec
        # the runtime's environment as it is now (its endpoints, credentials), the
        # function's variables, and Lambda's
        environment = sandbox_environment(
            os.environ, spec.environment, spec.name, spec.handler, spec.region
        )
        process = context.Process(
            target=_serve,
            args=(theirs, spec, environment),
            name=f"sandbox-{spec.name}",
            daemon=True,
        )
        self.process, self._connection = process, ours
        try:
            await asyncio.to_thread(process.start)
            theirs.close()
            message = await self._receive()
        except BaseException:
            await self.kill()
            raise
        if message[0] == "import_error":
            await self.kill()
            raise _import_error(message[1])
        self.pid = int(message[1])

    async def _receive(self, timeout: float | None = None) -> Any:
        """The worker's next message; ``SandboxDied`` if it ended instead, ``TimeoutError``
        if none came within ``timeout`` seconds."""
        connection = self._connection
        assert connection is not None
        loop = asyncio.get_running_loop()
        ready: asyncio.Future[Any] = loop.create_future()
        if self._watching is not loop:
            self._unwatch()
            loop.add_reader(connection.fileno(), self._readable)
            self._watching = loop
        self._ready = ready
        # a timer on the wait itself, not a timeout scope around it (its task bookkeeping)
        expiry = None if timeout is None else loop.call_later(timeout, _expire, ready)
        try:
            return await ready
        except TimeoutError:  # (an OSError too)
            raise
        except (EOFError, OSError):
            self.broken = True
            raise SandboxDied(await self._exit_code()) from None
        finally:
            self._ready = None
            if expiry is not None:
                expiry.cancel()

    def _readable(self) -> None:
        """The worker wrote: the message is read here, at once (a readiness left for
        later would be reported again before it is read)."""
        ready, connection = self._ready, self._connection
        if ready is None or ready.done() or connection is None:
            # nobody waits: an idle sandbox whose worker ended (EOF); stop watching (the
            # next invocation watches again and finds the end, as it did before)
            self._unwatch()
            return
        try:
            ready.set_result(connection.recv())
        except (EOFError, OSError) as error:
            ready.set_exception(error)

    def _unwatch(self) -> None:
        """Stop watching the pipe (before it is closed, or on another loop)."""
        loop, self._watching = self._watching, None
        if loop is not None and self._connection is not None and not loop.is_closed():
            loop.remove_reader(self._connection.fileno())

    async def _exit_code(self) -> int | None:
        process = self.process
        if process is None:
            return None
        await asyncio.to_thread(process.join, 5)
        code: int | None = process.exitcode
        return code

    async def invoke(self, reference: str, request_id: str, body: bytes, log: bool) -> Any:
        """Send one invocation and wait for its reply; a cancelled wait kills the worker
        (a Task's TimeoutSeconds stops the handler as Lambda's runtime would)."""
        assert self._connection is not None
        try:
            # what Connection.send writes, without a ForkingPickler made for each (its
            # dispatch table copied): the worker's recv() reads it the same
            message = pickle.dumps((reference, request_id, body, log), _PROTOCOL)
            self._connection.send_bytes(message)
        except (OSError, ValueError):  # the pipe is gone: the worker ended
            self.broken = True
            raise SandboxDied(await self._exit_code()) from None
        try:
            return await self._receive(self.spec.timeout_seconds)
        except SandboxDied:
            raise
        except BaseException:  # out of time, or the caller gave up waiting
            self.broken = True
            await asyncio.shield(self.kill())
            raise

    async def kill(self) -> None:
        self.broken = True
        process, self.process = self.process, None
        if self._connection is not None:
            self._unwatch()
            self._connection.close()
            self._connection = None
        if process is not None:
            with contextlib.suppress(Exception):
                process.kill()
            with contextlib.suppress(Exception):
                await asyncio.to_thread(process.join, 5)
            self.process = process  # for its exit code


def _expire(ready: asyncio.Future[Any]) -> None:
    if not ready.done():
        ready.set_exception(TimeoutError())


class SandboxPool:
    """One function's sandboxes: created on demand up to ``limit``, warm ones reused."""

    def __init__(
        self,
        spec: FunctionSandboxSpec,
        limit: int,
        idle_seconds: float = IDLE_SECONDS,
        *,
        keep_warm: int = 0,
        start_with: int = 0,
    ) -> None:
        self.spec = spec
        self.limit = max(1, limit)
        # a sandbox unused this long is stopped, as Lambda reclaims idle sandboxes: the
        # memory a burst took comes back, and the next invocation is a cold start again
        self.idle_seconds = idle_seconds
        # sandboxes started by ``prewarm`` and never reclaimed, as Lambda keeps a
        # function's provisioned concurrency initialized
        self.keep_warm = min(keep_warm, self.limit)
        # sandboxes started by ``prewarm`` too, but reclaimed when idle like any other: a
        # runtime's first burst of work does not pay for their cold starts all at once
        self.start_with = min(max(start_with, self.keep_warm), self.limit)
        # (binds to a loop only when it first makes a caller wait, Python 3.10+)
        self._slots = asyncio.Semaphore(self.limit)
        self._idle: list[ProcessSandbox] = []
        self._busy: set[ProcessSandbox] = set()
        self._stopping: set[asyncio.Task[None]] = set()
        self.started = 0  # cold starts so far

    @property
    def sandboxes(self) -> list[ProcessSandbox]:
        return [*self._idle, *self._busy]

    async def prewarm(self) -> None:
        """Start sandboxes until ``start_with`` (at least ``keep_warm``) are up (their cold
        starts side by side): the invocations that come next find them initialized."""
        missing = self.start_with - len(self._idle) - len(self._busy)
        started = await asyncio.gather(
            *(self._start_idle() for _ in range(missing)), return_exceptions=True
        )
        failed = [error for error in started if isinstance(error, BaseException)]
        if failed and len(self._idle) + len(self._busy) < self.keep_warm:
            raise failed[0]
        # one not kept warm that could not start (its handler does not import, ...) is
        # left to its first invocation, which answers with what Lambda answers then

    async def _cold_start(self) -> ProcessSandbox:
        """A new sandbox, started and counted busy (one that fails to start is killed)."""
        sandbox = ProcessSandbox(self.spec)
        self._busy.add(sandbox)
        try:
            await sandbox.start()
        except BaseException:
            self._busy.discard(sandbox)
            raise
        self.started += 1
        return sandbox

    async def _start_idle(self) -> None:
        async with self._slots:
            sandbox = await self._cold_start()
            self._busy.discard(sandbox)
            self._idle.append(sandbox)
            self._arm(sandbox, asyncio.get_running_loop())

    async def invoke(self, reference: str, request_id: str, body: bytes, log: bool) -> Any:
        async with self._slots:
            # the most recently used sandbox first, as Lambda keeps the warmest
            sandbox = self._idle.pop() if self._idle else None
            if sandbox is None:
                spans.mark("pool.cold", spans.current.get(), self.spec.name)
                sandbox = await self._cold_start()
            else:
                self._busy.add(sandbox)
            spans.mark("pool.sent", spans.current.get(), request_id)
            try:
                return await sandbox.invoke(reference, request_id, body, log)
            finally:
                self._busy.discard(sandbox)
                if sandbox.broken:
                    await asyncio.shield(sandbox.kill())
                else:
                    self._idle.append(sandbox)
                    sandbox.uses += 1
                    # one timer per sandbox, not one per invocation: a timer per
                    # invocation stayed scheduled for idle_seconds (5 min) each, ~11
                    # per order under load (issue #13's memory); and it is not moved at
                    # each invocation either: when it fires, it looks at the last one
                    self._arm(sandbox, asyncio.get_running_loop())

    def _arm(self, sandbox: ProcessSandbox, loop: asyncio.AbstractEventLoop) -> None:
        """``sandbox`` is idle from now: reclaim it after ``idle_seconds`` unless used."""
        sandbox.idle_since = loop.time()
        if sandbox.idle_timer is None:
            sandbox.idle_timer = loop.call_at(
                sandbox.idle_since + self.idle_seconds, self._reclaim, sandbox
            )

    def _reclaim(self, sandbox: ProcessSandbox) -> None:
        """Stop ``sandbox`` if it has stayed idle ``idle_seconds`` since its last invocation;
        else look again then."""
        sandbox.idle_timer = None
        if sandbox not in self._idle:
            return  # busy (its release sets a timer again), or stopped
        if len(self._idle) + len(self._busy) <= self.keep_warm:
            return  # kept warm (its next release sets a timer again)
        loop = asyncio.get_running_loop()
        due = sandbox.idle_since + self.idle_seconds
        if loop.time() < due:
            sandbox.idle_timer = loop.call_at(due, self._reclaim, sandbox)
            return
        self._idle.remove(sandbox)
        stopping = asyncio.ensure_future(sandbox.kill())
        self._stopping.add(stopping)
        stopping.add_done_callback(self._stopping.discard)

    async def close(self) -> None:
        sandboxes, self._idle = [*self._idle, *self._busy], []
        self._busy.clear()
        for sandbox in sandboxes:
            if sandbox.idle_timer is not None:
                sandbox.idle_timer.cancel()
                sandbox.idle_timer = None
        await asyncio.gather(
            *(s.kill() for s in sandboxes), *self._stopping, return_exceptions=True
        )


class ProcessLambdas(InProcessLambdas):
    """The template's functions, each run in a pool of process sandboxes.

    ``before`` is awaited first (for Task states: the history so far is stored).
    """

    def __init__(
        self,
        pools: Mapping[str, SandboxPool],
        *,
        region: str,
        account: str,
        before: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        super().__init__({}, region=region, account=account)
        self.pools = dict(pools)
        self._before = before

    def __contains__(self, reference: str) -> bool:
        return function_name_of(reference) in self.pools

    def with_before(self, before: Callable[[], Awaitable[None]]) -> ProcessLambdas:
        """The same pools, awaiting ``before`` ahead of each invocation."""
        return ProcessLambdas(self.pools, region=self.region, account=self.account, before=before)

    async def call(
        self,
        reference: str,
        event: Any,
        clock: Clock,
        *,
        request_id: str | None = None,
        body: bytes | None = None,
        log: bool = False,
    ) -> Invocation:
        if self._before is not None:
            await self._before()
        pool = self.pools.get(function_name_of(reference))
        if pool is None:  # Lambda.ResourceNotFoundException, as in-process
            return await super().call(
                reference, event, clock, request_id=request_id, body=body, log=log
            )
        arn = self.arn_of(reference)
        request_id = request_id or str(uuid.uuid4())
        requested_at = clock.now()
        payload = to_json_bytes(event) if body is None else body
        with clock.busy():
            try:
                reply = await pool.invoke(reference, request_id, payload, log)
            except SandboxDied as died:
                raise FunctionError(_exit_error(request_id, died.exit_code)) from None
            except TimeoutError:
                raise FunctionError(_timed_out(request_id, pool.spec.timeout_seconds)) from None
        kind = reply[0]
        if kind == "ok":
            _, response, raw, text = reply
            # the context the worker's handler saw, as the caller reads it
            context = LambdaContext(
                pool.spec.name, arn, pool.spec.timeout_seconds, clock, request_id, requested_at
            )
            return Invocation(context, arn, response, parse_body(response), raw, text, requested_at)
        if kind == "function_error":
            raise FunctionError(reply[1])
        raise StatesError(reply[1], reply[2])

    async def prewarm(self) -> None:
        """Start the sandboxes each pool keeps warm (``SandboxPool.keep_warm``)."""
        await asyncio.gather(*(pool.prewarm() for pool in self.pools.values()))

    def warm_up(self) -> None:
        """Start the fork server now and wait until it has imported the handlers'
        libraries (~1 s of CPU), so that the first invocation pays only for its own
        sandbox and an idle runtime is idle. Blocks; call it off the loop."""
        context = _fork_server()
        # the fork server forks only once its preload is done: a process that does
        # nothing is there when the server is ready
        probe = context.Process(target=os.getpid, name="sandbox-warm-up", daemon=True)
        probe.start()
        probe.join(60)

    async def close(self) -> None:
        """Stop every sandbox (the runtime is stopping)."""
        await asyncio.gather(*(pool.close() for pool in self.pools.values()))


def _import_error(message: str) -> StatesError:
    import json

    return StatesError(
        "Runtime.ImportModuleError",
        json.dumps(
            {"errorMessage": message, "errorType": "Runtime.ImportModuleError", "stackTrace": []}
        ),
    )


def _exit_error(request_id: str, exit_code: int | None) -> dict[str, Any]:
    """Lambda's error document for a runtime that exited during an invocation."""
    if exit_code is not None and exit_code < 0:
        how = f"signal: {signal.Signals(-exit_code).name.removeprefix('SIG').lower()}"
        if how == "signal: kill":
            how = "signal: killed"
    else:
        how = f"exit status {exit_code if exit_code is not None else 'unknown'}"
    return {
        "errorMessage": f"RequestId: {request_id} Error: Runtime exited with error: {how}",
        "errorType": "Runtime.ExitError",
    }


def _timed_out(request_id: str, seconds: float) -> dict[str, Any]:
    """Lambda's error document for an invocation that outlived the function's Timeout."""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
    return {
        "errorMessage": f"{stamp}Z {request_id} Task timed out after {seconds:.2f} seconds",
        "errorType": "Sandbox.Timedout",
    }
