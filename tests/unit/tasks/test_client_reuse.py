"""SDK clients are built once per sandbox and reused by warm invocations."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from botocore.useragent import UserAgentString

from tasks.common import aws


@pytest.fixture(autouse=True)
def fresh(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    aws.reset_clients()


def test_a_client_is_built_once_and_reused() -> None:
    assert aws.client("sqs") is aws.client("sqs")
    assert aws.dynamodb_table("Orders") is aws.dynamodb_table("Orders")
    assert aws.client("sns") is not aws.client("sqs")


def test_another_endpoint_or_region_gets_its_own_client(monkeypatch: pytest.MonkeyPatch) -> None:
    first = aws.client("sqs")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
    local = aws.client("sqs")
    assert local is not first
    assert local.meta.endpoint_url == "http://127.0.0.1:4566"
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    assert aws.client("sqs").meta.region_name == "eu-west-1"


def test_a_service_s_own_endpoint_variable_gets_its_own_client(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The key is read by name: the shared endpoint, the service's own (named as botocore
    names it: Step Functions' is ``..._SFN``); another service's leaves a client alone."""
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    dynamodb, sfn = aws.client("dynamodb"), aws.client("stepfunctions")
    table = aws.dynamodb_table("Orders")
    monkeypatch.setenv("AWS_ENDPOINT_URL_SQS", "http://127.0.0.1:4566")
    assert aws.client("dynamodb") is dynamodb
    assert aws.dynamodb_table("Orders") is table
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:4567")
    assert aws.client("dynamodb").meta.endpoint_url == "http://127.0.0.1:4567"
    assert aws.dynamodb_table("Orders").meta.client.meta.endpoint_url == "http://127.0.0.1:4567"
    monkeypatch.setenv("AWS_ENDPOINT_URL_SFN", "http://127.0.0.1:4568")
    assert aws.client("stepfunctions") is not sfn
    assert aws.client("stepfunctions").meta.endpoint_url == "http://127.0.0.1:4568"
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "other")
    assert aws.client("sqs").meta.endpoint_url == "http://127.0.0.1:4566"
    credentials = aws.client("sqs")._request_signer._credentials
    assert credentials.access_key == "other"


def test_reset_forgets_every_client() -> None:
    first = aws.client("sqs")
    aws.reset_clients()
    assert aws.client("sqs") is not first


def test_threads_share_clients_but_keep_their_own_tables() -> None:
    here = (aws.client("sqs"), aws.dynamodb_table("Orders"))
    there: list[tuple[object, object]] = []
    thread = threading.Thread(
        target=lambda: there.append((aws.client("sqs"), aws.dynamodb_table("Orders")))
    )
    thread.start()
    thread.join()
    assert there[0][0] is here[0]  # low-level clients are thread-safe
    assert there[0][1] is not here[1]  # resources are not


def test_new_sessions_share_one_data_loader() -> None:
    first, second = aws.new_session(), aws.new_session()
    assert first is not second
    loader = first._session.get_component("data_loader")
    assert second._session.get_component("data_loader") is loader
    assert len(loader.search_paths) == len(set(loader.search_paths))
    # other boto3 sessions on the same loader (one shared process-wide) add their folder
    # again each: the next session of ours leaves each folder once
    loader.search_paths.extend(loader.search_paths[-1:] * 3)
    aws.new_session()
    assert len(loader.search_paths) == len(set(loader.search_paths))


class _Answered:
    """What a request returns without leaving the process: ``{}`` with HTTP 200."""

    def stream(self, **_: object) -> object:
        yield b"{}"


def _user_agents(client: Any, calls: int) -> list[str]:
    seen: list[str] = []

    def answer(request: Any, **_: object) -> AWSResponse:
        seen.append(request.headers["User-Agent"].decode())
        return AWSResponse(request.url, 200, {}, _Answered())

    client.meta.events.register("before-send", answer)
    for _ in range(calls):
        client.list_queues()
    return seen


def _parts(user_agent: str) -> list[object]:
    # botocore joins the features (m/...) from a set: their order is not fixed
    return [set(p[2:].split(",")) if p.startswith("m/") else p for p in user_agent.split()]


def test_the_user_agent_is_composed_once_and_stays_what_botocore_sends() -> None:
    reused = _user_agents(aws.client("sqs"), 3)
    plain = _user_agents(aws.new_session().client("sqs"), 1)  # not through aws.client
    assert reused[0] == reused[1] == reused[2]
    assert _parts(reused[0]) == _parts(plain[0])


def test_calls_with_the_same_features_share_one_composed_user_agent(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    composed = 0
    compose = UserAgentString.to_string

    def counted(self: UserAgentString) -> str:
        nonlocal composed
        composed += 1
        return compose(self)

    monkeypatch.setattr(UserAgentString, "to_string", counted)
    _user_agents(aws.client("sqs"), 5)
    # one header for the features known when the request is built, one with those the
    # call adds before it is sent; botocore alone composes two per call (ten here)
    assert composed == 2
