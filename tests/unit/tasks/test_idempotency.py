"""``run_idempotently``: what a duplicate sees while the first invocation holds the key.

An invocation that dies mid-way (a sandbox crash, a Lambda timeout, ``kill -9``)
leaves its Powertools record IN_PROGRESS until its deadline. A crash is modelled by
logic that raises a ``BaseException`` that is not an ``Exception``: Powertools deletes
the record only for an ``Exception``, so the record stays as a dead sandbox leaves it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tasks.common.errors import DuplicateRequestInProgress
from tasks.common.idempotency import dynamodb_persistence, run_idempotently
from tasks.orders.errors import InventoryUnavailable

IDEMPOTENCY_TABLE = "workflows-idempotency"  # the ``table`` fixture creates it


class SandboxCrash(BaseException):
    """The invocation's process died: nothing after this line of the task ran."""


@dataclass
class Context:
    remaining_millis: int
    function_name: str = "reserve"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:eu-west-1:123456789012:function:reserve"
    aws_request_id: str = "req-1"

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_millis


def run(logic: Any, context: Any, persistence: Any = None) -> dict[str, Any]:
    return run_idempotently(
        logic,
        {"orderId": "ORD-1"},
        name="ReserveInventory",
        key_expression="orderId",
        persistence=persistence or dynamodb_persistence(IDEMPOTENCY_TABLE),
        context=context,
        transient_error=InventoryUnavailable,
    )


def crash(payload: dict[str, Any]) -> dict[str, Any]:
    raise SandboxCrash


def test_a_duplicate_of_a_crashed_invocation_is_in_progress_not_a_transient_error(
    table: Any,
) -> None:
    with pytest.raises(SandboxCrash):
        run(crash, Context(remaining_millis=30_000))
    calls: list[dict[str, Any]] = []
    with pytest.raises(DuplicateRequestInProgress, match="ReserveInventory") as raised:
        run(lambda payload: calls.append(payload) or {"done": True}, Context(30_000))
    assert not isinstance(raised.value, InventoryUnavailable)
    assert calls == [], "the duplicate never ran the logic"


def test_once_the_crashed_invocation_s_deadline_passed_the_duplicate_runs_the_logic(
    table: Any,
) -> None:
    with pytest.raises(SandboxCrash):
        run(crash, Context(remaining_millis=50))  # the record expires 50 ms from now
    time.sleep(0.1)
    assert run(lambda payload: {"reserved": payload["orderId"]}, Context(30_000)) == {
        "reserved": "ORD-1"
    }
    # and from then on the stored result answers
    assert run(crash, Context(30_000)) == {"reserved": "ORD-1"}


def test_an_unreachable_idempotency_store_is_still_the_task_s_transient_error(
    table: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    persistence = dynamodb_persistence(IDEMPOTENCY_TABLE)
    unavailable = ClientError(
        {"Error": {"Code": "InternalServerError", "Message": "down"}}, "PutItem"
    )

    def put_item(**kwargs: Any) -> Any:
        raise unavailable

    monkeypatch.setattr(persistence.client, "put_item", put_item)
    with pytest.raises(InventoryUnavailable, match="idempotency store is unavailable"):
        run(lambda payload: {"done": True}, Context(30_000), persistence)


def _powertools_hooks(dynamodb: Any) -> int:
    handlers = dynamodb.meta.events._emitter._handlers.prefix_search("request-created.dynamodb")
    return sum(getattr(h, "__name__", "") == "add_powertools_feature" for h in handlers)


def test_a_layer_per_invocation_does_not_add_a_user_agent_hook_per_invocation(
    table: Any,
) -> None:
    hooks = _powertools_hooks(dynamodb_persistence(IDEMPOTENCY_TABLE).client)
    layers = [dynamodb_persistence(IDEMPOTENCY_TABLE) for _ in range(5)]
    assert len({id(layer) for layer in layers}) == 5
    assert _powertools_hooks(layers[0].client) == hooks
    # each is as new: the first one's configuration does not stick to the next
    run(lambda payload: {"reserved": payload["orderId"]}, Context(30_000), layers[0])
    assert layers[0].configured
    assert not layers[1].configured
    assert layers[1].function_name == ""
