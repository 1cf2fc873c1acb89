"""What a Task state's ``Resource`` means, as far as the engine needs to know.

The engine understands resource ARNs and integration patterns (request-response,
``.sync``, ``.waitForTaskToken``), issues task tokens and waits for them. What a
service call *does* is plugged in: in-process Lambda handlers (``lambdas.py``) and
``ServiceIntegration`` callables keyed by ``"service:action"`` (``sqs:sendMessage``)
that ``workflows.integrations`` provides on top of boto3.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from workflows.engine.activities import Activities
from workflows.engine.clock import Clock
from workflows.engine.errors import CallbackFailure, HeartbeatExpired, StatesError
from workflows.engine.lambdas import InProcessLambdas
from workflows.engine.map_runs import MapRuns

__all__ = [
    "Resource",
    "ServiceIntegration",
    "TaskRequest",
    "TaskRunner",
    "TaskTokens",
    "parse_resource",
]

Pattern = Literal["request", "sync", "sync:2", "waitForTaskToken"]


@dataclass(frozen=True, slots=True)
class Resource:
    """A parsed Task resource ARN."""

    arn: str
    kind: Literal["lambda", "service", "activity"]
    service: str  # "lambda", "sqs", "dynamodb", ...
    action: str  # "invoke", "sendMessage", the function ARN for a legacy Lambda, ...
    pattern: Pattern

    @property
    def history_resource_type(self) -> str:
        """The ``resourceType`` field of Task* history events (``aws-sdk:s3`` for SDK tasks)."""
        if self.service == "aws-sdk":
            return f"aws-sdk:{self.action.partition(':')[0]}"
        return self.service

    @property
    def history_resource(self) -> str:
        """The ``resource`` field of Task* history events: action plus pattern suffix."""
        action = self.action.partition(":")[2] if self.service == "aws-sdk" else self.action
        return action if self.pattern == "request" else f"{action}.{self.pattern}"


def parse_resource(arn: str) -> Resource:
    parts = arn.split(":")
    if len(parts) >= 7 and parts[2] == "lambda" and parts[5] == "function":
        return Resource(arn, "lambda", "lambda", arn, "request")
    if len(parts) >= 7 and parts[2] == "states" and parts[5] == "activity":
        return Resource(arn, "activity", "activity", parts[6], "request")
    if len(parts) >= 6 and parts[2] == "states" and parts[3] == "" and parts[4] == "":
        service = parts[5]
        action_pattern = ":".join(parts[6:])
        pattern: Pattern = "request"
        action = action_pattern
        suffixes: tuple[Pattern, ...] = ("waitForTaskToken", "sync:2", "sync")
        for suffix in suffixes:
            if action_pattern.endswith("." + suffix):
                action = action_pattern[: -len(suffix) - 1]
                pattern = suffix
                break
        return Resource(arn, "service", service, action, pattern)
    raise ValueError(f"Resource {arn!r} is not a Lambda, activity or service integration ARN")


@dataclass(frozen=True, slots=True)
class TaskRequest:
    """Everything an integration gets to perform one Task attempt."""

    resource: Resource
    parameters: Any
    state_name: str
    execution_arn: str
    task_token: str | None
    clock: Clock
    region: str
    account: str


ServiceIntegration = Callable[[TaskRequest], Awaitable[Any]]


class TaskTokens:
    """Outstanding ``.waitForTaskToken`` tokens: SendTaskSuccess/Failure/Heartbeat land here."""

    def __init__(self) -> None:
        self._pending: dict[str, asyncio.Future[Any]] = {}
        self._heartbeats: dict[str, asyncio.Event] = {}
        self._owners: dict[str, tuple[str, str]] = {}
        # answers given before the process stopped, applied once their token is issued again
        self._answers: dict[str, Callable[[], None]] = {}

    def issue(self, execution_arn: str, state_name: str, token: str | None = None) -> str:
        """A new token; ``token`` gives it the value an execution that resumes had issued."""
        if token is None:
            token = uuid.uuid4().hex + uuid.uuid4().hex
        loop = asyncio.get_running_loop()
        self._pending[token] = loop.create_future()
        self._heartbeats[token] = asyncio.Event()
        self._owners[token] = (execution_arn, state_name)
        answer = self._answers.pop(token, None)
        if answer is not None:
            loop.call_soon(answer)
        return token

    def answer_when_issued(self, token: str, answer: Callable[[], None]) -> None:
        """Apply ``answer`` (e.g. ``lambda: tokens.succeed(token, output)``) as soon as
        ``token`` is issued again by an execution that resumes."""
        self._answers[token] = answer

    def forget_answers(self, tokens: Iterable[str]) -> None:
        for token in tokens:
            self._answers.pop(token, None)

    def owner(self, token: str) -> tuple[str, str] | None:
        return self._owners.get(token)

    def _future(self, token: str) -> asyncio.Future[Any]:
        future = self._pending.get(token)
        if future is None or future.done():
            raise StatesError("TaskDoesNotExist", "Task Timed Out or does not exist")
        return future

    def succeed(self, token: str, output: Any) -> None:
        self._future(token).set_result(output)

    def fail(self, token: str, error: str | None, cause: str | None) -> None:
        self._future(token).set_exception(CallbackFailure(error, cause))

    def heartbeat(self, token: str) -> None:
        self._future(token)
        self._heartbeats[token].set()

    def discard(self, token: str) -> None:
        self._pending.pop(token, None)
        self._heartbeats.pop(token, None)
        self._owners.pop(token, None)

    async def wait(self, token: str, clock: Clock, heartbeat: float | None) -> Any:
        """The output sent for ``token``; raises on failure or a missed heartbeat."""
        future = self._pending[token]
        beat = self._heartbeats[token]
        try:
            while True:
                if heartbeat is None:
                    return await future
                beat.clear()
                sleeper = asyncio.ensure_future(clock.sleep(heartbeat))
                beat_waiter = asyncio.ensure_future(beat.wait())
                try:
                    await asyncio.wait(
                        {future, sleeper, beat_waiter}, return_when=asyncio.FIRST_COMPLETED
                    )
                finally:
                    sleeper.cancel()
                    beat_waiter.cancel()
                if future.done():
                    return future.result()
                if not beat.is_set():
                    raise HeartbeatExpired("States.Timeout")
        finally:
            self.discard(token)


class TaskRunner:
    """Performs Task attempts for every execution of an engine instance."""

    def __init__(
        self,
        lambdas: InProcessLambdas,
        integrations: Mapping[str, ServiceIntegration] | None = None,
        tokens: TaskTokens | None = None,
        activities: Activities | None = None,
    ) -> None:
        self.lambdas = lambdas
        self.integrations = dict(integrations) if integrations else {}
        # made when first asked for: most executions of run() need none of them
        self._tokens = tokens or None
        self._activities = activities or None
        self._map_runs: MapRuns | None = None

    @property
    def tokens(self) -> TaskTokens:
        tokens = self._tokens
        if tokens is None:
            tokens = self._tokens = TaskTokens()
        return tokens

    @property
    def activities(self) -> Activities:
        activities = self._activities
        if activities is None:
            activities = self._activities = Activities()
        return activities

    @property
    def map_runs(self) -> MapRuns:
        """The Distributed Map runs of every execution here."""
        map_runs = self._map_runs
        if map_runs is None:
            map_runs = self._map_runs = MapRuns()
        return map_runs

    @property
    def region(self) -> str:
        return self.lambdas.region

    @property
    def account(self) -> str:
        return self.lambdas.account

    def integration_for(self, resource: Resource) -> ServiceIntegration | None:
        return self.integrations.get(f"{resource.service}:{resource.action}") or (
            self.integrations.get(resource.service)
        )
