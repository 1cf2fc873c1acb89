"""The local Step Functions endpoint, driven by a real boto3 ``stepfunctions`` client.

The application of infra/sam/template.yaml runs as under ``workflows up``: LocalApp,
ExecutionService and the endpoint share one event loop (in a thread of its own here,
as in another process there), its handlers and service integrations talk to a moto
*server* (``AWS_ENDPOINT_URL``), and the test talks HTTP to both, like the API Lambda
and the AWS CLI do.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
import uuid
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import boto3
import pytest
import urllib3
from botocore.config import Config
from moto.server import ThreadedMotoServer

from tests.integration.local.shapes import check_answers
from workflows.engine.clock import Clock, RealClock, VirtualClock
from workflows.local.app import LocalApp
from workflows.local.executions import ExecutionService
from workflows.local.run import fake_aws_environment
from workflows.local.sfn_api import start_server
from workflows.local.store import INTERRUPTED_CAUSE, ExecutionStore
from workflows.local.template import load_template

REPO = Path(__file__).resolve().parents[3]
TEMPLATE = REPO / "infra" / "sam" / "template.yaml"
ACCOUNT_PREFIX = "arn:aws:states:us-east-1:123456789012"
ORDERS = f"{ACCOUNT_PREFIX}:stateMachine:OrderProcessingStateMachine"
NOTIFICATION = f"{ACCOUNT_PREFIX}:stateMachine:NotificationStateMachine"
ROLE = "arn:aws:iam::123456789012:role/StepFunctionsExecutionRole"
EXPENSIVE = [{"productId": "SKU-ESPRESSO-05", "quantity": 1}]  # above the approval threshold

T = TypeVar("T")


class Runtime:
    """LocalApp + ExecutionService + the endpoint on an event loop of their own."""

    def __init__(self, store_path: str, clock: Clock) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.store_path = store_path
        self.clock = clock
        self.call(self._start())

    async def _start(self) -> None:
        self.app = LocalApp(load_template(TEMPLATE), clock=self.clock)
        self.service = ExecutionService(self.app, ExecutionStore(self.store_path))
        self.server, self.port = await start_server(self.service, "127.0.0.1", 0)

    def call(self, coroutine: Coroutine[Any, Any, T], timeout: float = 30) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self, *, host_prefix: bool = True) -> Any:
        """A boto3 client of the endpoint; ``host_prefix=False`` for the operations botocore
        sends to "sync-<host>" (StartSyncExecution, TestState)."""
        return boto3.client(
            "stepfunctions",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=Config(inject_host_prefix=host_prefix, retries={"max_attempts": 1}),
        )

    def stop(self) -> None:
        """As if the process stopped: nothing more is recorded, running executions vanish."""

        async def stop() -> None:
            await self.server.cleanup()
            self.service.close()
            tasks = list(self.app._background.tasks)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        self.call(stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    with pytest.MonkeyPatch.context() as patch:
        for key in [k for k in os.environ if k.startswith("AWS_ENDPOINT_URL")]:
            patch.delenv(key)
        for key, value in fake_aws_environment().items():
            patch.setenv(key, value)
        patch.setenv("AWS_ENDPOINT_URL", endpoint)
        patch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
        patch.setenv("POWERTOOLS_LOG_LEVEL", "WARNING")
        app = LocalApp(load_template(TEMPLATE))
        for key, value in app.environment().items():
            patch.setenv(key, value)
        app.provision()
        yield endpoint
    # the server's data lives in moto's in-process backends: leave them empty for the
    # modules that run after this one
    urllib3.request("POST", f"{endpoint}/moto-api/reset")
    server.stop()


@pytest.fixture
def store_path(tmp_path: Path) -> str:
    return str(tmp_path / ".workflows" / "executions.sqlite3")


@pytest.fixture
def runtime(moto_endpoint: str, store_path: str) -> Iterator[Runtime]:
    local = Runtime(store_path, RealClock())
    yield local
    local.stop()


@pytest.fixture
def sfn(runtime: Runtime) -> Any:
    """The endpoint's client; every answer is also checked against botocore's output
    shape (a stray or missing field fails the test)."""
    return check_answers(runtime.client())


def wait_until(check: Callable[[], T | None], *, timeout: float = 20.0, what: str = "") -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        time.sleep(0.02)


def wait_status(sfn: Any, arn: str, *statuses: str, timeout: float = 20.0) -> dict[str, Any]:
    ended = statuses or ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")

    def ended_now() -> dict[str, Any] | None:
        described: dict[str, Any] = sfn.describe_execution(executionArn=arn)
        return described if described["status"] in ended else None

    return wait_until(ended_now, timeout=timeout, what=f"{arn} to be {ended}")


def example_order(**changes: Any) -> dict[str, Any]:
    order: dict[str, Any] = json.loads((REPO / "examples" / "order.json").read_text())
    order["orderId"] = f"ORD-SFN-{uuid.uuid4().hex[:10].upper()}"
    order.update(changes)
    return order


def create_machine(sfn: Any, definition: dict[str, Any], name: str | None = None) -> str:
    answer = sfn.create_state_machine(
        name=name or f"adhoc-{uuid.uuid4().hex[:8]}",
        definition=json.dumps(definition),
        roleArn=ROLE,
    )
    arn: str = answer["stateMachineArn"]
    return arn


WAITING = {"StartAt": "Hold", "States": {"Hold": {"Type": "Wait", "Seconds": 3600, "End": True}}}
PASS = {"StartAt": "Echo", "States": {"Echo": {"Type": "Pass", "End": True}}}


# ------------------------------------------------------------------ the template


def test_order_runs_to_success_and_its_history_pages(sfn: Any) -> None:
    order = example_order()
    started = sfn.start_execution(
        stateMachineArn=ORDERS, name=order["orderId"], input=json.dumps(order)
    )
    arn = started["executionArn"]
    assert arn == f"{ACCOUNT_PREFIX}:execution:OrderProcessingStateMachine:{order['orderId']}"
    assert started["startDate"].tzinfo is not None  # botocore parsed an epoch timestamp

    first = sfn.describe_execution(executionArn=arn)
    assert first["status"] in ("RUNNING", "SUCCEEDED")
    assert json.loads(first["input"]) == order

    done = wait_status(sfn, arn)
    assert done["status"] == "SUCCEEDED", done.get("cause")
    assert json.loads(done["output"])["order"]["orderId"] == order["orderId"]
    assert done["stopDate"] >= done["startDate"]
    assert done["stateMachineArn"] == ORDERS

    whole = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
    assert whole[0]["type"] == "ExecutionStarted"
    assert whole[-1]["type"] == "ExecutionSucceeded"
    assert [e["id"] for e in whole] == list(range(1, len(whole) + 1))
    assert json.loads(whole[0]["executionStartedEventDetails"]["input"]) == order

    pages, token = [], None
    while True:
        page = sfn.get_execution_history(
            executionArn=arn, maxResults=7, **({"nextToken": token} if token else {})
        )
        assert len(page["events"]) <= 7
        pages.extend(page["events"])
        token = page.get("nextToken")
        if not token:
            break
    assert [e["id"] for e in pages] == [e["id"] for e in whole]

    newest = sfn.get_execution_history(executionArn=arn, reverseOrder=True, maxResults=3)
    assert newest["events"][0]["type"] == "ExecutionSucceeded"
    assert [e["id"] for e in newest["events"]] == [len(whole), len(whole) - 1, len(whole) - 2]
    older = sfn.get_execution_history(
        executionArn=arn, reverseOrder=True, maxResults=3, nextToken=newest["nextToken"]
    )
    assert older["events"][0]["id"] == len(whole) - 3

    bare = sfn.get_execution_history(executionArn=arn, includeExecutionData=False)["events"]
    assert "input" not in bare[0]["executionStartedEventDetails"]

    machine = sfn.describe_state_machine_for_execution(executionArn=arn)
    assert machine["stateMachineArn"] == ORDERS
    assert "RequestApproval" in json.loads(machine["definition"])["States"]


def test_executions_started_by_eventbridge_rules_are_listed(sfn: Any) -> None:
    order = example_order()
    arn = sfn.start_execution(stateMachineArn=ORDERS, input=json.dumps(order))["executionArn"]
    assert wait_status(sfn, arn)["status"] == "SUCCEEDED"

    def notification() -> list[dict[str, Any]]:
        listed = sfn.list_executions(stateMachineArn=NOTIFICATION)["executions"]
        mine = []
        for item in listed:
            described = sfn.describe_execution(executionArn=item["executionArn"])
            if order["orderId"] in described["input"]:
                mine.append(described)
        return mine

    [started_by_rule] = wait_until(notification, what="the OrderConfirmed rule's execution")
    assert json.loads(started_by_rule["input"])["detail-type"] == "OrderConfirmed"
    assert wait_status(sfn, started_by_rule["executionArn"])["status"] == "SUCCEEDED"


def test_approval_is_answered_through_send_task_success(sfn: Any) -> None:
    order = example_order(items=EXPENSIVE)
    arn = sfn.start_execution(stateMachineArn=ORDERS, input=json.dumps(order))["executionArn"]
    table = boto3.resource("dynamodb", region_name="us-east-1").Table("OrdersTable")

    def token() -> str | None:
        item = table.get_item(Key={"PK": f"ORDER#{order['orderId']}", "SK": "ORDER"}).get("Item")
        return str(item["approvalTaskToken"]) if item and item.get("approvalTaskToken") else None

    task_token = wait_until(token, what="the approval consumer to store the task token")
    assert sfn.describe_execution(executionArn=arn)["status"] == "RUNNING"
    sfn.send_task_heartbeat(taskToken=task_token)
    sfn.send_task_success(
        taskToken=task_token, output=json.dumps({"approved": True, "approver": "manager-1"})
    )
    assert wait_status(sfn, arn)["status"] == "SUCCEEDED"
    # the token is spent now
    with pytest.raises(sfn.exceptions.TaskDoesNotExist):
        sfn.send_task_success(taskToken=task_token, output="{}")


def test_waiting_task_fails_through_send_task_failure(sfn: Any) -> None:
    queue = f"tokens-{uuid.uuid4().hex[:8]}"
    sqs = boto3.client("sqs", region_name="us-east-1")
    queue_url = sqs.create_queue(QueueName=queue)["QueueUrl"]
    arn = create_machine(
        sfn,
        {
            "StartAt": "Ask",
            "States": {
                "Ask": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                    "Parameters": {
                        "QueueUrl": queue_url,
                        "MessageBody": {"token.$": "$$.Task.Token"},
                    },
                    "End": True,
                }
            },
        },
    )
    execution = sfn.start_execution(stateMachineArn=arn, input="{}")["executionArn"]

    def message() -> list[dict[str, Any]]:
        received: list[dict[str, Any]] = sqs.receive_message(QueueUrl=queue_url).get("Messages", [])
        return received

    [sent] = wait_until(message, what="the task token on the queue")
    task_token = json.loads(sent["Body"])["token"]
    sfn.send_task_failure(taskToken=task_token, error="Rejected", cause="not today")
    failed = wait_status(sfn, execution)
    assert (failed["status"], failed["error"], failed["cause"]) == (
        "FAILED",
        "Rejected",
        "not today",
    )


# ---------------------------------------------------------- executions and errors


def test_list_filters_by_status_and_pages(sfn: Any) -> None:
    waiting = create_machine(sfn, WAITING)
    arns = [
        sfn.start_execution(stateMachineArn=waiting, name=f"run-{i}")["executionArn"]
        for i in range(3)
    ]
    sfn.stop_execution(executionArn=arns[0])
    running = sfn.list_executions(stateMachineArn=waiting, statusFilter="RUNNING")["executions"]
    assert sorted(e["executionArn"] for e in running) == sorted(arns[1:])
    assert all("stopDate" not in e for e in running)
    aborted = sfn.list_executions(stateMachineArn=waiting, statusFilter="ABORTED")["executions"]
    assert [e["executionArn"] for e in aborted] == [arns[0]]
    assert aborted[0]["stopDate"] >= aborted[0]["startDate"]

    first = sfn.list_executions(stateMachineArn=waiting, maxResults=2)
    assert [e["name"] for e in first["executions"]] == ["run-2", "run-1"]  # newest first
    rest = sfn.list_executions(stateMachineArn=waiting, maxResults=2, nextToken=first["nextToken"])
    assert [e["name"] for e in rest["executions"]] == ["run-0"]
    assert "nextToken" not in rest

    paginator = sfn.get_paginator("list_executions")
    names = [
        e["name"]
        for page in paginator.paginate(stateMachineArn=waiting, PaginationConfig={"PageSize": 1})
        for e in page["executions"]
    ]
    assert names == ["run-2", "run-1", "run-0"]


def test_stop_aborts_with_error_and_cause(sfn: Any) -> None:
    waiting = create_machine(sfn, WAITING)
    arn = sfn.start_execution(stateMachineArn=waiting, input='{"a": 1}')["executionArn"]
    wait_until(
        lambda: len(sfn.get_execution_history(executionArn=arn)["events"]) >= 2,
        what="the Wait state to be entered",
    )
    assert sfn.describe_execution(executionArn=arn)["status"] == "RUNNING"
    stopped = sfn.stop_execution(executionArn=arn, error="Operator", cause="changed my mind")
    described = sfn.describe_execution(executionArn=arn)
    assert described["status"] == "ABORTED"
    assert (described["error"], described["cause"]) == ("Operator", "changed my mind")
    assert described["stopDate"] == stopped["stopDate"]
    last = sfn.get_execution_history(executionArn=arn, reverseOrder=True)["events"][0]
    assert last["type"] == "ExecutionAborted"
    assert last["executionAbortedEventDetails"] == {"error": "Operator", "cause": "changed my mind"}
    # stopping again changes nothing
    assert sfn.stop_execution(executionArn=arn)["stopDate"] == stopped["stopDate"]


def test_same_name_same_input_is_the_same_execution(sfn: Any) -> None:
    waiting = create_machine(sfn, WAITING)
    first = sfn.start_execution(stateMachineArn=waiting, name="once", input='{"x": 1}')
    again = sfn.start_execution(stateMachineArn=waiting, name="once", input='{"x": 1}')
    assert again["executionArn"] == first["executionArn"]
    assert again["startDate"] == first["startDate"]
    assert len(sfn.list_executions(stateMachineArn=waiting)["executions"]) == 1

    with pytest.raises(sfn.exceptions.ExecutionAlreadyExists) as different:
        sfn.start_execution(stateMachineArn=waiting, name="once", input='{"x": 2}')
    assert "once" in different.value.response["Error"]["Message"]

    sfn.stop_execution(executionArn=first["executionArn"])
    with pytest.raises(sfn.exceptions.ExecutionAlreadyExists):  # closed: the name is taken
        sfn.start_execution(stateMachineArn=waiting, name="once", input='{"x": 1}')


def test_errors_carry_aws_codes(sfn: Any) -> None:
    missing_execution = f"{ACCOUNT_PREFIX}:execution:OrderProcessingStateMachine:nope"
    missing_machine = f"{ACCOUNT_PREFIX}:stateMachine:Nope"
    cases: list[tuple[str, Callable[[], Any]]] = [
        ("ExecutionDoesNotExist", lambda: sfn.describe_execution(executionArn=missing_execution)),
        (
            "ExecutionDoesNotExist",
            lambda: sfn.get_execution_history(executionArn=missing_execution),
        ),
        ("ExecutionDoesNotExist", lambda: sfn.stop_execution(executionArn=missing_execution)),
        ("StateMachineDoesNotExist", lambda: sfn.start_execution(stateMachineArn=missing_machine)),
        (
            "StateMachineDoesNotExist",
            lambda: sfn.describe_state_machine(stateMachineArn=missing_machine),
        ),
        ("StateMachineDoesNotExist", lambda: sfn.list_executions(stateMachineArn=missing_machine)),
        ("InvalidArn", lambda: sfn.describe_execution(executionArn="not-an-arn")),
        ("InvalidArn", lambda: sfn.describe_execution(executionArn=ORDERS)),
        ("InvalidArn", lambda: sfn.start_execution(stateMachineArn=missing_execution)),
        ("InvalidName", lambda: sfn.start_execution(stateMachineArn=ORDERS, name="has space")),
        (
            "InvalidExecutionInput",
            lambda: sfn.start_execution(stateMachineArn=ORDERS, input="{not json"),
        ),
        ("TaskDoesNotExist", lambda: sfn.send_task_success(taskToken="a" * 64, output="{}")),
        ("TaskDoesNotExist", lambda: sfn.send_task_heartbeat(taskToken="b" * 64)),
        ("InvalidToken", lambda: sfn.send_task_failure(taskToken="forged")),
        (
            "InvalidToken",
            lambda: sfn.list_executions(stateMachineArn=ORDERS, nextToken="garbage"),
        ),
        (
            "InvalidDefinition",
            lambda: sfn.create_state_machine(
                name="broken", definition='{"StartAt": "Nowhere", "States": {}}', roleArn=ROLE
            ),
        ),
        (
            "InvalidName",
            lambda: sfn.create_state_machine(
                name="bad/name", definition=json.dumps(PASS), roleArn=ROLE
            ),
        ),
        (
            "ValidationException",
            lambda: sfn.list_executions(stateMachineArn=ORDERS, statusFilter="NOPE"),
        ),
    ]
    for code, call in cases:
        with pytest.raises(sfn.exceptions.ClientError) as caught:
            call()
        error = caught.value.response["Error"]
        assert error["Code"] == code, (code, error)
        assert error["Message"]
        assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def raw_post(endpoint: str, target: str | None, body: bytes) -> tuple[int, dict[str, Any]]:
    headers = {"Content-Type": "application/x-amz-json-1.0"}
    if target is not None:
        headers["X-Amz-Target"] = target
    response = urllib3.request("POST", endpoint + "/", body=body, headers=headers)
    return response.status, json.loads(response.data)


def test_protocol_errors_are_clear_json(runtime: Runtime) -> None:
    status, body = raw_post(runtime.endpoint, "AWSStepFunctions.NoSuchAction", b"{}")
    assert (status, body["__type"]) == (400, "UnknownOperationException")
    status, body = raw_post(runtime.endpoint, None, b"{}")
    assert (status, body["__type"]) == (400, "UnknownOperationException")
    status, body = raw_post(runtime.endpoint, "AWSStepFunctions.DescribeExecution", b"{oops")
    assert (status, body["__type"]) == (400, "SerializationException")
    assert "not valid JSON" in body["message"]
    status, body = raw_post(runtime.endpoint, "AWSStepFunctions.DescribeExecution", b"[1]")
    assert (status, body["__type"]) == (400, "SerializationException")
    status, body = raw_post(runtime.endpoint, "AWSStepFunctions.DescribeExecution", b"{}")
    assert (status, body["__type"]) == (400, "ValidationException")
    assert "'executionArn'" in body["message"]
    status, body = raw_post(
        runtime.endpoint, "AWSStepFunctions.StartExecution", b'{"stateMachineArn": 7}'
    )
    assert (status, body["__type"]) == (400, "ValidationException")
    assert "'stateMachineArn'" in body["message"]
    status, body = raw_post(
        runtime.endpoint,
        "AWSStepFunctions.GetExecutionHistory",
        json.dumps(
            {"executionArn": f"{ACCOUNT_PREFIX}:execution:X:y", "maxResults": 5000}
        ).encode(),
    )
    assert (status, body["__type"]) == (400, "ValidationException")
    assert "'maxResults'" in body["message"]


def test_state_machines_are_listed_described_created_and_deleted(sfn: Any) -> None:
    names = {m["name"] for m in sfn.list_state_machines()["stateMachines"]}
    assert {"OrderProcessingStateMachine", "NotificationStateMachine"} <= names
    described = sfn.describe_state_machine(stateMachineArn=ORDERS)
    assert (described["status"], described["type"]) == ("ACTIVE", "STANDARD")
    assert "${" not in described["definition"], "DefinitionSubstitutions are filled"

    arn = create_machine(sfn, PASS, name="echo-machine")
    assert arn == f"{ACCOUNT_PREFIX}:stateMachine:echo-machine"
    assert create_machine(sfn, PASS, name="echo-machine") == arn  # same request: idempotent
    with pytest.raises(sfn.exceptions.StateMachineAlreadyExists):
        create_machine(sfn, WAITING, name="echo-machine")
    execution = sfn.start_execution(stateMachineArn=arn, input='{"hello": "world"}')
    done = wait_status(sfn, execution["executionArn"])
    assert json.loads(done["output"]) == {"hello": "world"}
    sfn.delete_state_machine(stateMachineArn=arn)
    with pytest.raises(sfn.exceptions.StateMachineDoesNotExist):
        sfn.describe_state_machine(stateMachineArn=arn)


def test_validate_state_machine_definition(sfn: Any) -> None:
    ok = sfn.validate_state_machine_definition(definition=json.dumps(PASS))
    assert (ok["result"], ok["diagnostics"]) == ("OK", [])
    broken = {"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"}}}
    failed = sfn.validate_state_machine_definition(definition=json.dumps(broken))
    assert failed["result"] == "FAIL"
    codes = {(d["code"], d["location"]) for d in failed["diagnostics"]}
    assert ("MISSING_TRANSITION_TARGET", "/States/A/Next") in codes
    assert all(d["severity"] == "ERROR" for d in failed["diagnostics"])
    one = sfn.validate_state_machine_definition(definition=json.dumps(broken), maxResults=1)
    assert len(one["diagnostics"]) == 1
    assert one["truncated"] is True


# ---------------------------------------------------------------- virtual time


def test_long_waits_take_no_time_on_a_virtual_clock(moto_endpoint: str, store_path: str) -> None:
    local = Runtime(store_path, VirtualClock())
    try:
        sfn = local.client()
        arn = create_machine(sfn, WAITING)
        execution = sfn.start_execution(stateMachineArn=arn, input="{}")["executionArn"]
        done = wait_status(sfn, execution, timeout=20)
        assert done["status"] == "SUCCEEDED"
        assert (done["stopDate"] - done["startDate"]).total_seconds() >= 3600
    finally:
        local.stop()


# --------------------------------------------------------------------- restarts


def test_the_store_survives_a_restart(moto_endpoint: str, store_path: str) -> None:
    first = Runtime(store_path, RealClock())
    sfn = first.client()
    echo = create_machine(sfn, PASS, name="survivor")
    waiting = create_machine(sfn, WAITING, name="interrupted")
    done = sfn.start_execution(stateMachineArn=echo, name="done", input='{"n": 1}')
    done_arn = done["executionArn"]
    wait_status(sfn, done_arn)
    history_before = sfn.get_execution_history(executionArn=done_arn)["events"]
    running = sfn.start_execution(stateMachineArn=waiting, name="cut-short")["executionArn"]
    wait_until(
        lambda: len(sfn.get_execution_history(executionArn=running)["events"]) >= 2,
        what="the Wait state to be entered",
    )
    first.stop()

    second = Runtime(store_path, RealClock())
    try:
        sfn = second.client()
        described = sfn.describe_execution(executionArn=done_arn)
        assert described["status"] == "SUCCEEDED"
        assert json.loads(described["output"]) == {"n": 1}
        assert sfn.get_execution_history(executionArn=done_arn)["events"] == history_before
        assert [e["name"] for e in sfn.list_executions(stateMachineArn=echo)["executions"]] == [
            "done"
        ]
        assert sfn.describe_state_machine(stateMachineArn=echo)["name"] == "survivor"

        interrupted = sfn.describe_execution(executionArn=running)
        assert interrupted["status"] == "ABORTED"
        assert interrupted["cause"] == INTERRUPTED_CAUSE
        last = sfn.get_execution_history(executionArn=running, reverseOrder=True)["events"][0]
        assert last["type"] == "ExecutionAborted"
        with pytest.raises(sfn.exceptions.ExecutionAlreadyExists):
            sfn.start_execution(stateMachineArn=echo, name="done", input='{"n": 1}')
    finally:
        second.stop()


def test_start_sync_execution_for_express_machines(runtime: Runtime) -> None:
    # botocore sends StartSyncExecution to "sync-<host>"; a local endpoint needs the plain host
    sfn = runtime.client(host_prefix=False)
    express = sfn.create_state_machine(
        name="express-echo", definition=json.dumps(PASS), roleArn=ROLE, type="EXPRESS"
    )["stateMachineArn"]
    answer = sfn.start_sync_execution(stateMachineArn=express, input='{"fast": true}')
    assert answer["status"] == "SUCCEEDED"
    assert json.loads(answer["output"]) == {"fast": True}
    with pytest.raises(sfn.exceptions.StateMachineTypeNotSupported):
        sfn.start_sync_execution(stateMachineArn=ORDERS, input="{}")
