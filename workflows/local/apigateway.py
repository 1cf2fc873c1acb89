"""The local API Gateway: the template's REST API (Lambda proxy integration) over aiohttp.

``workflows up`` serves it on 127.0.0.1:3000. Every ``AWS::Serverless::Function`` event of
``Type: Api`` is a route (``HttpApi`` events are a different product and are not served).
A request is handled the way API Gateway handles it:

1. Route: the most specific resource wins, segment by segment (a literal segment beats
   ``{name}``, which beats the greedy ``{proxy+}``), then the method (exact, else ``ANY``).
   No route, or no method on the route, answers ``403 {"message":"Missing Authentication
   Token"}`` like API Gateway (it does not reveal which paths exist).
2. Body: over 10 MB answers ``413``; a binary media type (or bytes that are not UTF-8)
   becomes base64 with ``isBase64Encoded: true``.
3. The REST API proxy event (payload 1.0): ``resource``, ``path`` (still percent-encoded, as
   are ``pathParameters``), ``headers``/``multiValueHeaders`` (the single-value map keeps
   the last value), query parameters (decoded, ``null`` when none), ``stageVariables``
   ``null`` and the ``requestContext`` of stage ``Prod``.
4. The function runs through ``invoke``; its proxy response (``statusCode``, ``headers``,
   ``multiValueHeaders``, ``body``, ``isBase64Encoded``) becomes the HTTP answer. A function
   error or a malformed response answers ``502 {"message": "Internal server error"}``; a
   function that takes longer than the 29 s integration timeout answers ``504``.

Run functions off the event loop (``invoke`` must not block it): the API fetches its JWKS
from this same server while it handles a request.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import re
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any, Protocol
from urllib.parse import parse_qsl

from aiohttp import web
from multidict import CIMultiDict

from workflows.engine.clock import Clock
from workflows.local import spans
from workflows.local.template import ACCOUNT, FunctionSpec, Template

__all__ = [
    "DEFAULT_BINARY_MEDIA_TYPES",
    "INTEGRATION_TIMEOUT_SECONDS",
    "MAX_BODY_BYTES",
    "ApiRoute",
    "IncomingRequest",
    "Invoke",
    "MalformedResponse",
    "ProxyAnswer",
    "RouteMatch",
    "RouteTable",
    "build_event",
    "create_app",
    "invoke_with",
    "is_binary",
    "proxy_response",
    "routes_from_template",
]

logger = logging.getLogger(__name__)

STAGE = "Prod"  # the stage SAM gives the implicit ServerlessRestApi
DEFAULT_API_ID = "localapi00"
MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit
INTEGRATION_TIMEOUT_SECONDS = 29.0  # API Gateway's default integration timeout
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
ANY = "ANY"
# Media types whose request bodies reach the function base64-encoded (API Gateway's
# binaryMediaTypes). A body that is not valid UTF-8 is always sent base64-encoded.
DEFAULT_BINARY_MEDIA_TYPES = (
    "application/octet-stream",
    "application/pdf",
    "application/zip",
    "application/gzip",
    "application/x-protobuf",
    "multipart/form-data",
    "image/*",
    "audio/*",
    "video/*",
    "font/*",
)
_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
_NOT_FROM_FUNCTION = _HOP_BY_HOP | {"content-length"}
_VARIABLE = re.compile(r"^\{([A-Za-z0-9._-]+)(\+?)\}$")

Invoke = Callable[[FunctionSpec, dict[str, Any]], Awaitable[Any]]
JwksSource = Mapping[str, Any] | Callable[[], Mapping[str, Any]]


# --- routes --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ApiRoute:
    """One method of one REST API resource, and the function it proxies to."""

    path: str  # resource path template: /orders, /orders/{orderId}, /{proxy+}
    method: str  # GET, POST, ... or ANY
    function: FunctionSpec

    @property
    def segments(self) -> tuple[str, ...]:
        return _resource_segments(self.path)


@dataclass(frozen=True)
class RouteMatch:
    """The route a request resolved to, with its (percent-encoded) path parameters."""

    route: ApiRoute
    path_parameters: dict[str, str]


def _resource_segments(path: str) -> tuple[str, ...]:
    if not path.startswith("/"):
        raise ValueError(f"API resource path {path!r} must start with '/'")
    stripped = path.strip("/")
    return tuple(stripped.split("/")) if stripped else ()


def _kind(segment: str) -> int:
    """0 for a literal segment, 1 for ``{name}``, 2 for greedy ``{name+}``."""
    match = _VARIABLE.match(segment)
    if match is None:
        return 0
    return 2 if match.group(2) else 1


def routes_from_template(template: Template) -> list[ApiRoute]:
    """Every ``Type: Api`` event of every function in the template, as a route."""
    return [
        ApiRoute(event.path, event.method, function)
        for function in template.functions.values()
        for event in function.api_events
    ]


class RouteTable:
    """REST API resources and their methods, matched as API Gateway matches them.

    Raises ``ValueError`` for what API Gateway would refuse to deploy: a greedy variable
    that is not the last segment, two variables with different names at the same place,
    a method given twice on one resource, or an unknown method.
    """

    def __init__(self, routes: Iterable[ApiRoute]) -> None:
        self._resources: dict[tuple[str, ...], dict[str, ApiRoute]] = {}
        variables: dict[tuple[str, ...], str] = {}
        for route in routes:
            method = route.method.upper()
            if method != ANY and method not in METHODS:
                raise ValueError(f"{route.path}: method {route.method!r} is not an HTTP method")
            segments = route.segments
            for index, segment in enumerate(segments):
                kind = _kind(segment)
                if "{" in segment and kind == 0:
                    raise ValueError(f"{route.path}: path part {segment!r} is not valid")
                if kind == 2 and index != len(segments) - 1:
                    raise ValueError(f"{route.path}: {segment} must be the last path part")
                if kind:
                    parent = _normalised(segments[:index])
                    known = variables.setdefault(parent, segment)
                    if known != segment:
                        raise ValueError(
                            f"{route.path}: {segment} and {known} are sibling variables "
                            "(API Gateway allows one variable path part per resource)"
                        )
            methods = self._resources.setdefault(segments, {})
            if method in methods:
                raise ValueError(f"{method} {route.path} is declared twice")
            methods[method] = ApiRoute(route.path, method, route.function)

    @property
    def routes(self) -> list[ApiRoute]:
        return [route for methods in self._resources.values() for route in methods.values()]

    def match(self, method: str, path: str) -> RouteMatch | None:
        """The route of ``method`` on the percent-encoded request ``path``, or None.

        The resource is chosen first (the most specific one that matches the path); then
        its method, exact or ``ANY``. Like API Gateway, a resource without the method does
        not fall back to a less specific one.
        """
        stripped = path.strip("/")
        request = stripped.split("/") if stripped else []
        best: tuple[tuple[int, ...], tuple[str, ...], dict[str, str]] | None = None
        for segments in self._resources:
            parameters = _match_segments(segments, request)
            if parameters is None:
                continue
            rank = tuple(_kind(segment) for segment in segments)
            if best is None or rank < best[0]:
                best = (rank, segments, parameters)
        if best is None:
            return None
        methods = self._resources[best[1]]
        route = methods.get(method.upper()) or methods.get(ANY)
        if route is None:
            return None
        return RouteMatch(route, best[2])


def _normalised(segments: tuple[str, ...]) -> tuple[str, ...]:
    """Segments with every variable spelled the same (for the sibling-variable check)."""
    return tuple("{}" if _kind(segment) else segment for segment in segments)


def _match_segments(segments: tuple[str, ...], request: list[str]) -> dict[str, str] | None:
    parameters: dict[str, str] = {}
    for index, segment in enumerate(segments):
        variable = _VARIABLE.match(segment)
        if variable is not None and variable.group(2):
            rest = request[index:]
            if not rest or not "/".join(rest):
                return None
            parameters[variable.group(1)] = "/".join(rest)
            return parameters
        if index >= len(request):
            return None
        part = request[index]
        if variable is not None:
            if not part:
                return None
            parameters[variable.group(1)] = part
        elif part != segment:
            return None
    return parameters if len(segments) == len(request) else None


# --- the proxy event -----------------------------------------------------------------------


@dataclass(frozen=True)
class IncomingRequest:
    """What the event is built from (an HTTP request, free of aiohttp)."""

    method: str
    raw_path: str  # percent-encoded, without the query string
    raw_query: str  # percent-encoded, without '?'
    headers: list[tuple[str, str]]  # in arrival order, names as sent
    body: bytes
    source_ip: str
    protocol: str = "HTTP/1.1"
    host: str = "127.0.0.1"  # the Host the client asked for, without the port
    port: int = 3000  # the port the server listens on
    scheme: str = "http"
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    time_epoch_ms: int = field(default_factory=lambda: int(time.time() * 1000))


def _media_type(value: str | None) -> str:
    return (value or "").split(";", 1)[0].strip().lower()


def is_binary(content_type: str | None, body: bytes, binary_media_types: Iterable[str]) -> bool:
    """Whether API Gateway would hand ``body`` to the function base64-encoded."""
    media_type = _media_type(content_type)
    if media_type and any(
        fnmatchcase(media_type, pattern.lower()) for pattern in binary_media_types
    ):
        return True
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def _trace_id(epoch_ms: int) -> str:
    return f"Root=1-{epoch_ms // 1000:08x}-{secrets.token_hex(12)}"


def _request_time(epoch_ms: int) -> str:
    return time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(epoch_ms / 1000))


def build_event(
    request: IncomingRequest,
    match: RouteMatch,
    *,
    stage: str = STAGE,
    api_id: str = DEFAULT_API_ID,
    account_id: str = ACCOUNT,
    binary_media_types: Iterable[str] = DEFAULT_BINARY_MEDIA_TYPES,
) -> dict[str, Any]:
    """The REST API Lambda proxy event (payload format 1.0) of ``request``."""
    names: dict[str, str] = {}  # lower-case name -> the spelling first seen
    multi: dict[str, list[str]] = {}
    for name, value in request.headers:
        if name.lower() in _HOP_BY_HOP:
            continue
        key = names.setdefault(name.lower(), name)
        multi.setdefault(key, []).append(value)
    trace = next((v for k, v in request.headers if k.lower() == "x-amzn-trace-id"), None)
    added = {
        "X-Amzn-Trace-Id": [trace or _trace_id(request.time_epoch_ms)],
        "X-Forwarded-For": [
            ", ".join([*multi.get(names.get("x-forwarded-for", ""), []), request.source_ip])
        ],
        "X-Forwarded-Port": [str(request.port)],
        "X-Forwarded-Proto": [request.scheme],
    }
    for name, values in added.items():
        key = names.setdefault(name.lower(), name)
        multi[key] = values
    headers = {name: values[-1] for name, values in multi.items()}

    query: dict[str, list[str]] = {}
    for name, value in parse_qsl(request.raw_query, keep_blank_values=True):
        query.setdefault(name, []).append(value)

    content_type = headers.get(names.get("content-type", ""))
    body: str | None = None
    encoded = False
    if request.body:
        if is_binary(content_type, request.body, binary_media_types):
            body, encoded = base64.b64encode(request.body).decode("ascii"), True
        else:
            body = request.body.decode("utf-8")

    route = match.route
    user_agent = headers.get(names.get("user-agent", ""))
    domain = request.host
    return {
        "resource": route.path,
        "path": request.raw_path,
        "httpMethod": request.method,
        "headers": headers or None,
        "multiValueHeaders": multi or None,
        "queryStringParameters": {k: v[-1] for k, v in query.items()} or None,
        "multiValueQueryStringParameters": query or None,
        "pathParameters": dict(match.path_parameters) or None,
        "stageVariables": None,
        "requestContext": {
            "resourceId": _resource_id(route.path),
            "resourcePath": route.path,
            "httpMethod": request.method,
            "extendedRequestId": _extended_request_id(),
            "requestTime": _request_time(request.time_epoch_ms),
            "path": f"/{stage}{request.raw_path}",
            "accountId": account_id,
            "protocol": request.protocol,
            "stage": stage,
            "domainPrefix": domain.split(".", 1)[0],
            "requestTimeEpoch": request.time_epoch_ms,
            "requestId": request.request_id,
            "identity": {
                "cognitoIdentityPoolId": None,
                "accountId": None,
                "cognitoIdentityId": None,
                "caller": None,
                "sourceIp": request.source_ip,
                "principalOrgId": None,
                "accessKey": None,
                "cognitoAuthenticationType": None,
                "cognitoAuthenticationProvider": None,
                "userArn": None,
                "userAgent": user_agent,
                "user": None,
            },
            "domainName": domain,
            "apiId": api_id,
        },
        "body": body,
        "isBase64Encoded": encoded,
    }


def _resource_id(path: str) -> str:
    """A stable 6-character resource id per resource path (API Gateway's are random)."""
    return uuid.uuid5(uuid.NAMESPACE_URL, path).hex[:6]


def _extended_request_id() -> str:
    return base64.b64encode(secrets.token_bytes(12)).decode("ascii")[:16]


# --- the proxy response --------------------------------------------------------------------


class MalformedResponse(ValueError):
    """The function's answer is not a valid Lambda proxy response."""


@dataclass(frozen=True)
class ProxyAnswer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def _header_text(value: Any, name: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise MalformedResponse(f"header {name!r} has a {type(value).__name__} value")


def proxy_response(response: Any) -> ProxyAnswer:
    """The HTTP answer of a Lambda proxy response; :class:`MalformedResponse` if invalid.

    ``headers`` and ``multiValueHeaders`` are merged (a name in both keeps the
    ``multiValueHeaders`` values); ``Content-Type`` defaults to ``application/json``.
    """
    if not isinstance(response, Mapping):
        raise MalformedResponse(f"the response is a {type(response).__name__}, not an object")
    status = response.get("statusCode")
    if isinstance(status, str) and status.isdigit():
        status = int(status)
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        raise MalformedResponse("statusCode must be an HTTP status code")

    merged: dict[str, list[str]] = {}
    names: dict[str, str] = {}
    multi = response.get("multiValueHeaders")
    if multi is not None:
        if not isinstance(multi, Mapping):
            raise MalformedResponse("multiValueHeaders must be an object")
        for name, values in multi.items():
            if not isinstance(values, list):
                raise MalformedResponse(f"multiValueHeaders[{name!r}] must be a list")
            key = names.setdefault(str(name).lower(), str(name))
            merged.setdefault(key, []).extend(_header_text(v, str(name)) for v in values)
    single = response.get("headers")
    if single is not None:
        if not isinstance(single, Mapping):
            raise MalformedResponse("headers must be an object")
        for name, value in single.items():
            if str(name).lower() in names:
                continue  # multiValueHeaders wins
            key = names.setdefault(str(name).lower(), str(name))
            merged[key] = [_header_text(value, str(name))]

    body = response.get("body")
    if body is not None and not isinstance(body, str):
        raise MalformedResponse(f"body must be a string, not a {type(body).__name__}")
    encoded = response.get("isBase64Encoded", False)
    if not isinstance(encoded, bool):
        raise MalformedResponse("isBase64Encoded must be a boolean")
    data = b""
    if body:
        if encoded:
            try:
                data = base64.b64decode(body, validate=True)
            except (binascii.Error, ValueError) as exc:
                raise MalformedResponse("body is not valid base64") from exc
        else:
            data = body.encode("utf-8", errors="surrogatepass")

    headers = [
        (name, value)
        for name, values in merged.items()
        if name.lower() not in _NOT_FROM_FUNCTION
        for value in values
    ]
    if "content-type" not in names:
        headers.append(("Content-Type", "application/json"))
    return ProxyAnswer(status, headers, data)


# --- the aiohttp application ---------------------------------------------------------------


def _gateway_answer(status: int, message: str, error_type: str, request_id: str) -> web.Response:
    """An answer API Gateway itself gives (not the function)."""
    return web.Response(
        status=status,
        body=json.dumps({"message": message}, separators=(",", ":")).encode(),
        headers={
            "Content-Type": "application/json",
            "x-amzn-RequestId": request_id,
            "x-amzn-ErrorType": error_type,
        },
    )


def _too_large(request_id: str) -> web.Response:
    return _gateway_answer(413, "Request Too Long", "RequestEntityTooLargeException", request_id)


class _Lambdas(Protocol):
    async def invoke(self, reference: str, event: Any, clock: Clock) -> Any: ...


def invoke_with(lambdas: _Lambdas, clock: Clock) -> Invoke:
    """An ``invoke`` that runs functions the way :class:`LocalApp` does (``app.lambdas``)."""

    async def invoke(function: FunctionSpec, event: dict[str, Any]) -> Any:
        return await lambdas.invoke(function.arn, event, clock)

    return invoke


def create_app(
    routes: Iterable[ApiRoute],
    invoke: Invoke,
    *,
    jwks: JwksSource | None = None,
    stage: str = STAGE,
    api_id: str = DEFAULT_API_ID,
    binary_media_types: Iterable[str] = DEFAULT_BINARY_MEDIA_TYPES,
    max_body_bytes: int = MAX_BODY_BYTES,
    integration_timeout: float = INTEGRATION_TIMEOUT_SECONDS,
) -> web.Application:
    """The local REST API as an aiohttp application.

    ``routes`` usually come from :func:`routes_from_template`; ``invoke(function, event)``
    runs a function and returns its proxy response (see :func:`invoke_with`). ``jwks``, a
    JWKS document or a callable returning one (``LocalIssuer.jwks``), is served at
    ``GET /.well-known/jwks.json`` for the local token issuer.
    """
    table = RouteTable(routes)
    binary_types = tuple(binary_media_types)

    async def jwks_document(request: web.Request) -> web.Response:
        assert jwks is not None
        document = jwks() if callable(jwks) else jwks
        return web.json_response(dict(document), headers={"Cache-Control": "max-age=300"})

    async def proxy(request: web.Request) -> web.StreamResponse:
        if spans.active():  # WORKFLOWS_SPANS: the client's trace id names the marks
            key = request.headers.get("X-Amzn-Trace-Id", "-").replace(" ", "")
            spans.current.set(key)
            spans.mark("api.received", key)
        request_id = str(uuid.uuid4())
        raw_path = request.rel_url.raw_path
        match = table.match(request.method, raw_path)
        if match is None:
            return _gateway_answer(
                403,
                "Missing Authentication Token",
                "MissingAuthenticationTokenException",
                request_id,
            )
        if request.content_length is not None and request.content_length > max_body_bytes:
            return _too_large(request_id)
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.content.iter_chunked(64 * 1024):
            size += len(chunk)
            if size > max_body_bytes:
                return _too_large(request_id)
            chunks.append(chunk)
        sockname = request.transport.get_extra_info("sockname") if request.transport else None
        local_port = int(sockname[1]) if sockname else 80
        incoming = IncomingRequest(
            method=request.method,
            raw_path=raw_path,
            raw_query=request.rel_url.raw_query_string,
            headers=[
                (name.decode("latin-1"), value.decode("latin-1"))
                for name, value in request.raw_headers
            ],
            body=b"".join(chunks),
            source_ip=request.remote or "127.0.0.1",
            protocol=f"HTTP/{request.version.major}.{request.version.minor}",
            host=request.url.host or "127.0.0.1",
            port=local_port,
            scheme=request.scheme,
            request_id=request_id,
        )
        event = build_event(
            incoming, match, stage=stage, api_id=api_id, binary_media_types=binary_types
        )
        function = match.route.function
        try:
            # a timeout scope, not wait_for: no task of its own for each request
            async with asyncio.timeout(integration_timeout):
                result = await invoke(function, event)
        except TimeoutError:
            logger.warning("%s: no answer within %ss", function.logical_id, integration_timeout)
            return _gateway_answer(
                504, "Endpoint request timed out", "IntegrationTimeoutException", request_id
            )
        except Exception as exc:
            logger.warning("%s failed: %s", function.logical_id, exc)
            return _gateway_answer(
                502, "Internal server error", "InternalServerErrorException", request_id
            )
        spans.mark("api.replied", spans.current.get())
        try:
            answer = proxy_response(result)
        except MalformedResponse as exc:
            logger.warning("%s: malformed Lambda proxy response: %s", function.logical_id, exc)
            return _gateway_answer(
                502, "Internal server error", "InternalServerErrorException", request_id
            )
        headers: CIMultiDict[str] = CIMultiDict(answer.headers)
        headers.setdefault("x-amzn-RequestId", request_id)
        trace = next(v for k, v in event["headers"].items() if k.lower() == "x-amzn-trace-id")
        headers.setdefault("X-Amzn-Trace-Id", trace)
        return web.Response(status=answer.status, headers=headers, body=answer.body)

    # aiohttp refuses bodies over client_max_size itself; the proxy handler enforces the
    # API Gateway limit (and answers the way API Gateway does).
    app = web.Application(client_max_size=max_body_bytes + 1)
    if jwks is not None:
        app.router.add_get("/.well-known/jwks.json", jwks_document, allow_head=True)
    app.router.add_route("*", "/{tail:.*}", proxy)
    return app
