"""Settings of the API Lambda, read from the environment at the edge (inside the handler path)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

DEFAULT_MAX_BODY_BYTES = 64 * 1024
DEFAULT_JWT_LEEWAY_SECONDS = 30
# RFC 7518 section 3.2: an HS256 key must be at least as long as the hash output.
MIN_HS256_SECRET_BYTES = 32

_ENV_NAMES: dict[str, str] = {
    "order_state_machine_arn": "ORDER_STATE_MACHINE_ARN",
    "orders_table": "ORDERS_TABLE",
    "jwt_issuer": "JWT_ISSUER",
    "jwt_audience": "JWT_AUDIENCE",
    "jwt_jwks_url": "JWT_JWKS_URL",
    "jwt_hs256_secret": "JWT_HS256_SECRET",
    "jwt_leeway_seconds": "JWT_LEEWAY_SECONDS",
    "max_body_bytes": "MAX_BODY_BYTES",
}


class ApiSettings(BaseModel):
    """What the API needs to know about its environment.

    Precedence (STYLE.md): explicit argument > environment variable > default. Build it
    with :meth:`from_env`, which takes keyword overrides.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    order_state_machine_arn: str = Field(min_length=1)
    orders_table: str = Field(min_length=1)
    jwt_issuer: str = Field(min_length=1)
    jwt_audience: str = Field(min_length=1)
    jwt_jwks_url: str | None = None
    jwt_hs256_secret: SecretStr | None = None
    jwt_leeway_seconds: int = Field(default=DEFAULT_JWT_LEEWAY_SECONDS, ge=0, le=300)
    max_body_bytes: int = Field(default=DEFAULT_MAX_BODY_BYTES, ge=1)

    @model_validator(mode="after")
    def _one_key_source(self) -> Self:
        if not self.jwt_jwks_url and self.jwt_hs256_secret is None:
            raise ValueError("set JWT_JWKS_URL (RS256) or JWT_HS256_SECRET (HS256)")
        secret = self.jwt_hs256_secret
        if secret is not None and len(secret.get_secret_value().encode()) < MIN_HS256_SECRET_BYTES:
            raise ValueError(f"JWT_HS256_SECRET must be at least {MIN_HS256_SECRET_BYTES} bytes")
        return self

    @property
    def allowed_algorithms(self) -> tuple[str, ...]:
        """The JWT algorithm allow-list: RS256 with a JWKS, HS256 only when a secret is set."""
        algorithms: list[str] = []
        if self.jwt_jwks_url:
            algorithms.append("RS256")
        if self.jwt_hs256_secret is not None:
            algorithms.append("HS256")
        return tuple(algorithms)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> ApiSettings:
        """Read the settings from ``environ`` (default: ``os.environ``); overrides win."""
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for field, name in _ENV_NAMES.items():
            raw = env.get(name)
            if raw is not None and raw != "":
                values[field] = raw
        values.update(overrides)
        return cls.model_validate(values)
