from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import boto3
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


def _items(table: Any) -> list[dict[str, Any]]:
    return list(table.scan()["Items"])


def test_a_repeated_reservation_answers_the_same_and_takes_stock_once(
    placed_order: Any, order_deps: Any, lambda_context: Any, table: Any, clock: Any
) -> None:
    """What a Step Functions retry or an at-least-once duplicate gets without a
    Powertools record: the first attempt's result, and no second write of anything."""
    state = placed_order()
    first = reserve_inventory.handler(state, lambda_context, deps=order_deps)
    after_first = _items(table)
    clock.now += timedelta(minutes=5)  # a later attempt would stamp another time
    second = reserve_inventory.handler(state, lambda_context, deps=order_deps)
    assert second == first
    assert _items(table) == after_first, "nothing written again"
    assert _stock(table, "SKU-KETTLE-01") == 119
    idempotency = boto3.resource("dynamodb").Table(order_deps.settings.idempotency_table)
    assert idempotency.scan()["Items"] == [], "no idempotency record: two writes saved"


def test_a_repeated_reservation_answers_the_same_after_the_stock_ran_out(
    placed_order: Any, order_deps: Any, lambda_context: Any, table: Any
) -> None:
    """The retry's stock checks fail too once other orders took the rest: the existing
    reservations decide, not the stock (no OutOfStock for what is already reserved)."""
    state = placed_order()
    first = reserve_inventory.handler(state, lambda_context, deps=order_deps)
    for product in ("SKU-KETTLE-01", "SKU-BEANS-03"):
        table.update_item(
            Key={"PK": f"PRODUCT#{product}", "SK": "PRODUCT"},
            UpdateExpression="SET available = :n",
            ExpressionAttributeValues={":n": 0},
        )
    assert reserve_inventory.handler(state, lambda_context, deps=order_deps) == first
    assert reserve_inventory.reserve_inventory(state, order_deps) == first
    assert _stock(table, "SKU-MUG-02") == 298


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
