"""The OpenAPI document is generated from the routes and models, and matches them."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from order_api_support import Invoke, api_event

from workflows.api.app import DOCS_PATH, OPENAPI_PATH, app, openapi_json, policies

EXPECTED_STATUS_CODES = {
    ("post", "/orders"): {202, 400, 401, 409, 413, 415, 422, 429, 503},
    ("get", "/orders/{orderId}"): {200, 401, 404, 422, 429, 503},
    ("post", "/orders/{orderId}/approval"): {200, 400, 401, 403, 404, 409, 413, 415, 422, 429, 503},
    ("get", "/executions/{executionArn}/history"): {200, 401, 404, 422, 429, 503},
}
UNDOCUMENTED = {("get", OPENAPI_PATH), ("get", DOCS_PATH)}


def _openapi_rule(rule: str) -> str:
    return re.sub(r"<(\w+)>", r"{\1}", rule)


def _resolver_routes() -> set[tuple[str, str]]:
    # The resolver keeps its routes privately; this test is the one place that looks.
    routes = app._static_routes + app._dynamic_routes
    return {(route.method.lower(), _openapi_rule(route.path)) for route in routes}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(openapi_json())
    return parsed


def _documented(document: dict[str, Any]) -> set[tuple[str, str]]:
    return {(method, path) for path, item in document["paths"].items() for method in item}


def test_every_route_is_documented_and_every_documented_route_exists(
    document: dict[str, Any],
) -> None:
    assert _documented(document) == _resolver_routes() - UNDOCUMENTED
    assert _documented(document) == set(EXPECTED_STATUS_CODES)


def test_every_route_has_an_access_policy_and_vice_versa() -> None:
    declared = {(p.method.lower(), _openapi_rule(p.rule)) for p in policies.policies}
    assert declared == _resolver_routes()
    public = {(p.method.lower(), p.rule) for p in policies.policies if p.public}
    assert public == UNDOCUMENTED


@pytest.mark.parametrize(("method", "path"), sorted(EXPECTED_STATUS_CODES))
def test_documented_status_codes(document: dict[str, Any], method: str, path: str) -> None:
    operation = document["paths"][path][method]
    assert {int(code) for code in operation["responses"]} == EXPECTED_STATUS_CODES[(method, path)]
    for code, answer in operation["responses"].items():
        schema_ref = answer["content"]["application/json"]["schema"]["$ref"]
        expected = "ErrorResponse" if int(code) >= 400 else "ApiResponse_"
        assert schema_ref.split("/")[-1].startswith(expected)
        if int(code) in (429, 503):
            assert "Retry-After" in answer["headers"]


def test_models_are_in_the_document(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    create = document["paths"]["/orders"]["post"]
    body_ref = create["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert body_ref.endswith("/CreateOrderRequest")
    assert set(schemas["CreateOrderRequest"]["required"]) == {
        "items",
        "currency",
        "paymentToken",
        "shippingAddress",
    }
    assert "customerId" not in schemas["CreateOrderRequest"]["properties"]
    assert schemas["CreateOrderRequest"]["additionalProperties"] is False
    assert set(schemas["ErrorResponse"]["properties"]) == {"success", "data", "error", "message"}
    assert set(schemas["ErrorBody"]["properties"]) == {"code", "message", "details"}
    assert "Location" in create["responses"]["202"]["headers"]
    history = document["paths"]["/executions/{executionArn}/history"]["get"]
    assert {p["name"] for p in history["parameters"]} == {
        "executionArn",
        "limit",
        "nextToken",
        "reverseOrder",
    }


def test_bearer_auth_is_declared(document: dict[str, Any]) -> None:
    assert document["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
    }
    assert document["security"] == [{"bearerAuth": []}]


def test_openapi_json_is_served_without_a_token(call: Invoke) -> None:
    answer = call(api_event("get_openapi"))
    assert answer.status == 200
    assert answer.body["openapi"].startswith("3.")
    assert answer.body == json.loads(openapi_json())


def test_swagger_ui_is_served_without_a_token(call: Invoke) -> None:
    answer = call(api_event("get_docs"))
    assert answer.status == 200
    assert answer.headers["content-type"] == "text/html"
    assert "SwaggerUIBundle" in answer.body
    assert '"/orders"' in answer.body
