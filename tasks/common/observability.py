"""The one place that sets up Powertools Logger, Tracer and Metrics for every task.

Every handler is declared with ``@task_handler(Deps.from_settings)``, which applies
the Logger, Tracer and Metrics decorators and builds the task's collaborators
when a test did not pass its own. Task code imports ``logger``, ``tracer`` and
``metrics`` from here and calls ``bind_order(order_id)`` as soon as it knows the
order, which makes the order id the correlation id of every log line (and an
X-Ray annotation).

The service name and metrics namespace come from the usual Powertools variables
(``POWERTOOLS_SERVICE_NAME``, ``POWERTOOLS_METRICS_NAMESPACE``) with project
defaults. The Tracer records X-Ray segments on Lambda and switches itself off
elsewhere (local runs, tests).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from aws_lambda_powertools import Logger, Metrics, Tracer
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


logger = Logger()
tracer = Tracer()  # switches itself off outside Lambda (tests, local runs)
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
