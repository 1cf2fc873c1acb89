"""The one answer shape of the HTTP API (DESIGN.md, ``ApiResponse``).

``{"success": bool, "data": <payload>, "error": {"code", "message", "details"}, "message": str}``:
on success ``data`` holds the payload and ``error`` is null; on failure ``error`` is set
and ``data`` is null. All four keys are always present.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")


class ErrorBody(BaseModel):
    """What went wrong: a stable machine code, a human message, optional structured details."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(description="Stable machine-readable error code, e.g. `validation_error`.")
    message: str = Field(description="Human-readable explanation.")
    details: Any = Field(default=None, description="Structured details (field errors, ...).")


class ApiResponse(BaseModel, Generic[T]):
    """Envelope of every answer."""

    model_config = ConfigDict(extra="forbid")

    success: bool
    data: T | None = None
    error: ErrorBody | None = None
    message: str | None = None


class ErrorResponse(BaseModel):
    """Envelope of a failed answer (``success`` is false, ``data`` is null)."""

    model_config = ConfigDict(extra="forbid")

    success: bool = False
    data: None = None
    error: ErrorBody
    message: str | None = None


def success_body(data: BaseModel, message: str | None = None) -> dict[str, Any]:
    """The JSON body of a successful answer."""
    return {
        "success": True,
        "data": data.model_dump(mode="json", by_alias=True),
        "error": None,
        "message": message,
    }


def error_body(
    code: str, message: str, details: Any = None, *, summary: str | None = None
) -> dict[str, Any]:
    """The JSON body of a failed answer."""
    envelope = ErrorResponse(
        error=ErrorBody(code=code, message=message, details=details), message=summary
    )
    return envelope.model_dump(mode="json")
