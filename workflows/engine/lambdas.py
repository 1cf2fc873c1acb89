"""In-process Lambda functions: a Python handler called the way Lambda calls it.

This is part of the engine (not ``workflows.integrations``) because the engine's
public API takes ``lambdas={"Name": handler}`` and running a Python function needs
no AWS SDK. What crosses the boundary is JSON, exactly as with real Lambda: the
event is decoded from a request body (a handler that mutates it cannot corrupt the
execution), the result is marshalled the way the Python runtime (``awslambdaric``)
marshals it (``bytes`` go out as they are, anything else as JSON with ``Decimal``
allowed), and an exception becomes the runtime's error document.

``InProcessLambdas.call`` is the Lambda ``Invoke`` API: it returns an ``Invocation``
(request id, response body, log tail) from which ``arn:aws:states:::lambda:invoke``
builds the response Step Functions records (``lambda_invoke_response``).
``InProcessLambdas.invoke`` is what the legacy ``arn:aws:lambda:...:function:NAME``
resource and the local runtime use: the decoded result.
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import contextvars
import inspect
import json
import logging
import math
import os
import re
import secrets
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Awaitable, Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from email.utils import formatdate
from typing import Any, Final, Literal, TextIO

import orjson

from workflows.engine.clock import Clock, RealClock
from workflows.engine.errors import StatesError
from workflows.engine.history import json_default
from workflows.engine.sync_runner import QueuedCall, ensure_task, own_loop_turns

__all__ = [
    "FunctionError",
    "Handler",
    "InProcessLambdas",
    "Invocation",
    "LambdaContext",
    "Unanswered",
    "function_name_of",
    "lambda_invoke_response",
    "parse_body",
    "request_body",
]

Handler = Callable[[Any, Any], Any] | Callable[[Any, Any], Awaitable[Any]]
HandlerMode = Literal["thread", "inline"]

DEFAULT_REGION = "us-east-1"
DEFAULT_ACCOUNT = "123456789012"

# The largest result a Task may hand back to Step Functions (its payload quota).
RESULT_LIMIT_BYTES: Final = 256 * 1024
# LogType Tail returns the last 4 KB of the invocation's log.
LOG_TAIL_BYTES: Final = 4 * 1024
MEMORY_SIZE_MB: Final = 128


# What handlers return most: values that are never awaitable (no isawaitable check).
_PLAIN_RESULTS: Final = frozenset({dict, list, str, int, float, bool, type(None), bytes})
# what InProcessLambdas._here returns when a handler is not called there
_NOT_YET: Final = object()


class LambdaContext:
    """What a handler's ``context`` argument offers on AWS Lambda."""

    function_version = "$LATEST"
    memory_limit_in_mb = MEMORY_SIZE_MB
    identity = None
    client_context = None

    def __init__(
        self,
        function_name: str,
        arn: str,
        timeout_seconds: float,
        clock: Clock,
        request_id: str | None = None,
        now: float | None = None,
    ) -> None:
        self.function_name = function_name
        self.invoked_function_arn = arn
        self._request_id = request_id
        self._deadline = (clock.now() if now is None else now) + timeout_seconds
        self._clock = clock
        self._log_stream_name: str | None = None

    @property
    def aws_request_id(self) -> str:
        # made on first use: most invocations never read it (a uuid4 costs microseconds)
        request_id = self._request_id
        if request_id is None:
            request_id = self._request_id = str(uuid.uuid4())
        return request_id

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        # made on first use: most handlers never read it
        if self._log_stream_name is None:
            self._log_stream_name = time.strftime("%Y/%m/%d/[$LATEST]") + uuid.uuid4().hex
        return self._log_stream_name

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - self._clock.now()) * 1000))


def function_name_of(reference: str) -> str:
    """The function name in a name, a partial ARN or a full ARN (qualifier dropped)."""
    if reference.startswith("arn:"):
        parts = reference.split(":")
        # arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]
        return parts[6] if len(parts) > 6 else reference
    parts = reference.split(":")
    if len(parts) >= 3 and parts[1] == "function":  # ACCOUNT:function:NAME[:QUALIFIER]
        return parts[2]
    return parts[0]


def _qualifier_of(reference: str) -> str | None:
    parts = reference.split(":")
    if reference.startswith("arn:"):
        return parts[7] if len(parts) > 7 else None
    if len(parts) >= 3 and parts[1] == "function":
        return parts[3] if len(parts) > 3 else None
    return parts[1] if len(parts) == 2 else None


def to_json_bytes(value: Any) -> bytes:
    try:
        return orjson.dumps(value, default=json_default)
    except TypeError:
        # orjson refuses integers beyond 64 bits; the standard encoder does not
        return json.dumps(value, default=json_default, separators=(",", ":")).encode()


def json_copy(value: Any) -> Any:
    """A fresh decoded copy of ``value``, as it would arrive after crossing a JSON boundary."""
    try:
        return orjson.loads(orjson.dumps(value, default=json_default))
    except TypeError:
        # integers beyond 64 bits: orjson can neither encode them nor decode them exactly
        # (it decodes them as floats), so both halves go through the standard library
        return json.loads(json.dumps(value, default=json_default, separators=(",", ":")))


def sized_json_copy(value: Any) -> tuple[Any, int]:
    """``json_copy(value)`` and an upper bound of its JSON size (as ``to_json_bytes``
    counts it): the length of the encoding the copy was decoded from."""
    try:
        encoded = orjson.dumps(value, default=json_default)
        return orjson.loads(encoded), len(encoded)
    except TypeError:
        text = json.dumps(value, default=json_default, separators=(",", ":"))
        return json.loads(text), len(text.encode())


def compact_json(value: Any) -> str:
    """JSON as Step Functions (Jackson) writes it: no insignificant spaces, UTF-8 as is."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


# ------------------------------------------------------------------ the request side


def _lambda_client_error(code: str, status: int, message: str) -> StatesError:
    """A Lambda API error as a Task reports it (the SDK v1 exception text)."""
    return StatesError(
        f"Lambda.{code}",
        f"{message} (Service: AWSLambda; Status Code: {status}; Error Code: {code}; "
        f"Request ID: {uuid.uuid4()}; Proxy: null)",
    )


def request_body(payload: Any, present: bool = True) -> bytes:
    """The Invoke request body ``arn:aws:states:::lambda:invoke`` sends for ``Payload``.

    A JSON value is sent as JSON; a string is sent as the JSON text it holds (so
    ``"0.0"`` reaches the function as the number ``0.0``), and Lambda refuses one that
    is not JSON (``Lambda.InvalidRequestContentException``); a null or absent Payload
    reaches the function as ``{}``.
    """
    if not present or payload is None or payload == "":
        return b"{}"
    if isinstance(payload, str):
        try:
            json.loads(payload)
        except ValueError:
            raise _lambda_client_error(
                "InvalidRequestContentException",
                400,
                "Could not parse request body into json: Could not parse payload into json: "
                + _jackson_parse_error(payload),
            ) from None
        return payload.encode()
    return to_json_bytes(payload)


_TOKEN_CHAR = re.compile(r"[\w$]")


def _jackson_parse_error(text: str) -> str:
    """What Lambda's JSON parser (Jackson) says of a body that is not JSON."""
    stripped = text.lstrip()
    offset = len(text) - len(stripped)
    first = stripped[:1]
    if first and (first.isalpha() or first in "_$"):
        end = 0
        while end < len(stripped) and _TOKEN_CHAR.match(stripped[end]) and end < 256:
            end += 1
        token = stripped[:end]
        consumed = offset + end + (1 if offset + end < len(text) else 0)
        problem = (
            f"Unrecognized token '{token}': was expecting (JSON String, Number, Array, "
            "Object or token 'null', 'true' or 'false')"
        )
    else:
        # anything else: report the first character the parser cannot start a value with
        char = first or " "
        consumed = offset + 1
        problem = (
            f"Unexpected character ('{char}' (code {ord(char)})): expected a valid value "
            "(JSON String, Number, Array, Object or token 'null', 'true' or 'false')"
        )
    source = text if len(text) <= 500 else f'{text[:500]}"[truncated {len(text) - 500} bytes]'
    closing = '"' if len(text) <= 500 else ""
    return f'{problem}\n at [Source: (byte[])"{source}{closing}; line: 1, column: {consumed + 1}]'


# ----------------------------------------------------------------- the response side


@dataclass(slots=True)
class Invocation:
    """One completed Invoke: what Lambda sent back."""

    context: LambdaContext  # the handler's context (``request_id`` is its aws_request_id)
    function_arn: str
    body: bytes  # the response body (compact JSON when the runtime encoded the result)
    payload: Any  # the body as Step Functions reads it: parsed JSON, or the text
    body_is_raw: bool  # the handler returned bytes: ``body`` is exactly what it returned
    log: str | None  # the invocation's log (START ... REPORT) when the caller asked for it
    requested_at: float  # the clock's time when the request was made

    @property
    def request_id(self) -> str:
        return self.context.aws_request_id

    @property
    def content_length(self) -> int:
        """The length of the body as the Python runtime posts it (its encoder is spaced)."""
        if self.body_is_raw:
            return len(self.body)
        return len(json.dumps(self.payload, default=json_default).encode())


def parse_body(body: bytes) -> Any:
    """A response body as Step Functions reads it: JSON when it parses, else the text."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        pass
    text = body.decode("utf-8", errors="replace")
    try:
        # what orjson refuses and Java/Python parsers take (big integers, NaN)
        return json.loads(text)
    except ValueError:
        return text


# Types orjson would encode natively and the runtime's json encoder refuses.
_ORJSON_LIKE_RUNTIME: Final = (
    orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_PASSTHROUGH_SUBCLASS
)


def marshal_result(result: Any) -> tuple[bytes, Any, bool]:
    """What the Python runtime posts for a handler's return value: (body, value, raw).

    ``bytes`` are the body as they are (``b'"HelloWorld!"'`` is the JSON string
    ``"HelloWorld!"``; text that is not JSON stays text); anything else is encoded
    as JSON (a ``str`` becomes a JSON string, a ``Decimal`` the number it holds).
    Raises TypeError/ValueError for what JSON cannot hold.
    """
    if isinstance(result, bytes | bytearray):
        body = bytes(result)
        return body, parse_body(body), True
    try:
        body = orjson.dumps(result, default=json_default, option=_ORJSON_LIKE_RUNTIME)
        return body, orjson.loads(body), False
    except TypeError:
        # integers beyond 64 bits, subclasses, non-str keys: the standard encoder decides
        text = json.dumps(result, default=json_default, separators=(",", ":"))
        return text.encode(), json.loads(text), False


def result_too_large(body: bytes, payload: Any) -> bool:
    """Whether a Task result (a response ``body`` and its decoded ``payload``) exceeds Step
    Functions' payload quota (256 KiB of JSON)."""
    # re-encoded JSON grows at most sixfold (\u0000) from the body; most results are far below
    if len(body) * 6 + 64 <= RESULT_LIMIT_BYTES:
        return False
    return len(to_json_bytes(payload)) > RESULT_LIMIT_BYTES


def data_limit_exceeded(task: str) -> StatesError:
    """AWS's failure for a Task result over the quota (``task``: 'lambda' or the ARN)."""
    return StatesError(
        "States.DataLimitExceeded",
        f"The state/task '{task}' returned a result with a size exceeding the maximum "
        f"number of bytes service limit.",
    )


def lambda_invoke_response(invocation: Invocation, log_tail: bool = False) -> dict[str, Any]:
    """The result of ``arn:aws:states:::lambda:invoke``, in the shape and order AWS records.

    ``AllHttpHeaders`` keeps the order Step Functions' HTTP client reports (each value a
    list); ``HttpHeaders`` is sorted case-insensitively (single values).
    """
    request_id = invocation.request_id
    date = formatdate(invocation.requested_at, usegmt=True)
    trace = (
        f"root=1-{int(invocation.requested_at):08x}-{secrets.token_hex(12)};"
        f"parent={secrets.token_hex(8)};sampled=0"
    )
    log_result = None
    if log_tail and invocation.log is not None:
        tail = invocation.log.encode()[-LOG_TAIL_BYTES:]
        log_result = base64.b64encode(tail).decode("ascii")
    headers: list[tuple[str, str]] = []
    if log_result is not None:
        headers.append(("X-Amz-Log-Result", log_result))
    headers += [
        ("X-Amz-Executed-Version", "$LATEST"),
        ("x-amzn-Remapped-Content-Length", "0"),
        ("Connection", "keep-alive"),
        ("x-amzn-RequestId", request_id),
        ("Content-Length", str(invocation.content_length)),
        ("Date", date),
        ("X-Amzn-Trace-Id", trace),
        ("Content-Type", "application/json"),
    ]
    response: dict[str, Any] = {"ExecutedVersion": "$LATEST"}
    if log_result is not None:
        response["LogResult"] = log_result
    response["Payload"] = invocation.payload
    response["SdkHttpMetadata"] = {
        "AllHttpHeaders": {name: [value] for name, value in headers},
        "HttpHeaders": dict(sorted(headers, key=lambda header: header[0].lower())),
        "HttpStatusCode": 200,
    }
    response["SdkResponseMetadata"] = {"RequestId": request_id}
    response["StatusCode"] = 200
    return response


class FunctionError(StatesError):
    """A function error (``X-Amz-Function-Error``): the runtime's error document.

    ``cause`` is the document as the runtime posted it (spaced JSON, what the legacy
    ``arn:aws:lambda:...:function:NAME`` resource reports); ``compact()`` is the same
    document as ``arn:aws:states:::lambda:invoke`` reports it, re-serialized compactly.
    """

    def __init__(self, document: dict[str, Any]) -> None:
        super().__init__(str(document.get("errorType") or "Exception"), json.dumps(document))
        self.document = document

    def compact(self) -> StatesError:
        return StatesError(self.error, compact_json(self.document))


# ------------------------------------------------------------------------- logging


_capture: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar(
    "workflows_lambda_log_capture", default=None
)
_tee_lock = threading.Lock()
_tee_users = 0


class _Tee:
    """A stand-in for sys.stdout/stderr that also copies writes into the capture in force."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        lines = _capture.get()
        if lines is not None:
            lines.append(text)
        return self.stream.write(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


class _LambdaLogHandler(logging.Handler):
    """Root-logger records as the Python runtime writes them to the function's log."""

    def __init__(self) -> None:
        super().__init__()
        formatter = logging.Formatter(
            "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n",
            "%Y-%m-%dT%H:%M:%S",
        )
        formatter.converter = time.gmtime
        self.setFormatter(formatter)

    def emit(self, record: logging.LogRecord) -> None:
        lines = _capture.get()
        if lines is None:
            return
        record.aws_request_id = _request_id.get()
        try:
            lines.append(self.format(record))
        except Exception:  # a log line never fails an invocation
            self.handleError(record)


_request_id: contextvars.ContextVar[str] = contextvars.ContextVar(
    "workflows_lambda_request_id", default=""
)
_log_handler: Final = _LambdaLogHandler()


@contextmanager
def _capturing() -> Iterator[None]:
    """While any invocation records its log: stdout, stderr and root logging are teed."""
    global _tee_users
    with _tee_lock:
        _tee_users += 1
        if _tee_users == 1:
            if not isinstance(sys.stdout, _Tee):
                sys.stdout = _Tee(sys.stdout)
            if not isinstance(sys.stderr, _Tee):
                sys.stderr = _Tee(sys.stderr)
            logging.getLogger().addHandler(_log_handler)
    try:
        yield
    finally:
        with _tee_lock:
            _tee_users -= 1
            if _tee_users == 0:
                logging.getLogger().removeHandler(_log_handler)
                for name in ("stdout", "stderr"):
                    stream = getattr(sys, name)
                    if isinstance(stream, _Tee):
                        setattr(sys, name, stream.stream)


def _run_logged(
    lines: list[str], request_id: str, handler: Handler, payload: Any, context: Any
) -> Any:
    """``handler(payload, context)`` with its output copied into ``lines``."""
    capture = _capture.set(lines)
    request = _request_id.set(request_id)
    try:
        return handler(payload, context)
    finally:
        _capture.reset(capture)
        _request_id.reset(request)


def _log_text(request_id: str, lines: list[str], milliseconds: float) -> str:
    """The log of one invocation as Lambda writes it (START, output, END, REPORT)."""
    used = min(MEMORY_SIZE_MB, max(1, _max_rss_mb()))
    body = "".join(lines)
    if body and not body.endswith("\n"):
        body += "\n"
    return (
        f"START RequestId: {request_id} Version: $LATEST\n"
        f"{body}"
        f"END RequestId: {request_id}\n"
        f"REPORT RequestId: {request_id}\tDuration: {milliseconds:.2f} ms\t"
        f"Billed Duration: {max(1, math.ceil(milliseconds))} ms\t"
        f"Memory Size: {MEMORY_SIZE_MB} MB\tMax Memory Used: {used} MB\t\n"
    )


def _max_rss_mb() -> int:
    try:
        import resource

        return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
    except (ImportError, OSError):  # pragma: no cover - not on Linux
        return MEMORY_SIZE_MB // 2


# ----------------------------------------------------------------------- invoking


class InProcessLambdas:
    """Resolves function references to handlers and invokes them."""

    def __init__(
        self,
        handlers: Mapping[str, Handler],
        *,
        mode: HandlerMode = "thread",
        region: str = DEFAULT_REGION,
        account: str = DEFAULT_ACCOUNT,
        timeout_seconds: float = 900.0,
        executor: ThreadPoolExecutor | None = None,
        one_at_a_time: bool = False,
    ) -> None:
        """``one_at_a_time`` runs plain handlers strictly one after another.

        On AWS every concurrent invocation has a sandbox (a process) of its own. In one
        process, handlers share module-level state: Powertools' Logger keys and Metrics
        dimensions of one invocation would leak into another running at the same time.
        A local application of many functions therefore runs handler bodies one at a
        time, while executions, waits and service calls stay concurrent.
        """
        self._handlers = {function_name_of(k): v for k, v in handlers.items()}
        # reference -> (name, handler or None, ARN, async handler), resolved once
        self._resolved: dict[str, tuple[str, Handler | None, str, bool]] = {}
        self._mode = mode
        self._one_at_a_time = one_at_a_time
        self._turn: asyncio.Lock | None = None
        self.region = region
        self.account = account
        self._timeout = timeout_seconds
        self._executor = executor
        # the event call_now encoded last, and its JSON (see call_now)
        self._last_event: tuple[Any, bytes] | None = None

    def timeout_of(self, name: str) -> float:
        """The function's timeout in seconds: what its context counts down from."""
        return self._timeout

    def arn_of(self, reference: str) -> str:
        if reference.startswith("arn:"):
            return reference
        name = function_name_of(reference)
        qualifier = _qualifier_of(reference)
        arn = f"arn:aws:lambda:{self.region}:{self.account}:function:{name}"
        return f"{arn}:{qualifier}" if qualifier else arn

    def __contains__(self, reference: str) -> bool:
        return function_name_of(reference) in self._handlers

    async def invoke(
        self, reference: str, event: Any, clock: Clock, request_id: str | None = None
    ) -> Any:
        """Run the handler; returns its decoded result or raises StatesError as Lambda reports it.

        What the legacy ``arn:aws:lambda:...:function:NAME`` resource and the local
        runtime (SQS sources, API Gateway) see. ``request_id`` becomes the invocation's
        ``context.aws_request_id`` (default: new).
        """
        invocation = await self.call(reference, event, clock, request_id=request_id)
        return invocation.payload

    async def call(
        self,
        reference: str,
        event: Any,
        clock: Clock,
        *,
        request_id: str | None = None,
        body: bytes | None = None,
        log: bool = False,
    ) -> Invocation:
        """The Invoke API: run the handler on ``event`` (or on the request ``body``).

        Raises ``FunctionError`` when the handler raises (or its result cannot be
        marshalled), ``Lambda.ResourceNotFoundException`` for an unknown function.
        With ``log`` the invocation's output (print, sys.stderr, root logging) is
        recorded as Lambda writes it, for ``LogType: Tail``.
        """
        found = self._resolved.get(reference)
        if found is None:
            found = self._resolve(reference)
        name, handler, arn, is_async = found
        if handler is None:
            if _qualifier_of(arn) is None:
                arn += ":$LATEST"
            raise _lambda_client_error(
                "ResourceNotFoundException", 404, f"Function not found: {arn}"
            )
        requested_at = time.time() if type(clock) is RealClock else clock.now()
        context = LambdaContext(name, arn, self.timeout_of(name), clock, request_id, requested_at)
        if body is not None:
            payload = parse_body(body)
        else:
            try:  # json_copy, without its call
                payload = orjson.loads(orjson.dumps(event, default=json_default))
            except TypeError:
                payload = json_copy(event)
        if log:
            lines: list[str] = []
            began = time.perf_counter()
            with _capturing():
                result = await self._run(handler, is_async, payload, context, clock, lines)
            milliseconds = (time.perf_counter() - began) * 1000
            text: str | None = _log_text(context.aws_request_id, lines, milliseconds)
        else:
            text = None
            result = _NOT_YET
            if not is_async:
                # a plain handler that runs right here, or is queued for the loop thread
                # beside other branches: no coroutine for _run (nor _in_thread's)
                result = self._here(handler, payload, context, clock)
            if result is _NOT_YET:
                result = await self._run(handler, is_async, payload, context, clock, None)
            elif type(result) not in _PLAIN_RESULTS and inspect.isawaitable(result):
                result = await _awaited_result(result, context)
        return _invocation(result, context, arn, text, requested_at)

    def call_now(
        self, reference: str, event: Any, clock: Clock
    ) -> tuple[bytes, Any] | Awaitable[tuple[bytes, Any] | Unanswered]:
        """``call(reference, event, clock)`` made here when the handler runs on this thread
        without waiting (inline mode, or alone on ``run()``'s loop): the ``body`` and
        ``payload`` of its ``Invocation``, or raises as ``call`` does. Else the awaitable
        that completes the call (the handler queued for the loop thread, in a pool
        thread, async, or its awaitable result): awaited, it gives the same pair or
        raises what ``call`` would; a queued call may give an ``Unanswered`` instead,
        whose ``respond()`` does. Every step is ``call``'s, in its order; only the
        coroutine and the ``Invocation`` are spared."""
        found = self._resolved.get(reference)
        if found is None:
            found = self._resolve(reference)
        name, handler, arn, is_async = found
        if handler is None or is_async:
            return _body_and_payload(self.call(reference, event, clock))
        requested_at = time.time() if type(clock) is RealClock else clock.now()
        context = LambdaContext(name, arn, self.timeout_of(name), clock, None, requested_at)
        # json_copy, without its call. A Parallel's branches hand their Tasks one input
        # object: it is encoded once (the engine never changes a value, so the same object
        # has the same JSON), and each handler gets a copy decoded of it, as before.
        last = self._last_event
        try:
            if last is not None and last[0] is event:
                encoded = last[1]
            else:
                encoded = orjson.dumps(event, default=json_default)
                self._last_event = (event, encoded)
            payload = orjson.loads(encoded)
        except TypeError:
            payload = json_copy(event)
        result = self._here(handler, payload, context, clock, True)
        if result is _NOT_YET:
            return self._completed(
                self._run(handler, False, payload, context, clock, None), context
            )
        if type(result) is QueuedCall:
            return result  # a branch's handler queued for the loop thread: it responds
        if type(result) is dict:  # _response's common case, without its call
            try:
                body = orjson.dumps(result, default=json_default, option=_ORJSON_LIKE_RUNTIME)
                return body, orjson.loads(body)
            except (TypeError, ValueError):
                pass  # _invocation decides, as call does
        elif type(result) not in _PLAIN_RESULTS and inspect.isawaitable(result):
            return _awaited_response(result, context)
        return _response(result, context)

    @staticmethod
    async def _completed(result: Awaitable[Any], context: LambdaContext) -> tuple[bytes, Any]:
        return _response(await result, context)

    def _resolve(self, reference: str) -> tuple[str, Handler | None, str, bool]:
        """What a function reference names: (name, handler or None, ARN, async handler)."""
        name = function_name_of(reference)
        handler = self._handlers.get(name)
        found = (name, handler, self.arn_of(reference), inspect.iscoroutinefunction(handler))
        if len(self._resolved) < 1024:  # references come from definitions: a few per machine
            self._resolved[reference] = found
        return found

    def _here(
        self,
        handler: Handler,
        payload: Any,
        context: LambdaContext,
        clock: Clock,
        respond: bool = False,
    ) -> Any:
        """What a plain handler returns when it runs on this thread without waiting
        (inline mode, or alone on ``run()``'s loop), its call queued for the loop thread
        (a ``QueuedCall``, beside other branches on ``run()``'s loop, real time: what
        ``_in_thread`` would await), else ``_NOT_YET`` (``_run`` decides). Raises as
        ``_run`` does. ``respond``: the queued call gives ``_response``'s (body, payload)
        and raises what ``_awaited_response`` would (``call_now``), not the handler's
        return value."""
        if self._mode == "inline":
            try:
                return handler(payload, context)
            except StatesError:
                raise
            except Exception as exc:
                raise FunctionError(_error_document(exc, context.aws_request_id)) from exc
        if self._executor is not None or self._one_at_a_time:
            return _NOT_YET
        turns = own_loop_turns()
        if turns is None:
            return _NOT_YET
        if not turns.alone():
            # a RealClock's busy() does nothing: _in_thread would only await this
            if type(clock) is not RealClock:
                return _NOT_YET
            if respond:
                return turns.queue(_responded, handler, payload, context)
            return turns.queue(handler, payload, context)
        # alone on run()'s loop, as in _in_thread (a RealClock's busy() does nothing)
        try:
            if type(clock) is RealClock:
                return turns.call_here(handler, payload, context)
            with clock.busy():
                return turns.call_here(handler, payload, context)
        except StatesError:
            raise
        except Exception as exc:
            raise FunctionError(_error_document(exc, context.aws_request_id)) from exc

    async def _run(
        self,
        handler: Handler,
        is_async: bool,
        payload: Any,
        context: LambdaContext,
        clock: Clock,
        lines: list[str] | None,
    ) -> Any:
        """The handler's return value; raises FunctionError as the runtime reports one."""
        try:
            if is_async:
                await ensure_task()  # (an async handler may need the current task)
                if lines is None:
                    return await handler(payload, context)
                capture = _capture.set(lines)
                request = _request_id.set(context.aws_request_id)
                try:
                    return await handler(payload, context)
                finally:
                    _capture.reset(capture)
                    _request_id.reset(request)
            if self._mode == "inline":
                if lines is None:
                    result = handler(payload, context)
                else:
                    result = _run_logged(lines, context.aws_request_id, handler, payload, context)
                if type(result) not in _PLAIN_RESULTS and inspect.isawaitable(result):
                    await ensure_task()
                    result = await result
                return result
            return await self._in_thread(handler, payload, context, clock, lines)
        except StatesError:
            raise
        except Exception as exc:
            raise FunctionError(_error_document(exc, context.aws_request_id)) from exc

    async def _in_thread(
        self,
        handler: Handler,
        payload: Any,
        context: LambdaContext,
        clock: Clock,
        lines: list[str] | None,
    ) -> Any:
        loop = asyncio.get_running_loop()
        executor = self._executor  # None: the loop's (StateMachine.run: one shared pool)
        with clock.busy():
            turns = None if executor is not None or self._one_at_a_time else own_loop_turns()
            if turns is not None:
                if turns.alone():
                    # alone on run()'s loop (alone_on_own_loop): nothing else could run
                    # meanwhile, the hop into a thread and back (~70 us, more on a busy
                    # machine) buys nothing; the handler sees no running loop there
                    if lines is None:
                        return turns.call_here(handler, payload, context)
                    request_id = context.aws_request_id
                    return turns.call_here(
                        _run_logged, lines, request_id, handler, payload, context
                    )
                # beside other branches: called on this thread when the loop is free
                # of anything else, else in the pool (sync_runner.Turns)
                if lines is None:
                    return await turns.queue(handler, payload, context)
                run = contextvars.copy_context().run
                request_id = context.aws_request_id
                return await turns.queue(
                    run, _run_logged, lines, request_id, handler, payload, context
                )
            if self._one_at_a_time:
                self._turn = self._turn or asyncio.Lock()
                async with self._turn:
                    return await self._submit(loop, executor, handler, payload, context, lines)
            return await self._submit(loop, executor, handler, payload, context, lines)

    @staticmethod
    def _submit(
        loop: asyncio.AbstractEventLoop,
        executor: ThreadPoolExecutor | None,
        handler: Handler,
        payload: Any,
        context: LambdaContext,
        lines: list[str] | None,
    ) -> asyncio.Future[Any]:
        if lines is None:
            return loop.run_in_executor(executor, handler, payload, context)
        run = contextvars.copy_context().run
        request_id = context.aws_request_id
        return loop.run_in_executor(
            executor, run, _run_logged, lines, request_id, handler, payload, context
        )


async def _awaited_result(result: Awaitable[Any], context: LambdaContext) -> Any:
    """An inline or lone handler's awaitable result, or the queued call of a branch's
    handler (a ``QueuedCall``), awaited as ``_run`` awaits them."""
    try:
        if type(result) is not QueuedCall:
            await ensure_task()  # the handler's own awaitable runs in a task
        return await result
    except StatesError:
        raise
    except Exception as exc:
        raise FunctionError(_error_document(exc, context.aws_request_id)) from exc


async def _awaited_response(result: Awaitable[Any], context: LambdaContext) -> tuple[bytes, Any]:
    """``_response`` of an inline or lone handler whose result is the awaitable
    ``result``, awaited as ``_awaited_result`` awaits it."""
    try:
        await ensure_task()  # the handler's own awaitable runs in a task
        value = await result
    except StatesError:
        raise
    except Exception as exc:
        raise FunctionError(_error_document(exc, context.aws_request_id)) from exc
    return _response(value, context)


async def _body_and_payload(call: Awaitable[Invocation]) -> tuple[bytes, Any]:
    invocation = await call
    return invocation.body, invocation.payload


def _responded(handler: Handler, payload: Any, context: LambdaContext) -> Any:
    """A queued branch handler's call (``_here`` with ``respond``): the ``_response`` of
    a dict it returned, made where it ran (the loop thread or a pool thread), so that
    awaiting it needs no coroutine of its own; anything else as an ``Unanswered``, whose
    ``respond`` makes the response or the error where the call is awaited, as
    ``_awaited_response`` did (the handler's turn on the loop thread, which the
    watchdog times, stays the handler's own)."""
    try:
        result = handler(payload, context)
    except Exception as exc:
        return Unanswered(None, exc, context)
    if type(result) is dict:
        return _response(result, context)
    return Unanswered(result, None, context)


class Unanswered:
    """A queued branch handler's return value or exception, to be made a response."""

    __slots__ = ("context", "error", "result")

    def __init__(self, result: Any, error: Exception | None, context: LambdaContext) -> None:
        self.result = result
        self.error = error
        self.context = context

    def respond(self) -> tuple[bytes, Any]:
        """``_response`` of the result, or raises what ``_awaited_response`` raises."""
        error = self.error
        if error is None:
            return _response(self.result, self.context)
        if isinstance(error, StatesError):
            raise error
        raise FunctionError(_error_document(error, self.context.aws_request_id)) from error


def _response(result: Any, context: LambdaContext) -> tuple[bytes, Any]:
    """The ``body`` and ``payload`` of the Invocation of a handler that returned
    ``result`` (``_invocation``'s, without the Invocation)."""
    if type(result) is dict:  # _invocation's common case, without its call
        try:
            body = orjson.dumps(result, default=json_default, option=_ORJSON_LIKE_RUNTIME)
            return body, orjson.loads(body)
        except (TypeError, ValueError):
            pass  # _invocation decides, as call does
    invocation = _invocation(result, context, "", None, 0.0)
    return invocation.body, invocation.payload


def _invocation(
    result: Any, context: LambdaContext, arn: str, log: str | None, requested_at: float
) -> Invocation:
    """The Invocation of a handler that returned ``result``: marshalled as the runtime
    marshals it (FunctionError when it cannot be)."""
    try:
        if type(result) is dict:  # marshal_result's common case, without its call
            response = orjson.dumps(result, default=json_default, option=_ORJSON_LIKE_RUNTIME)
            value, raw = orjson.loads(response), False
        else:
            response, value, raw = marshal_result(result)
    except TypeError:
        # what orjson refuses (big integers, non-str keys) the standard encoder decides
        try:
            response, value, raw = marshal_result(result)
        except (TypeError, ValueError) as exc:
            raise FunctionError(_marshal_error(exc, context.aws_request_id)) from None
    except ValueError as exc:
        raise FunctionError(_marshal_error(exc, context.aws_request_id)) from None
    return Invocation(context, arn, response, value, raw, log, requested_at)


def _marshal_error(exc: BaseException, request_id: str) -> dict[str, Any]:
    # the runtime's FaultException for a result json cannot encode, with the message
    # Python's encoder gives ("Object of type set is not JSON serializable")
    return {
        "errorMessage": f"Unable to marshal response: {exc}",
        "errorType": "Runtime.MarshalError",
        "requestId": request_id,
        "stackTrace": [],
    }


_sync_runner_file: Final = sys.modules[own_loop_turns.__module__].__file__ or ""

# Frames of the machinery that calls a handler (this module, the thread pool, the
# event loop, contextvars); the Lambda runtime likewise drops its own bootstrap frames.
_CALLER_FILES: Final = (
    os.path.abspath(__file__),
    os.path.abspath(_sync_runner_file),
    os.path.dirname(os.path.abspath(concurrent.futures.__file__)) + os.sep,
    os.path.dirname(os.path.abspath(asyncio.__file__)) + os.sep,
)


def _handler_frames(tb: Any) -> list[tuple[str, int, str, str | None]]:
    """The traceback from the handler's frame on, as 4-tuples (like awslambdaric)."""
    frames = [(f.filename, f.lineno or 0, f.name, f.line) for f in traceback.extract_tb(tb)]
    for index, (filename, *_rest) in enumerate(frames):
        path = os.path.abspath(filename)
        if path != _CALLER_FILES[0] and not path.startswith(_CALLER_FILES[1:]):
            return frames[index:]
    return []


def _error_document(exc: BaseException, request_id: str) -> dict[str, Any]:
    """The runtime's error document (``make_error``) for an exception from the handler."""
    return {
        "errorMessage": str(exc),
        "errorType": type(exc).__name__,
        "requestId": request_id,
        # the Python runtime's shape: traceback.format_list over (file, line, name, code)
        # tuples, so one "  File ..., line N, in name\n    code\n" string per frame
        "stackTrace": traceback.format_list(_handler_frames(exc.__traceback__)),
    }


# ------------------------------------------------------------- the two Task resources


async def lambda_invoke_task(
    lambdas: InProcessLambdas, parameters: Mapping[str, Any], clock: Clock
) -> dict[str, Any]:
    """``arn:aws:states:::lambda:invoke``: Invoke with the Task's parameters, AWS's result.

    A function error fails the Task with the runtime's error document serialized
    compactly as the cause; a result over the payload quota with
    ``States.DataLimitExceeded`` naming the task 'lambda'.
    """
    tail = parameters.get("LogType") == "Tail"
    body = request_body(parameters.get("Payload"), "Payload" in parameters)
    try:
        invocation = await lambdas.call(
            str(parameters["FunctionName"]), None, clock, body=body, log=tail
        )
    except FunctionError as error:
        raise error.compact() from None
    if result_too_large(invocation.body, invocation.payload):
        raise data_limit_exceeded("lambda")
    return lambda_invoke_response(invocation, log_tail=tail)


async def lambda_function_task(
    lambdas: InProcessLambdas, function_arn: str, event: Any, clock: Clock
) -> Invocation:
    """The legacy ``arn:aws:lambda:REGION:ACCOUNT:function:NAME`` resource: the invocation,
    whose ``payload`` is the Task's result itself (and ``body`` tells its size).

    A function error fails the Task with the runtime's error document as it posted it
    (spaced JSON); a result over the quota with ``States.DataLimitExceeded`` naming the
    function ARN.
    """
    invocation = await lambdas.call(function_arn, event, clock)
    # (result_too_large's first test inline: most bodies are far below the quota)
    body = invocation.body
    if len(body) * 6 + 64 > RESULT_LIMIT_BYTES and result_too_large(body, invocation.payload):
        raise data_limit_exceeded(function_arn)
    return invocation
