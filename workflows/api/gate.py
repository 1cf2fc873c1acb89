"""What every request passes before routing: authentication, role, body size, media type, JSON.

Powertools runs its request validation before any user middleware, so these checks run
in front of the resolver instead: a caller without a valid token gets 401 (not a 422
about its body), and an oversized or non-JSON body is refused before anything parses it.
Each route declares its policy once, next to its handler (see ``app.route``).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from workflows.api.auth import JwtVerifier, Principal
from workflows.api.errors import (
    BadRequest,
    Forbidden,
    PayloadTooLarge,
    Unprocessable,
    UnsupportedMediaType,
)

_PARAM = re.compile(r"<(\w+)>")
JSON_MEDIA_TYPE = "application/json"
# No request body of this API nests deeper than a few levels; deeper documents are
# refused before any parser recurses into them.
MAX_JSON_DEPTH = 32


@dataclass(frozen=True)
class RoutePolicy:
    """Who may call a route and whether it takes a JSON body."""

    method: str
    rule: str
    public: bool = False
    role: str | None = None
    json_body: bool = False
    pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        regex = _PARAM.sub(r"[^/]+", re.escape(self.rule))
        object.__setattr__(self, "pattern", re.compile(f"^{regex}/*$"))

    def matches(self, method: str, path: str) -> bool:
        return method == self.method and self.pattern.match(path) is not None


@dataclass
class RoutePolicies:
    """The policies of all routes, in registration order."""

    policies: list[RoutePolicy] = field(default_factory=list)

    def add(self, policy: RoutePolicy) -> None:
        self.policies.append(policy)

    def find(self, method: str, path: str) -> RoutePolicy | None:
        for policy in self.policies:
            if policy.matches(method.upper(), path):
                return policy
        return None


@dataclass(frozen=True)
class Admitted:
    """A request that passed the gate: who is calling (None on public routes), and the
    event to route (its JSON media type spelled the way the resolver expects)."""

    principal: Principal | None
    event: Mapping[str, Any]


def admit(
    event: Mapping[str, Any],
    policies: RoutePolicies,
    verifier: JwtVerifier,
    *,
    max_body_bytes: int,
) -> Admitted:
    """Check ``event`` against its route's policy; raise an :class:`ApiError` if refused.

    Requests for unknown routes pass untouched (the resolver answers 404).
    """
    method = str(event.get("httpMethod") or "").upper()
    policy = policies.find(method, route_path(event))
    if policy is None:
        return Admitted(principal=None, event=event)
    principal: Principal | None = None
    if not policy.public:
        principal = verifier.authenticate(header(event, "authorization"))
        if policy.role is not None and policy.role not in principal.roles:
            raise Forbidden(
                f"This operation needs the {policy.role!r} role.",
                code=f"{policy.role}_role_required",
            )
    if policy.json_body:
        check_json_body(event, max_body_bytes=max_body_bytes)
        event = with_header(event, "Content-Type", JSON_MEDIA_TYPE)
    return Admitted(principal=principal, event=event)


def check_json_body(event: Mapping[str, Any], *, max_body_bytes: int) -> None:
    """413 for a body over the limit, 415 for a non-JSON media type, 400 for malformed JSON."""
    raw = event.get("body")
    if raw is None or raw == "":
        raise Unprocessable(
            "A JSON request body is required.",
            details=[{"loc": ["body"], "type": "missing", "message": "Field required"}],
        )
    if not isinstance(raw, str):
        raise BadRequest("The request body must be text.", code="malformed_body")
    too_large = PayloadTooLarge(
        f"The request body exceeds {max_body_bytes} bytes.",
        details={"maxBytes": max_body_bytes},
    )
    if len(raw) > (max_body_bytes * 4) // 3 + 4:
        raise too_large
    data = _body_bytes(raw, base64_encoded=bool(event.get("isBase64Encoded")))
    if len(data) > max_body_bytes:
        raise too_large
    media_type = (header(event, "content-type") or "").split(";", 1)[0].strip().lower()
    if media_type != JSON_MEDIA_TYPE:
        raise UnsupportedMediaType(
            "Send the body as application/json.",
            details={"contentType": media_type or None, "supported": ["application/json"]},
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("The request body is not valid UTF-8 JSON.", code="malformed_json")
    if json_depth(text) > MAX_JSON_DEPTH:
        raise BadRequest(
            f"The request body nests deeper than {MAX_JSON_DEPTH} levels.",
            code="json_too_deep",
        )
    try:
        json.loads(text)
    except (ValueError, RecursionError):
        raise BadRequest("The request body is not valid JSON.", code="malformed_json")


def json_depth(text: str) -> int:
    """The deepest nesting of arrays and objects in ``text`` (strings skipped), without parsing."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def _body_bytes(raw: str, *, base64_encoded: bool) -> bytes:
    if not base64_encoded:
        return raw.encode("utf-8", errors="surrogatepass")
    try:
        return base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest("The request body is not valid base64.", code="malformed_body")


def header(event: Mapping[str, Any], name: str) -> str | None:
    """A request header, case-insensitively, from ``headers`` or ``multiValueHeaders``."""
    wanted = name.lower()
    headers = event.get("headers")
    if isinstance(headers, Mapping):
        for key, value in headers.items():
            if isinstance(key, str) and key.lower() == wanted and isinstance(value, str):
                return value
    multi = event.get("multiValueHeaders")
    if isinstance(multi, Mapping):
        for key, values in multi.items():
            if isinstance(key, str) and key.lower() == wanted and isinstance(values, list):
                texts = [value for value in values if isinstance(value, str)]
                if texts:
                    return texts[-1]
    return None


def with_header(event: Mapping[str, Any], name: str, value: str) -> dict[str, Any]:
    """A shallow copy of ``event`` with one header replaced (any spelling of its name)."""
    copy = dict(event)
    for key in ("headers", "multiValueHeaders"):
        headers = event.get(key)
        if not isinstance(headers, Mapping):
            continue
        kept = {
            k: v
            for k, v in headers.items()
            if not (isinstance(k, str) and k.lower() == name.lower())
        }
        kept[name] = value if key == "headers" else [value]
        copy[key] = kept
    return copy


def route_path(event: Mapping[str, Any]) -> str:
    """The path the resolver routes on (Powertools routes on the event's ``path`` as is)."""
    path = event.get("path")
    return path if isinstance(path, str) and path else "/"
