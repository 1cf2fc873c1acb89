"""``workflows run``'s one boto3 session: one client per service for the whole run."""

from __future__ import annotations

from botocore.config import Config

from workflows.integrations import new_session
from workflows.integrations._boto import ClientPool
from workflows.local.run import _RunSession
from workflows.local.template import REGION


def test_the_integrations_call_the_clients_provisioning_built() -> None:
    session = _RunSession(new_session(region_name=REGION))
    provisioning = session.client("dynamodb")
    assert session.client("dynamodb") is provisioning
    assert ClientPool(lambda: session).client("dynamodb") is provisioning
    assert provisioning.meta.config.retries["mode"] == "standard"
    assert provisioning.meta.region_name == REGION


def test_a_client_asked_for_with_other_settings_is_its_own() -> None:
    session = _RunSession(new_session(region_name=REGION))
    shared = session.client("sqs")
    assert session.client("sqs", region_name="eu-west-1") is not shared
    assert session.client("sqs", config=Config(retries={"mode": "legacy"})) is not shared
    assert session.client("sqs", endpoint_url="http://localhost:1") is not shared
    assert session.region_name == REGION  # everything else is the session's
