"""The one place that sets up Powertools Logger, Tracer and Metrics for every task.

Every handler is declared with ``@task_handler(Deps.from_settings)``, which applies
the Logger, Tracer and Metrics decorators and builds the task's collaborators
when a test did not pass its own. Task code imports ``logger``, ``tracer`` and
``metrics`` from here and calls ``bind_order(order_id)`` as soon as it knows the
order, which makes the order id the correlation id of every log line (and an
X-Ray annotation).

The service name and metrics namespace come from the usual Powertools variables
(``POWERTOOLS_SERVICE_NAME``, ``POWERTOOLS_METRICS_NAMESPACE``) with project
defaults. The Tracer records X-Ray segments on Lambda with tracing on; everywhere
else (local runs, tests, ``POWERTOOLS_TRACE_DISABLED``) it is off, and then the X-Ray
SDK is not even imported: Powertools' Tracer imports ``aws_xray_sdk.core`` (about half
of a task's cold import) unless it is given a provider, so an off Tracer gets one
that does nothing.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Generator
from contextlib import asynccontextmanager, contextmanager
from typing import Any, Protocol, TypeVar

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.tracing.base import BaseProvider, BaseSegment
from aws_lambda_powertools.utilities.typing import LambdaContext

__all__ = [
    "DEFAULT_NAMESPACE",
    "TaskHandler",
    "bind_order",
    "logger",
    "metrics",
    "task_handler",
    "tracer",
]

DEFAULT_NAMESPACE = "Workflows"

D = TypeVar("D")
D_contra = TypeVar("D_contra", contravariant=True)


def tracing_enabled() -> bool:
    """Powertools' own rule: on Lambda (not SAM local or Chalice), unless switched off."""
    switched_off = os.getenv("POWERTOOLS_TRACE_DISABLED", "false").strip().lower()
    if switched_off in ("1", "y", "yes", "t", "true", "on"):
        return False
    on_lambda = bool(os.getenv("LAMBDA_TASK_ROOT"))
    emulated = bool(os.getenv("AWS_SAM_LOCAL") or os.getenv("AWS_CHALICE_CLI_MODE"))
    return on_lambda and not emulated


class _NoSegment(BaseSegment):
    """What an off Tracer records into: nothing."""

    def close(self, end_time: int | None = None) -> None:
        pass

    def add_subsegment(self, subsegment: Any) -> None:
        pass

    def remove_subsegment(self, subsegment: Any) -> None:
        pass

    def put_annotation(self, key: str, value: Any) -> None:
        pass

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        pass

    def add_exception(self, exception: BaseException, stack: Any, remote: bool = False) -> None:
        pass


class _NoTracing(BaseProvider):
    """A provider for an off Tracer, so that the X-Ray SDK stays unimported."""

    @contextmanager
    def in_subsegment(self, name: Any = None, **kwargs: Any) -> Generator[BaseSegment, None, None]:
        yield _NoSegment()

    @asynccontextmanager
    async def in_subsegment_async(self, name: Any = None, **kwargs: Any) -> Any:
        yield _NoSegment()

    def put_annotation(self, key: str, value: Any) -> None:
        pass

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        pass

    def patch(self, modules: Any) -> None:
        pass

    def patch_all(self) -> None:
        pass


logger = Logger()
# the real X-Ray provider only where segments are recorded (Lambda with tracing on)
tracer = Tracer() if tracing_enabled() else Tracer(disabled=True, provider=_NoTracing())
metrics = Metrics()
if not metrics.namespace:
    metrics.namespace = DEFAULT_NAMESPACE


def bind_order(order_id: str | None) -> None:
    """Make ``order_id`` the correlation id of the logs and a trace annotation."""
    if not order_id:
        return
    logger.set_correlation_id(order_id)
    logger.append_keys(order_id=order_id)
    tracer.put_annotation(key="OrderId", value=order_id)


class TaskHandler(Protocol[D_contra]):
    """A task's Lambda entry point; a test passes ``deps``, Lambda does not."""

    def __call__(
        self, event: dict[str, Any], context: LambdaContext, deps: D_contra | None = None
    ) -> dict[str, Any]: ...


TaskBody = Callable[[dict[str, Any], LambdaContext, D], dict[str, Any]]


def task_handler(build_deps: Callable[[], D]) -> Callable[[TaskBody[D]], TaskHandler[D]]:
    """Make ``body(event, context, deps)`` the entry point ``handler(event, context, deps=None)``.

    Applies, outermost first, the Logger's Lambda context (the event is never
    logged), the Tracer's handler segment and the Metrics flush; ``deps`` is built
    with ``build_deps()`` inside them, only when the caller passed none.
    """

    def decorate(body: TaskBody[D]) -> TaskHandler[D]:
        @logger.inject_lambda_context(log_event=False)
        @tracer.capture_lambda_handler
        @metrics.log_metrics
        @functools.wraps(body)
        def handler(
            event: dict[str, Any], context: LambdaContext, deps: D | None = None
        ) -> dict[str, Any]:
            return body(event, context, build_deps() if deps is None else deps)

        return handler

    return decorate
