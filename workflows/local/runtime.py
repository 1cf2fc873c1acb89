"""``workflows up``: the whole application on one machine, served over HTTP.

One process, one event loop. It starts:

- moto's server on ``aws`` (DynamoDB, SQS, SNS, SES, EventBridge) with the
  template's tables, queues, bus and identities created and seeded;
- the Step Functions endpoint on ``stepfunctions`` (boto3, the AWS CLI and the API
  Lambda talk to it through ``AWS_ENDPOINT_URL_SFN``), whose executions
  and history are kept in ``.workflows/executions.sqlite3``;
- API Gateway on ``api``: the template's Api events routed to their functions, and
  the JWKS of the local token issuer (``workflows token``);
- the SQS event sources (polled) and the schedules of the template.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from workflows.local.apigateway import create_app as create_api_app
from workflows.local.apigateway import invoke_with, routes_from_template
from workflows.local.app import LocalApp
from workflows.local.background import poll_queues, run_schedules
from workflows.local.executions import ExecutionService
from workflows.local.local_auth import LocalIssuer, template_overrides
from workflows.local.run import fake_aws_environment
from workflows.local.sfn_api import start_server
from workflows.local.store import ExecutionStore
from workflows.local.template import StateMachineSpec, load_template

__all__ = ["LocalRuntime", "Ports"]


@dataclass(frozen=True)
class Ports:
    host: str = "127.0.0.1"
    api: int = 3000
    stepfunctions: int = 8083
    aws: int = 4566

    def url(self, port: int) -> str:
        return f"http://{self.host}:{port}"


class LocalRuntime:
    def __init__(
        self,
        template_path: Path,
        *,
        ports: Ports | None = None,
        state_dir: Path = Path(".workflows"),
    ) -> None:
        self.template_path = template_path
        self.ports = ports or Ports()
        self.state_dir = state_dir
        self.app: LocalApp | None = None
        self.service: ExecutionService | None = None
        self._moto: Any = None
        self._runners: list[web.AppRunner] = []
        self._tasks: list[asyncio.Task[Any]] = []

    async def start(self) -> None:
        from moto.server import ThreadedMotoServer

        ports = self.ports
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's per-request lines
        self._moto = ThreadedMotoServer(ip_address=ports.host, port=ports.aws, verbose=False)
        self._moto.start()
        os.environ.update(fake_aws_environment())
        os.environ["AWS_ENDPOINT_URL"] = ports.url(ports.aws)
        os.environ["AWS_ENDPOINT_URL_SFN"] = ports.url(ports.stepfunctions)
        api_url = ports.url(ports.api)
        template = load_template(self.template_path, overrides=template_overrides(api_url))
        app = LocalApp(template, keep_records=False)
        os.environ.update(app.environment())
        await asyncio.to_thread(app.provision)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        service = ExecutionService(app, ExecutionStore(self.state_dir / "executions.sqlite3"))
        runner, _ = await start_server(service, ports.host, ports.stepfunctions)
        self._runners.append(runner)
        issuer = LocalIssuer.from_key_file(self.state_dir / "jwt-key.pem", issuer=f"{api_url}/")
        api = create_api_app(
            routes_from_template(template), invoke_with(app.lambdas, app.clock), jwks=issuer.jwks
        )
        api_runner = web.AppRunner(api, access_log=None)
        await api_runner.setup()
        await web.TCPSite(api_runner, ports.host, ports.api).start()
        self._runners.append(api_runner)

        async def scheduled(spec: StateMachineSpec, event: Any, by: str) -> None:
            await service.start_execution(spec.arn, json.dumps(event), started_by=by)

        self._tasks = [
            asyncio.ensure_future(poll_queues(app)),
            asyncio.ensure_future(run_schedules(app, scheduled)),
        ]
        self.app, self.service = app, service

    async def stop(self) -> None:
        # Servers first, then the service (executions still running are recorded as
        # interrupted), then the background work, and the AWS services last.
        for runner in reversed(self._runners):
            await runner.cleanup()
        if self.service is not None:
            self.service.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._moto is not None:
            # moto keeps its data in this process, shared by every server it starts:
            # forget it, so a later runtime in the same process starts empty
            await asyncio.to_thread(_reset_moto, self.ports.url(self.ports.aws))
            self._moto.stop()

    def banner(self) -> str:
        ports = self.ports
        api = ports.url(ports.api)
        return "\n".join(
            [
                "workflows is up:",
                f"  API Gateway      {api}  (OpenAPI: {api}/openapi.json, Swagger UI: {api}/docs)",
                f"  Step Functions   {ports.url(ports.stepfunctions)}  (AWS_ENDPOINT_URL_SFN)",
                f"  AWS services     {ports.url(ports.aws)}  (AWS_ENDPOINT_URL; moto)",
                f"  executions kept  {self.state_dir / 'executions.sqlite3'}",
                "",
                "Place an order:",
                "  TOKEN=$(.venv/bin/workflows token --sub CUST-1001)",
                f'  curl -s -X POST {api}/orders -H "Authorization: Bearer $TOKEN" \\',
                '       -H "Content-Type: application/json" -d @examples/order_request.json',
                "",
                "Ctrl-C stops everything.",
            ]
        )


def _reset_moto(url: str) -> None:
    request = urllib.request.Request(f"{url}/moto-api/reset", method="POST")
    with urllib.request.urlopen(request, timeout=10):
        pass
