"""What a Task resource means: AWS service integrations on top of boto3.

    from workflows.engine import StateMachine, TaskTokens, VirtualClock
    from workflows.integrations import aws_integrations

    result = StateMachine(definition).run(
        input, integrations=aws_integrations(), clock=VirtualClock(), tokens=TaskTokens()
    )

``aws_integrations`` returns the registry the engine looks resources up in
(``"service:action"`` first, then ``"service"``):

- ``dynamodb:getItem|putItem|updateItem|deleteItem``, ``sqs:sendMessage``,
  ``sns:publish``, ``events:putEvents`` (optimized integrations, ``optimized.py``)
- ``states:startExecution`` (request, ``.sync``, ``.sync:2``; ``stepfunctions.py``)
- ``aws-sdk``: every ``arn:aws:states:::aws-sdk:<service>:<action>`` (``sdk.py``)
- ``s3:getObject|listObjectsV2|putObject``: a Distributed Map's ItemReader and
  ResultWriter (``s3_items.py``; no Task resource reaches them)

``.waitForTaskToken`` needs nothing here: the integration sends the request (the token
travels in its parameters) and the engine waits for SendTaskSuccess/Failure.

Parameters are serialized with Step Functions' rules and refused with the service's
words (``requests.py``); optimized results carry the ``SdkHttpMetadata`` AWS's answer
carries (``wire.py``, also for other integrations that need AWS-shaped metadata).

Clients come from one ``boto3.Session`` (``session_factory()``, default
``new_session()``: a ``boto3.Session`` on the process's shared data loader), created
lazily once per service, region ``us-east-1`` unless the session has one. Endpoints
follow boto3's own settings (``AWS_ENDPOINT_URL``, ``AWS_ENDPOINT_URL_<SERVICE>``), so
locally they reach the local services and in tests moto. See ``docs/integrations.md``
for result shapes and error names.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from workflows.engine.tasks import ServiceIntegration, TaskRequest
from workflows.integrations._boto import ClientPool, new_session
from workflows.integrations.optimized import optimized_integrations

if TYPE_CHECKING:
    from workflows.integrations.stepfunctions import StartExecutionFn

__all__ = ["StartExecutionFn", "aws_integrations", "new_session"]


def __getattr__(name: str) -> Any:
    # StartExecutionFn lives with the integration it types, imported when first needed
    if name == "StartExecutionFn":
        from workflows.integrations.stepfunctions import StartExecutionFn

        return StartExecutionFn
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def aws_integrations(
    session_factory: Callable[[], Any] | None = None,
    *,
    start_execution: StartExecutionFn | None = None,
    poll_interval: float = 1.0,
) -> dict[str, ServiceIntegration]:
    """The AWS service integrations, keyed for ``StateMachine.run(integrations=...)``.

    ``session_factory`` returns the ``boto3.Session`` clients are made from (called
    once, on first use). ``start_execution`` lets the local runtime run nested
    executions itself; without it ``states:startExecution`` calls Step Functions
    through boto3 and ``.sync`` polls DescribeExecution every ``poll_interval``
    seconds (doubling up to 5 s) of the execution's clock.
    """
    pool = ClientPool(session_factory)
    registry: dict[str, ServiceIntegration] = dict(optimized_integrations(pool))

    def start_executions() -> ServiceIntegration:
        from workflows.integrations.stepfunctions import StartExecution

        return StartExecution(pool, start_execution, poll_interval=poll_interval)

    def sdk() -> ServiceIntegration:
        from workflows.integrations.sdk import AwsSdkIntegration

        return AwsSdkIntegration(pool)

    def s3_items(action: str) -> Callable[[], ServiceIntegration]:
        def build() -> ServiceIntegration:
            from workflows.integrations.s3_items import s3_item_integrations

            return s3_item_integrations(pool)[f"s3:{action}"]

        return build

    registry["states:startExecution"] = _BuiltOnFirstCall(start_executions)
    registry["aws-sdk"] = _BuiltOnFirstCall(sdk)
    for action in ("getObject", "listObjectsV2", "putObject"):
        registry[f"s3:{action}"] = _BuiltOnFirstCall(s3_items(action))
    return registry


class _BuiltOnFirstCall:
    """An integration whose module is imported, and the integration built, by its first
    call: a run whose machines start no execution, call no SDK integration and read no
    items from S3 (``make demo``'s) compiled ``stepfunctions``, ``sdk`` and
    ``s3_items`` (~23 kB of source) for nothing."""

    def __init__(self, build: Callable[[], ServiceIntegration]) -> None:
        self._build = build
        self._built: ServiceIntegration | None = None

    async def __call__(self, request: TaskRequest) -> Any:
        if self._built is None:
            self._built = self._build()
        return await self._built(request)
