"""The logs never contain the bearer token (nor payment or task tokens)."""

from __future__ import annotations

import logging
import time

import pytest
from order_api_support import (
    Aws,
    FakeStepFunctions,
    Invoke,
    StubJWKClient,
    TokenFactory,
    api_event,
    client_error,
    invoker,
    make_services,
    order_body,
)

from workflows.api.observability import TokenScrubber, logger, scrub
from workflows.api.settings import ApiSettings

TASK_TOKEN = "AQCEAAAAKgAAAAMAAAAA-task-token-secret"


def _secrets(token: str) -> list[str]:
    _, payload, signature = token.split(".")
    return [token, signature, payload, TASK_TOKEN, "pm_tok_4242424242424242"]


def _assert_clean(text: str, token: str) -> None:
    for secret in _secrets(token):
        assert secret not in text


def test_no_token_in_logs_on_any_path(
    call: Invoke,
    aws: Aws,
    tokens: TokenFactory,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("POWERTOOLS_LOGGER_LOG_EVENT", "true")  # must not switch event logging on
    # Everything at INFO, Powertools (event handler, logger) at DEBUG. botocore's DEBUG wire
    # log prints request bodies by design and stays off in production (docs/api.md).
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.DEBUG, logger="aws_lambda_powertools")
    customer, approver = tokens.customer(), tokens.approver()
    expired = tokens.rs256(exp=int(time.time()) - 3600)
    aws.put_order("ord-20250131-0001", status="AWAITING_APPROVAL", approvalTaskToken=TASK_TOKEN)

    answers = [
        call(api_event("post_orders", token=customer)),
        call(api_event("post_orders", token=customer, body=order_body(currency="JPY"))),
        call(api_event("post_orders", token=customer, raw_body="{oops")),
        call(api_event("post_orders", token=expired)),
        call(api_event("get_order", token=customer)),
        call(api_event("post_order_approval", token=customer)),
        call(api_event("post_order_approval", token=approver)),
        call(api_event("get_execution_history", token=approver)),
    ]

    assert [a.status for a in answers] == [202, 422, 400, 401, 200, 403, 200, 200]
    captured = capsys.readouterr()
    logs = captured.out + captured.err + caplog.text
    assert "order accepted" in logs  # the logger did write
    for token in (customer, approver, expired):
        _assert_clean(logs, token)


def test_no_token_in_logs_when_something_breaks(
    settings: ApiSettings,
    aws: Aws,
    tokens: TokenFactory,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.DEBUG, logger="aws_lambda_powertools")
    token = tokens.customer()
    sfn = FakeStepFunctions(
        failures={"start_execution": client_error("AccessDeniedException", f"Bearer {token}")}
    )
    services = make_services(settings, sfn=sfn, table=aws.table, jwks=StubJWKClient([tokens.key]))
    answer = invoker(services)(api_event("post_orders", token=token))
    assert answer.status == 500
    captured = capsys.readouterr()
    logs = captured.out + captured.err + caplog.text
    assert "unexpected error" in logs
    assert token not in logs


def test_logs_carry_the_correlation_id(
    call: Invoke, tokens: TokenFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    call(api_event("post_orders", token=tokens.customer()))
    assert logger.get_correlation_id() == "0f5b3a52-6c1e-4a8e-9d47-2b6f1c3e8a90"
    [accepted] = [r for r in caplog.records if r.getMessage() == "order accepted"]
    assert accepted.__dict__["order_id"] == "ord-20250131-0001"


def test_scrub_masks_bearer_values_and_jwts(tokens: TokenFactory) -> None:
    token = tokens.customer()
    assert token not in scrub(f"Authorization: Bearer {token}")
    assert token not in scrub(f"token={token}")
    assert scrub("nothing secret") == "nothing secret"


def test_the_scrubber_filters_messages_and_arguments(tokens: TokenFactory) -> None:
    token = tokens.customer()
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "got %s", (token,), None)
    assert TokenScrubber().filter(record)
    assert token not in record.getMessage()
