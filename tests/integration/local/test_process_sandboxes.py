"""Functions run in process sandboxes as Lambda runs them (``workflows up``'s default):
a function's concurrency is a number of worker processes, each handling one invocation
at a time; a sandbox that crashes or runs out of time is replaced by a fresh one."""

from __future__ import annotations

import asyncio
import base64
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from workflows.engine import StateMachine
from workflows.engine.errors import StatesError
from workflows.local.app import LocalApp
from workflows.local.sandbox_pool import BACKGROUND_NICENESS, PLAIN_BOTOCORE_VARIABLE
from workflows.local.template import load_template

HANDLERS = "tests.integration.local.process_sandbox_handlers"

TEMPLATE = f"""
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Timeout: 30
Resources:
  Meet:
    Type: AWS::Serverless::Function
    Properties:
      Handler: {HANDLERS}.rendezvous
  Exclusive:
    Type: AWS::Serverless::Function
    Properties:
      Handler: {HANDLERS}.exclusive
  Held:
    Type: AWS::Serverless::Function
    Properties:
      Handler: {HANDLERS}.held
      ReservedConcurrentExecutions: 1
  Api:
    Type: AWS::Serverless::Function
    Properties:
      Handler: {HANDLERS}.quick
  Crash:
    Type: AWS::Serverless::Function
    Properties:
      Handler: {HANDLERS}.crash
  Hang:
    Type: AWS::Serverless::Function
    Properties:
      Handler: {HANDLERS}.hang
  ShortTimeout:
    Type: AWS::Serverless::Function
    Properties:
      Handler: {HANDLERS}.hang
      Timeout: 1
  Counted:
    Type: AWS::Serverless::Function
    Properties:
      Handler: {HANDLERS}.counted
  Environment:
    Type: AWS::Serverless::Function
    Properties:
      Handler: {HANDLERS}.lambda_environment
      Environment:
        Variables:
          GREETING: hello
  Fails:
    Type: AWS::Serverless::Function
    Properties:
      Handler: {HANDLERS}.fails
  Prints:
    Type: AWS::Serverless::Function
    Properties:
      Handler: {HANDLERS}.prints
  Missing:
    Type: AWS::Serverless::Function
    Properties:
      Handler: {HANDLERS}.no_such_handler
  Answering:
    Type: AWS::Serverless::Function
    Properties:
      Handler: {HANDLERS}.niceness
      Events:
        Get:
          Type: Api
          Properties:
            Path: /niceness
            Method: get
  Working:
    Type: AWS::Serverless::Function
    Properties:
      Handler: {HANDLERS}.niceness
  BotocorePath:
    Type: AWS::Serverless::Function
    Properties:
      Handler: {HANDLERS}.botocore_path
  Served:
    Type: AWS::Serverless::Function
    Properties:
      Handler: {HANDLERS}.quick
      Events:
        Get:
          Type: Api
          Properties:
            Path: /served
            Method: get
"""


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[LocalApp]:
    path = tmp_path / "template.yaml"
    path.write_text(TEMPLATE)
    local = LocalApp(load_template(path), sandboxes="process", function_concurrency=2)
    try:
        yield local
    finally:
        await local.close()


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a killed worker may linger as a zombie until its parent reaps it
    status = Path(f"/proc/{pid}/status")
    return status.exists() and "\nState:\tZ" not in status.read_text()


async def test_one_function_runs_in_several_processes_at_once(
    app: LocalApp, tmp_path: Path
) -> None:
    event = {"dir": str(tmp_path), "expected": 2}
    pids = await asyncio.gather(*(app.lambdas.invoke("Meet", event, app.clock) for _ in range(2)))
    # both arrived before either left, each in a process of its own (not the runtime's)
    assert len(set(pids)) == 2
    assert os.getpid() not in pids


async def test_a_sandbox_handles_one_invocation_at_a_time_up_to_the_limit(
    app: LocalApp, tmp_path: Path
) -> None:
    event = {"dir": str(tmp_path)}
    pids = await asyncio.gather(
        *(app.lambdas.invoke("Exclusive", event, app.clock) for _ in range(12))
    )
    assert len(set(pids)) <= 2  # --function-concurrency 2
    assert app._process_lambdas is not None
    assert app._process_lambdas.pools["Exclusive"].started == len(set(pids))


async def test_warm_invocations_reuse_the_sandbox_and_its_module_state(app: LocalApp) -> None:
    first = await app.lambdas.invoke("Counted", {}, app.clock)
    second = await app.lambdas.invoke("Counted", {}, app.clock)
    assert second == {"pid": first["pid"], "calls": first["calls"] + 1}


async def test_the_loop_runs_while_a_sandbox_works_cold_or_warm(
    app: LocalApp, tmp_path: Path
) -> None:
    """A reply is read when it has come, never waited for with the loop blocked: the
    held handler is let go by a task on the loop (a cold start, then a warm call)."""
    release = tmp_path / "release"

    async def let_go() -> None:
        while not list(tmp_path.glob("holding-*")):
            await asyncio.sleep(0.01)
        release.touch()

    pids = []
    for _ in range(2):
        letting = asyncio.ensure_future(let_go())
        pids.append(await app.lambdas.invoke("Held", {"dir": str(tmp_path)}, app.clock))
        await letting
        release.unlink()
        for mark in tmp_path.glob("holding-*"):
            mark.unlink()
    assert pids[0] == pids[1]


async def test_the_api_function_never_queues_behind_a_busy_function(
    app: LocalApp, tmp_path: Path
) -> None:
    event = {"dir": str(tmp_path)}
    # Held's one sandbox (ReservedConcurrentExecutions: 1) is busy, a second call waits
    busy = [asyncio.ensure_future(app.lambdas.invoke("Held", event, app.clock)) for _ in range(2)]
    while not list(tmp_path.glob("holding-*")):
        await asyncio.sleep(0.01)
    answers = await asyncio.gather(*(app.lambdas.invoke("Api", {}, app.clock) for _ in range(3)))
    assert all(isinstance(pid, int) for pid in answers)
    assert not any(task.done() for task in busy)
    (tmp_path / "release").touch()
    held = await asyncio.gather(*busy)
    assert len(set(held)) == 1  # the second waited for the one sandbox allowed


async def test_functions_no_http_client_waits_on_yield_the_cores_to_the_api_s(
    app: LocalApp,
) -> None:
    answering = await app.lambdas.invoke("Answering", {}, app.clock)
    working = await app.lambdas.invoke("Working", {}, app.clock)
    assert answering == os.nice(0)
    assert working == min(19, answering + BACKGROUND_NICENESS) > answering


async def test_a_crashed_sandbox_is_an_exit_error_and_the_next_call_gets_a_fresh_one(
    app: LocalApp,
) -> None:
    before = await app.lambdas.invoke("Crash", {}, app.clock)
    with pytest.raises(StatesError) as caught:
        await app.lambdas.invoke("Crash", {"crash": True}, app.clock)
    assert caught.value.error == "Runtime.ExitError"
    document = json.loads(caught.value.cause or "")
    assert document["errorType"] == "Runtime.ExitError"
    assert "Runtime exited with error: exit status 3" in document["errorMessage"]
    after = await app.lambdas.invoke("Crash", {}, app.clock)
    assert after != before
    assert not alive(before)


async def test_a_task_timeout_kills_the_hung_handler(app: LocalApp, tmp_path: Path) -> None:
    machine = StateMachine(
        json.dumps(
            {
                "StartAt": "Hang",
                "States": {
                    "Hang": {
                        "Type": "Task",
                        "Resource": "arn:aws:states:::lambda:invoke",
                        "Parameters": {"FunctionName": "Hang", "Payload.$": "$"},
                        "TimeoutSeconds": 1,
                        "End": True,
                    }
                },
            }
        ),
        name="HangMachine",
    )
    result = await app.execute_machine(machine, {"dir": str(tmp_path)})
    assert (result.status, result.error) == ("FAILED", "States.Timeout")
    pid = int((tmp_path / "pid").read_text())
    for _ in range(500):  # killed at once; reaped by its parent soon after
        if not alive(pid):
            break
        await asyncio.sleep(0.01)
    assert not alive(pid)


async def test_the_function_timeout_stops_the_sandbox_as_lambda_does(
    app: LocalApp, tmp_path: Path
) -> None:
    with pytest.raises(StatesError) as caught:
        await app.lambdas.invoke("ShortTimeout", {"dir": str(tmp_path)}, app.clock)
    assert caught.value.error == "Sandbox.Timedout"
    assert "Task timed out after 1.00 seconds" in (caught.value.cause or "")


async def test_a_sandbox_has_the_environment_and_context_of_a_lambda_sandbox(
    app: LocalApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
    seen = await app.lambdas.invoke("Environment", {}, app.clock, request_id="req-1")
    assert seen["environment"] == {
        "AWS_LAMBDA_FUNCTION_NAME": "Environment",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_REGION": "us-east-1",
        "GREETING": "hello",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:4566",
        "_HANDLER": f"{HANDLERS}.lambda_environment",
    }
    assert seen["function_name"] == "Environment"
    assert seen["arn"] == "arn:aws:lambda:us-east-1:123456789012:function:Environment"
    assert seen["request_id"] == "req-1"
    assert 0 < seen["remaining_ms"] <= 30_000
    assert seen["memory"] == 128


async def test_a_handler_error_is_the_runtime_error_document_from_the_handler_down(
    app: LocalApp,
) -> None:
    with pytest.raises(StatesError) as caught:
        await app.lambdas.invoke("Fails", {}, app.clock)
    assert caught.value.error == "KeyError"
    document = json.loads(caught.value.cause or "")
    assert document["errorType"] == "KeyError"
    assert document["errorMessage"] == "'missing'"
    assert "process_sandbox_handlers.py" in document["stackTrace"][0]
    assert not any("sandbox_pool.py" in frame for frame in document["stackTrace"])


async def test_a_handler_that_cannot_be_imported_is_an_import_module_error(
    app: LocalApp,
) -> None:
    with pytest.raises(StatesError) as caught:
        await app.lambdas.invoke("Missing", {}, app.clock)
    assert caught.value.error == "Runtime.ImportModuleError"


async def test_log_type_tail_returns_the_sandboxs_log(app: LocalApp) -> None:
    machine = StateMachine(
        json.dumps(
            {
                "StartAt": "Print",
                "States": {
                    "Print": {
                        "Type": "Task",
                        "Resource": "arn:aws:states:::lambda:invoke",
                        "Parameters": {"FunctionName": "Prints", "Payload": {}, "LogType": "Tail"},
                        "End": True,
                    }
                },
            }
        ),
        name="PrintMachine",
    )
    result = await app.execute_machine(machine, {})
    assert result.status == "SUCCEEDED"
    assert result.output["Payload"] == "printed"
    log = base64.b64decode(result.output["LogResult"]).decode()
    assert "hello from Prints" in log
    assert log.startswith("START RequestId: ")
    assert "REPORT RequestId: " in log


async def test_an_idle_sandbox_is_stopped_and_the_next_call_is_a_cold_start(
    app: LocalApp,
) -> None:
    assert app._process_lambdas is not None
    pool = app._process_lambdas.pools["Api"]
    pool.idle_seconds = 0.2
    first = await app.lambdas.invoke("Api", {}, app.clock)
    for _ in range(500):
        if not pool.sandboxes and not alive(first):
            break
        await asyncio.sleep(0.01)
    assert not pool.sandboxes
    assert not alive(first)
    second = await app.lambdas.invoke("Api", {}, app.clock)
    assert second != first
    assert pool.started == 2


async def test_idle_sandboxes_keep_one_reclaim_timer_each_not_one_per_invocation(
    app: LocalApp,
) -> None:
    # issue #13: each invocation left a 5-minute timer (handle, bound method, context)
    # scheduled on the loop; under load that was ~11 per order held for 5 minutes
    assert app._process_lambdas is not None
    pool = app._process_lambdas.pools["Api"]
    for _ in range(30):
        await app.lambdas.invoke("Api", {}, app.clock)
    loop = asyncio.get_running_loop()
    pending = [
        handle
        for handle in loop._scheduled  # type: ignore[attr-defined]
        if not handle.cancelled()
        and getattr(handle._callback, "__func__", None) is type(pool)._reclaim
    ]
    assert 1 <= len(pending) <= len(pool.sandboxes)
    assert pool.started <= pool.limit


async def test_a_sandbox_sends_botocore_s_requests_the_lean_way_unless_told_not_to(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sandbox installs sandbox_botocore before its handler (not the runtime's own
    process); WORKFLOWS_SANDBOX_PLAIN_BOTOCORE=1 in the runtime's environment leaves
    botocore as it is."""
    from botocore.httpsession import URLLib3Session

    path = tmp_path / "template.yaml"
    path.write_text(TEMPLATE)
    paths = []
    for plain in ("", "1"):
        monkeypatch.setenv(PLAIN_BOTOCORE_VARIABLE, plain)
        local = LocalApp(load_template(path), sandboxes="process", function_concurrency=1)
        try:
            paths.append(await local.lambdas.invoke("BotocorePath", {}, local.clock))
        finally:
            await local.close()
    assert paths == ["workflows.local.sandbox_http", "botocore.httpsession"]
    assert URLLib3Session.send.__module__ == "botocore.httpsession"


async def test_every_function_has_a_sandbox_up_before_its_first_invocation(
    app: LocalApp,
) -> None:
    """``workflows up`` starts them with the runtime (all of an API's, one of any other's):
    no client waits for a cold start, and the first orders do not pay for them all at
    once; one whose handler cannot be imported is left to its invocation, which says so."""
    assert app._process_lambdas is not None
    pools = app._process_lambdas.pools
    await app.warm_sandboxes()
    for name, warmed in (("Served", 2), ("Api", 1)):  # an API's all, one of any other's
        warm = {sandbox.pid for sandbox in pools[name].sandboxes}
        assert len(warm) == warmed
        assert pools[name].limit == 2
        assert all(pid is not None and alive(pid) for pid in warm)
        assert await app.lambdas.invoke(name, {}, app.clock) in warm
        assert pools[name].started == warmed  # none started for the invocation
    assert not pools["Missing"].sandboxes
    with pytest.raises(StatesError, match="Unable to import module"):
        await app.lambdas.invoke("Missing", {}, app.clock)


async def test_an_api_s_sandboxes_are_kept_warm_while_idle_others_are_reclaimed(
    app: LocalApp,
) -> None:
    assert app._process_lambdas is not None
    served, other = app._process_lambdas.pools["Served"], app._process_lambdas.pools["Api"]
    served.idle_seconds = other.idle_seconds = 0.1
    await app.warm_sandboxes()
    assert other.started == 1  # started with the runtime, then left idle
    kept = await app.lambdas.invoke("Served", {}, app.clock)
    reclaimed = await app.lambdas.invoke("Api", {}, app.clock)
    for _ in range(500):
        if not alive(reclaimed) and not other.sandboxes:
            break
        await asyncio.sleep(0.01)
    assert not alive(reclaimed)
    assert not other.sandboxes  # the one used and any never used alike
    await asyncio.sleep(0.3)  # idle for three times its idle_seconds
    assert alive(kept)
    assert await app.lambdas.invoke("Served", {}, app.clock) in {s.pid for s in served.sandboxes}
    assert served.started == 2
