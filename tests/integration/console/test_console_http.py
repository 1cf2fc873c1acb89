"""The console's HTTP handlers over a real ExecutionService (aiohttp's test client).

Ad-hoc state machines made of Pass/Wait/Fail/Map states, and a stand-in
``sqs:sendMessage`` that hands out the task token, so no AWS service is needed;
the template's machines with their functions run in tests/e2e/console.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from collections.abc import AsyncIterator
from html import unescape
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import pytest
from aiohttp.test_utils import TestClient, TestServer

from workflows.console.server import create_console
from workflows.engine.clock import RealClock
from workflows.engine.tasks import TaskRequest
from workflows.local.app import LocalApp
from workflows.local.executions import ExecutionService
from workflows.local.run import fake_aws_environment
from workflows.local.store import ExecutionStore
from workflows.local.template import load_template

REPO = Path(__file__).resolve().parents[3]
ROLE = "arn:aws:iam::123456789012:role/StepFunctionsExecutionRole"
XSS = "<img src=x onerror=alert(1)>"

ECHO = {"StartAt": "Echo", "States": {"Echo": {"Type": "Pass", "End": True}}}
WAIT = {"StartAt": "Hold", "States": {"Hold": {"Type": "Wait", "Seconds": 3600, "End": True}}}
ASK = {
    "StartAt": "Ask",
    "States": {
        "Ask": {
            "Type": "Task",
            "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
            "Parameters": {"QueueUrl": "q", "MessageBody": {"token.$": "$$.Task.Token"}},
            "Next": "Thanks",
        },
        "Thanks": {"Type": "Pass", "End": True},
    },
}


class Tokens:
    """A stand-in for SQS: remembers the task tokens it was given."""

    def __init__(self) -> None:
        self.issued: asyncio.Queue[str] = asyncio.Queue()

    async def __call__(self, request: TaskRequest) -> Any:
        assert request.task_token is not None
        self.issued.put_nowait(request.task_token)
        return {"MessageId": "m-1"}


@pytest.fixture
async def service() -> AsyncIterator[ExecutionService]:
    app = LocalApp(load_template(REPO / "infra" / "sam" / "template.yaml"), clock=RealClock())
    app.runner.integrations["sqs:sendMessage"] = Tokens()
    service = ExecutionService(app, ExecutionStore(":memory:"))
    yield service
    service.close()


@pytest.fixture
async def client(service: ExecutionService) -> AsyncIterator[TestClient[Any, Any]]:
    async with TestClient(TestServer(create_console(service))) as client:
        yield client


async def create(service: ExecutionService, definition: dict[str, Any], name: str) -> str:
    created = await service.create_state_machine(name, json.dumps(definition), ROLE)
    arn: str = created["stateMachineArn"]
    return arn


def page(arn: str) -> str:
    return quote(arn, safe="")


def console_data(html: str) -> Any:
    holder = r'<script type="application/json" id="console-data">(.*?)</script>'
    found = re.search(holder, html, re.S)
    assert found is not None
    return json.loads(found.group(1))


async def test_state_machines_page_lists_template_and_api_machines_with_counts(
    service: ExecutionService, client: TestClient[Any, Any]
) -> None:
    echo = await create(service, ECHO, "Echoes")
    for n in range(3):
        await service.wait((await service.start_execution(echo, "{}", f"e-{n}"))["executionArn"])
    answer = await client.get("/")
    html = await answer.text()
    assert answer.status == 200
    assert "OrderProcessingStateMachine" in html
    assert "Echoes" in html
    row = html[html.index(">Echoes<") :].split("</tr>")[0]
    assert "<td>STANDARD</td>" in row
    assert "<td>API</td>" in row
    assert "status=SUCCEEDED" in row
    assert ">3</a>" in row
    assert answer.headers["Content-Security-Policy"].startswith("default-src 'self'")

    machine = await client.get(f"/state-machines/{page(echo)}")
    text = await machine.text()
    assert '"Type": "Pass"' in unescape(text)  # the ASL, as JSON text
    assert console_data(text)["graphOnly"]["nodes"][1]["id"] == "Echo"


async def test_executions_list_filters_searches_and_pages(
    service: ExecutionService, client: TestClient[Any, Any]
) -> None:
    echo = await create(service, ECHO, "Echoes")
    wait = await create(service, WAIT, "Holding")
    for n in range(55):
        await service.wait(
            (await service.start_execution(echo, "{}", f"echo-{n:02d}"))["executionArn"]
        )
    await service.start_execution(wait, "{}", "holding-1")

    first = await (await client.get("/executions")).text()
    names = re.findall(r'">((?:echo|holding)-[\w-]+)</a>', first)
    assert names[:3] == ["holding-1", "echo-54", "echo-53"]
    assert len(names) == 50
    older = re.search(r'href="(/executions\?before=\d+)" rel="next"', first)
    assert older is not None
    rest = await (await client.get(older.group(1))).text()
    assert re.findall(r'">(echo-\d+)</a>', rest) == [f"echo-{n:02d}" for n in range(5, -1, -1)]

    running = await (await client.get("/executions", params={"status": "RUNNING"})).text()
    assert re.findall(r'">((?:echo|holding)-[\w-]+)</a>', running) == ["holding-1"]
    found = await (await client.get("/executions", params={"q": "o-4"})).text()
    assert re.findall(r'">(echo-\d+)</a>', found) == [f"echo-4{d}" for d in range(9, -1, -1)]
    mine = await (await client.get("/executions", params={"machine": wait})).text()
    assert re.findall(r'">((?:echo|holding)-[\w-]+)</a>', mine) == ["holding-1"]
    bad = await client.get("/executions", params={"status": "DONE"})
    assert bad.status == 400
    assert "status must be one of" in await bad.text()


async def test_start_checks_the_input_and_opens_the_execution(
    service: ExecutionService, client: TestClient[Any, Any]
) -> None:
    echo = await create(service, ECHO, "Echoes")
    refused = await client.post(
        f"/state-machines/{page(echo)}/executions", data={"input": "{not json", "name": "x"}
    )
    assert refused.status == 400
    assert "The input is not valid JSON" in await refused.text()
    bad_name = await client.post(
        f"/state-machines/{page(echo)}/executions", data={"input": "{}", "name": "a b"}
    )
    assert "InvalidName" in await bad_name.text()

    started = await client.post(
        f"/state-machines/{page(echo)}/executions",
        data={"input": '{"a": 1}', "name": "mine"},
        allow_redirects=False,
    )
    assert started.status == 303
    arn = "arn:aws:states:us-east-1:123456789012:execution:Echoes:mine"
    assert unquote(started.headers["Location"]) == f"/executions/{arn}"
    described = await service.wait(arn)
    assert (described["status"], json.loads(described["output"])) == ("SUCCEEDED", {"a": 1})
    row = service.store.get_execution(arn)
    assert row is not None
    assert row.started_by == "the console"


async def test_a_waiting_task_is_answered_from_its_state(
    service: ExecutionService, client: TestClient[Any, Any]
) -> None:
    ask = await create(service, ASK, "Asking")
    arn = (await service.start_execution(ask, "{}", "q-1"))["executionArn"]
    tokens = service.app.runner.integrations["sqs:sendMessage"]
    assert isinstance(tokens, Tokens)
    token = await asyncio.wait_for(tokens.issued.get(), 5)

    for _ in range(100):  # the store commits the task's events on its writer thread
        view = await (await client.get(f"/api/executions/{page(arn)}")).json()
        if view["waiting"]:
            break
        await asyncio.sleep(0.05)
    [waiting] = view["waiting"]
    assert (waiting["state"], waiting["token"], waiting["iteration"]) == ("Ask", token, [])
    assert view["trace"]["statuses"] == {"Ask": "running"}

    answered = await client.post(
        f"/executions/{page(arn)}/task-token",
        data={"token": token, "outcome": "success", "output": '{"approved": true}'},
        allow_redirects=False,
    )
    assert answered.status == 303
    assert "SendTaskSuccess+sent" in answered.headers["Location"]
    described = await service.wait(arn)
    assert json.loads(described["output"]) == {"approved": True}
    again = await client.post(
        f"/executions/{page(arn)}/task-token",
        data={"token": token, "outcome": "success", "output": "{}"},
        allow_redirects=False,
    )
    assert "TaskDoesNotExist" in again.headers["Location"]

    failing = (await service.start_execution(ask, "{}", "q-2"))["executionArn"]
    token = await asyncio.wait_for(tokens.issued.get(), 5)
    await client.post(
        f"/executions/{page(failing)}/task-token",
        data={"token": token, "outcome": "failure", "error": "Rejected", "cause": "too dear"},
    )
    failed = await service.wait(failing)
    assert (failed["status"], failed["error"]) == ("FAILED", "Rejected")
    assert failed["cause"] == "too dear"


async def test_stop_aborts_a_running_execution(
    service: ExecutionService, client: TestClient[Any, Any]
) -> None:
    wait = await create(service, WAIT, "Holding")
    arn = (await service.start_execution(wait, "{}", "h-1"))["executionArn"]
    while len(service.get_execution_history(arn)["events"]) < 2:
        await asyncio.sleep(0.01)
    stopped = await client.post(
        f"/executions/{page(arn)}/stop", data={"cause": "enough"}, allow_redirects=False
    )
    assert stopped.status == 303
    described = service.describe_execution(arn)
    assert (described["status"], described["cause"]) == ("ABORTED", "enough")
    view = await (await client.get(f"/api/executions/{page(arn)}")).json()
    assert view["trace"]["statuses"] == {"Hold": "cancelled"}


async def test_actions_posted_from_another_site_are_refused(
    service: ExecutionService, client: TestClient[Any, Any]
) -> None:
    wait = await create(service, WAIT, "Holding")
    arn = (await service.start_execution(wait, "{}", "h-1"))["executionArn"]
    refused = await client.post(
        f"/executions/{page(arn)}/stop", headers={"Origin": "https://evil.example"}
    )
    assert refused.status == 403
    assert service.describe_execution(arn)["status"] == "RUNNING"


async def test_payloads_are_text_never_markup(
    service: ExecutionService, client: TestClient[Any, Any]
) -> None:
    echo = await create(service, ECHO, "Echoes")
    arn = (await service.start_execution(echo, json.dumps({"note": XSS}), "xss"))["executionArn"]
    await service.wait(arn)
    html = await (await client.get(f"/executions/{page(arn)}")).text()
    assert XSS not in html
    assert console_data(html)["execution"]["input"] == json.dumps({"note": XSS})
    machine_page = await (await client.get(f"/state-machines/{page(echo)}")).text()
    assert XSS not in machine_page
    assert "&lt;img src=x onerror=alert(1)&gt;" in machine_page  # the last input, offered


MAP_OF_ECHOES = {
    "StartAt": "Each",
    "States": {
        "Each": {
            "Type": "Map",
            "ItemProcessor": {"StartAt": "Echo", "States": ECHO["States"]},
            "End": True,
        }
    },
}


async def test_the_page_carries_no_payloads_and_reads_them_when_opened(
    service: ExecutionService, client: TestClient[Any, Any]
) -> None:
    machine = await create(service, MAP_OF_ECHOES, "Echoes")
    items = [{"secret": f"item-{n}"} for n in range(3)]
    arn = (await service.start_execution(machine, json.dumps(items), "lean"))["executionArn"]
    await service.wait(arn)
    html = await (await client.get(f"/executions/{page(arn)}")).text()
    data = console_data(html)
    assert "item-1" not in json.dumps(data["trace"])
    assert "item-1" not in json.dumps(data["events"])
    assert data["trace"]["statuses"] == {"Each": "succeeded", "Echo": "succeeded"}
    rows = data["events"]
    entered = [r for r in rows if r["type"] == "PassStateEntered"]
    assert [r["step"] for r in entered] == ["Echo"] * 3
    started = next(r for r in rows if r["type"] == "MapIterationStarted")
    assert started["step"] == "Each"  # an event without a name belongs to its state

    opened = await (await client.get(f"/api/executions/{page(arn)}/states/Echo")).json()
    inputs = sorted(json.loads(v["input"])["secret"] for v in opened["visits"])
    assert inputs == ["item-0", "item-1", "item-2"]
    assert [v["iteration"] for v in opened["visits"]] == [[["Each", n]] for n in range(3)]

    event = await client.get(f"/api/executions/{page(arn)}/events/{entered[1]['id']}")
    details = (await event.json())["details"]
    assert json.loads(details["input"]) in items
    missing = await client.get(f"/api/executions/{page(arn)}/events/9999")
    assert missing.status == 404


async def test_the_stream_pushes_events_as_they_happen(
    service: ExecutionService, client: TestClient[Any, Any]
) -> None:
    ask = await create(service, ASK, "Asking")
    arn = (await service.start_execution(ask, "{}", "live"))["executionArn"]
    tokens = service.app.runner.integrations["sqs:sendMessage"]
    assert isinstance(tokens, Tokens)
    token = await asyncio.wait_for(tokens.issued.get(), 5)
    stream = await client.get(f"/api/executions/{page(arn)}/stream")
    assert stream.headers["Content-Type"] == "text/event-stream"

    async def next_message() -> tuple[str, Any]:
        kind, data = "", None
        while True:
            line = (await stream.content.readline()).decode().rstrip("\n")
            if line.startswith("event: "):
                kind = line[len("event: ") :]
            elif line.startswith("data: "):
                data = json.loads(line[len("data: ") :])
            elif line == "" and kind:
                return kind, data

    kind, first = await asyncio.wait_for(next_message(), 5)
    assert kind == "update"
    assert first["trace"]["statuses"] == {"Ask": "running"}
    seen = {e["id"] for e in first["events"]}
    await service.send_task_success(token, "{}")
    statuses: dict[str, str] = {}
    while kind != "end":
        kind, data = await asyncio.wait_for(next_message(), 5)
        if kind == "update":
            assert not seen & {e["id"] for e in data["events"]}  # only what is new
            seen |= {e["id"] for e in data["events"]}
            statuses = data["trace"]["statuses"]
    assert data == {"status": "SUCCEEDED"}
    assert statuses == {"Ask": "succeeded", "Thanks": "succeeded"}
    stream.close()


async def test_a_page_that_holds_every_event_still_hears_how_the_execution_ended(
    service: ExecutionService, client: TestClient[Any, Any]
) -> None:
    # A page drawn (or updated) after the end event was stored but with a status read
    # before the execution's end was: it holds every event and says RUNNING. Its stream
    # (``after`` its last event) must bring the ended status, not just "end" (the
    # console's redrive test once waited 60 s for a SUCCEEDED that never came).
    echo = await create(service, ECHO, "Ended")
    arn = (await service.start_execution(echo, "{}", "done"))["executionArn"]
    assert (await service.wait(arn))["status"] == "SUCCEEDED"
    last = len(service.get_execution_history(arn)["events"])
    stream = await client.get(f"/api/executions/{page(arn)}/stream?after={last}")
    messages: list[tuple[str, Any]] = []
    while not messages or messages[-1] != ("end", {"status": "SUCCEEDED"}):
        line = (await asyncio.wait_for(stream.content.readline(), 5)).decode()
        if line.startswith("event: "):
            messages.append((line[len("event: ") :].strip(), None))
        elif line.startswith("data: "):
            messages[-1] = (messages[-1][0], json.loads(line[len("data: ") :]))
    (kind, update), end = messages
    assert kind == "update"
    assert update["execution"]["status"] == "SUCCEEDED"
    assert update["execution"]["stopDate"] is not None
    assert update["events"] == []  # nothing the page holds is sent again
    assert end == ("end", {"status": "SUCCEEDED"})
    stream.close()


async def test_local_resources_show_tables_queues_outbox_and_schedules(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from moto import mock_aws

    for key, value in fake_aws_environment().items():
        monkeypatch.setenv(key, value)
    for key in [k for k in os.environ if k.startswith("AWS_ENDPOINT_URL")]:
        monkeypatch.delenv(key)
    with mock_aws():
        app = LocalApp(load_template(REPO / "infra" / "sam" / "template.yaml"), clock=RealClock())
        app.provision()
        session = app.session()
        sqs = session.client("sqs")
        url = sqs.get_queue_url(QueueName="ApprovalQueue")["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"orderId": XSS}))
        sender = next(
            f.environment["SENDER_EMAIL"]
            for f in app.template.functions.values()
            if f.environment.get("SENDER_EMAIL")
        )
        session.client("ses").send_email(
            Source=sender,
            Destination={"ToAddresses": ["ada@example.com"]},
            Message={"Subject": {"Data": "Your order"}, "Body": {"Text": {"Data": "Thanks"}}},
        )
        session.client("sns").publish(PhoneNumber="+15555550100", Message="Shipped")
        service = ExecutionService(app, ExecutionStore(":memory:"))
        try:
            async with TestClient(TestServer(create_console(service))) as client:
                html = await (await client.get("/resources")).text()
        finally:
            service.close()
    tables = html[html.index('id="tables"') : html.index('id="queues"')]
    assert "OrdersTable" in tables
    assert "IdempotencyTable" in tables
    assert "SKU-KETTLE-01" in tables  # the seeded catalog
    queues = html[html.index('id="queues"') : html.index('id="emails"')]
    assert "ApprovalQueue" in queues
    assert "ApprovalDeadLetterQueue" in queues
    assert "dead-letter queue of ApprovalQueue" in queues
    assert "&lt;img src=x onerror=alert(1)&gt;" in queues
    assert XSS not in html
    outbox = html[html.index('id="emails"') : html.index('id="events-put"')]
    assert "Your order" in outbox
    assert "ada@example.com" in outbox
    assert "+15555550100" in outbox
    assert "Shipped" in outbox
    schedules = html[html.index('id="schedules"') :]
    assert "cron(0 3 * * ? *)" in schedules
    assert "StuckOrderSweepStateMachine" in schedules
    assert re.search(r"<td>\d{4}-\d\d-\d\d 03:00:00.000</td>", schedules)  # the next 03:00


DISTRIBUTED = {
    "StartAt": "Sweep",
    "States": {
        "Sweep": {
            "Type": "Map",
            "Label": "Orders",
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                "StartAt": "Echo",
                "States": {"Echo": {"Type": "Pass", "End": True}},
            },
            "End": True,
        }
    },
}


async def test_a_distributed_maps_runs_and_children_have_pages(
    service: ExecutionService, client: TestClient[Any, Any]
) -> None:
    machine = await create(service, DISTRIBUTED, "Sweeping")
    arn = (await service.start_execution(machine, '["a", "b"]', "s-1"))["executionArn"]
    while service.describe_execution(arn)["status"] == "RUNNING":
        await asyncio.sleep(0.01)
    parent = await (await client.get(f"/executions/{page(arn)}")).text()
    runs = console_data(parent)["mapRuns"]
    assert [(r["label"], r["status"]) for r in runs] == [("Orders", "SUCCEEDED")]
    assert runs[0]["itemCounts"]["succeeded"] == 2
    children = runs[0]["children"]
    assert {c["status"] for c in children} == {"SUCCEEDED"}
    assert f'href="/executions/{page(children[0]["arn"])}"' in parent

    response = await client.get(f"/executions/{page(children[0]['arn'])}")
    assert response.status == 200
    child = console_data(await response.text())
    assert child["execution"]["mapRunArn"] == runs[0]["arn"]
    assert child["execution"]["stateMachineArn"].endswith(":stateMachine:Sweeping/Orders")
    assert child["events"][0]["type"] == "ExecutionStarted"
    assert child["trace"]["statuses"] == {"Echo": "succeeded"}


SAVE = {
    "StartAt": "Save",
    "States": {
        "Save": {
            "Type": "Task",
            "Resource": "arn:aws:states:::dynamodb:putItem",
            "Parameters": {"TableName": "t", "Item": {"id": {"S": "1"}}},
            "End": True,
        }
    },
}


async def test_a_failed_execution_is_redriven_and_a_succeeded_one_says_why_not(
    service: ExecutionService, client: TestClient[Any, Any]
) -> None:
    from workflows.engine import StatesError

    calls = 0

    async def fails_once(request: TaskRequest) -> Any:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise StatesError("DynamoDB.ResourceNotFoundException", "no table t yet")
        return {}

    service.app.runner.integrations["dynamodb:putItem"] = fails_once
    save = await create(service, SAVE, "Saving")
    arn = (await service.start_execution(save, "{}", "s-1"))["executionArn"]
    assert (await service.wait(arn))["status"] == "FAILED"
    shown = await (await client.get(f"/executions/{page(arn)}")).text()
    assert f'action="/executions/{page(arn)}/redrive"' in shown
    assert "Redrive count" not in shown

    redriven = await client.post(f"/executions/{page(arn)}/redrive", allow_redirects=False)
    assert redriven.status == 303
    assert "Execution+redriven" in redriven.headers["Location"]
    described = await service.wait(arn)
    assert (described["status"], described["redriveCount"], calls) == ("SUCCEEDED", 1, 2)
    shown = unescape(await (await client.get(f"/executions/{page(arn)}")).text())
    assert "/redrive" not in shown  # no button and, for a success, no reason: the count
    assert "Not redrivable" not in shown
    assert re.search(r'<dd id="redrive-count">1</dd>', shown)
    assert console_data(shown)["execution"]["status"] == "SUCCEEDED"  # not the kept FAILED view

    refused = await client.post(f"/executions/{page(arn)}/redrive", allow_redirects=False)
    assert refused.status == 303
    told = unquote(refused.headers["Location"].replace("+", " "))
    assert "ExecutionNotRedrivable: Execution is SUCCEEDED and cannot be redriven" in told
    assert service.describe_execution(arn)["redriveCount"] == 1
    elsewhere = await client.post(
        f"/executions/{page(arn)}/redrive", headers={"Origin": "https://evil.example"}
    )
    assert elsewhere.status == 403
