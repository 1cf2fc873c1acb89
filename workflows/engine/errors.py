"""Errors as Step Functions names them: one class per predefined ``States.*`` error.

An execution fails with a pair (error, cause). Inside the engine that pair travels
as a ``StatesError`` so that Retry and Catch can match on ``error`` exactly as
AWS does; the class hierarchy only exists so Python code can ``except`` a kind.
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "ALL",
    "PREDEFINED_ERRORS",
    "BranchFailed",
    "CallbackFailure",
    "DataLimitExceeded",
    "ExceedToleratedFailureThreshold",
    "HeartbeatExpired",
    "HeartbeatTimeout",
    "IntrinsicFailure",
    "ItemReaderFailed",
    "NoChoiceMatched",
    "QueryEvaluationError",
    "ResultPathMatchFailure",
    "ResultWriterFailed",
    "RuntimeError_",
    "StatesError",
    "TaskFailed",
    "Timeout",
]

ALL = "States.ALL"


class StatesError(Exception):
    """A failure with the error name and cause text an execution reports."""

    name: ClassVar[str | None] = None
    # further names a Retry or Catch rule may match this error by
    also_matches: ClassVar[frozenset[str]] = frozenset()
    # the catcher's error output keeps a missing error or cause as null
    keeps_nulls: ClassVar[bool] = False

    def __init__(self, error: str | None, cause: str | None = None) -> None:
        super().__init__(error, cause)
        self.error = error
        self.cause = cause

    @classmethod
    def of(cls, cause: str) -> StatesError:
        return cls(cls.name, cause)

    def __str__(self) -> str:
        return f"{self.error}: {self.cause}" if self.cause else str(self.error)


class RuntimeError_(StatesError):
    name = "States.Runtime"


class TaskFailed(StatesError):
    name = "States.TaskFailed"


class Timeout(StatesError):
    name = "States.Timeout"


class HeartbeatTimeout(StatesError):
    name = "States.HeartbeatTimeout"


class HeartbeatExpired(StatesError):
    """A missed heartbeat: recorded as ``States.Timeout`` (as AWS records it), while
    Retry and Catch rules naming ``States.HeartbeatTimeout`` match it too."""

    name = "States.Timeout"
    also_matches = frozenset({"States.HeartbeatTimeout"})


class CallbackFailure(StatesError):
    """What SendTaskFailure sent: a missing error or cause reaches the catcher as null."""

    keeps_nulls = True


class DataLimitExceeded(StatesError):
    name = "States.DataLimitExceeded"


class BranchFailed(StatesError):
    name = "States.BranchFailed"


class NoChoiceMatched(StatesError):
    name = "States.NoChoiceMatched"


class IntrinsicFailure(StatesError):
    name = "States.IntrinsicFailure"


class ExceedToleratedFailureThreshold(StatesError):
    name = "States.ExceedToleratedFailureThreshold"


class ItemReaderFailed(StatesError):
    name = "States.ItemReaderFailed"


class ResultWriterFailed(StatesError):
    name = "States.ResultWriterFailed"


class ResultPathMatchFailure(StatesError):
    name = "States.ResultPathMatchFailure"


class QueryEvaluationError(StatesError):
    name = "States.QueryEvaluationError"


PREDEFINED_ERRORS: frozenset[str] = frozenset(
    {
        ALL,
        "States.HeartbeatTimeout",
        "States.Timeout",
        "States.TaskFailed",
        "States.Permissions",
        "States.ResultPathMatchFailure",
        "States.ParameterPathFailure",
        "States.QueryEvaluationError",
        "States.BranchFailed",
        "States.NoChoiceMatched",
        "States.IntrinsicFailure",
        "States.ExceedToleratedFailureThreshold",
        "States.ItemReaderFailed",
        "States.ResultWriterFailed",
        "States.Runtime",
        "States.DataLimitExceeded",
    }
)
