"""Errors the API answers with, one class per HTTP status (plus the ASL error name it raises).

Route code raises these; one exception handler turns them into the envelope. They carry
no secrets: messages and details are safe to show to the caller and to log.
"""

from __future__ import annotations

from typing import Any

# The error name the approval route fails the waiting task with. The order state
# machine catches it verbatim (`ErrorEquals: ["ApprovalRejected"]`); it must match
# state_machines/order_processing.asl.json and tasks/orders/errors.py (a contract test
# in tests/integration/workflows checks all three).
ORDER_REJECTED = "ApprovalRejected"


class ApiError(Exception):
    """An answer other than success: HTTP status, error code, message, details, headers."""

    status: int = 500
    code: str = "internal_error"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        details: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details
        self.headers: dict[str, str] = dict(headers or {})


class BadRequest(ApiError):
    status = 400
    code = "bad_request"


class Unauthorized(ApiError):
    """401: no credentials or credentials that do not verify (RFC 6750 challenge attached)."""

    status = 401
    code = "unauthorized"

    def __init__(self, message: str, *, reason: str) -> None:
        challenge = f'Bearer error="invalid_token", error_description="{reason}"'
        if reason == "missing_token":
            challenge = "Bearer"
        super().__init__(
            message, details={"reason": reason}, headers={"WWW-Authenticate": challenge}
        )
        self.reason = reason


class Forbidden(ApiError):
    status = 403
    code = "forbidden"


class NotFound(ApiError):
    status = 404
    code = "not_found"


class Conflict(ApiError):
    status = 409
    code = "conflict"


class PayloadTooLarge(ApiError):
    status = 413
    code = "payload_too_large"


class UnsupportedMediaType(ApiError):
    status = 415
    code = "unsupported_media_type"


class Unprocessable(ApiError):
    status = 422
    code = "validation_error"


class _RetryLater(ApiError):
    """An answer telling the caller when to try again (the ``Retry-After`` header)."""

    def __init__(self, message: str, *, retry_after: int, details: Any = None) -> None:
        super().__init__(message, details=details, headers={"Retry-After": str(retry_after)})
        self.retry_after = retry_after


class Throttled(_RetryLater):
    """429: a downstream AWS service throttled us; the caller should retry later."""

    status = 429
    code = "throttled"


class Unavailable(_RetryLater):
    """503: a downstream service is unavailable or timed out; the caller should retry later."""

    status = 503
    code = "service_unavailable"
