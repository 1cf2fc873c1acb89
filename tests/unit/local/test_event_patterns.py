from __future__ import annotations

from typing import Any

import pytest

from workflows.local.event_patterns import PatternError, matches

EVENT = {
    "source": "orders.workflow",
    "detail-type": "OrderConfirmed",
    "detail": {"orderId": "o-1", "total": 120.5, "tags": ["vip", "eu"], "channel": "Email"},
}


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ({"source": ["orders.workflow"]}, True),
        ({"source": ["billing"]}, False),
        ({"detail-type": ["OrderRejected", "OrderConfirmed"]}, True),
        ({"detail": {"orderId": [{"prefix": "o-"}]}}, True),
        ({"detail": {"orderId": [{"suffix": "-2"}]}}, False),
        ({"detail": {"total": [{"numeric": [">", 100, "<=", 200]}]}}, True),
        ({"detail": {"total": [{"numeric": ["<", 100]}]}}, False),
        ({"detail": {"tags": ["eu"]}}, True),  # any element of an array
        ({"detail": {"channel": [{"equals-ignore-case": "email"}]}}, True),
        ({"detail": {"channel": [{"anything-but": ["Email"]}]}}, False),
        ({"detail": {"channel": [{"anything-but": {"prefix": "S"}}]}}, True),
        ({"detail": {"missing": [{"exists": False}]}}, True),
        ({"detail": {"orderId": [{"exists": False}]}}, False),
        ({"detail": {"orderId": [{"wildcard": "o-*"}]}}, True),
        ({"$or": [{"source": ["x"]}, {"detail": {"orderId": ["o-1"]}}]}, True),
        ({"detail": {"nested": {"x": ["y"]}}}, False),
    ],
)
def test_patterns_as_eventbridge_documents_them(pattern: dict[str, Any], expected: bool) -> None:
    assert matches(pattern, EVENT) is expected


def test_bad_pattern_says_which_field() -> None:
    with pytest.raises(PatternError, match="'source'"):
        matches({"source": "orders.workflow"}, EVENT)
