"""The boto3 layer every integration shares: clients, calls, JSON and error shapes.

Clients are created lazily, once per service, from one ``boto3.Session``. Endpoints
come from boto3's own configuration (``AWS_ENDPOINT_URL``,
``AWS_ENDPOINT_URL_<SERVICE>``, profiles), retries from botocore's ``standard``
retry mode: throttling and 5xx answers are retried there, never by hand here.

A call runs in a worker thread (``asyncio.to_thread``) inside ``clock.busy()``, so a
``VirtualClock`` does not skip ahead while a request is in flight.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Final, Literal, TypeVar
from urllib.parse import urlsplit

import boto3
import botocore.session
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    ParamValidationError,
)
from botocore.response import StreamingBody

from workflows.engine.errors import StatesError
from workflows.engine.tasks import TaskRequest

__all__ = [
    "DEFAULT_REGION",
    "ClientPool",
    "OptimizedService",
    "call",
    "call_mapped",
    "compact_json",
    "java_pascal_case",
    "jsonable",
    "new_session",
    "optimized_error",
    "runtime_error",
    "sdk_error",
]

DEFAULT_REGION = "us-east-1"

SessionFactory = Callable[[], Any]  # returns a boto3.Session

_RETRIES = Config(retries={"mode": "standard"})

_loader_lock = threading.Lock()
_loader: Any = None


def new_session(**options: Any) -> Any:
    """A ``boto3.Session(**options)`` on the process's one botocore data loader.

    A session with a loader of its own parses the endpoint rules and each service's
    model from JSON again (hundreds of milliseconds of CPU before its first request);
    the loader caches what it parsed, so sharing it makes every session after the
    first cheap. Sessions themselves stay separate (they are not thread-safe).
    """
    global _loader
    core = botocore.session.Session()
    with _loader_lock:
        if _loader is None:
            _loader = core.get_component("data_loader")
        else:
            core.register_component("data_loader", _loader)
        session = boto3.Session(botocore_session=core, **options)
        # boto3 adds its resource models' folder to the loader's search path on every
        # session; the shared loader needs it once
        paths = _loader.search_paths
        if len(paths) > 1 and paths[-1] in paths[:-1]:
            paths.pop()
    return session


class ClientPool:
    """One botocore client per service, created on first use (thread-safe)."""

    def __init__(self, session_factory: SessionFactory | None = None) -> None:
        self._factory: SessionFactory = session_factory or new_session
        self._session: Any = None
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()

    @property
    def session(self) -> Any:
        with self._lock:
            return self._session_locked()

    def _session_locked(self) -> Any:
        if self._session is None:
            self._session = self._factory()
        return self._session

    def client(self, service: str) -> Any:
        client = self._clients.get(service)
        if client is not None:
            return client
        with self._lock:
            client = self._clients.get(service)
            if client is None:
                session = self._session_locked()
                region = session.region_name or DEFAULT_REGION
                client = session.client(service, region_name=region, config=_RETRIES)
                self._clients[service] = reuse_user_agent(client)
            return client

    def available_services(self) -> list[str]:
        return list(self.session.get_available_services())


def reuse_user_agent(built: Any) -> Any:
    """Let ``built`` (a botocore client) compose its User-Agent header once per set of
    features, as tasks/common/aws.py does for the tasks' clients.

    botocore composes the header from about ten components twice per request (once for
    the request, once more just before sending, to add the features the call used):
    ~1% of the runtime's CPU per order, in its integrations' calls. The parts other
    than the features are fixed for the client's life; the header is the same string.
    botocore's internals are optional here: without them nothing changes.
    """
    creator: Any = getattr(built, "_user_agent_creator", None)
    compose = getattr(creator, "to_string", None)
    try:
        from botocore.context import get_context
    except ImportError:  # pragma: no cover - an older botocore without call contexts
        return built
    if compose is None or not hasattr(creator, "_client_features"):
        return built
    headers: dict[frozenset[str], str] = {}

    def to_string() -> str:
        context = get_context()
        features = frozenset(creator._client_features or ())
        if context is not None:
            features |= context.features
        header = headers.get(features)
        if header is None:
            if len(headers) >= 64:  # features vary little; bound it all the same
                headers.clear()
            header = headers[features] = compose()
        return header

    # both of botocore's call sites look the method up on the instance
    creator.to_string = to_string
    return built


async def call(
    request: TaskRequest, pool: ClientPool, service: str, method: str, params: Mapping[str, Any]
) -> dict[str, Any]:
    """``client.<method>(**params)`` in a thread, the clock held busy meanwhile."""

    def work() -> dict[str, Any]:
        client = pool.client(service)
        response: dict[str, Any] = getattr(client, method)(**params)
        return response

    with request.clock.busy():
        return await asyncio.to_thread(work)


_T = TypeVar("_T")


async def call_mapped(
    request: TaskRequest, work: Callable[[], _T], error: Callable[[Exception], StatesError]
) -> _T:
    """``work()`` in a thread, the clock held busy meanwhile; what it raises fails the
    task as ``error`` names it (a ``StatesError`` as it is)."""
    try:
        with request.clock.busy():
            return await asyncio.to_thread(work)
    except StatesError:
        raise
    except Exception as exc:
        raise error(exc) from exc


# --------------------------------------------------------------------------- JSON


def compact_json(value: Any) -> str:
    """JSON text the way Step Functions (Jackson) writes it: no insignificant spaces."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def epoch_millis(value: datetime) -> int:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return round(value.timestamp() * 1000)


def iso_timestamp(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    value = value.astimezone(UTC)
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if value.microsecond:
        text += f".{value.microsecond // 1000:03d}"
    return text + "Z"


DateStyle = Literal["millis", "iso"]


def jsonable(value: Any, dates: DateStyle = "iso") -> Any:
    """A boto3 response value as JSON: datetimes, bytes and streams converted."""
    if isinstance(value, dict):
        return {str(k): jsonable(v, dates) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v, dates) for v in value]
    if isinstance(value, datetime):
        return epoch_millis(value) if dates == "millis" else iso_timestamp(value)
    if isinstance(value, StreamingBody):
        body = value.read()
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError:
            return _b64(body)
    if isinstance(value, bytes | bytearray):
        return _b64(value)
    if isinstance(value, set | frozenset):
        return [jsonable(v, dates) for v in sorted(value, key=repr)]
    return value


def _b64(value: bytes | bytearray) -> str:
    return base64.b64encode(bytes(value)).decode("ascii")


# ------------------------------------------------------------------------- errors


def runtime_error(cause: str) -> StatesError:
    return StatesError("States.Runtime", cause)


class OptimizedService:
    """How an optimized integration names its errors (AWS SDK for Java v1 style).

    ``<prefix>.<ExceptionClass>``: the modeled exception of the service, else the
    service's base exception class; the cause is the SDK's message with its
    ``(Service: ...; Status Code: ...; Error Code: ...; Request ID: ...; Proxy: null)``
    trailer.
    """

    def __init__(self, prefix: str, sdk_name: str, base_exception: str) -> None:
        self.prefix = prefix
        self.sdk_name = sdk_name
        self.base_exception = base_exception


def optimized_error(service: OptimizedService, exc: Exception) -> StatesError:
    if isinstance(exc, ClientError):
        error = exc.response.get("Error") or {}
        meta = exc.response.get("ResponseMetadata") or {}
        code = str(error.get("Code") or "Unknown")
        modeled = type(exc) is not ClientError
        name = _exception_name(type(exc).__name__) if modeled else service.base_exception
        text = str(error.get("Message") or error.get("message") or "")
        message = _service_message(service.prefix == "SNS", code, text)
        details = [
            f"Service: {service.sdk_name}",
            f"Status Code: {meta.get('HTTPStatusCode', 400)}",
            f"Error Code: {code}",
            f"Request ID: {meta.get('RequestId') or 'null'}",
            "Proxy: null",
        ]
        return StatesError(f"{service.prefix}.{name}", f"{message} ({'; '.join(details)})")
    if isinstance(exc, ParamValidationError):
        return StatesError(f"{service.prefix}.{service.base_exception}", _botocore_message(exc))
    if isinstance(exc, BotoCoreError):
        return StatesError(f"{service.prefix}.SdkClientException", _client_message(exc))
    return StatesError(f"{service.prefix}.SdkClientException", f"{type(exc).__name__}: {exc}")


def sdk_error(service_name: str, exc: Exception) -> StatesError:
    """``<ServiceName>.<Exception>`` as AWS SDK integrations (SDK for Java v2) name it."""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error") or {}
        meta = exc.response.get("ResponseMetadata") or {}
        modeled = type(exc) is not ClientError
        name = _exception_name(type(exc).__name__) if modeled else f"{service_name}Exception"
        text = str(error.get("Message") or error.get("message") or "")
        message = _service_message(service_name == "Sns", str(error.get("Code") or ""), text)
        details = [
            f"Service: {service_name}",
            f"Status Code: {meta.get('HTTPStatusCode', 400)}",
            f"Request ID: {meta.get('RequestId') or 'null'}",
        ]
        host_id = meta.get("HostId") or _s3_host_id(service_name)
        if host_id:
            details.append(f"Extended Request ID: {host_id}")
        cause = f"{message} ({', '.join(details)})"
        if service_name in _COUNTS_ATTEMPTS:
            cause += f" (SDK Attempt Count: {_attempts(meta)})"
        return StatesError(f"{service_name}.{name}", cause)
    if isinstance(exc, ParamValidationError):
        return StatesError(f"{service_name}.{service_name}Exception", _botocore_message(exc))
    if isinstance(exc, BotoCoreError):
        return StatesError(f"{service_name}.SdkClientException", _client_message(exc))
    return StatesError(f"{service_name}.SdkClientException", f"{type(exc).__name__}: {exc}")


# Services whose aws-sdk causes AWS records with the SDK's attempt count appended
_COUNTS_ATTEMPTS: Final = frozenset({"Sfn"})


def _attempts(meta: Mapping[str, Any]) -> int:
    retry = meta.get("RetryAttempts")
    return int(retry) + 1 if isinstance(retry, int) else 1


def _s3_host_id(service_name: str) -> str | None:
    """S3 always answers an error with an extended request id (``x-amz-id-2``); the
    local service does not, so one of AWS's form stands in for it."""
    if service_name != "S3":
        return None
    return base64.b64encode(os.urandom(57)).decode("ascii")


def _service_message(sns: bool, code: str, message: str) -> str:
    """The message as the service words it: SNS prefixes every InvalidParameter message
    with ``Invalid parameter: `` (the local SNS leaves it out of some)."""
    if sns and code == "InvalidParameter" and not message.startswith("Invalid parameter"):
        return f"Invalid parameter: {message}"
    return message


def _exception_name(name: str) -> str:
    return name if name.endswith("Exception") else name + "Exception"


def _client_message(exc: BotoCoreError) -> str:
    """A request that got no answer, worded as the AWS SDK words it (recorded:
    ``Unable to execute HTTP request: <host>: Name or service not known``)."""
    if isinstance(exc, EndpointConnectionError):
        host = urlsplit(str(exc.kwargs.get("endpoint_url") or "")).hostname or ""
        reason = str(exc.kwargs.get("error") or "")
        if "Name or service not known" in reason or "not known" in reason:
            return f"Unable to execute HTTP request: {host}: Name or service not known"
        return f"Unable to execute HTTP request: {_botocore_message(exc)}"
    return _botocore_message(exc)


def _botocore_message(exc: Exception) -> str:
    return " ".join(str(exc).split())


# ------------------------------------------------------------------------ naming

_VERSION = re.compile(r"(?<=[A-Za-z])v(\d)")  # SESv2 -> SES V2
_WORDS = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")


def java_pascal_case(text: str) -> str:
    """A name the way the AWS SDK for Java v2 capitalises it.

    ``DynamoDB`` -> ``DynamoDb``, ``SFN`` -> ``Sfn``, ``SESv2`` -> ``SesV2``,
    ``ACM PCA`` -> ``AcmPca``, ``CloudWatch Logs`` -> ``CloudWatchLogs``.
    """
    words = _WORDS.findall(_VERSION.sub(r" V\1", text))
    return "".join(word[:1].upper() + word[1:].lower() for word in words)
