"""``workflows up`` makes the integrations' AWS clients before the first order needs them."""

from __future__ import annotations

from pathlib import Path

import pytest

from workflows.local.app import LocalApp
from workflows.local.run import fake_aws_environment
from workflows.local.template import load_template

REPO = Path(__file__).resolve().parents[3]


def test_the_clients_the_template_calls_are_made_ahead(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in fake_aws_environment().items():
        monkeypatch.setenv(key, value)
    app = LocalApp(load_template(REPO / "infra" / "sam" / "template.yaml"))
    pool = app._service_integrations["dynamodb:updateItem"].pool  # type: ignore[attr-defined]
    assert pool._clients == {}
    app.warm_integrations()
    # the order machine updates DynamoDB and puts events; nothing calls SNS through it
    assert {"dynamodb", "events"} <= set(pool._clients)
    assert "sns" not in pool._clients
