"""``WORKFLOWS_SPANS``: the marks of one API request, made by the runtime and by the
sandbox that served it, line up on one clock (what ``bench.local_load --spans`` reads)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from workflows.local import spans
from workflows.local.apigateway import create_app, invoke_with, routes_from_template
from workflows.local.app import LocalApp
from workflows.local.template import load_template

TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Resources:
  Served:
    Type: AWS::Serverless::Function
    Properties:
      Handler: tests.integration.local.process_sandbox_handlers.proxy
      Events:
        Get:
          Type: Api
          Properties:
            Path: /served
            Method: get
"""


async def test_one_request_s_marks_follow_it_through_the_runtime_and_its_sandbox(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    marks = tmp_path / "spans.log"
    monkeypatch.setenv(spans.SPANS_VARIABLE, str(marks))  # the sandbox inherits it
    monkeypatch.setattr(spans, "_fd", None)
    assert spans.enabled()
    path = tmp_path / "template.yaml"
    path.write_text(TEMPLATE)
    template = load_template(path)
    app = LocalApp(template, sandboxes="process", function_concurrency=1)
    api = create_app(routes_from_template(template), invoke_with(app.lambdas, app.clock))
    client: TestClient[web.Request, web.Application] = TestClient(TestServer(api))
    await client.start_server()
    trace = "Root=1-00000000-000000000000000000000007"
    try:
        before = time.monotonic()
        response = await client.get("/served", headers={"X-Amzn-Trace-Id": trace})
        after = time.monotonic()
        assert response.status == 200
        sandbox_pid = int(await response.text())
    finally:
        await client.close()
        await app.close()
        assert spans._fd is not None
        os.close(spans._fd)
    made = {
        parts[2]: parts for parts in (line.split(" ") for line in marks.read_text().splitlines())
    }
    assert made["api.received"][3] == made["pool.sent"][3] == made["api.replied"][3] == trace
    request_id = made["pool.sent"][4]
    assert made["sandbox.received"][3] == made["sandbox.done"][3] == request_id
    assert sandbox_pid != os.getpid()  # two processes, one clock
    moments = [
        float(made[name][0])
        for name in ("api.received", "pool.sent", "sandbox.received", "sandbox.done", "api.replied")
    ]
    assert moments == sorted(moments)
    assert before <= moments[0]
    assert moments[-1] <= after
