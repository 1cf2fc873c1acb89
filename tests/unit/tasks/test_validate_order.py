from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

import pytest

from tasks.common.models import OrderStatus
from tasks.orders import validate_order as module
from tasks.orders.errors import InvalidOrder


def test_prices_come_from_the_catalog_and_the_order_is_stored_pending(
    order_request: dict[str, Any],
    order_deps: Any,
    lambda_context: Any,
    table: Any,
    execution_arn: str,
) -> None:
    order_request["items"][0]["unitPrice"] = 0.01  # a client price is ignored
    result = module.handler(order_request, lambda_context, deps=order_deps)

    assert result["orderId"] == "ORD-2025-000123"
    assert result["status"] == "PENDING"
    assert result["total"] == 155.15  # 49.90 + 2 * 24.50 + 3 * 18.75
    assert [line["unitPrice"] for line in result["items"]] == [49.9, 24.5, 18.75]
    stored = table.get_item(Key={"PK": "ORDER#ORD-2025-000123", "SK": "ORDER"})["Item"]
    assert stored["status"] == "PENDING"
    assert stored["total"] == Decimal("155.15")
    assert stored["GSI1PK"] == "STATUS#PENDING"
    assert stored["GSI1SK"] == stored["createdAt"] == "2025-06-02T09:30:01.000Z"
    assert stored["executionArn"] == execution_arn


def _without(data: dict[str, Any], path: str) -> dict[str, Any]:
    copied = copy.deepcopy(data)
    *parents, last = path.split(".")
    node: Any = copied
    for part in parents:
        node = node[int(part)] if part.isdigit() else node[part]
    del node[last]
    return copied


def _with(data: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    copied = copy.deepcopy(data)
    *parents, last = path.split(".")
    node: Any = copied
    for part in parents:
        node = node[int(part)] if part.isdigit() else node[part]
    node[int(last) if last.isdigit() else last] = value
    return copied


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda o: _without(o, "customerId"), "customerId: Field required"),
        (lambda o: _without(o, "shippingAddress.postalCode"), "shippingAddress.postalCode"),
        (lambda o: _with(o, "items.0.quantity", "2"), "items.0.quantity: Input should be a valid"),
        (lambda o: _with(o, "items.0.quantity", -1), "items.0.quantity: Input should be greater"),
        (lambda o: _with(o, "items.0.quantity", 0), "items.0.quantity"),
        (lambda o: _with(o, "items", []), "items: List should have at least 1 item"),
        (lambda o: _with(o, "items", [{"productId": "SKU-MUG-02", "quantity": 1}] * 51), "items"),
        (lambda o: _with(o, "currency", "JPY"), "currency: Input should be 'EUR', 'USD' or 'GBP'"),
        (lambda o: _with(o, "requestedAt", "yesterday"), "requestedAt"),
        (lambda o: _with(o, "items.0.productId", "SKU-NOPE"), "unknown product 'SKU-NOPE'"),
        (lambda o: _with(o, "currency", "USD"), "is sold in EUR, the order is in USD"),
    ],
    ids=[
        "missing-customer",
        "missing-nested-field",
        "quantity-as-string",
        "negative-quantity",
        "zero-quantity",
        "no-items",
        "too-many-items",
        "unsupported-currency",
        "bad-timestamp",
        "unknown-product",
        "currency-mismatch",
    ],
)
def test_bad_orders_get_a_clear_invalid_order_error(
    order_request: dict[str, Any],
    order_deps: Any,
    lambda_context: Any,
    table: Any,
    mutate: Any,
    expected: str,
) -> None:
    with pytest.raises(InvalidOrder) as raised:
        module.handler(mutate(order_request), lambda_context, deps=order_deps)
    assert expected in str(raised.value)
    assert type(raised.value).__name__ == "InvalidOrder"  # the ASL error name
    assert "Item" not in table.get_item(Key={"PK": "ORDER#ORD-2025-000123", "SK": "ORDER"})


def test_every_problem_is_reported_at_once(order_request: dict[str, Any], order_deps: Any) -> None:
    order_request["items"] = [
        {"productId": "SKU-NOPE", "quantity": 1},
        {"productId": "SKU-ALSO-NOPE", "quantity": 1},
    ]
    with pytest.raises(InvalidOrder) as raised:
        module.validate_order(order_request, order_deps)
    assert len(raised.value.problems) == 2


def test_a_product_listed_twice_is_merged(order_request: dict[str, Any], order_deps: Any) -> None:
    order_request["items"] = [
        {"productId": "SKU-MUG-02", "quantity": 1},
        {"productId": "SKU-MUG-02", "quantity": 2},
    ]
    order = module.validate_order(order_request, order_deps)
    assert [(line.product_id, line.quantity) for line in order.items] == [("SKU-MUG-02", 3)]
    assert order.total == Decimal("73.50")


def test_a_retry_of_the_same_execution_gets_the_stored_order(
    order_request: dict[str, Any], order_deps: Any, clock: Any
) -> None:
    first = module.validate_order(order_request, order_deps)
    clock.now = clock.now.replace(minute=45)
    again = module.validate_order(order_request, order_deps)
    assert again == first
    assert again.status is OrderStatus.PENDING


def test_another_execution_reusing_the_order_id_is_rejected(
    order_request: dict[str, Any], order_deps: Any, execution_arn: str
) -> None:
    module.validate_order(order_request, order_deps)
    duplicate = _with(order_request, "workflow.executionArn", execution_arn + "-other")
    with pytest.raises(InvalidOrder, match="already used"):
        module.validate_order(duplicate, order_deps)
