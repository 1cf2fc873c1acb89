"""SDK clients are built once per sandbox and reused by warm invocations."""

from __future__ import annotations

import threading

import pytest

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
