"""The local API Gateway on a real 127.0.0.1 socket, serving the real API Lambda.

The API function is the template's ``ApiFunction`` run by ``LocalApp.lambdas`` (as Lambda
runs it). It verifies local tokens against the JWKS this same server publishes, and calls
Step Functions and DynamoDB in a moto server on another 127.0.0.1 port (through
``AWS_ENDPOINT_URL``, as it would call local services under ``workflows up``).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import boto3
import pytest
from aiohttp import web
from moto.server import ThreadedMotoServer

from workflows.api.app import reset_default_services
from workflows.local.apigateway import create_app, invoke_with, routes_from_template
from workflows.local.app import LocalApp
from workflows.local.local_auth import LocalIssuer, mint_token, template_overrides
from workflows.local.template import REGION, load_template

REPO = Path(__file__).resolve().parents[3]
TEMPLATE = REPO / "infra" / "sam" / "template.yaml"
ORDER = json.loads(
    (REPO / "tests" / "fixtures" / "events" / "apigw_rest_post_orders.json").read_text()
)["body"]
DEFINITION = {
    "Comment": "Stand-in for the order workflow (moto records executions, it does not run them).",
    "StartAt": "Done",
    "States": {"Done": {"Type": "Succeed"}},
}


@pytest.fixture
def moto_endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    fake = {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        "POWERTOOLS_METRICS_DISABLED": "true",
    }
    for name, value in fake.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL_SFN", "AWS_ENDPOINT_URL_DYNAMODB"):
        monkeypatch.delenv(name, raising=False)
    try:
        yield endpoint
    finally:
        server.stop()


@dataclass
class LocalApi:
    base: str
    key_path: Path
    state_machine_arn: str
    received: list[dict[str, Any]]

    def token(self, sub: str, *roles: str) -> str:
        return mint_token(sub, roles, key_path=self.key_path, issuer=f"{self.base}/")


@pytest.fixture
async def local_api(
    moto_endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[LocalApi]:
    key_path = tmp_path / ".workflows" / "jwt-key.pem"
    issuer = LocalIssuer.from_key_file(key_path)
    app = LocalApp(load_template(TEMPLATE))
    received: list[dict[str, Any]] = []
    run = invoke_with(app.lambdas, app.clock)

    async def invoke(function: Any, event: dict[str, Any]) -> Any:
        received.append(event)
        return await run(function, event)

    runner = web.AppRunner(create_app(routes_from_template(app.template), invoke, jwks=issuer.jwks))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    base = f"http://{host}:{port}"

    # the template, pointed at this server's issuer: what `workflows up` gives the function
    template = load_template(TEMPLATE, overrides=template_overrides(base))
    environment = template.functions["ApiFunction"].environment
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    session = boto3.Session(region_name=REGION)
    machine = session.client("stepfunctions").create_state_machine(
        name="OrderProcessingStateMachine",
        definition=json.dumps(DEFINITION),
        roleArn="arn:aws:iam::123456789012:role/order-workflow",
    )
    assert machine["stateMachineArn"] == environment["ORDER_STATE_MACHINE_ARN"]
    session.client("dynamodb").create_table(
        TableName=environment["ORDERS_TABLE"],
        KeySchema=[
            {"AttributeName": "PK", "KeyType": "HASH"},
            {"AttributeName": "SK", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "PK", "AttributeType": "S"},
            {"AttributeName": "SK", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    reset_default_services()
    try:
        yield LocalApi(base, key_path, machine["stateMachineArn"], received)
    finally:
        reset_default_services()
        await runner.cleanup()


async def test_an_order_placed_with_curl_and_a_local_token(local_api: LocalApi) -> None:
    base = local_api.base
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{base}/openapi.json") as response:
            assert response.status == 200
            document = await response.json()
            assert "/orders" in document["paths"]

        async with http.post(
            f"{base}/orders", data=ORDER, headers={"Content-Type": "application/json"}
        ) as response:
            assert response.status == 401
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
            refused = await response.json()
            assert refused["success"] is False
            assert refused["error"]["code"] == "unauthorized"
            assert refused["error"]["details"]["reason"] == "missing_token"

        async with http.get(f"{base}/.well-known/jwks.json") as response:
            assert response.status == 200
            assert len((await response.json())["keys"]) == 1

        customer = {"Authorization": f"Bearer {local_api.token('customer-1')}"}
        async with http.post(
            f"{base}/orders",
            data=ORDER,
            headers={**customer, "Content-Type": "application/json"},
        ) as response:
            assert response.status == 202, await response.text()
            assert response.headers["Location"] == "/orders/ord-20250131-0001"
            accepted = (await response.json())["data"]
        execution_arn = accepted["executionArn"]
        assert accepted["orderId"] == "ord-20250131-0001"
        assert execution_arn.endswith(":OrderProcessingStateMachine:ord-20250131-0001")

        stepfunctions = boto3.Session(region_name=REGION).client("stepfunctions")
        started = stepfunctions.describe_execution(executionArn=execution_arn)
        assert json.loads(started["input"])["customerId"] == "customer-1"

        async with http.get(f"{base}/orders/ord-20250131-0001", headers=customer) as response:
            assert response.status == 200, await response.text()
            order = (await response.json())["data"]
        assert order["orderId"] == "ord-20250131-0001"
        assert order["workflow"]["executionArn"] == execution_arn

        stranger = {"Authorization": f"Bearer {local_api.token('customer-2')}"}
        async with http.get(f"{base}/orders/ord-20250131-0001", headers=stranger) as response:
            assert response.status == 404

        async with http.get(f"{base}/") as response:
            assert response.status == 403
            assert await response.json() == {"message": "Missing Authentication Token"}

    placed = local_api.received[1]
    assert placed["resource"] == "/{proxy+}"
    assert placed["pathParameters"] == {"proxy": "orders"}
    assert placed["requestContext"]["path"] == "/Prod/orders"
    assert placed["requestContext"]["stage"] == "Prod"
