"""Fixtures of the order API tests (defined in order_api_support, registered here)."""

from order_api_support import (  # noqa: F401
    attacker_key,
    aws,
    aws_env,
    call,
    clock,
    jwks,
    rotated_key,
    services,
    settings,
    signing_key,
    tokens,
)
