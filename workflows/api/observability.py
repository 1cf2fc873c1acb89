"""Powertools Logger for the API Lambda (the one place it is configured).

``POWERTOOLS_SERVICE_NAME`` and ``POWERTOOLS_LOG_LEVEL`` override the defaults. The
logger never receives request headers or the raw event, and a filter masks anything
that looks like a bearer token or a JWT as a last line of defence.
"""

from __future__ import annotations

import logging
import re
import traceback

from aws_lambda_powertools import Logger

SERVICE_NAME = "orders-api"

_BEARER = re.compile(r"(?i)bearer\s+[A-Za-z0-9._~+/=-]+")
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")


def scrub(text: str) -> str:
    """``text`` with bearer credentials and JWT-shaped strings masked."""
    return _JWT.sub("<redacted-jwt>", _BEARER.sub("Bearer <redacted>", text))


class TokenScrubber(logging.Filter):
    """Masks tokens in a record's message before any handler formats it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = scrub(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(scrub(a) if isinstance(a, str) else a for a in record.args)
        return True


logger = Logger(service=SERVICE_NAME)
logger.addFilter(TokenScrubber())


def log_unexpected(message: str, exc: BaseException) -> None:
    """Log an unexpected error with its traceback, scrubbed of anything token-shaped."""
    logger.error(
        message,
        extra={
            "error_type": type(exc).__name__,
            "error": scrub(str(exc)),
            "traceback": scrub("".join(traceback.format_exception(exc))),
        },
    )
