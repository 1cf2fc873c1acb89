"""The one place that sets up Powertools Logger, Tracer and Metrics for every task.

Every handler is declared with ``@task_handler(Deps.from_settings)``, which applies
the Logger, Tracer and Metrics decorators and builds the task's collaborators
when a test did not pass its own. Task code imports ``logger``, ``tracer`` and
``metrics`` from here and calls ``bind_order(order_id)`` as soon as it knows the
order, which makes the order id the correlation id of every log line (and an
X-Ray annotation).

The service name and metrics namespace come from the usual Powertools variables
(``POWERTOOLS_SERVICE_NAME``, ``POWERTOOLS_METRICS_NAMESPACE``) with project
defaults. When the X-Ray SDK is not installed (local runs, unit tests), the Tracer
gets a no-op provider instead of failing at import.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import numbers
import traceback
from collections.abc import AsyncGenerator, Callable, Generator, Sequence
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


class _NoOpSegment(BaseSegment):
    def close(self, end_time: int | None = None) -> None:
        return None

    def add_subsegment(self, subsegment: Any) -> None:
        return None

    def remove_subsegment(self, subsegment: Any) -> None:
        return None

    def put_annotation(self, key: str, value: str | numbers.Number | bool) -> None:
        return None

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        return None

    def add_exception(
        self,
        exception: BaseException,
        stack: list[traceback.StackSummary],
        remote: bool = False,
    ) -> None:
        return None


class _NoOpProvider(BaseProvider):
    """Stands in for the X-Ray recorder when ``aws_xray_sdk`` is absent."""

    @contextlib.contextmanager
    def in_subsegment(self, name: Any = None, **kwargs: Any) -> Generator[BaseSegment, None, None]:
        yield _NoOpSegment()

    @contextlib.asynccontextmanager
    async def in_subsegment_async(
        self, name: Any = None, **kwargs: Any
    ) -> AsyncGenerator[BaseSegment, None]:
        yield _NoOpSegment()

    def put_annotation(self, key: str, value: str | numbers.Number | bool) -> None:
        return None

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        return None

    def patch(self, modules: Sequence[str]) -> None:
        return None

    def patch_all(self) -> None:
        return None


def _make_tracer() -> Tracer:
    if importlib.util.find_spec("aws_xray_sdk") is None:
        # `disabled=True` would make Powertools import the X-Ray SDK to switch it off;
        # the no-op provider already records nothing.
        return Tracer(disabled=False, auto_patch=False, provider=_NoOpProvider())
    return Tracer()


logger = Logger()
tracer = _make_tracer()
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
