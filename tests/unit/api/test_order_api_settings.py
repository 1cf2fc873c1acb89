"""Settings come from the environment at the edge; nothing is read at import time."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
from order_api_support import (
    AUDIENCE,
    HS256_SECRET,
    ISSUER,
    STATE_MACHINE_ARN,
    TABLE,
    Aws,
    LambdaContext,
    TokenFactory,
    api_event,
    parse_answer,
)
from pydantic import ValidationError

from workflows.api.app import handler, reset_default_services
from workflows.api.settings import DEFAULT_MAX_BODY_BYTES, ApiSettings

BASE_ENV = {
    "ORDER_STATE_MACHINE_ARN": STATE_MACHINE_ARN,
    "ORDERS_TABLE": TABLE,
    "JWT_ISSUER": ISSUER,
    "JWT_AUDIENCE": AUDIENCE,
}


def test_settings_from_the_environment() -> None:
    settings = ApiSettings.from_env({**BASE_ENV, "JWT_JWKS_URL": "https://idp/jwks.json"})
    assert settings.order_state_machine_arn == STATE_MACHINE_ARN
    assert settings.max_body_bytes == DEFAULT_MAX_BODY_BYTES == 65536
    assert settings.allowed_algorithms == ("RS256",)
    assert settings.jwt_hs256_secret is None


def test_hs256_only_when_a_secret_is_set() -> None:
    env = {**BASE_ENV, "JWT_HS256_SECRET": HS256_SECRET, "MAX_BODY_BYTES": "1024"}
    settings = ApiSettings.from_env(env)
    assert settings.allowed_algorithms == ("HS256",)
    assert settings.max_body_bytes == 1024
    assert HS256_SECRET not in repr(settings)
    both = ApiSettings.from_env({**env, "JWT_JWKS_URL": "https://idp/jwks.json"})
    assert both.allowed_algorithms == ("RS256", "HS256")


def test_explicit_arguments_win_over_the_environment() -> None:
    env = {**BASE_ENV, "JWT_JWKS_URL": "https://idp/jwks.json", "MAX_BODY_BYTES": "1024"}
    assert ApiSettings.from_env(env, max_body_bytes=2048).max_body_bytes == 2048


@pytest.mark.parametrize(
    "env",
    [
        pytest.param(BASE_ENV, id="no-key-source"),
        pytest.param({**BASE_ENV, "JWT_HS256_SECRET": "short"}, id="short-secret"),
        pytest.param({**BASE_ENV, "JWT_JWKS_URL": "https://x", "MAX_BODY_BYTES": "0"}, id="size"),
        pytest.param({"JWT_JWKS_URL": "https://x"}, id="missing-names"),
    ],
)
def test_bad_settings_are_refused(env: dict[str, str]) -> None:
    with pytest.raises(ValidationError):
        ApiSettings.from_env(env)


def test_importing_the_handler_reads_nothing_and_imports_no_runtime() -> None:
    code = (
        "import sys, workflows.api.app as a; "
        "assert 'boto3' not in sys.modules, 'boto3 imported at import time'; "
        "bad = [m for m in sys.modules if m.startswith(('workflows.engine', 'workflows.local'))]; "
        "assert not bad, bad; "
        "print('ok')"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env={}, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_the_handler_builds_its_services_from_the_environment(
    aws: Aws, tokens: TokenFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in {**BASE_ENV, "JWT_HS256_SECRET": HS256_SECRET}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("JWT_JWKS_URL", raising=False)
    reset_default_services()
    try:
        raw: dict[str, Any] = handler(
            api_event("post_orders", token=tokens.hs256()), LambdaContext()
        )
        answer = parse_answer(raw)
        assert answer.status == 202
        assert [e["name"] for e in aws.executions()] == ["ord-20250131-0001"]
    finally:
        reset_default_services()


def test_a_misconfigured_function_answers_500_in_the_envelope(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("ORDER_STATE_MACHINE_ARN", raising=False)
    reset_default_services()
    answer = parse_answer(handler(api_event("get_order"), LambdaContext()))
    assert answer.status == 500
    assert answer.error_code == "internal_error"
