"""The console as a person uses it, in Chromium: graphs, paths, iterations, actions, live."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

from tests.e2e.console.conftest import ARTIFACTS, PREFIX, REPO, ConsoleApp
from workflows.console.layout import Layouts

ORDER = json.loads((REPO / "examples" / "order.json").read_text())
XSS = "<img src=x onerror=alert(1)>"


def state(page: Any, name: str, status: str) -> Any:
    """Wait until the graph shows ``name`` with ``status``; returns its element."""
    return page.wait_for_selector(f'svg [data-state="{name}"][data-status="{status}"]')


def taken(page: Any, source: str, target: str, kind: str | None = None) -> bool:
    selector = f'svg .edge.taken[data-source="{source}"][data-target="{target}"]'
    if kind is not None:
        selector += f".kind-{kind}"
    return page.locator(selector).count() > 0


def open_state(page: Any, name: str) -> None:
    node = page.locator(f'svg [data-state="{name}"]').first
    label = node.locator("text.group-label")
    (label if label.count() else node).click()
    page.wait_for_selector(f'#state-panel h2:text-is("{name}")')
    # its visits (input, output, attempts) are read from the console when it is opened
    page.wait_for_selector("#state-panel:not([aria-busy])")


def test_the_demo_order_shows_its_graph_and_the_path_it_took(
    console: ConsoleApp, page: Any
) -> None:
    arn = console.start("OrderProcessingStateMachine", ORDER, "demo-order")
    assert console.wait(arn)["status"] == "SUCCEEDED"
    page.goto(console.page_of(arn))
    for name in ("LoadWorkflowContext", "ValidateOrder", "ReserveInventory", "ChargePayment"):
        state(page, name, "succeeded")
    state(page, "OrderConfirmed", "succeeded")
    for name in ("RequestApproval", "RefundPayment", "RejectOrder"):
        assert page.get_attribute(f'svg [data-state="{name}"]', "data-status") == "not entered"
    node = page.locator('svg [data-state="ChargePayment"] .status-label')
    assert node.text_content() == "✓ succeeded"  # the colour has its words too
    assert taken(page, "IsApprovalRequired", "ChargePayment", "default")
    assert not taken(page, "IsApprovalRequired", "RequestApproval")
    assert taken(page, "ChargePayment", "ConfirmOrder", "next")
    assert taken(page, "__start__", "LoadWorkflowContext")
    assert taken(page, "OrderConfirmed", "__end__")

    open_state(page, "ChargePayment")
    panel = page.locator("#state-panel")
    assert "Parameters sent (after InputPath and Parameters/Arguments)" in panel.text_content()
    result = panel.locator(".block", has_text="Result (before ResultSelector").text_content()
    assert '"status": "CAPTURED"' in result
    output = panel.locator(".block", has_text="Output (after ResultSelector").text_content()
    assert '"payment": {' in output
    events = page.locator("#events tbody tr")
    assert events.first.inner_text().startswith("1\tExecutionStarted")
    page.select_option("#event-type", "TaskScheduled")
    assert page.locator("#events tbody tr").count() == 5  # one per Task state on the path


def test_a_declined_payment_shows_the_failed_and_caught_path(
    console: ConsoleApp, page: Any
) -> None:
    arn = console.start(
        "OrderProcessingStateMachine",
        {**ORDER, "orderId": "ORD-2025-000124", "paymentToken": "tok_decline"},
        "declined",
    )
    described = console.wait(arn)
    page.goto(console.page_of(arn))
    state(page, "ChargePayment", "caught")
    assert taken(page, "ChargePayment", "ReleaseInventory", "catch")
    assert not taken(page, "ChargePayment", "ConfirmOrder")
    state(page, "ReleaseInventory", "succeeded")
    assert page.get_attribute('svg [data-state="ConfirmOrder"]', "data-status") == "not entered"
    open_state(page, "ChargePayment")
    panel = page.locator("#state-panel").inner_text()
    assert "PaymentDeclined" in panel
    assert page.locator("#execution-status").inner_text() == described["status"]
    if described["status"] == "FAILED":
        assert described["error"] in page.locator("#execution-error").inner_text()


MAP = {
    "StartAt": "Each",
    "States": {
        "Each": {
            "Type": "Map",
            "ItemsPath": "$.items",
            "MaxConcurrency": 1,
            "ItemProcessor": {
                "StartAt": "Check",
                "States": {
                    "Check": {
                        "Type": "Choice",
                        "Choices": [{"Variable": "$", "NumericGreaterThan": 2, "Next": "TooBig"}],
                        "Default": "Fine",
                    },
                    "TooBig": {"Type": "Fail", "Error": "TooBig", "Cause": "above 2"},
                    "Fine": {"Type": "Pass", "End": True},
                },
            },
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Report"}],
            "Next": "Report",
        },
        "Report": {"Type": "Pass", "End": True},
    },
}


def test_a_map_with_a_failed_iteration_is_one_click_away(console: ConsoleApp, page: Any) -> None:
    machine = console.create("ConsoleMapMachine", MAP)
    arn = str(
        console.do(
            lambda: console.service.start_execution(machine, '{"items": [1, 2, 3, 1]}', "items")
        )["executionArn"]
    )
    console.wait(arn)
    page.goto(console.page_of(arn))
    state(page, "Each", "caught")
    state(page, "Report", "succeeded")
    open_state(page, "Each")
    picker = page.locator('#state-panel select[data-map="Each"]')
    options = picker.locator("option").all_inner_texts()
    assert options[:4] == ["all iterations", "#0 · succeeded", "#1 · succeeded", "#2 · failed"]
    page.click("#state-panel button.first-failed")
    state(page, "TooBig", "failed")
    state(page, "Check", "succeeded")
    assert page.get_attribute('svg [data-state="Fine"]', "data-status") == "not entered"
    picker = page.locator('#state-panel select[data-map="Each"]')
    assert picker.input_value() == "2"
    picker.select_option("0")
    state(page, "Fine", "succeeded")
    assert page.get_attribute('svg [data-state="TooBig"]', "data-status") == "not entered"


def test_an_order_waiting_for_approval_is_approved_from_the_console(
    console: ConsoleApp, page: Any
) -> None:
    expensive = {**ORDER, "orderId": "ORD-2025-000777"}
    expensive["items"] = [{"productId": "SKU-ESPRESSO-05", "quantity": 1}]
    arn = console.start("OrderProcessingStateMachine", expensive, "needs-approval")
    page.goto(console.page_of(arn))
    state(page, "RequestApproval", "running")
    page.click('#waiting button:text-is("RequestApproval")')  # the state that waits
    page.wait_for_selector("#state-panel:not([aria-busy]) h2:text-is('RequestApproval')")
    assert page.locator("#state-panel form.token.failure").count() == 1
    page.click("#waiting button.quick-success")  # approving is one click
    page.wait_for_selector('#execution-status:text-is("SUCCEEDED")', timeout=60_000)
    assert "SendTaskSuccess sent" in page.locator(".notice").first.inner_text()
    state(page, "RequestApproval", "succeeded")
    state(page, "ChargePayment", "succeeded")
    assert taken(page, "WasApproved", "ChargePayment", "default")
    assert console.wait(arn)["status"] == "SUCCEEDED"


ASK = {
    "StartAt": "Ask",
    "States": {
        "Ask": {
            "Type": "Task",
            "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
            "Parameters": {"QueueUrl": "${Queue}", "MessageBody": {"token.$": "$$.Task.Token"}},
            "Next": "Thanks",
        },
        "Thanks": {"Type": "Pass", "End": True},
    },
}


def test_a_running_execution_updates_live(console: ConsoleApp, page: Any) -> None:
    sqs = console.app.session().client("sqs")
    queue = sqs.create_queue(QueueName="ConsoleLiveQueue")["QueueUrl"]
    definition = json.loads(json.dumps(ASK).replace("${Queue}", queue))
    machine = console.create("ConsoleLiveMachine", definition)
    arn = str(
        console.do(lambda: console.service.start_execution(machine, "{}", "live"))["executionArn"]
    )
    page.goto(console.page_of(arn))
    state(page, "Ask", "running")
    page.evaluate("window.sameDocument = true")
    message = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=5)["Messages"][0]
    token = json.loads(message["Body"])["token"]
    console.do(lambda: console.service.send_task_success(token, '{"answer": 42}'))
    state(page, "Thanks", "succeeded")
    state(page, "Ask", "succeeded")
    page.wait_for_selector('#execution-status:text-is("SUCCEEDED")')
    assert page.evaluate("window.sameDocument") is True  # pushed, not reloaded
    assert page.locator("form.stop").count() == 0
    assert page.locator('#events tbody tr[data-type="ExecutionSucceeded"]').count() == 1


ECHO = {"StartAt": "Echo", "States": {"Echo": {"Type": "Pass", "End": True}}}


def test_a_payload_with_markup_is_shown_as_text(console: ConsoleApp, page: Any) -> None:
    machine = console.create("ConsoleEchoMachine", ECHO)
    page.goto(f"{console.url}/state-machines/{machine}")
    page.fill('textarea[name="input"]', '{"note": "unfinished')
    assert "Not valid JSON" in page.locator("form.start .json-problem").inner_text()
    page.click('form.start button[type="submit"]')
    assert page.url.endswith(machine)  # not sent
    page.fill('textarea[name="input"]', json.dumps({"note": XSS}))
    page.fill('input[name="name"]', "markup")
    page.click('form.start button[type="submit"]')
    page.wait_for_url("**/executions/**markup")
    state(page, "Echo", "succeeded")
    assert XSS in page.locator("#execution-input").inner_text()
    open_state(page, "Echo")
    assert XSS in page.locator("#state-panel").inner_text()
    assert page.locator("img").count() == 0  # the payload never became an element
    page.locator("#events details").first.click()
    # the event's details are filled in when it is opened: wait for them
    page.wait_for_function(
        "(text) => document.querySelector('#events details').innerText.includes(text)", arg=XSS
    )
    assert XSS in page.locator("#events details").first.inner_text()
    console.wait(f"{PREFIX}:execution:ConsoleEchoMachine:markup")


PARENT = {
    "StartAt": "StartSweep",
    "States": {
        "StartSweep": {  # fire-and-forget: the Task ends once the child started
            "Type": "Task",
            "Resource": "arn:aws:states:::states:startExecution",
            "Parameters": {
                "StateMachineArn": f"{PREFIX}:stateMachine:StuckOrderSweepStateMachine",
                "Input": {},
                "Name": "swept-by-parent",
            },
            "Next": "RunChild",
        },
        "RunChild": {  # .sync: the Task waits for the child's end
            "Type": "Task",
            "Resource": "arn:aws:states:::states:startExecution.sync:2",
            "Parameters": {
                "StateMachineArn": f"{PREFIX}:stateMachine:ConsoleChildMachine",
                "Input": {"from": "parent"},
                "Name": "child-of-parent",
            },
            "End": True,
        },
    },
}
CHILD = {"StartAt": "Echo", "States": {"Echo": {"Type": "Pass", "End": True}}}


def test_a_parent_and_the_executions_it_started_link_to_each_other(
    console: ConsoleApp, page: Any
) -> None:
    console.create("ConsoleChildMachine", CHILD)
    machine = console.create("ConsoleParentMachine", PARENT)
    arn = str(
        console.do(lambda: console.service.start_execution(machine, "{}", "parent"))["executionArn"]
    )
    assert console.wait(arn)["status"] == "SUCCEEDED"
    page.goto(console.page_of(arn))
    state(page, "StartSweep", "succeeded")
    open_state(page, "StartSweep")
    page.click('#state-panel a.child:text-is("swept-by-parent")')
    page.wait_for_selector('#execution-name:text-is("swept-by-parent")')
    assert "StuckOrderSweepStateMachine" in page.locator("dl.facts").inner_text()
    # and back: the child says which execution started it
    assert "a states:startExecution Task" in page.locator("#started-by").inner_text()
    page.click('#started-by a.parent:text-is("parent")')
    page.wait_for_selector('#execution-name:text-is("parent")')

    state(page, "RunChild", "succeeded")
    open_state(page, "RunChild")  # .sync: its result is the child's DescribeExecution
    page.click('#state-panel a.child:text-is("child-of-parent")')
    page.wait_for_selector('#execution-name:text-is("child-of-parent")')
    page.click('#started-by a.parent:text-is("parent")')
    page.wait_for_selector('#execution-name:text-is("parent")')
    console.wait(f"{PREFIX}:execution:StuckOrderSweepStateMachine:swept-by-parent")


def test_an_execution_started_by_a_rule_links_back_to_the_event_and_who_put_it(
    console: ConsoleApp, page: Any
) -> None:
    placed = {**ORDER, "orderId": "ORD-2025-000901"}
    order = console.start("OrderProcessingStateMachine", placed, "order-with-event")
    console.wait(order)  # confirmed or rejected, it puts an event the rules route

    def started_by_its_event() -> list[Any]:
        rows = console.do(lambda: console.service.store.search_executions(limit=200))
        return [r for r in rows if (r.started_by or "").startswith("rule ") and order in r.input]

    found = started_by_its_event()
    deadline = time.monotonic() + 30  # the rule starts it while the order runs
    while not found and time.monotonic() < deadline:
        time.sleep(0.1)
        found = started_by_its_event()
    assert found, "no execution was started by the order's event"
    child = found[0]
    event = json.loads(child.input)
    page.goto(console.page_of(child.arn))
    origin = page.locator("#started-by")
    assert event["id"] in origin.inner_text()
    assert origin.locator("a.event").get_attribute("href") == f"/resources#event-{event['id']}"
    origin.locator("a.put-by").click()  # the execution whose putEvents Task put the event
    page.wait_for_selector('#execution-name:text-is("order-with-event")')
    page.goto(f"{console.url}/resources#event-{event['id']}")
    assert child.name in page.locator(f'tr[id="event-{event["id"]}"]').inner_text()


class NoLayouts(Layouts):
    """A console that cannot lay out graphs (mini-racer missing, or ELK failing there)."""

    def kept(self, graph: Mapping[str, Any]) -> dict[str, Any] | None:
        return None

    def layout(self, graph: Mapping[str, Any]) -> dict[str, Any] | None:
        return None


MANY = {
    "StartAt": "Each",
    "States": {
        "Each": {
            "Type": "Map",
            "ItemProcessor": {"StartAt": "Echo", "States": CHILD["States"]},
            "End": True,
        }
    },
}


def test_the_page_lays_out_its_graph_itself_and_pages_its_events(
    console: ConsoleApp, page: Any
) -> None:
    machine = console.create("ConsoleManyMachine", MANY)
    arn = str(
        console.do(
            lambda: console.service.start_execution(machine, json.dumps(list(range(120))), "many")
        )["executionArn"]
    )
    console.wait(arn)
    kept = console.console.layouts
    console.console.layouts = NoLayouts()
    try:
        page.goto(console.page_of(arn))
        state(page, "Echo", "succeeded")  # drawn all the same: ELK ran in the page
    finally:
        console.console.layouts = kept
    assert page.evaluate("typeof window.ELK") == "function"
    total = console.do(lambda: len(console.console.history(arn)))
    pager = page.locator("#event-pager")
    assert pager.locator("span").inner_text() == f"events 1 to 200 of {total}"
    assert page.locator("#events tbody tr").count() == 200
    pager.get_by_label("later events").click()
    assert page.locator("#events tbody tr").first.inner_text().startswith("201\t")
    pager.get_by_label("last events").click()
    assert pager.locator("span").inner_text() == f"events 401 to {total} of {total}"
    page.select_option("#event-type", "MapIterationSucceeded")  # a filter starts at page 1
    assert pager.locator("span").inner_text() == "events 1 to 120 of 120"


SAVE = {
    "StartAt": "Prepare",
    "States": {
        "Prepare": {
            "Type": "Pass",
            "Result": {"id": {"S": "redriven"}},
            "ResultPath": "$.item",
            "Next": "Save",
        },
        "Save": {  # fails until its table exists
            "Type": "Task",
            "Resource": "arn:aws:states:::dynamodb:putItem",
            "Parameters": {"TableName": "ConsoleRedriveTable", "Item.$": "$.item"},
            "ResultPath": None,
            "Next": "Done",
        },
        "Done": {"Type": "Pass", "End": True},
    },
}


def test_a_failed_execution_is_redriven_from_its_page(console: ConsoleApp, page: Any) -> None:
    machine = console.create("ConsoleRedriveMachine", SAVE)
    arn = str(
        console.do(lambda: console.service.start_execution(machine, "{}", "redrive-me"))[
            "executionArn"
        ]
    )
    assert console.wait(arn)["status"] == "FAILED"
    page.goto(console.page_of(arn))
    state(page, "Save", "failed")
    assert page.locator("#redrive-count").count() == 0
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "redrive-before.png"))  # the failure and its button
    dynamodb = console.app.session().client("dynamodb")
    dynamodb.create_table(  # what it missed is there now: the second attempt succeeds
        TableName="ConsoleRedriveTable",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    page.click('form.redrive button:text-is("Redrive")')
    page.wait_for_selector('#execution-status:text-is("SUCCEEDED")', timeout=60_000)
    assert "Execution redriven" in page.locator(".notice").inner_text()
    state(page, "Done", "succeeded")
    state(page, "Save", "retried")  # failed, then run again by the redrive
    assert page.locator("#redrive-count").inner_text() == "1"
    page.wait_for_selector("form.redrive", state="detached")  # no second redrive of a success
    assert page.locator("#redrive-reason").count() == 0  # and no reason to read: it succeeded
    assert page.locator('#events tbody tr[data-type="ExecutionRedriven"]').count() == 1
    item = dynamodb.get_item(TableName="ConsoleRedriveTable", Key={"id": {"S": "redriven"}})
    assert "Item" in item
