"""Helpers of the order API tests: API Gateway proxy events from tests/fixtures/events,
RSA/HS256 tokens served by a stub JWKS client, moto's Step Functions and DynamoDB.

The fixtures are in conftest.py; tests import the helpers from here."""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from moto import mock_aws

from workflows.api.app import handler
from workflows.api.service import Services
from workflows.api.settings import ApiSettings

EVENTS_DIR = Path(__file__).resolve().parents[2] / "fixtures" / "events"
REGION = "eu-west-1"
ACCOUNT = "123456789012"
STATE_MACHINE_NAME = "OrderWorkflow"
STATE_MACHINE_ARN = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{STATE_MACHINE_NAME}"
TABLE = "orders"
ISSUER = "https://idp.example.test/"
AUDIENCE = "orders-api"
JWKS_URL = "https://idp.example.test/.well-known/jwks.json"
HS256_SECRET = "test-only-shared-secret-of-32-bytes-or-more"
CUSTOMER = "customer-1"
OTHER_CUSTOMER = "customer-2"
APPROVER = "approver-1"
FROZEN_NOW = datetime(2025, 1, 31, 12, 0, 0, tzinfo=UTC)

ORDER_DEFINITION = {
    "Comment": "Order workflow stand-in for the API tests (moto does not run it).",
    "StartAt": "ReserveStock",
    "States": {
        "ReserveStock": {"Type": "Pass", "Next": "WaitForApproval"},
        "WaitForApproval": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
            "Parameters": {
                "FunctionName": "request-approval",
                "Payload": {"orderId.$": "$.orderId", "taskToken.$": "$$.Task.Token"},
            },
            "Catch": [{"ErrorEquals": ["ApprovalRejected"], "Next": "Rejected"}],
            "Next": "Confirmed",
        },
        "Confirmed": {"Type": "Succeed"},
        "Rejected": {"Type": "Fail", "Error": "ApprovalRejected"},
    },
}


# --- events -------------------------------------------------------------------------------


def load_event(name: str) -> dict[str, Any]:
    """A fresh copy of an API Gateway REST proxy event fixture (``apigw_rest_*.json``)."""
    with (EVENTS_DIR / f"apigw_rest_{name}.json").open(encoding="utf-8") as handle:
        event: dict[str, Any] = json.load(handle)
    return copy.deepcopy(event)


def set_header(event: dict[str, Any], name: str, value: str | None) -> None:
    """Set (or, with None, remove) a header in ``headers`` and ``multiValueHeaders``."""
    for key in ("headers", "multiValueHeaders"):
        headers = event.get(key) or {}
        for existing in [k for k in headers if k.lower() == name.lower()]:
            del headers[existing]
        if value is not None:
            headers[name] = value if key == "headers" else [value]
        event[key] = headers


def api_event(
    name: str,
    *,
    token: str | None = None,
    body: Any = ...,
    raw_body: str | None = None,
    headers: dict[str, str | None] | None = None,
    path: str | None = None,
    query: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A fixture event with a bearer token, body, headers, path or query replaced."""
    event = load_event(name)
    if token is not None:
        set_header(event, "Authorization", f"Bearer {token}")
    if body is not ...:
        event["body"] = json.dumps(body)
    if raw_body is not None:
        event["body"] = raw_body
    for header_name, value in (headers or {}).items():
        set_header(event, header_name, value)
    if path is not None:
        event["path"] = path
        event["requestContext"]["path"] = f"/prod{path}"
    if query is not None:
        event["queryStringParameters"] = query
        event["multiValueQueryStringParameters"] = {k: [v] for k, v in query.items()}
    return event


def order_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(load_event("post_orders")["body"])
    body.update(overrides)
    return body


@dataclass
class LambdaContext:
    function_name: str = "orders-api"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:orders-api"
    aws_request_id: str = "5d1f6c7e-0000-4000-8000-000000000001"
    log_group_name: str = "/aws/lambda/orders-api"
    log_stream_name: str = "2025/01/31/[$LATEST]0123456789abcdef"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: Any
    raw: dict[str, Any]

    @property
    def error_code(self) -> str | None:
        error = self.body.get("error") if isinstance(self.body, dict) else None
        return error.get("code") if isinstance(error, dict) else None

    @property
    def reason(self) -> str | None:
        error = self.body.get("error") if isinstance(self.body, dict) else None
        details = error.get("details") if isinstance(error, dict) else None
        return details.get("reason") if isinstance(details, dict) else None

    @property
    def data(self) -> Any:
        return self.body["data"]


def parse_answer(raw: dict[str, Any]) -> Answer:
    headers: dict[str, str] = {}
    for name, value in (raw.get("headers") or {}).items():
        headers[name.lower()] = value
    for name, values in (raw.get("multiValueHeaders") or {}).items():
        headers[name.lower()] = values[-1]
    body: Any = raw.get("body")
    if headers.get("content-type", "").startswith("application/json") and body:
        body = json.loads(body)
    return Answer(status=raw["statusCode"], headers=headers, body=body, raw=raw)


Invoke = Callable[[dict[str, Any]], Answer]


# --- keys and tokens ----------------------------------------------------------------------


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private: rsa.RSAPrivateKey

    def jwk(self) -> dict[str, Any]:
        public: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(self.private.public_key()))
        return {**public, "kid": self.kid, "use": "sig", "alg": "RS256"}


def _rsa() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def signing_key() -> SigningKey:
    return SigningKey("key-2025-01", _rsa())


@pytest.fixture(scope="session")
def rotated_key() -> SigningKey:
    return SigningKey("key-2025-02", _rsa())


@pytest.fixture(scope="session")
def attacker_key() -> SigningKey:
    return SigningKey("key-2025-01", _rsa())


class StubJWKClient(jwt.PyJWKClient):
    """A real PyJWKClient whose JWKS comes from memory instead of the network."""

    def __init__(self, keys: list[SigningKey]) -> None:
        super().__init__(JWKS_URL, cache_keys=False)
        self.keys = list(keys)
        self.fetches = 0

    def fetch_data(self) -> Any:
        self.fetches += 1
        return {"keys": [key.jwk() for key in self.keys]}


@pytest.fixture
def jwks(signing_key: SigningKey) -> StubJWKClient:
    return StubJWKClient([signing_key])


@dataclass
class TokenFactory:
    key: SigningKey

    def claims(self, subject: str = CUSTOMER, **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": subject,
            "iat": now,
            "nbf": now,
            "exp": now + 300,
        }
        claims.update(overrides)
        return {name: value for name, value in claims.items() if value is not None}

    def rs256(
        self,
        subject: str = CUSTOMER,
        *,
        key: SigningKey | None = None,
        kid: str | None = None,
        headers: dict[str, Any] | None = None,
        **claims: Any,
    ) -> str:
        key = key or self.key
        return jwt.encode(
            self.claims(subject, **claims),
            key.private,
            algorithm="RS256",
            headers={"kid": kid or key.kid, **(headers or {})},
        )

    def hs256(self, subject: str = CUSTOMER, *, secret: str = HS256_SECRET, **claims: Any) -> str:
        return jwt.encode(self.claims(subject, **claims), secret, algorithm="HS256")

    def customer(self, subject: str = CUSTOMER) -> str:
        return self.rs256(subject)

    def approver(self, subject: str = APPROVER) -> str:
        return self.rs256(subject, roles=["approver"])


@pytest.fixture
def tokens(signing_key: SigningKey) -> TokenFactory:
    return TokenFactory(signing_key)


# --- AWS (moto) ---------------------------------------------------------------------------


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SFN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)


@dataclass
class Aws:
    sfn: Any
    dynamodb: Any
    table: Any
    state_machine_arn: str

    def put_order(self, order_id: str, **attributes: Any) -> dict[str, Any]:
        item: dict[str, Any] = {
            "PK": f"ORDER#{order_id}",
            "SK": "ORDER",
            "orderId": order_id,
            "customerId": CUSTOMER,
            "status": "PENDING",
            "total": 42,
            "currency": "EUR",
            "items": [{"productId": "sku-espresso-beans", "quantity": 2}],
            "createdAt": "2025-01-31T12:00:00.000Z",
            "updatedAt": "2025-01-31T12:00:01.000Z",
        }
        item.update(attributes)
        self.table.put_item(Item=item)
        return item

    def executions(self) -> list[dict[str, Any]]:
        answer = self.sfn.list_executions(stateMachineArn=self.state_machine_arn)
        executions: list[dict[str, Any]] = answer["executions"]
        return executions

    def execution_input(self, arn: str) -> dict[str, Any]:
        described = self.sfn.describe_execution(executionArn=arn)
        payload: dict[str, Any] = json.loads(described["input"])
        return payload


@pytest.fixture
def aws(aws_env: None) -> Iterator[Aws]:
    with mock_aws():
        sfn = boto3.client("stepfunctions", region_name=REGION)
        iam_role = f"arn:aws:iam::{ACCOUNT}:role/order-workflow"
        machine = sfn.create_state_machine(
            name=STATE_MACHINE_NAME, definition=json.dumps(ORDER_DEFINITION), roleArn=iam_role
        )
        dynamodb = boto3.resource("dynamodb", region_name=REGION)
        table = dynamodb.create_table(
            TableName=TABLE,
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
        assert machine["stateMachineArn"] == STATE_MACHINE_ARN
        yield Aws(sfn, dynamodb, table, machine["stateMachineArn"])


# --- the API ------------------------------------------------------------------------------


@pytest.fixture
def settings() -> ApiSettings:
    return ApiSettings.from_env(
        {},
        order_state_machine_arn=STATE_MACHINE_ARN,
        orders_table=TABLE,
        jwt_issuer=ISSUER,
        jwt_audience=AUDIENCE,
        jwt_jwks_url=JWKS_URL,
    )


@dataclass
class Ids:
    issued: list[str] = field(default_factory=list)

    def __call__(self) -> str:
        order_id = f"ord-generated-{len(self.issued) + 1:04d}"
        self.issued.append(order_id)
        return order_id


@pytest.fixture
def clock() -> Callable[[], datetime]:
    return lambda: FROZEN_NOW


def make_services(
    settings: ApiSettings,
    *,
    sfn: Any,
    table: Any,
    jwks: Any = None,
    clock: Callable[[], datetime] | None = None,
) -> Services:
    return Services.create(
        settings,
        sfn=sfn,
        table=table,
        jwks=jwks,
        clock=clock or (lambda: FROZEN_NOW),
        id_factory=Ids(),
    )


@pytest.fixture
def services(
    settings: ApiSettings, aws: Aws, jwks: StubJWKClient, clock: Callable[[], datetime]
) -> Services:
    return make_services(settings, sfn=aws.sfn, table=aws.table, jwks=jwks, clock=clock)


def invoker(services: Services) -> Invoke:
    def invoke(event: dict[str, Any]) -> Answer:
        return parse_answer(handler(event, LambdaContext(), services=services))

    return invoke


@pytest.fixture
def call(services: Services) -> Invoke:
    """Invoke the Lambda handler with moto-backed services and parse its answer."""
    return invoker(services)


# --- fakes --------------------------------------------------------------------------------


def client_error(code: str, message: str = "", operation: str = "Operation") -> Exception:
    from botocore.exceptions import ClientError

    return ClientError({"Error": {"Code": code, "Message": message or code}}, operation)


@dataclass
class FakeStepFunctions:
    """An in-memory Step Functions client: scripted answers, recorded calls."""

    executions: dict[str, dict[str, Any]] = field(default_factory=dict)
    histories: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    failures: dict[str, Exception] = field(default_factory=dict)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def _call(self, operation: str, kwargs: dict[str, Any]) -> None:
        self.calls.append((operation, kwargs))
        if operation in self.failures:
            raise self.failures[operation]

    def start_execution(self, **kwargs: Any) -> dict[str, Any]:
        self._call("start_execution", kwargs)
        arn = (
            f"{kwargs['stateMachineArn'].replace(':stateMachine:', ':execution:')}:{kwargs['name']}"
        )
        existing = self.executions.get(arn)
        if existing is not None:
            if existing["input"] != kwargs["input"]:
                raise client_error("ExecutionAlreadyExists", operation="StartExecution")
            return {"executionArn": arn, "startDate": existing["startDate"]}
        self.executions[arn] = {
            "executionArn": arn,
            "input": kwargs["input"],
            "status": "RUNNING",
            "startDate": FROZEN_NOW,
        }
        return {"executionArn": arn, "startDate": FROZEN_NOW}

    def describe_execution(self, **kwargs: Any) -> dict[str, Any]:
        self._call("describe_execution", kwargs)
        execution = self.executions.get(kwargs["executionArn"])
        if execution is None:
            raise client_error("ExecutionDoesNotExist", operation="DescribeExecution")
        return dict(execution)

    def get_execution_history(self, **kwargs: Any) -> dict[str, Any]:
        self._call("get_execution_history", kwargs)
        arn = kwargs["executionArn"]
        if arn not in self.executions:
            raise client_error("ExecutionDoesNotExist", operation="GetExecutionHistory")
        events = list(self.histories.get(arn, []))
        if kwargs.get("reverseOrder"):
            events.reverse()
        start = 0
        token = kwargs.get("nextToken")
        if token is not None:
            if not token.startswith("page:"):
                raise client_error("InvalidToken", operation="GetExecutionHistory")
            start = int(token.removeprefix("page:"))
        size = kwargs.get("maxResults") or 1000
        page = events[start : start + size]
        answer: dict[str, Any] = {"events": page}
        if start + size < len(events):
            answer["nextToken"] = f"page:{start + size}"
        return answer

    def send_task_success(self, **kwargs: Any) -> dict[str, Any]:
        self._call("send_task_success", kwargs)
        return {}

    def send_task_failure(self, **kwargs: Any) -> dict[str, Any]:
        self._call("send_task_failure", kwargs)
        return {}

    def operations(self) -> list[str]:
        return [operation for operation, _ in self.calls]


@dataclass
class Recording:
    """Wraps a real (moto) client and records the calls made through it."""

    inner: Any
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.inner, name)

        def record(**kwargs: Any) -> Any:
            self.calls.append((name, kwargs))
            return method(**kwargs)

        return record


def execution_arn_of(order_id: str) -> str:
    return f"arn:aws:states:{REGION}:{ACCOUNT}:execution:{STATE_MACHINE_NAME}:{order_id}"


def workflow_input(order_id: str, customer: str = CUSTOMER) -> dict[str, Any]:
    body = order_body(orderId=order_id)
    return {**body, "customerId": customer, "requestedAt": "2025-01-31T12:00:00.000Z"}
