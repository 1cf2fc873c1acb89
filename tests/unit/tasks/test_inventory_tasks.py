from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from tasks.orders import release_inventory, reserve_inventory
from tasks.orders.errors import InvalidOrder, OutOfStock


def _stock(table: Any, product_id: str) -> Decimal:
    item = table.get_item(Key={"PK": f"PRODUCT#{product_id}", "SK": "PRODUCT"})["Item"]
    return Decimal(item["available"])


def test_reserve_takes_stock_and_writes_reservations(
    placed_order: Any, order_deps: Any, lambda_context: Any, table: Any
) -> None:
    state = placed_order()
    result = reserve_inventory.handler(state, lambda_context, deps=order_deps)

    assert result["reservations"] == [
        {"productId": "SKU-KETTLE-01", "quantity": 1},
        {"productId": "SKU-MUG-02", "quantity": 2},
        {"productId": "SKU-BEANS-03", "quantity": 3},
    ]
    assert _stock(table, "SKU-KETTLE-01") == 119
    assert _stock(table, "SKU-MUG-02") == 298
    assert _stock(table, "SKU-BEANS-03") == 497
    reservation = table.get_item(
        Key={"PK": "ORDER#ORD-2025-000123", "SK": "RESERVATION#SKU-MUG-02"}
    )
    assert reservation["Item"]["status"] == "RESERVED"


def test_a_duplicate_reservation_takes_stock_once(
    placed_order: Any, order_deps: Any, lambda_context: Any, table: Any
) -> None:
    state = placed_order()
    first = reserve_inventory.handler(state, lambda_context, deps=order_deps)
    second = reserve_inventory.handler(state, lambda_context, deps=order_deps)  # Powertools
    replay = reserve_inventory.reserve_inventory(state, order_deps)  # below Powertools
    assert first == second
    assert replay["reservations"] == first["reservations"]
    assert _stock(table, "SKU-KETTLE-01") == 119


def test_out_of_stock_reserves_nothing(
    placed_order: Any, order_deps: Any, lambda_context: Any, table: Any
) -> None:
    table.update_item(
        Key={"PK": "PRODUCT#SKU-BEANS-03", "SK": "PRODUCT"},
        UpdateExpression="SET available = :n",
        ExpressionAttributeValues={":n": 2},
    )
    state = placed_order()
    with pytest.raises(OutOfStock, match="'SKU-BEANS-03' is out of stock"):
        reserve_inventory.handler(state, lambda_context, deps=order_deps)
    # The transaction is all or nothing: the earlier lines kept their stock.
    assert _stock(table, "SKU-KETTLE-01") == 120
    assert _stock(table, "SKU-MUG-02") == 300
    assert order_deps.inventory.reservations("ORD-2025-000123") == []


def test_reserve_rejects_a_request_without_order_id(order_deps: Any, lambda_context: Any) -> None:
    with pytest.raises(InvalidOrder, match="orderId: Field required"):
        reserve_inventory.handler({"items": []}, lambda_context, deps=order_deps)


def test_reserve_refuses_an_unknown_order(order_deps: Any) -> None:
    with pytest.raises(InvalidOrder, match="does not exist"):
        reserve_inventory.reserve_inventory({"orderId": "ORD-NOPE"}, order_deps)


def test_release_gives_stock_back_once(
    placed_order: Any, order_deps: Any, lambda_context: Any, table: Any
) -> None:
    state = placed_order()
    reserve_inventory.handler(state, lambda_context, deps=order_deps)

    first = release_inventory.handler(state, lambda_context, deps=order_deps)
    second = release_inventory.handler(state, lambda_context, deps=order_deps)

    assert len(first["released"]) == 3
    assert second["released"] == []
    assert _stock(table, "SKU-KETTLE-01") == 120
    assert _stock(table, "SKU-MUG-02") == 300
    assert _stock(table, "SKU-BEANS-03") == 500


def test_release_without_reservations_is_a_no_op(order_deps: Any, lambda_context: Any) -> None:
    result = release_inventory.handler({"orderId": "ORD-X"}, lambda_context, deps=order_deps)
    assert result == {"orderId": "ORD-X", "released": []}
