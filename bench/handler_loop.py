"""The task Lambdas of one order, called in a loop in one process as their sandboxes call them.

    python -m bench.handler_loop                          # 200 orders after 20 warm ones
    python -m bench.handler_loop --orders 500 --rounds 3
    python -m bench.handler_loop --checkout /tmp/main     # another checkout's tasks/
    python -m bench.handler_loop --profile out.prof       # cProfile of the measured orders
    python -m bench.handler_loop --plain-botocore         # without the sandboxes' botocore path

What a sandbox of ``workflows up`` spends per order, without the sandboxes' scheduling:
for each order, the handlers of the order machine's happy path (ValidateOrder,
ReserveInventory, ChargePayment) and of its notification (LoadPreferences,
RenderMessages, SendEmail, SendSms, SendPush, RecordDeliveries) are called with the
states the machines would pass them, against the local AWS services of ``workflows up``
(``python -m workflows.local.aws_services``, started here in a process of its own, so
that its CPU is not counted). Printed: this process's CPU per order (user + system,
median over ``--rounds``) and per handler, and the AWS requests per order. The
environment is a sandbox's (``AWS_SAM_LOCAL``, the functions' variables), and every
handler keeps its clients between calls as a warm sandbox does.

As a sandbox does before it imports its handler, the loop installs
``workflows.local.sandbox_botocore`` (botocore's requests sent and signed the cheaper way)
unless ``--plain-botocore``.

``--checkout DIR`` imports ``tasks`` (and ``workflows``, so the sandbox's botocore path
too, where it has one) from another checkout (an A/B against a copy of main, run with
this venv); the services and this script stay this checkout's.
Figures go to docs/benchmarks-history.md ("sandboxcpu2", "sandboxcpu3"); nothing here is a test.
"""

from __future__ import annotations

import argparse
import copy
import cProfile
import functools
import importlib
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
ORDERS_TABLE = "OrdersTable"
IDEMPOTENCY_TABLE = "IdempotencyTable"
REGION = "us-east-1"
ACCOUNT = "123456789012"

HANDLERS = {
    "ValidateOrder": "tasks.orders.validate_order",
    "ReserveInventory": "tasks.orders.reserve_inventory",
    "ChargePayment": "tasks.orders.charge_payment",
    "LoadPreferences": "tasks.notifications.load_preferences",
    "RenderMessages": "tasks.notifications.render_message",
    "SendEmail": "tasks.notifications.send_email",
    "SendSms": "tasks.notifications.send_sms",
    "SendPush": "tasks.notifications.send_push",
    "RecordDeliveries": "tasks.notifications.record_deliveries",
}


class Context:
    """What a handler reads of the Lambda context."""

    def __init__(self, name: str) -> None:
        self.function_name = name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = 128
        self.invoked_function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{name}"
        self.log_stream_name = "2026/12/02/[$LATEST]bench"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def start_services(directory: Path) -> tuple[subprocess.Popen[bytes], int]:
    sock = socket.create_server(("127.0.0.1", 0), backlog=128)
    port = int(sock.getsockname()[1])
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "workflows.local.aws_services",
            "--fd",
            str(sock.fileno()),
            "--state-dir",
            str(directory),
            "--parent",
            str(os.getpid()),
        ],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        pass_fds=(sock.fileno(),),
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    sock.close()
    assert process.stdout is not None
    if process.stdout.readline().strip() != b"ready":
        raise SystemExit("the local AWS services did not start")
    return process, port


def sandbox_environment(port: int, push_arn: str) -> None:
    """What a sandbox of ``workflows up`` sets (``sandbox_pool.sandbox_environment``)."""
    os.environ.update(
        {
            "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "AWS_SAM_LOCAL": "true",
            "AWS_LAMBDA_FUNCTION_NAME": "bench",
            "ORDERS_TABLE": ORDERS_TABLE,
            "IDEMPOTENCY_TABLE": IDEMPOTENCY_TABLE,
            "PUSH_PLATFORM_APPLICATION_ARN": push_arn,
            "POWERTOOLS_SERVICE_NAME": "workflows",
            "POWERTOOLS_METRICS_NAMESPACE": "Workflows",
        }
    )
    for name in ("AWS_PROFILE", "POWERTOOLS_TRACE_DISABLED"):
        os.environ.pop(name, None)


def create_resources(port: int, orders: int) -> str:
    """The two tables, seeded and stocked for ``orders`` orders, and a push application."""
    import boto3

    session = boto3.session.Session(
        aws_access_key_id="local", aws_secret_access_key="local", region_name=REGION
    )
    endpoint = f"http://127.0.0.1:{port}"
    dynamodb = session.client("dynamodb", endpoint_url=endpoint)
    from workflows.local.app import table_requests
    from workflows.local.template import load_template

    # the template's tables, named by logical id as `workflows up` names them
    for request in table_requests(load_template(ROOT / "infra" / "sam" / "template.yaml")):
        dynamodb.create_table(**request)
    seed = json.loads((ROOT / "tasks" / "common" / "catalog_seed.json").read_text())
    for product in seed["products"]:
        dynamodb.put_item(
            TableName=ORDERS_TABLE,
            Item={
                "PK": {"S": f"PRODUCT#{product['productId']}"},
                "SK": {"S": "PRODUCT"},
                "productId": {"S": product["productId"]},
                "name": {"S": product["name"]},
                "price": {"N": product["price"]},
                "currency": {"S": product["currency"]},
                "available": {"N": str(100 * orders)},
            },
        )
    for customer in seed["customerPreferences"]:
        item: dict[str, Any] = {
            "PK": {"S": f"CUSTOMER#{customer['customerId']}"},
            "SK": {"S": "PREFERENCES"},
            "customerId": {"S": customer["customerId"]},
            "channels": {"L": [{"S": c} for c in customer["channels"]]},
            "locale": {"S": customer["locale"]},
        }
        for field in ("email", "phone", "pushToken"):
            if customer.get(field):
                item[field] = {"S": customer[field]}
        dynamodb.put_item(TableName=ORDERS_TABLE, Item=item)
    ses = session.client("ses", endpoint_url=endpoint)
    ses.verify_email_identity(EmailAddress="orders@example.com")
    sns = session.client("sns", endpoint_url=endpoint)
    application = sns.create_platform_application(
        Name="bench", Platform="GCM", Attributes={"PlatformCredential": "key"}
    )
    return str(application["PlatformApplicationArn"])


class Order:
    """One order through the handlers, with the states the machines pass them."""

    def __init__(
        self, handlers: dict[str, Any], request: dict[str, Any], evict_mb: int = 0
    ) -> None:
        self.handlers = handlers
        self.request = request
        self.cpu: Counter[str] = Counter()
        # what other processes do to the caches between two invocations of a sandbox
        self.evict = bytearray(evict_mb << 20)

    def call(self, name: str, event: dict[str, Any]) -> dict[str, Any]:
        # a sandbox gets the event as JSON and answers JSON
        event = json.loads(json.dumps(event))
        began = cpu()
        result: dict[str, Any] = self.handlers[name](event, Context(name))
        self.cpu[name] += cpu() - began
        if self.evict:
            self.evict[:] = bytes(len(self.evict))  # written over: not in any cache
            sum(self.evict[::4096])
        return result

    def run(self, number: int) -> None:
        order_id = f"ORD-BENCH-{number:06d}-{uuid.uuid4().hex[:6]}"
        execution = f"arn:aws:states:{REGION}:{ACCOUNT}:execution:OrderProcessing:{order_id}"
        state = copy.deepcopy(self.request)
        state.update({"orderId": order_id, "customerId": "CUST-1001"})
        state["requestedAt"] = "2026-12-02T12:00:00Z"
        state["workflow"] = {"executionArn": execution, "approvalThreshold": 500}
        validated = self.call("ValidateOrder", state)
        state["order"] = {
            k: validated[k]
            for k in ("orderId", "customerId", "items", "total", "currency", "status", "createdAt")
        }
        reserved = self.call("ReserveInventory", state)
        state["reservation"] = {k: reserved[k] for k in ("reservations", "reservedAt")}
        charged = self.call("ChargePayment", state)
        state["payment"] = {k: charged[k] for k in ("chargeId", "amount", "currency", "status")}

        event: dict[str, Any] = {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "OrderConfirmed",
            "source": "workflows.orders",
            "account": ACCOUNT,
            "time": "2026-12-02T12:00:01Z",
            "region": REGION,
            "resources": [],
            "detail": {
                "orderId": order_id,
                "customerId": "CUST-1001",
                "total": validated["total"],
                "currency": validated["currency"],
            },
        }
        event["preferences"] = self.call("LoadPreferences", event)
        event["rendered"] = self.call("RenderMessages", event)
        deliveries = []
        senders = {"email": "SendEmail", "sms": "SendSms", "push": "SendPush"}
        for message in event["rendered"]["messages"]:
            item = {
                "eventId": event["id"],
                "eventType": event["detail-type"],
                "orderId": order_id,
                "message": message,
            }
            sent = self.call(senders[message["channel"]], item)
            deliveries.append({k: sent[k] for k in ("channel", "status", "messageId")})
        event["deliveries"] = deliveries
        self.call("RecordDeliveries", event)


def count_requests() -> Counter[str]:
    """Counts every AWS request the tasks' clients send (botocore's ``before-send``)."""
    import botocore.client

    counts: Counter[str] = Counter()
    original = botocore.client.BaseClient._make_api_call

    def counted(self: Any, operation: str, params: Any) -> Any:
        counts[f"{self.meta.service_model.service_name}.{operation}"] += 1
        return original(self, operation, params)

    botocore.client.BaseClient._make_api_call = counted  # type: ignore[method-assign]
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=200, help="measured orders per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warm", type=int, default=20, help="orders before measuring")
    parser.add_argument("--checkout", type=Path, help="import tasks/ from this checkout")
    parser.add_argument("--profile", type=Path, help="write a cProfile of the measured orders")
    parser.add_argument(
        "--evict-mb",
        type=int,
        default=0,
        help="write over this many MB between invocations (the caches, as other processes"
        " leave them)",
    )
    parser.add_argument(
        "--count", action="store_true", help="count the AWS requests (a second pass)"
    )
    parser.add_argument(
        "--plain-botocore",
        action="store_true",
        help="leave botocore as it is (the sandboxes install workflows.local.sandbox_botocore)",
    )
    args = parser.parse_args()
    if args.checkout is not None:
        sys.path.insert(0, str(args.checkout.resolve()))

    with tempfile.TemporaryDirectory(prefix="handler-loop-") as directory:
        services, port = start_services(Path(directory))
        try:
            total = args.warm + args.orders * args.rounds + (args.orders if args.count else 0)
            push_arn = create_resources(port, total)
            sandbox_environment(port, push_arn)
            botocore_path = "plain"
            if not args.plain_botocore:
                # what the checkout's sandboxes install before their handler (none, before
                # sandboxcpu3)
                try:
                    from workflows.local.sandbox_botocore import install
                except ImportError:
                    pass
                else:
                    install()
                    botocore_path = "sandbox_botocore"
            handlers = {
                name: importlib.import_module(module).handler for name, module in HANDLERS.items()
            }
            source = Path(sys.modules["tasks"].__file__ or "").parent.parent
            # the functions' logs (a line or two per invocation) go where a sandbox's go
            # when nobody reads them; the figures go to this process's stdout
            sys.stdout.flush()
            report = os.fdopen(os.dup(1), "w")
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            os.close(devnull)
            request = json.loads((ROOT / "examples" / "order_request.json").read_text())
            order = Order(handlers, request, args.evict_mb)
            number = 0
            for _ in range(args.warm):
                order.run(number)
                number += 1
            per_order: list[float] = []
            profile = cProfile.Profile(time.process_time) if args.profile else None
            order.cpu.clear()
            for _ in range(args.rounds):
                began = cpu()
                if profile is not None:
                    profile.enable()
                for _ in range(args.orders):
                    order.run(number)
                    number += 1
                if profile is not None:
                    profile.disable()
                per_order.append((cpu() - began) / args.orders)
            measured = args.orders * args.rounds
            say = functools.partial(print, file=report, flush=True)
            say(
                f"tasks from {source}, botocore {botocore_path},"
                f" {args.orders} orders x {args.rounds} rounds"
            )
            say(
                "CPU per order: median {:.2f} ms (rounds: {})".format(
                    statistics.median(per_order) * 1000,
                    ", ".join(f"{s * 1000:.2f}" for s in per_order),
                )
            )
            say(f"  in the handlers  {sum(order.cpu.values()) / measured * 1000:6.2f} ms")
            for name in HANDLERS:
                say(f"  {name:<17} {order.cpu[name] / measured * 1000:6.2f} ms")
            if profile is not None:
                profile.dump_stats(args.profile)
            if args.count:
                counts = count_requests()
                for _ in range(args.orders):
                    order.run(number)
                    number += 1
                say(f"AWS requests per order: {sum(counts.values()) / args.orders:.1f}")
                for operation, count in sorted(counts.items()):
                    say(f"  {operation:<40} {count / args.orders:.1f}")
        finally:
            if services.stdin is not None:
                services.stdin.close()
            services.terminate()
            services.wait(10)


if __name__ == "__main__":
    main()
