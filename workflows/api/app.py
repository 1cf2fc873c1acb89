"""The API Gateway (REST, proxy integration) entry Lambda of the order API.

Routes (Powertools ``APIGatewayRestResolver`` with validation, so the OpenAPI document is
generated from the pydantic models):

* ``POST /orders``                                 start the order workflow (202)
* ``GET  /orders/{orderId}``                       the order and its workflow status
* ``POST /orders/{orderId}/approval``              approve or reject (role ``approver``)
* ``GET  /executions/{executionArn}/history``      execution events, paginated
* ``GET  /openapi.json`` and ``GET /docs``         the OpenAPI document and Swagger UI

:func:`handler` is the Lambda entry point. Each request first passes the gate
(:mod:`workflows.api.gate`: token, role, body size, media type, JSON), then the resolver.
Collaborators come from :class:`~workflows.api.service.Services`, built from the
environment on first use, or passed in by tests.

In a Lambda sandbox (``AWS_LAMBDA_FUNCTION_NAME`` set: on AWS, and in ``workflows up``'s
process sandboxes) the module builds its services when it is imported, as AWS advises for
SDK clients: the init phase, which provisioned concurrency (``workflows up``'s warm API
sandboxes) runs before any request, pays for the boto3 clients, the JWKS and the routes'
models instead of a client's first order (23-57 ms of CPU in it before). This departs from
STYLE.md's "no client at module level" for that one case; anywhere else (tests, tools)
importing the module reads nothing, and :func:`reset_default_services` forgets what was
built.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable
from http import HTTPStatus
from typing import Annotated, Any, TypeVar
from urllib.parse import quote, unquote

import jwt
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer
from aws_lambda_powertools.event_handler.openapi.params import Body, Header, Path, Query
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel

from workflows.api import service
from workflows.api.auth import APPROVER_ROLE, Principal
from workflows.api.envelope import ApiResponse, ErrorResponse, error_body, success_body
from workflows.api.errors import ApiError, Unauthorized
from workflows.api.gate import RoutePolicies, RoutePolicy, admit
from workflows.api.models import (
    ORDER_ID_PATTERN,
    ApprovalRequest,
    ApprovalResult,
    CreateOrderRequest,
    HistoryPage,
    OrderAccepted,
    OrderView,
)
from workflows.api.observability import log_unexpected, logger
from workflows.api.service import Services
from workflows.api.settings import ApiSettings

API_TITLE = "Orders API"
API_VERSION = "1.0.0"
OPENAPI_PATH = "/openapi.json"
DOCS_PATH = "/docs"
BEARER_SCHEME = "bearerAuth"

AnyCallable = TypeVar("AnyCallable", bound=Callable[..., Any])

# Debug mode would print whole events (with the Authorization header): never.
app = APIGatewayRestResolver(enable_validation=True, debug=False)
policies = RoutePolicies()


def _openapi_settings() -> dict[str, Any]:
    return {
        "title": API_TITLE,
        "version": API_VERSION,
        "description": (
            "Place orders and follow their Step Functions workflows. Every answer is an "
            "`ApiResponse` envelope: `success`, `data`, `error {code, message, details}`, "
            "`message`."
        ),
        "security_schemes": {BEARER_SCHEME: HTTPBearer(bearerFormat="JWT")},
        "security": [{BEARER_SCHEME: []}],
    }


def route(
    method: str,
    rule: str,
    *,
    public: bool = False,
    role: str | None = None,
    json_body: bool = False,
    **openapi: Any,
) -> Callable[[AnyCallable], AnyCallable]:
    """Register a route with the resolver and its access policy with the gate, at once."""
    policies.add(RoutePolicy(method, rule, public=public, role=role, json_body=json_body))
    if public:
        openapi.setdefault("security", [])
    return app.route(rule, method, **openapi)


# --- OpenAPI documentation of answers --------------------------------------------------------

_DESCRIPTIONS: dict[int, str] = {
    400: "Malformed JSON body.",
    401: "Missing, malformed or invalid bearer token.",
    403: "The token lacks the role this operation needs.",
    404: "Not found (or not yours).",
    409: "Conflicts with the current state.",
    413: "Request body too large.",
    415: "Request body is not application/json.",
    422: "Request validation failed; `error.details` lists the failing fields.",
    429: "Step Functions or DynamoDB throttled the request; retry after `Retry-After` seconds.",
    503: "A dependency is unavailable; retry after `Retry-After` seconds.",
}
_RETRY_AFTER: dict[str, Any] = {
    "Retry-After": {
        "description": "Seconds to wait before retrying.",
        "schema": {"type": "integer"},
    }
}


def _answers(
    success: tuple[int, str, type[BaseModel]], *errors: int, headers: dict[str, Any] | None = None
) -> dict[int, OpenAPIResponse]:
    status, description, model = success
    answers: dict[int, OpenAPIResponse] = {
        status: {
            "description": description,
            "content": {content_types.APPLICATION_JSON: {"model": ApiResponse[model]}},  # type: ignore[valid-type]
        }
    }
    if headers:
        answers[status]["headers"] = headers
    for code in errors:
        answer: OpenAPIResponse = {
            "description": _DESCRIPTIONS[code],
            "content": {content_types.APPLICATION_JSON: {"model": ErrorResponse}},
        }
        if code in (429, 503):
            answer["headers"] = _RETRY_AFTER
        answers[code] = answer
    return answers


CREATE_ORDER_ANSWERS = _answers(
    (202, "Accepted: the order workflow runs (or ran) under this execution.", OrderAccepted),
    400, 401, 409, 413, 415, 422, 429, 503,
    headers={"Location": {"description": "The order's URL.", "schema": {"type": "string"}}},
)  # fmt: skip
GET_ORDER_ANSWERS = _answers(
    (200, "The order and its workflow status.", OrderView), 401, 404, 422, 429, 503
)
APPROVAL_ANSWERS = _answers(
    (200, "The decision was handed to the waiting workflow.", ApprovalResult),
    400, 401, 403, 404, 409, 413, 415, 422, 429, 503,
)  # fmt: skip
HISTORY_ANSWERS = _answers(
    (200, "One page of the execution's history events.", HistoryPage), 401, 404, 422, 429, 503
)


# --- routes -------------------------------------------------------------------------------


def _services() -> Services:
    services = app.context.get("services")
    if not isinstance(services, Services):  # pragma: no cover - handler always sets it
        raise RuntimeError("the API handler did not provide its services")
    return services


def _principal() -> Principal:
    """The caller the gate authenticated; fails closed if there is none."""
    principal = app.context.get("principal")
    if not isinstance(principal, Principal):
        raise Unauthorized("Authentication is required.", reason="missing_token")
    return principal


def _json(
    status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> Response[Any]:
    return Response(
        status_code=int(status),
        content_type=content_types.APPLICATION_JSON,
        body=body,
        headers=headers or {},
    )


@route(
    "POST",
    "/orders",
    json_body=True,
    summary="Place an order",
    description=(
        "Starts the order workflow and answers at once with the execution ARN. The "
        "customer is the token's `sub`. The execution is named after the order id (or, "
        "without one, after the `Idempotency-Key` header), so repeating a request returns "
        "the same execution; the same id with different content is a 409."
    ),
    tags=["orders"],
    operation_id="createOrder",
    status_code=202,
    responses=CREATE_ORDER_ANSWERS,
)
def create_order(
    body: Annotated[CreateOrderRequest, Body()],
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="idempotency-key",
            min_length=1,
            max_length=255,
            description="Client key that makes retries safe when the body has no orderId.",
        ),
    ] = None,
) -> Response[Any]:
    placement = service.place_order(_services(), _principal(), body, idempotency_key)
    accepted = placement.accepted
    logger.info(
        "order accepted",
        extra={
            "order_id": accepted.order_id,
            "execution_arn": accepted.execution_arn,
            "replayed": placement.replayed,
        },
    )
    headers = {"Location": f"/orders/{quote(accepted.order_id, safe='')}"}
    message = "Order accepted."
    if placement.replayed:
        headers["Idempotent-Replayed"] = "true"
        message = "Order already accepted; this is its existing execution."
    return _json(HTTPStatus.ACCEPTED, success_body(accepted, message), headers)


@route(
    "GET",
    "/orders/<orderId>",
    summary="Get an order",
    description=(
        "The stored order plus its workflow status (RUNNING/SUCCEEDED/FAILED, the current "
        "or failed state, error and cause). Customers see their own orders only; "
        "approvers see all."
    ),
    tags=["orders"],
    operation_id="getOrder",
    responses=GET_ORDER_ANSWERS,
)
def get_order(orderId: Annotated[str, Path(pattern=ORDER_ID_PATTERN)]) -> Response[Any]:
    view = service.get_order(_services(), _principal(), orderId)
    return _json(HTTPStatus.OK, success_body(view))


@route(
    "POST",
    "/orders/<orderId>/approval",
    role=APPROVER_ROLE,
    json_body=True,
    summary="Approve or reject an order",
    description=(
        "Hands an approver's decision to the order workflow waiting for it "
        "(SendTaskSuccess / SendTaskFailure with error `ApprovalRejected`). Needs the "
        "`approver` role (JWT claim `roles` or `cognito:groups`)."
    ),
    tags=["orders"],
    operation_id="decideOrderApproval",
    responses=APPROVAL_ANSWERS,
)
def decide_approval(
    orderId: Annotated[str, Path(pattern=ORDER_ID_PATTERN)],
    body: Annotated[ApprovalRequest, Body()],
) -> Response[Any]:
    result = service.decide_approval(_services(), _principal(), orderId, body)
    return _json(HTTPStatus.OK, success_body(result, "Decision recorded."))


@route(
    "GET",
    "/executions/<executionArn>/history",
    summary="Get an execution's history",
    description=(
        "GetExecutionHistory events of an order execution (URL-encode the ARN), oldest "
        "first unless `reverseOrder=true`. Pass `nextToken` from one page to get the next. "
        "Payment and task tokens are masked."
    ),
    tags=["executions"],
    operation_id="getExecutionHistory",
    responses=HISTORY_ANSWERS,
)
def get_execution_history(
    executionArn: Annotated[str, Path(min_length=1, max_length=2048)],
    limit: Annotated[int, Query(ge=1, le=1000, description="Events per page.")] = 100,
    next_token: Annotated[
        str | None, Query(alias="nextToken", min_length=1, max_length=3096)
    ] = None,
    reverse_order: Annotated[bool, Query(alias="reverseOrder")] = False,
) -> Response[Any]:
    page = service.execution_history(
        _services(),
        _principal(),
        unquote(executionArn),
        limit=limit,
        next_token=next_token,
        reverse=reverse_order,
    )
    return _json(HTTPStatus.OK, success_body(page))


@route("GET", OPENAPI_PATH, public=True, include_in_schema=False)
def openapi_document() -> Response[Any]:
    return Response(
        status_code=HTTPStatus.OK,
        content_type=content_types.APPLICATION_JSON,
        body=openapi_json(),
    )


app.enable_swagger(path=DOCS_PATH, **_openapi_settings())
policies.add(RoutePolicy("GET", DOCS_PATH, public=True))


@functools.cache
def openapi_json() -> str:
    """The OpenAPI document, generated once per process from the routes and models."""
    return app.get_openapi_json_schema(**_openapi_settings())


# --- errors -------------------------------------------------------------------------------


def _api_error(exc: ApiError) -> Response[Any]:
    logger.info("request refused", extra={"status": exc.status, "error_code": exc.code})
    return _json(exc.status, error_body(exc.code, exc.message, exc.details), exc.headers)


def _validation_error(exc: RequestValidationError) -> Response[Any]:
    errors = exc.errors()
    if any(error.get("type") == "json_invalid" for error in errors):
        return _json(400, error_body("malformed_json", "The request body is not valid JSON."))
    details = [
        {
            "loc": list(error.get("loc", ())),
            "type": error.get("type"),
            "message": error.get("msg"),
        }
        for error in errors
    ]
    logger.info("request invalid", extra={"status": 422, "fields": [d["loc"] for d in details]})
    return _json(422, error_body("validation_error", "The request is not valid.", details))


def _unsupported_media_type(exc: RequestUnsupportedContentType) -> Response[Any]:
    return _json(415, error_body("unsupported_media_type", "Send the body as application/json."))


@app.not_found
def _not_found(exc: NotFoundError) -> Response[Any]:
    return _json(404, error_body("route_not_found", "No such route."))


def _unexpected(exc: Exception) -> Response[Any]:
    log_unexpected("unexpected error", exc)
    return _json(500, error_body("internal_error", "Something went wrong on our side."))


app.exception_handler(ApiError)(_api_error)
app.exception_handler(RequestValidationError)(_validation_error)
app.exception_handler(RequestUnsupportedContentType)(_unsupported_media_type)
app.exception_handler(Exception)(_unexpected)


# --- Lambda entry point -------------------------------------------------------------------


@functools.lru_cache(maxsize=4)
def _services_for(settings: ApiSettings) -> Services:
    return Services.create(settings)


def default_services() -> Services:
    """Production services for the current environment (kept warm between invocations)."""
    return _services_for(ApiSettings.from_env())


def reset_default_services() -> None:
    """Forget the warm services (tests that change AWS endpoints between invocations)."""
    _services_for.cache_clear()


def warm_up() -> Services | None:
    """Lambda's init phase: the default services (their boto3 clients) and the JWKS now,
    and the OpenAPI document, whose making builds what Powertools otherwise builds on each
    route's first request (its parameters' pydantic adapters: ~6 ms of CPU).

    A failure (a setting missing, the key set not served yet) is left for the first
    request, which builds or fetches again and answers with the error it meets then; the
    init itself never fails the sandbox."""
    try:
        openapi_json()
        services = default_services()
        jwks = services.verifier.jwks
        if isinstance(jwks, jwt.PyJWKClient):
            jwks.get_jwk_set()  # kept by the client for its lifespan
    except Exception as exc:
        logger.debug("init: the services are left to the first request", extra={"error": str(exc)})
        return None
    return services


def _proxy_answer(status: int, body: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
    """An API Gateway REST proxy answer, in the shape the resolver produces."""
    multi = {"Content-Type": [content_types.APPLICATION_JSON]}
    multi.update({name: [value] for name, value in headers.items()})
    return {
        "statusCode": status,
        "multiValueHeaders": multi,
        "body": json.dumps(body, separators=(",", ":")),
        "isBase64Encoded": False,
    }


@logger.inject_lambda_context(
    correlation_id_path=correlation_paths.API_GATEWAY_REST, log_event=False, clear_state=True
)
def handler(
    event: dict[str, Any], context: LambdaContext, services: Services | None = None
) -> dict[str, Any]:
    """Lambda entry point; ``services`` replaces the AWS collaborators (tests)."""
    try:
        services = services if services is not None else default_services()
        admitted = admit(
            event,
            policies,
            services.verifier,
            max_body_bytes=services.settings.max_body_bytes,
        )
    except ApiError as exc:
        logger.info("request refused", extra={"status": exc.status, "error_code": exc.code})
        return _proxy_answer(
            exc.status, error_body(exc.code, exc.message, exc.details), exc.headers
        )
    except Exception as exc:
        log_unexpected("request could not be admitted", exc)
        return _proxy_answer(
            500, error_body("internal_error", "Something went wrong on our side."), {}
        )
    app.context.update(services=services, principal=admitted.principal)
    return app.resolve(admitted.event, context)


if os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):  # a Lambda sandbox's init phase (see above)
    warm_up()
