"""``workflows up``: the whole application on one machine, served over HTTP.

One process, one event loop, and a child process for moto. It starts:

- moto's server on ``aws`` (DynamoDB, SQS, SNS, SES, EventBridge) in a process of its
  own, with its journal and snapshots (``aws_services.py``), and the template's tables,
  queues, bus and identities created and seeded through it;
- the Step Functions endpoint on ``stepfunctions`` (boto3, the AWS CLI and the API
  Lambda talk to it through ``AWS_ENDPOINT_URL_SFN``), whose executions
  and history are kept in ``.workflows/executions.sqlite3``;
- API Gateway on ``api``: the template's Api events routed to their functions, and
  the JWKS of the local token issuer (``workflows token``);
- the SQS event sources (polled) and the schedules of the template;
- any other server given in ``servers`` (``workflows up`` gives the console), once the
  service is up: each gets the runtime and answers its runner, a name and an address.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from workflows.local import spans
from workflows.local.apigateway import create_app as create_api_app
from workflows.local.apigateway import invoke_with, routes_from_template
from workflows.local.app import LocalApp, SandboxKind
from workflows.local.aws_services import SERVICES_URL_ENV, AwsServices
from workflows.local.background import poll_queues, run_schedules
from workflows.local.executions import ExecutionService
from workflows.local.instance_lock import InstanceLock
from workflows.local.local_auth import LocalIssuer, template_overrides
from workflows.local.resume import resume_running
from workflows.local.run import fake_aws_environment
from workflows.local.service_data import SNAPSHOT_NAME
from workflows.local.service_journal import state_paths
from workflows.local.sfn_api import start_server
from workflows.local.shared_loader import share_botocore_loader
from workflows.local.store import ExecutionStore
from workflows.local.template import StateMachineSpec, load_template

__all__ = [
    "LocalRuntime",
    "PortInUse",
    "Ports",
    "ServerStarter",
    "client_environment",
    "forget_state",
]

# what ``--fresh`` and ``workflows reset`` remove (the signing key stays: tokens remain valid),
# with the services' snapshot, journal and object files
_STATE_FILES = (
    "executions.sqlite3",
    "executions.sqlite3-wal",
    "executions.sqlite3-shm",
)


def forget_state(state_dir: Path) -> list[Path]:
    """Remove the executions and the services' data kept in ``state_dir``; returns what was."""
    removed = []
    for path in [state_dir / name for name in _STATE_FILES] + state_paths(state_dir):
        if path.is_dir():
            shutil.rmtree(path)
            removed.append(path)
        elif path.exists():
            path.unlink()
            removed.append(path)
    return removed


class PortInUse(Exception):
    """A port the runtime needs is taken; ``role`` says which one (api, stepfunctions, aws)."""

    def __init__(self, role: str, host: str, port: int, problem: OSError) -> None:
        super().__init__(f"cannot listen on {host}:{port} for {role}: {problem.strerror}")
        self.role = role
        self.host = host
        self.port = port


@dataclass(frozen=True)
class Ports:
    host: str = "127.0.0.1"
    api: int = 3000
    stepfunctions: int = 8083
    aws: int = 4566

    def url(self, port: int) -> str:
        return f"http://{self.host}:{port}"


def client_environment(ports: Ports) -> dict[str, str]:
    """What a shell needs for boto3 and the AWS CLI to use the runtime unchanged
    (``eval "$(workflows env)"``): the endpoints, fake credentials and region, and no
    "sync-" host prefix (botocore sends StartSyncExecution and TestState to
    "sync-<host>", which does not resolve for 127.0.0.1)."""
    return {
        "AWS_ENDPOINT_URL": ports.url(ports.aws),
        "AWS_ENDPOINT_URL_SFN": ports.url(ports.stepfunctions),
        **fake_aws_environment(),
        "AWS_DISABLE_HOST_PREFIX_INJECTION": "true",
    }


class LocalRuntime:
    def __init__(
        self,
        template_path: Path,
        *,
        ports: Ports | None = None,
        state_dir: Path = Path(".workflows"),
        servers: Sequence[ServerStarter] = (),
        fresh: bool = False,
        snapshot_interval: float = 30.0,
        sandboxes: SandboxKind = "process",
        function_concurrency: int | None = None,
    ) -> None:
        self.template_path = template_path
        self.ports = ports or Ports()
        self.state_dir = state_dir
        self.fresh = fresh
        self.snapshot_interval = snapshot_interval
        # what the functions run in: a pool of worker processes each (sandbox_pool.py)
        self.sandboxes: SandboxKind = sandboxes
        self.function_concurrency = function_concurrency
        self.app: LocalApp | None = None
        self.service: ExecutionService | None = None
        # moto's process; every write it acknowledges is journaled first (issue #13)
        self.services: AwsServices | None = None
        # a message, once moto's process ended on its own (``workflows up`` then stops)
        self.services_stopped: asyncio.Future[str] | None = None
        self._lock = InstanceLock(state_dir)
        self._app_to_close: LocalApp | None = None
        self._runners: list[web.AppRunner] = []
        self._tasks: list[asyncio.Task[Any]] = []
        self._warming: asyncio.Task[None] | None = None  # the API's sandboxes starting
        self._servers = list(servers)
        self.addresses: list[tuple[str, str]] = []  # (name, address) of the extra servers

    async def start(self) -> None:
        """Lock the state directory, bind every port, then start serving and recover.

        Nothing is read from or written to the state directory before both the lock
        and every port are ours: a second instance, or a busy port, stops the start
        before it can touch the first instance's executions.
        """
        self._lock.acquire()
        if self.fresh:
            forget_state(self.state_dir)
        try:
            await self._start()
        except BaseException:
            await self.stop()
            raise

    async def _start(self) -> None:
        if spans.enabled():  # WORKFLOWS_SPANS: where requests' time goes (spans.py)
            spans.watch_loop()
            spans.watch_collections()
        share_botocore_loader()  # the runtime's and the sandboxes' sessions
        ports = self.ports
        api_socket = _listen("api", ports.host, ports.api)
        sfn_socket = _listen("stepfunctions", ports.host, ports.stepfunctions)
        aws_socket = _listen("aws", ports.host, ports.aws)
        # moto, its journal and its snapshots in a process of their own (aws_services.py)
        self.services = AwsServices(aws_socket, ports.url(ports.aws), self.state_dir)
        await self.services.start()
        self.services_stopped = self.services.stopped
        os.environ[SERVICES_URL_ENV] = self.services.url
        os.environ.update(fake_aws_environment())
        os.environ["AWS_ENDPOINT_URL"] = ports.url(ports.aws)
        os.environ["AWS_ENDPOINT_URL_SFN"] = ports.url(ports.stepfunctions)
        # botocore sends StartSyncExecution and TestState to "sync-<host>", which does not
        # resolve for 127.0.0.1: the functions' clients send them to the endpoint itself
        os.environ["AWS_DISABLE_HOST_PREFIX_INJECTION"] = "true"
        api_url = ports.url(ports.api)
        template = load_template(self.template_path, overrides=template_overrides(api_url))
        app = LocalApp(
            template,
            keep_records=False,
            sandboxes=self.sandboxes,
            function_concurrency=self.function_concurrency,
        )
        self._app_to_close = app
        os.environ.update(app.environment())
        await asyncio.to_thread(app.provision)
        # the functions' sandboxes start while the rest starts (no client waits for their
        # cold start; they are up before the runtime says it is)
        self._warming = warming = asyncio.create_task(app.warm_sandboxes())
        # the integrations' AWS clients, made now rather than in the first orders' Tasks
        await asyncio.to_thread(app.warm_integrations)
        # the services' data of the previous run (snapshot and journal), after the
        # template's resources exist; then a new snapshot, and every write is journaled
        await asyncio.to_thread(self.services.call, "recover")
        store = await asyncio.to_thread(
            ExecutionStore, self.state_dir / "executions.sqlite3", recover=False
        )
        service = ExecutionService(app, store)
        self.service = service
        runner, _ = await start_server(service, sock=sfn_socket)
        self._runners.append(runner)
        issuer = LocalIssuer.from_key_file(self.state_dir / "jwt-key.pem", issuer=f"{api_url}/")
        api = create_api_app(
            routes_from_template(template), invoke_with(app.lambdas, app.clock), jwks=issuer.jwks
        )
        api_runner = web.AppRunner(api, access_log=None)
        await api_runner.setup()
        self._runners.append(api_runner)
        # served before the sandboxes are all up: the API function's init fetches the
        # JWKS from it (workflows.api.app.warm_up); nobody else knows the runtime is up yet
        await web.SockSite(api_runner, api_socket).start()
        await warming

        async def scheduled(spec: StateMachineSpec, event: Any, by: str) -> None:
            await service.start_execution(spec.arn, json.dumps(event), started_by=by)

        self._tasks = [
            asyncio.ensure_future(poll_queues(app)),
            asyncio.ensure_future(run_schedules(app, scheduled)),
            asyncio.ensure_future(self._snapshots()),
        ]
        self.app = app
        # extra servers (the console) bind their ports before anything is recovered
        for starter in self._servers:
            extra_runner, label, address = await starter(self)
            self._runners.append(extra_runner)
            self.addresses.append((label, address))
        # executions left RUNNING by the previous run continue where they were
        store.recovered = await resume_running(service)

    async def stop(self) -> None:
        # Servers first, then the service (executions still running are recorded as
        # interrupted), then the background work, and the AWS services last.
        for runner in reversed(self._runners):
            await runner.cleanup()
        self._runners = []
        if self.service is not None:
            await asyncio.to_thread(self.service.close)
            self.service = None
        for task in self._tasks:
            task.cancel()
        if self._warming is not None:  # a start that failed while they started
            self._warming.cancel()
            self._tasks.append(self._warming)
            self._warming = None
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        if self._app_to_close is not None:
            await self._app_to_close.close()  # the functions' sandbox processes
            self._app_to_close = None
        if self.services is not None:  # after the sandboxes: they write nothing more
            await self.services.stop()  # a last snapshot, then moto's process ends
            self.services = None
            os.environ.pop(SERVICES_URL_ENV, None)
        self._lock.release()

    async def _snapshots(self) -> None:
        """Fold the services' journal into a new snapshot now and then, when it has grown
        (the journal alone keeps every acknowledged write; this keeps the next start fast)."""
        while True:
            await asyncio.sleep(self.snapshot_interval)
            services = self.services
            if services is None:
                continue
            try:
                await asyncio.to_thread(services.call, "compact")
            except Exception:  # e.g. the disk is full; the journal still has everything
                logging.getLogger("workflows.local").exception("snapshot of the services failed")

    def banner(self) -> str:
        ports = self.ports
        api = ports.url(ports.api)
        return "\n".join(
            [
                "workflows is up:",
                f"  API Gateway      {api}  (OpenAPI: {api}/openapi.json, Swagger UI: {api}/docs)",
                f"  Step Functions   {ports.url(ports.stepfunctions)}  (AWS_ENDPOINT_URL_SFN)",
                '                   eval "$(workflows env)": the exports for boto3 and the'
                " AWS CLI (sync- host prefix off for start-sync-execution and test-state)",
                f"  AWS services     {ports.url(ports.aws)}  (AWS_ENDPOINT_URL; moto)",
                f"  executions kept  {self.state_dir / 'executions.sqlite3'}",
                *(f"  {label:<16} {address}" for label, address in self.addresses),
                f"  services' data   {self.state_dir / SNAPSHOT_NAME}  (each write journaled before"
                " it is answered; --fresh starts clean)",
                "",
                "Place an order:",
                "  TOKEN=$(.venv/bin/workflows token --sub CUST-1001)",
                f'  curl -s -X POST {api}/orders -H "Authorization: Bearer $TOKEN" \\',
                '       -H "Content-Type: application/json" -d @examples/order_request.json',
                "",
                "Ctrl-C (or SIGTERM) stops everything, keeping what is stored.",
            ]
        )


# another server to run with the runtime: (runner, name, address) once started
ServerStarter = Callable[[LocalRuntime], Awaitable[tuple[web.AppRunner, str, str]]]


def _listen(role: str, host: str, port: int) -> socket.socket:
    """A listening socket, or ``PortInUse`` at once."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(128)
    except OSError as problem:
        sock.close()
        raise PortInUse(role, host, port, problem) from None
    sock.setblocking(False)
    return sock
