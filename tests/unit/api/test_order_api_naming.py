"""Execution names, ARNs and idempotency-derived order ids."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from workflows.api.service import (
    belongs_to,
    execution_arn,
    execution_name,
    iso_utc,
    order_id_from_idempotency_key,
)

AWS_NAME = re.compile(r"^[A-Za-z0-9_-]{1,80}$")
MACHINE = "arn:aws:states:eu-west-1:123456789012:stateMachine:OrderWorkflow"


@given(st.text(min_size=1, max_size=200))
def test_execution_names_follow_aws_rules(order_id: str) -> None:
    name = execution_name(order_id)
    assert AWS_NAME.match(name)
    assert execution_name(order_id) == name


@given(st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}", fullmatch=True))
def test_safe_order_ids_are_their_own_execution_name(order_id: str) -> None:
    assert execution_name(order_id) == order_id


@given(st.text(min_size=1, max_size=100), st.text(min_size=1, max_size=100))
def test_different_ids_get_different_names(first: str, second: str) -> None:
    if first != second:
        assert execution_name(first) != execution_name(second)


def test_unsafe_ids_are_sanitized_with_a_digest() -> None:
    name = execution_name("order 1/2")
    assert name.startswith("order-1-2-")
    assert len(name) == len("order-1-2-") + 16


@given(st.text(min_size=1, max_size=255))
def test_idempotency_keys_map_to_safe_order_ids(key: str) -> None:
    order_id = order_id_from_idempotency_key("customer-1", key)
    assert re.fullmatch(r"ord-[0-9a-f]{32}", order_id)
    assert order_id == order_id_from_idempotency_key("customer-1", key)
    assert order_id != order_id_from_idempotency_key("customer-2", key)


def test_execution_arn() -> None:
    assert execution_arn(MACHINE, "ord-1") == (
        "arn:aws:states:eu-west-1:123456789012:execution:OrderWorkflow:ord-1"
    )
    assert execution_arn(f"{MACHINE}:prod", "x").endswith(":execution:OrderWorkflow:x")
    with pytest.raises(ValueError, match="not a state machine ARN"):
        execution_arn("arn:aws:lambda:eu-west-1:1:function:f", "x")


@pytest.mark.parametrize(
    ("arn", "expected"),
    [
        ("arn:aws:states:eu-west-1:123456789012:execution:OrderWorkflow:ord-1", True),
        ("arn:aws:states:eu-west-1:123456789012:execution:OrderWorkflow:", False),
        ("arn:aws:states:eu-west-1:123456789012:execution:Other:ord-1", False),
        ("arn:aws:states:eu-west-1:999999999999:execution:OrderWorkflow:ord-1", False),
        ("arn:aws:states:eu-west-1:123456789012:stateMachine:OrderWorkflow", False),
        ("arn:aws:states:eu-west-1:123456789012:execution:OrderWorkflow:a:b", False),
        ("garbage", False),
    ],
)
def test_belongs_to(arn: str, expected: bool) -> None:
    assert belongs_to(arn, MACHINE) is expected


def test_iso_utc() -> None:
    from datetime import UTC, datetime, timedelta, timezone

    moment = datetime(2025, 1, 31, 13, 0, tzinfo=timezone(timedelta(hours=1)))
    assert iso_utc(moment) == "2025-01-31T12:00:00.000Z"
    assert iso_utc(datetime(2025, 1, 31, 12, 0)) == "2025-01-31T12:00:00.000Z"
    assert iso_utc(datetime(2025, 1, 31, 12, 0, tzinfo=UTC)) == "2025-01-31T12:00:00.000Z"


@pytest.mark.parametrize(
    ("text", "depth"),
    [
        ("{}", 1),
        ('{"a": [1, {"b": []}]}', 4),
        ('{"a": "[[[[{{{{"}', 1),
        ('{"a": "quote \\" [[["}', 1),
        ("1", 0),
    ],
)
def test_json_depth(text: str, depth: int) -> None:
    from workflows.api.gate import json_depth

    assert json_depth(text) == depth
