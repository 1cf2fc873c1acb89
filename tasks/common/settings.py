"""Configuration parsed from the environment at the edge, inside the handler path.

Nothing here reads the environment at import time: a handler calls
``load_settings(SomeSettings)`` when it runs, so tests set variables (or pass an
explicit mapping) without import tricks. Precedence: explicit argument >
environment variable > default.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from typing import Literal, TypeVar, cast

from pydantic import BaseModel, ConfigDict, Field, ValidationError

__all__ = [
    "ConfigurationError",
    "NotificationSettings",
    "OrdersSettings",
    "load_settings",
]


class ConfigurationError(RuntimeError):
    """The function's environment is missing or has an invalid setting."""


class _EnvSettings(BaseModel):
    """Fields are read from upper-case environment variables (their aliases)."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True, defer_build=True)


class OrdersSettings(_EnvSettings):
    orders_table: str = Field(alias="ORDERS_TABLE", min_length=1)
    idempotency_table: str = Field(alias="IDEMPOTENCY_TABLE", min_length=1)
    # Only the deterministic in-memory gateway exists today; a real provider adapter
    # plugs in behind the same PaymentGateway port.
    payment_gateway: Literal["fake"] = Field(alias="PAYMENT_GATEWAY", default="fake")
    # How many times the fake fails a `tok_flaky` charge before it succeeds.
    fake_payment_flaky_failures: int = Field(alias="FAKE_PAYMENT_FLAKY_FAILURES", default=2, ge=0)
    # The sweep cancels PENDING orders older than this ...
    stuck_pending_minutes: int = Field(alias="STUCK_PENDING_MINUTES", default=60, ge=1)
    # ... and AWAITING_APPROVAL orders older than this (the approval itself times out
    # after 24 hours, so anything much older lost its execution).
    stuck_approval_hours: int = Field(alias="STUCK_APPROVAL_HOURS", default=48, ge=1)
    sweep_batch_limit: int = Field(alias="SWEEP_BATCH_LIMIT", default=100, ge=1, le=1000)


class NotificationSettings(_EnvSettings):
    orders_table: str = Field(alias="ORDERS_TABLE", min_length=1)
    idempotency_table: str = Field(alias="IDEMPOTENCY_TABLE", min_length=1)
    sender_email: str = Field(alias="SENDER_EMAIL", default="orders@example.com", min_length=3)
    # SNS platform application (APNs/FCM) that push tokens are registered under.
    push_platform_application_arn: str | None = Field(
        alias="PUSH_PLATFORM_APPLICATION_ARN", default=None
    )
    sms_sender_id: str = Field(alias="SMS_SENDER_ID", default="Orders", max_length=11)


S = TypeVar("S", bound=_EnvSettings)

_parsed: dict[tuple[type[_EnvSettings], tuple[tuple[str, str], ...]], _EnvSettings] = {}


@functools.cache
def _names(model: type[_EnvSettings]) -> tuple[str, ...]:
    """Every key ``model`` reads: its fields' aliases and (``populate_by_name``) names."""
    names: list[str] = []
    for name, field in model.model_fields.items():
        names.extend(n for n in (field.alias, name) if n and n not in names)
    return tuple(names)


def load_settings(model: type[S], environ: Mapping[str, str] | None = None) -> S:
    """Parse ``environ`` (default: ``os.environ``) into ``model``; clear error if invalid.

    Only the keys the model reads are taken from the environment (the others are
    ignored by the model anyway): copying and decoding all of ``os.environ`` was most of
    what this cost, on every invocation.
    """
    source = os.environ if environ is None else environ
    values = {name: source[name] for name in _names(model) if name in source}
    # settings are frozen: the same values give an equal model, so a sandbox's warm
    # invocations share one (only valid ones are kept; a bad one raises every time)
    key = (model, tuple(values.items()))
    found = _parsed.get(key)
    if found is not None:
        return cast(S, found)
    try:
        parsed = model.model_validate(values)
    except ValidationError as err:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in err.errors()
        )
        raise ConfigurationError(f"invalid {model.__name__}: {problems}") from err
    if len(_parsed) >= 64:  # a few models and environments per process; bound it all the same
        _parsed.clear()
    _parsed[key] = parsed
    return parsed
