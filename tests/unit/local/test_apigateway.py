"""The local API Gateway: route matching, the REST proxy event, the proxy response, and
what API Gateway itself answers (403/413/502/504), through aiohttp's test client."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from yarl import URL

from workflows.local.apigateway import (
    MAX_BODY_BYTES,
    ApiRoute,
    IncomingRequest,
    MalformedResponse,
    RouteTable,
    build_event,
    create_app,
    proxy_response,
    routes_from_template,
)
from workflows.local.template import ApiEvent, FunctionSpec, load_template

REPO = Path(__file__).resolve().parents[3]
TEMPLATE = REPO / "infra" / "sam" / "template.yaml"
EVENTS = REPO / "tests" / "fixtures" / "events"
FIXTURES = sorted(
    path.stem.removeprefix("apigw_rest_") for path in EVENTS.glob("apigw_rest_*.json")
)


def spec(name: str = "ApiFunction") -> FunctionSpec:
    return FunctionSpec(name, "workflows.api.app.handler", {}, 30)


def table(*routes: tuple[str, str] | tuple[str, str, str]) -> RouteTable:
    return RouteTable(
        ApiRoute(route[0], route[1], spec(route[2] if len(route) == 3 else "Fn"))
        for route in routes
    )


def load_fixture(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / f"apigw_rest_{name}.json").read_text())
    return event


# --- routes --------------------------------------------------------------------------------


def test_the_template_declares_one_greedy_route_to_the_api_function() -> None:
    routes = routes_from_template(load_template(TEMPLATE))
    assert [(r.path, r.method, r.function.logical_id) for r in routes] == [
        ("/{proxy+}", "ANY", "ApiFunction")
    ]
    api = load_template(TEMPLATE).functions["ApiFunction"]
    assert api.api_events == [ApiEvent("Api", "/{proxy+}", "ANY")]
    assert load_template(TEMPLATE).functions["ValidateOrderFunction"].api_events == []


def test_api_events_of_a_template_become_routes(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(
        "Resources:\n"
        "  Orders:\n"
        "    Type: AWS::Serverless::Function\n"
        "    Properties:\n"
        "      Handler: app.orders\n"
        "      Events:\n"
        "        List: {Type: Api, Properties: {Path: /orders, Method: get}}\n"
        "        One: {Type: Api, Properties: {Path: '/orders/{orderId}', Method: GET}}\n"
        "        Http: {Type: HttpApi, Properties: {Path: /h, Method: GET}}\n"
    )
    routes = routes_from_template(load_template(path))
    assert [(r.path, r.method) for r in routes] == [
        ("/orders", "GET"),
        ("/orders/{orderId}", "GET"),
    ]


@pytest.mark.parametrize(
    ("method", "path", "resource", "parameters"),
    [
        ("GET", "/orders", "/orders", {}),
        ("GET", "/orders/", "/orders", {}),  # a trailing slash is ignored
        ("GET", "/orders/ord-1", "/orders/{orderId}", {"orderId": "ord-1"}),
        ("POST", "/orders/ord-1/approval", "/orders/{orderId}/approval", {"orderId": "ord-1"}),
        ("GET", "/orders/special", "/orders/special", {}),  # literal beats {orderId}
        (
            "GET",
            "/orders/ord-1/items/3",
            "/orders/{orderId}/{proxy+}",
            {"orderId": "ord-1", "proxy": "items/3"},
        ),
        ("DELETE", "/anything/else", "/{proxy+}", {"proxy": "anything/else"}),
        ("GET", "/a%2Fb/c%3A1", "/{proxy+}", {"proxy": "a%2Fb/c%3A1"}),  # kept encoded
        ("GET", "/orders/ord%201", "/orders/{orderId}", {"orderId": "ord%201"}),
    ],
)
def test_the_most_specific_resource_wins(
    method: str, path: str, resource: str, parameters: dict[str, str]
) -> None:
    routes = table(
        ("/{proxy+}", "ANY"),
        ("/orders", "ANY"),
        ("/orders/{orderId}", "GET"),
        ("/orders/{orderId}/approval", "POST"),
        ("/orders/special", "GET"),
        ("/orders/{orderId}/{proxy+}", "GET"),
    )
    match = routes.match(method, path)
    assert match is not None
    assert match.route.path == resource
    assert match.path_parameters == parameters


def test_no_route_and_no_method_do_not_match() -> None:
    routes = table(("/{proxy+}", "ANY"), ("/orders/{orderId}", "GET"))
    assert routes.match("GET", "/") is None  # a greedy variable needs at least one segment
    assert routes.match("PUT", "/orders/ord-1") is None  # no fall back to /{proxy+}
    only = table(("/orders", "GET"))
    assert only.match("GET", "/orders/x") is None
    assert only.match("POST", "/orders") is None
    assert only.match("GET", "/order") is None
    root = table(("/", "GET"))
    assert root.match("GET", "/") is not None


def test_method_falls_back_to_any_on_the_same_resource() -> None:
    routes = table(("/orders", "GET", "Reader"), ("/orders", "ANY", "Writer"))
    get, post = routes.match("get", "/orders"), routes.match("POST", "/orders")
    assert get is not None
    assert post is not None
    assert get.route.function.logical_id == "Reader"
    assert post.route.function.logical_id == "Writer"


@pytest.mark.parametrize(
    ("routes", "message"),
    [
        ([("/{proxy+}/x", "GET")], "last path part"),
        ([("/orders/{id}", "GET"), ("/orders/{orderId}/x", "GET")], "sibling variables"),
        ([("/orders/{id}", "GET"), ("/orders/{proxy+}", "GET")], "sibling variables"),
        ([("/orders", "GET"), ("/orders", "get")], "declared twice"),
        ([("/orders", "FETCH")], "not an HTTP method"),
        ([("orders", "GET")], "must start with '/'"),
        ([("/orders/{bad", "GET")], "not valid"),
    ],
)
def test_routes_api_gateway_would_not_deploy_are_refused(
    routes: list[tuple[str, str]], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        table(*routes)


# --- the event -----------------------------------------------------------------------------


def incoming_from_fixture(fixture: dict[str, Any]) -> IncomingRequest:
    query = fixture["multiValueQueryStringParameters"] or {}
    body = fixture["body"]
    return IncomingRequest(
        method=fixture["httpMethod"],
        raw_path=fixture["path"],
        raw_query="&".join(f"{k}={v}" for k, values in query.items() for v in values),
        headers=[
            (name, value)
            for name, values in fixture["multiValueHeaders"].items()
            for value in values
        ],
        body=base64.b64decode(body) if fixture["isBase64Encoded"] else (body or "").encode(),
        source_ip=fixture["requestContext"]["identity"]["sourceIp"],
        host=fixture["requestContext"]["domainName"],
        port=443,
        scheme="https",
        request_id=fixture["requestContext"]["requestId"],
        time_epoch_ms=fixture["requestContext"]["requestTimeEpoch"],
    )


@pytest.mark.parametrize("name", FIXTURES)
def test_events_have_the_shape_of_the_recorded_fixtures(name: str) -> None:
    fixture = load_fixture(name)
    routes = table((fixture["resource"], fixture["httpMethod"]))
    match = routes.match(fixture["httpMethod"], fixture["path"])
    assert match is not None
    event = build_event(incoming_from_fixture(fixture), match, stage="prod", api_id="a1b2c3d4e5")

    assert set(event) == set(fixture)
    for key in (
        "resource",
        "path",
        "httpMethod",
        "queryStringParameters",
        "multiValueQueryStringParameters",
        "pathParameters",
        "stageVariables",
        "body",
        "isBase64Encoded",
    ):
        assert event[key] == fixture[key], key
    context, recorded = event["requestContext"], fixture["requestContext"]
    assert set(recorded) <= set(context)
    assert set(recorded["identity"]) <= set(context["identity"])
    for key in recorded.keys() - {"resourceId", "identity"}:
        assert context[key] == recorded[key], key
    assert context["identity"]["sourceIp"] == recorded["identity"]["sourceIp"]
    assert context["identity"]["userAgent"] == recorded["identity"]["userAgent"]
    # the client's headers arrive as sent; API Gateway's own come last
    for header, value in fixture["headers"].items():
        if header != "X-Forwarded-For":
            assert event["headers"][header] == value, header
    assert event["headers"]["X-Forwarded-For"] == "203.0.113.10, 198.51.100.7, 203.0.113.10"


def request(
    method: str = "GET",
    path: str = "/orders",
    query: str = "",
    headers: list[tuple[str, str]] | None = None,
    body: bytes = b"",
) -> IncomingRequest:
    return IncomingRequest(
        method=method,
        raw_path=path,
        raw_query=query,
        headers=headers or [("Host", "127.0.0.1:3000"), ("User-Agent", "curl/8.5.0")],
        body=body,
        source_ip="127.0.0.1",
        port=3000,
        request_id="req-1",
        time_epoch_ms=1_738_324_800_000,
    )


def event_of(incoming: IncomingRequest, resource: str = "/{proxy+}") -> dict[str, Any]:
    match = table((resource, "ANY")).match(incoming.method, incoming.raw_path)
    assert match is not None
    return build_event(incoming, match)


def test_a_local_event_is_on_stage_prod_of_the_greedy_resource() -> None:
    event = event_of(request("GET", "/orders/ord-1"))
    assert event["resource"] == "/{proxy+}"
    assert event["path"] == "/orders/ord-1"
    assert event["pathParameters"] == {"proxy": "orders/ord-1"}
    assert event["queryStringParameters"] is None
    assert event["multiValueQueryStringParameters"] is None
    assert event["stageVariables"] is None
    assert event["body"] is None
    assert event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert context["stage"] == "Prod"
    assert context["path"] == "/Prod/orders/ord-1"
    assert context["resourcePath"] == "/{proxy+}"
    assert context["httpMethod"] == "GET"
    assert context["requestId"] == "req-1"
    assert context["requestTimeEpoch"] == 1_738_324_800_000
    assert context["requestTime"] == "31/Jan/2025:12:00:00 +0000"
    assert context["accountId"] == "123456789012"
    assert context["protocol"] == "HTTP/1.1"
    assert context["identity"]["sourceIp"] == "127.0.0.1"
    assert len(context["apiId"]) == 10
    assert event["headers"]["X-Forwarded-Proto"] == "http"
    assert event["headers"]["X-Forwarded-Port"] == "3000"
    assert event["headers"]["X-Forwarded-For"] == "127.0.0.1"
    assert event["headers"]["X-Amzn-Trace-Id"].startswith("Root=1-679cbb40-")


def test_query_strings_are_decoded_and_the_last_value_is_the_single_one() -> None:
    event = event_of(request(query="limit=20&tag=a&tag=b%2Fc&sort=-+createdAt&flag"))
    assert event["queryStringParameters"] == {
        "limit": "20",
        "tag": "b/c",
        "sort": "- createdAt",
        "flag": "",
    }
    assert event["multiValueQueryStringParameters"] == {
        "limit": ["20"],
        "tag": ["a", "b/c"],
        "sort": ["- createdAt"],
        "flag": [""],
    }


def test_repeated_headers_are_multi_valued_and_hop_by_hop_ones_dropped() -> None:
    headers = [
        ("Host", "127.0.0.1:3000"),
        ("Accept", "text/html"),
        ("accept", "application/json"),
        ("Connection", "keep-alive"),
        ("X-Forwarded-For", "10.0.0.1"),
        ("X-Amzn-Trace-Id", "Root=1-00000000-000000000000000000000000"),
    ]
    event = event_of(request(headers=headers))
    assert event["multiValueHeaders"]["Accept"] == ["text/html", "application/json"]
    assert event["headers"]["Accept"] == "application/json"
    assert "Connection" not in event["headers"]
    assert event["headers"]["X-Forwarded-For"] == "10.0.0.1, 127.0.0.1"
    assert event["headers"]["X-Amzn-Trace-Id"] == "Root=1-00000000-000000000000000000000000"
    assert event["requestContext"]["identity"]["userAgent"] is None


@pytest.mark.parametrize(
    ("content_type", "body", "encoded"),
    [
        ("application/json", b'{"a": "\xc3\xa9"}', False),
        ("text/plain; charset=utf-8", b"hello", False),
        ("image/png", b"\x89PNG\r\n\x1a\n", True),
        ("application/octet-stream", b"plain ascii", True),
        ("application/json", b"\xff\xfe not utf-8", True),
        (None, b"\x00\x01\xff", True),
    ],
)
def test_binary_bodies_are_base64_encoded(
    content_type: str | None, body: bytes, encoded: bool
) -> None:
    headers = [("Host", "127.0.0.1:3000")]
    if content_type is not None:
        headers.append(("Content-Type", content_type))
    event = event_of(request("POST", headers=headers, body=body))
    assert event["isBase64Encoded"] is encoded
    sent = base64.b64decode(event["body"]) if encoded else event["body"].encode()
    assert sent == body


# --- the response --------------------------------------------------------------------------


def test_a_proxy_response_merges_headers_and_defaults_to_json() -> None:
    answer = proxy_response(
        {
            "statusCode": 202,
            "headers": {"Location": "/orders/1", "Set-Cookie": "ignored=1", "X-Count": 3},
            "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]},
            "body": '{"ok":true}',
        }
    )
    assert answer.status == 202
    assert answer.body == b'{"ok":true}'
    assert sorted(answer.headers) == sorted(
        [
            ("Set-Cookie", "a=1"),
            ("Set-Cookie", "b=2"),
            ("Location", "/orders/1"),
            ("X-Count", "3"),
            ("Content-Type", "application/json"),
        ]
    )


def test_a_base64_proxy_response_is_decoded() -> None:
    answer = proxy_response(
        {
            "statusCode": "200",
            "headers": {"Content-Type": "image/png", "Content-Length": "999"},
            "body": base64.b64encode(b"\x89PNG").decode(),
            "isBase64Encoded": True,
        }
    )
    assert (answer.status, answer.body) == (200, b"\x89PNG")
    assert answer.headers == [("Content-Type", "image/png")]
    assert proxy_response({"statusCode": 204}).body == b""


@pytest.mark.parametrize(
    "response",
    [
        None,
        "hello",
        [],
        {},
        {"statusCode": "OK"},
        {"statusCode": 42},
        {"statusCode": True},
        {"statusCode": 200, "body": {"not": "a string"}},
        {"statusCode": 200, "headers": ["X-A: 1"]},
        {"statusCode": 200, "headers": {"X-A": {"nested": 1}}},
        {"statusCode": 200, "multiValueHeaders": {"X-A": "1"}},
        {"statusCode": 200, "body": "!!", "isBase64Encoded": True},
        {"statusCode": 200, "isBase64Encoded": "yes"},
    ],
)
def test_malformed_proxy_responses_are_refused(response: Any) -> None:
    with pytest.raises(MalformedResponse):
        proxy_response(response)


# --- the application -----------------------------------------------------------------------

Function = Callable[[dict[str, Any]], Any]


class Served(TestClient[web.Request, web.Application]):
    """A test client of the local API, with the events its function received."""

    received: list[dict[str, Any]]


@pytest.fixture
async def serve() -> AsyncIterator[Callable[..., Any]]:
    clients: list[Served] = []

    async def start(function: Function, *routes: tuple[str, str], **options: Any) -> Served:
        received: list[dict[str, Any]] = []

        async def invoke(function_spec: FunctionSpec, event: dict[str, Any]) -> Any:
            received.append(event)
            result = function(event)
            return await result if asyncio.iscoroutine(result) else result

        api_routes = [ApiRoute(path, method, spec()) for path, method in routes] or [
            ApiRoute("/{proxy+}", "ANY", spec())
        ]
        client = Served(TestServer(create_app(api_routes, invoke, **options)))
        client.received = received
        await client.start_server()
        clients.append(client)
        return client

    yield start
    for client in clients:
        await client.close()


def echo(event: dict[str, Any]) -> dict[str, Any]:
    return {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json"},
        "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]},
        "body": json.dumps({"path": event["path"], "body": event["body"]}),
    }


async def test_requests_reach_the_function_and_its_answer_comes_back(
    serve: Callable[..., Any],
) -> None:
    client = await serve(echo)
    url = URL("/orders/ord%3A1?x=1&x=2", encoded=True)  # as curl sends it
    response = await client.post(url, json={"a": 1}, headers={"X-Test": "yes"})
    assert response.status == 200
    assert await response.json() == {"path": "/orders/ord%3A1", "body": '{"a": 1}'}
    assert response.headers.getall("Set-Cookie") == ["a=1", "b=2"]
    assert response.headers["x-amzn-RequestId"]
    [event] = client.received
    assert event["httpMethod"] == "POST"
    assert event["pathParameters"] == {"proxy": "orders/ord%3A1"}
    assert event["multiValueQueryStringParameters"] == {"x": ["1", "2"]}
    assert event["headers"]["X-Test"] == "yes"
    assert event["requestContext"]["requestId"] == response.headers["x-amzn-RequestId"]
    assert event["requestContext"]["domainName"] == "127.0.0.1"


async def test_no_route_answers_missing_authentication_token(serve: Callable[..., Any]) -> None:
    client = await serve(echo, ("/orders", "GET"))
    for method, path in (("GET", "/nope"), ("POST", "/orders"), ("GET", "/")):
        response = await client.request(method, path)
        assert response.status == 403
        assert await response.json() == {"message": "Missing Authentication Token"}
        assert response.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"
    assert client.received == []


async def test_a_failing_function_answers_502(serve: Callable[..., Any]) -> None:
    def fail(event: dict[str, Any]) -> Any:
        raise RuntimeError("boom")

    client = await serve(fail)
    response = await client.get("/orders")
    assert response.status == 502
    assert await response.json() == {"message": "Internal server error"}


@pytest.mark.parametrize(
    "answer", [None, {"body": "no status"}, {"statusCode": 200, "body": {"a": 1}}]
)
async def test_a_malformed_response_answers_502(serve: Callable[..., Any], answer: Any) -> None:
    client = await serve(lambda event: answer)
    response = await client.get("/orders")
    assert response.status == 502
    assert await response.json() == {"message": "Internal server error"}


async def test_a_function_past_the_integration_timeout_answers_504(
    serve: Callable[..., Any],
) -> None:
    async def slow(event: dict[str, Any]) -> Any:
        await asyncio.sleep(5)

    client = await serve(slow, integration_timeout=0.05)
    response = await client.get("/orders")
    assert response.status == 504
    assert await response.json() == {"message": "Endpoint request timed out"}


async def test_a_body_over_the_limit_answers_413(serve: Callable[..., Any]) -> None:
    assert MAX_BODY_BYTES == 10 * 1024 * 1024
    client = await serve(echo, max_body_bytes=1024)
    response = await client.post("/orders", data=b"x" * 1025)
    assert response.status == 413
    assert await response.json() == {"message": "Request Too Long"}

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted while read
        for _ in range(3):
            yield b"x" * 512

    response = await client.post("/orders", data=chunks())
    assert response.status == 413
    response = await client.post(
        "/orders", data=b"x" * 1024, headers={"Content-Type": "text/plain"}
    )
    assert response.status == 200
    assert client.received[0]["body"] == "x" * 1024


async def test_binary_answers_and_bodies_round_trip(serve: Callable[..., Any]) -> None:
    def png(event: dict[str, Any]) -> dict[str, Any]:
        assert event["isBase64Encoded"] is True
        return {
            "statusCode": 201,
            "headers": {"Content-Type": "image/png"},
            "body": event["body"],
            "isBase64Encoded": True,
        }

    client = await serve(png)
    data = bytes(range(256))
    response = await client.put("/images/1", data=data, headers={"Content-Type": "image/png"})
    assert response.status == 201
    assert response.headers["Content-Type"] == "image/png"
    assert await response.read() == data


async def test_the_jwks_is_served_when_given(serve: Callable[..., Any]) -> None:
    document = {"keys": [{"kty": "RSA", "kid": "k1", "n": "AQAB", "e": "AQAB"}]}
    client = await serve(echo, jwks=lambda: document)
    response = await client.get("/.well-known/jwks.json")
    assert response.status == 200
    assert await response.json() == document
    assert client.received == []
    without = await serve(echo)
    response = await without.get("/.well-known/jwks.json")
    assert response.status == 200  # the greedy route takes it: no JWKS was configured
    assert len(without.received) == 1
