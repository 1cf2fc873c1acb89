"""The runtime's integration clients compose their User-Agent header once per set of
features (``reuse_user_agent``): the header sent is the one botocore composes."""

from __future__ import annotations

from typing import Any

from botocore.awsrequest import AWSResponse

from workflows.integrations._boto import _RETRIES, ClientPool, new_session


class _Raw:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_: Any) -> Any:
        yield self.body


def sent_user_agents(client: Any, calls: int = 3) -> list[str]:
    seen: list[str] = []

    def answer(request: Any, **_: Any) -> AWSResponse:
        seen.append(request.headers["User-Agent"].decode())
        return AWSResponse(request.url, 200, {}, _Raw(b"{}"))

    client.meta.events.register("before-send.sqs", answer)
    for _ in range(calls):
        client.list_queues()
    return seen


def test_the_pools_clients_send_the_user_agent_botocore_composes(monkeypatch: Any) -> None:
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(key, value)
    pooled = ClientPool().client("sqs")
    plain = new_session().client("sqs", region_name="us-east-1", config=_RETRIES)
    ours, theirs = sent_user_agents(pooled), sent_user_agents(plain)
    assert len(set(ours)) == 1
    assert ours == theirs
    assert "to_string" in vars(pooled._user_agent_creator)  # composed once, kept
