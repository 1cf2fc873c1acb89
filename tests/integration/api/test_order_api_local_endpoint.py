"""The API's production boto3 clients honour the per-service endpoint variables
(AWS_ENDPOINT_URL_SFN, botocore's name for Step Functions', and AWS_ENDPOINT_URL_DYNAMODB):
the same handler runs against local AWS endpoints.

A small HTTP server stands in for the local Step Functions and DynamoDB endpoints
(AWS JSON 1.0 protocol) and records what it receives.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest

from workflows.api.app import handler, reset_default_services

EVENTS = Path(__file__).resolve().parents[2] / "fixtures" / "events"
MACHINE = "arn:aws:states:eu-west-1:123456789012:stateMachine:OrderWorkflow"
SECRET = "integration-test-secret-of-at-least-32-bytes"


@dataclass
class LocalAws:
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    executions: dict[str, dict[str, Any]] = field(default_factory=dict)

    def answer(self, target: str, request: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        self.calls.append((target, request))
        if target == "AWSStepFunctions.StartExecution":
            arn = MACHINE.replace(":stateMachine:", ":execution:") + ":" + request["name"]
            self.executions[arn] = {"input": request["input"], "status": "RUNNING"}
            return 200, {"executionArn": arn, "startDate": time.time()}
        if target == "AWSStepFunctions.DescribeExecution":
            execution = self.executions.get(request["executionArn"])
            if execution is None:
                return 400, {"__type": "ExecutionDoesNotExist", "message": "no such execution"}
            return 200, {
                "executionArn": request["executionArn"],
                "stateMachineArn": MACHINE,
                "status": execution["status"],
                "input": execution["input"],
                "startDate": time.time(),
            }
        if target == "AWSStepFunctions.GetExecutionHistory":
            return 200, {"events": []}
        if target == "DynamoDB_20120810.GetItem":
            return 200, {}
        return 400, {"__type": "UnknownOperationException", "message": target}


@pytest.fixture
def local_aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalAws]:
    state = LocalAws()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            request = json.loads(self.rfile.read(length) or b"{}")
            status, body = state.answer(self.headers.get("X-Amz-Target", ""), request)
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/x-amz-json-1.0")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    endpoint = f"http://127.0.0.1:{server.server_address[1]}"
    environment = {
        # per-service variables only: a client that ignored them would go to AWS and fail
        "AWS_ENDPOINT_URL_SFN": endpoint,
        "AWS_ENDPOINT_URL_DYNAMODB": endpoint,
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "ORDER_STATE_MACHINE_ARN": MACHINE,
        "ORDERS_TABLE": "orders",
        "JWT_ISSUER": "https://idp.local/",
        "JWT_AUDIENCE": "orders-api",
        "JWT_HS256_SECRET": SECRET,
    }
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_SESSION_TOKEN", "AWS_PROFILE", "JWT_JWKS_URL", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    reset_default_services()
    try:
        yield state
    finally:
        reset_default_services()
        server.shutdown()
        server.server_close()


@dataclass
class Context:
    function_name: str = "orders-api"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:eu-west-1:123456789012:function:orders-api"
    aws_request_id: str = "integration"


def _event(name: str, token: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / f"apigw_rest_{name}.json").read_text())
    event["headers"]["Authorization"] = f"Bearer {token}"
    event["multiValueHeaders"]["Authorization"] = [f"Bearer {token}"]
    return event


def _token(subject: str) -> str:
    now = int(time.time())
    claims = {"iss": "https://idp.local/", "aud": "orders-api", "sub": subject}
    return jwt.encode({**claims, "iat": now, "exp": now + 60}, SECRET, algorithm="HS256")


def test_orders_flow_against_a_local_endpoint(local_aws: LocalAws) -> None:
    placed = handler(_event("post_orders", _token("customer-9")), Context())
    assert placed["statusCode"] == 202
    [(target, request)] = local_aws.calls
    assert target == "AWSStepFunctions.StartExecution"
    assert request["stateMachineArn"] == MACHINE
    assert request["name"] == "ord-20250131-0001"
    assert json.loads(request["input"])["customerId"] == "customer-9"

    fetched = handler(_event("get_order", _token("customer-9")), Context())
    assert fetched["statusCode"] == 200
    body = json.loads(fetched["body"])
    assert body["data"]["source"] == "execution"
    assert body["data"]["workflow"]["status"] == "RUNNING"
    targets = [target for target, _ in local_aws.calls]
    assert "DynamoDB_20120810.GetItem" in targets

    hidden = handler(_event("get_order", _token("customer-10")), Context())
    assert hidden["statusCode"] == 404
