"""``SdkHttpMetadata`` as AWS Step Functions records it, whatever endpoint answered.

Optimized integrations run on the AWS SDK for Java v1, which adds the HTTP answer's
headers to every result. What a workflow sees there is AWS's answer, not the local
server's (moto sends ``Server: Werkzeug``, CORS headers, ``Connection: close``), so the
metadata is rebuilt from the response body the service would have sent:

- the headers each service sends (recorded against AWS): ``x-amzn-RequestId``,
  ``Content-Length`` (of the body), ``Date``, ``Content-Type``, ``connection: keep-alive``
  (SQS, Step Functions; DynamoDB spells it ``Connection`` and adds ``Server: Server`` and
  ``x-amz-crc32``, the CRC32 of the body; SNS answers XML and sends no connection header);
- ``AllHttpHeaders`` in the order the SDK's ``HashMap`` iterates (each value a list),
  ``HttpHeaders`` sorted case-insensitively (the SDK's ``TreeMap``).

``sdk_http_metadata`` builds the two objects from any header list, so other
integrations (``lambda:invoke``) can use it with their own service's headers.
"""

from __future__ import annotations

import json
import re
import secrets
import string
import uuid
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.utils import formatdate
from typing import Any, Final
from xml.sax.saxutils import escape

__all__ = [
    "WIRE_FORMATS",
    "WireFormat",
    "aws_request_id",
    "aws_response_headers",
    "java_hashmap_order",
    "json_body",
    "sdk_http_metadata",
    "service_metadata",
    "sns_xml_body",
]


@dataclass(frozen=True)
class WireFormat:
    """How one service answers over HTTP, as far as ``SdkHttpMetadata`` shows it."""

    content_type: str
    connection_header: str | None  # the name the service spells it with; None: not sent
    server: bool = False  # DynamoDB: ``Server: Server``
    crc32: bool = False  # DynamoDB: ``x-amz-crc32`` of the body


WIRE_FORMATS: Final[Mapping[str, WireFormat]] = {
    "dynamodb": WireFormat("application/x-amz-json-1.0", "Connection", server=True, crc32=True),
    "sqs": WireFormat("application/x-amz-json-1.0", "connection"),
    "stepfunctions": WireFormat("application/x-amz-json-1.0", "connection"),
    "sns": WireFormat("text/xml", None),
}


def java_hashmap_order(names: Sequence[str]) -> list[str]:
    """``names`` in the order a ``java.util.HashMap`` filled in that order iterates them."""
    capacity = 16
    while len(names) > capacity * 0.75:
        capacity *= 2
    buckets: dict[int, list[str]] = {}
    for name in names:
        units = name.encode("utf-16-be")  # String.hashCode works on UTF-16 code units
        code = 0
        for index in range(0, len(units), 2):
            code = (31 * code + int.from_bytes(units[index : index + 2], "big")) & 0xFFFFFFFF
        spread = code ^ (code >> 16)
        buckets.setdefault(spread & (capacity - 1), []).append(name)
    return [name for index in sorted(buckets) for name in buckets[index]]


def sdk_http_metadata(
    headers: Sequence[tuple[str, str]], *, request_id: str, status: int = 200
) -> dict[str, Any]:
    """``SdkHttpMetadata`` and ``SdkResponseMetadata`` for an answer with ``headers``.

    ``headers`` are (name, value) pairs in the order the service sends them.
    """
    values = dict(headers)
    return {
        "SdkHttpMetadata": {
            "AllHttpHeaders": {name: [values[name]] for name in java_hashmap_order(list(values))},
            "HttpHeaders": {name: values[name] for name in sorted(values, key=str.lower)},
            "HttpStatusCode": status,
        },
        "SdkResponseMetadata": {"RequestId": request_id},
    }


def aws_response_headers(
    wire: WireFormat, body: str, *, request_id: str, now: float
) -> list[tuple[str, str]]:
    """The headers AWS sends with ``body``, in the order it sends them."""
    data = body.encode("utf-8")
    headers: list[tuple[str, str]] = []
    if wire.server:
        headers.append(("Server", "Server"))
    if wire.connection_header is not None:
        headers.append((wire.connection_header, "keep-alive"))
    headers.append(("x-amzn-RequestId", request_id))
    if wire.crc32:
        headers.append(("x-amz-crc32", str(zlib.crc32(data))))
    headers += [
        ("Content-Length", str(len(data))),
        ("Date", formatdate(now, usegmt=True)),
        ("Content-Type", wire.content_type),
    ]
    return headers


_UUID: Final = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_DYNAMODB_ID: Final = re.compile(r"[0-9A-Z]{52}")
_ID_LETTERS: Final = string.ascii_uppercase + string.digits


def aws_request_id(service: str, given: str | None = None) -> str:
    """``given`` when it has the form the service's request ids have on AWS, else a new one
    of that form (DynamoDB: 52 upper-case letters and digits; the others: a UUID)."""
    if service == "dynamodb":
        if given and _DYNAMODB_ID.fullmatch(given):
            return given
        # one read of the system's randomness, not one per character (52 per request)
        return "".join(_ID_LETTERS[byte % 36] for byte in secrets.token_bytes(52))
    return given if given and _UUID.fullmatch(given) else str(uuid.uuid4())


def service_metadata(
    service: str, body: str, *, now: float, request_id: str | None = None
) -> dict[str, Any]:
    """The SDK metadata of an optimized integration's result, as AWS's answer carries it."""
    request_id = aws_request_id(service, request_id)
    headers = aws_response_headers(WIRE_FORMATS[service], body, request_id=request_id, now=now)
    return sdk_http_metadata(headers, request_id=request_id)


def json_body(value: Mapping[str, Any]) -> str:
    """A JSON-protocol response body as AWS writes it (compact)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


def sns_xml_body(action: str, result: Mapping[str, Any], request_id: str) -> str:
    """An SNS (query protocol) response body, laid out as SNS lays it out."""
    lines = [
        f'<{action}Response xmlns="http://sns.amazonaws.com/doc/2010-03-31/">',
        f"  <{action}Result>",
        *(f"    <{key}>{escape(str(value))}</{key}>" for key, value in result.items()),
        f"  </{action}Result>",
        "  <ResponseMetadata>",
        f"    <RequestId>{request_id}</RequestId>",
        "  </ResponseMetadata>",
        f"</{action}Response>",
    ]
    return "\n".join(lines) + "\n"
