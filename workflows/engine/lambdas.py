"""In-process Lambda functions: a Python handler called the way Lambda calls it.

This is part of the engine (not ``workflows.integrations``) because the engine's
public API takes ``lambdas={"Name": handler}`` and running a Python function needs
no AWS SDK. What crosses the boundary is JSON, exactly as with real Lambda: the
event is a fresh decoded copy (a handler that mutates it cannot corrupt the
execution), the result is encoded the way the Python runtime encodes it
(``Decimal`` allowed), and an exception becomes AWS's error/cause pair.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import json
import os
import time
import traceback
import uuid
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Final, Literal

import orjson

from workflows.engine.clock import Clock
from workflows.engine.errors import StatesError
from workflows.engine.history import json_default

__all__ = ["Handler", "InProcessLambdas", "LambdaContext", "function_name_of"]

Handler = Callable[[Any, Any], Any] | Callable[[Any, Any], Awaitable[Any]]
HandlerMode = Literal["thread", "inline"]

DEFAULT_REGION = "us-east-1"
DEFAULT_ACCOUNT = "123456789012"


class LambdaContext:
    """What a handler's ``context`` argument offers on AWS Lambda."""

    def __init__(
        self,
        function_name: str,
        arn: str,
        timeout_seconds: float,
        clock: Clock,
        request_id: str | None = None,
    ) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = arn
        self.memory_limit_in_mb = 128
        self.aws_request_id = request_id or str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = time.strftime("%Y/%m/%d/[$LATEST]") + uuid.uuid4().hex
        self.identity = None
        self.client_context = None
        self._deadline = clock.now() + timeout_seconds
        self._clock = clock

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
        self._mode = mode
        self._one_at_a_time = one_at_a_time
        self._turn: asyncio.Lock | None = None
        self.region = region
        self.account = account
        self._timeout = timeout_seconds
        self._executor = executor

    def arn_of(self, reference: str) -> str:
        if reference.startswith("arn:"):
            return reference
        name = function_name_of(reference)
        return f"arn:aws:lambda:{self.region}:{self.account}:function:{name}"

    def __contains__(self, reference: str) -> bool:
        return function_name_of(reference) in self._handlers

    async def invoke(
        self, reference: str, event: Any, clock: Clock, request_id: str | None = None
    ) -> Any:
        """Run the handler; returns its JSON result or raises StatesError as Lambda reports it.

        ``request_id`` becomes the invocation's ``context.aws_request_id`` (default: new).
        """
        name = function_name_of(reference)
        handler = self._handlers.get(name)
        arn = self.arn_of(reference)
        if handler is None:
            raise StatesError(
                "Lambda.ResourceNotFoundException",
                f"Function not found: {arn} (Service: AWSLambda; Status Code: 404; "
                f"Error Code: ResourceNotFoundException; Request ID: {uuid.uuid4()}; Proxy: null)",
            )
        context = LambdaContext(name, arn, self._timeout, clock, request_id)
        payload = json_copy(event)
        try:
            if inspect.iscoroutinefunction(handler):
                result = await handler(payload, context)
            elif self._mode == "inline":
                result = handler(payload, context)
                if inspect.isawaitable(result):
                    result = await result
            else:
                loop = asyncio.get_running_loop()
                with clock.busy():
                    if self._one_at_a_time:
                        self._turn = self._turn or asyncio.Lock()
                        async with self._turn:
                            result = await loop.run_in_executor(
                                self._executor, handler, payload, context
                            )
                    else:
                        result = await loop.run_in_executor(
                            self._executor, handler, payload, context
                        )
        except StatesError:
            raise
        except Exception as exc:
            raise _lambda_error(exc, context.aws_request_id) from exc
        try:
            return json_copy(result)
        except (TypeError, ValueError) as exc:
            raise StatesError(
                "Runtime.MarshalError",
                json.dumps(
                    {
                        "errorMessage": f"Unable to marshal response: {exc}",
                        "errorType": "Runtime.MarshalError",
                        "requestId": context.aws_request_id,
                        "stackTrace": [],
                    }
                ),
            ) from exc


# Frames of the machinery that calls a handler (this module, the thread pool, the
# event loop); the Lambda runtime likewise drops its own bootstrap frames.
_CALLER_FILES: Final = (
    os.path.abspath(__file__),
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


def _lambda_error(exc: BaseException, request_id: str) -> StatesError:
    error_type = type(exc).__name__
    cause = {
        "errorMessage": str(exc),
        "errorType": error_type,
        "requestId": request_id,
        # the Python runtime's shape: traceback.format_list over (file, line, name, code)
        # tuples, so one "  File ..., line N, in name\n    code\n" string per frame
        "stackTrace": traceback.format_list(_handler_frames(exc.__traceback__)),
    }
    return StatesError(error_type, json.dumps(cause))
