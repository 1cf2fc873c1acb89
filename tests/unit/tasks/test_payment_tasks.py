from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyValidationError

from tasks.common.idempotency import dynamodb_persistence
from tasks.orders import charge_payment, refund_payment
from tasks.orders.errors import InvalidOrder, PaymentDeclined, PaymentProviderUnavailable


def test_charge_captures_the_stored_total(
    placed_order: Any, order_deps: Any, lambda_context: Any, gateway: Any, table: Any
) -> None:
    state = placed_order()
    state["order"]["total"] = 0.01  # a tampered state is not what gets charged
    result = charge_payment.handler(state, lambda_context, deps=order_deps)

    assert result == {
        "orderId": "ORD-2025-000123",
        "chargeId": "ch_000001",
        "amount": 155.15,
        "currency": "EUR",
        "status": "CAPTURED",
    }
    stored = table.get_item(Key={"PK": "ORDER#ORD-2025-000123", "SK": "PAYMENT"})["Item"]
    assert stored["amount"] == Decimal("155.15")
    assert stored["idempotencyKey"] == "charge:ORD-2025-000123"


def test_a_duplicate_charge_is_suppressed_by_powertools_idempotency(
    placed_order: Any, order_deps: Any, lambda_context: Any, gateway: Any
) -> None:
    state = placed_order()
    first = charge_payment.handler(state, lambda_context, deps=order_deps)
    second = charge_payment.handler(state, lambda_context, deps=order_deps)
    assert second == first
    assert gateway.captured_count == 1
    assert gateway.charge_attempts["charge:ORD-2025-000123"] == 1  # never reached the provider


def test_a_duplicate_that_slips_past_powertools_still_charges_once(
    placed_order: Any, order_deps: Any, gateway: Any
) -> None:
    state = placed_order()
    first = charge_payment.charge_payment(state, order_deps)
    second = charge_payment.charge_payment(state, order_deps)
    assert second == first
    assert gateway.captured_count == 1


def test_the_provider_deduplicates_the_idempotency_key(gateway: Any) -> None:
    one = gateway.charge(token="tok_ok", amount=Decimal(5), currency="EUR", idempotency_key="k")
    two = gateway.charge(token="tok_ok", amount=Decimal(5), currency="EUR", idempotency_key="k")
    assert one == two
    assert gateway.captured_count == 1


def test_a_declined_card_raises_payment_declined(
    placed_order: Any, order_deps: Any, lambda_context: Any, gateway: Any
) -> None:
    state = placed_order(paymentToken="tok_decline")
    with pytest.raises(PaymentDeclined, match="declined"):
        charge_payment.handler(state, lambda_context, deps=order_deps)
    assert gateway.captured_count == 0


def test_a_flaky_provider_fails_transiently_then_succeeds(
    placed_order: Any, order_deps: Any, lambda_context: Any, gateway: Any
) -> None:
    state = placed_order(paymentToken="tok_flaky")
    for _ in range(2):  # the state machine's Retry does this
        with pytest.raises(PaymentProviderUnavailable):
            charge_payment.handler(state, lambda_context, deps=order_deps)
    result = charge_payment.handler(state, lambda_context, deps=order_deps)
    assert result["status"] == "CAPTURED"
    assert gateway.captured_count == 1


def test_a_changed_token_for_the_same_order_is_refused(
    placed_order: Any, order_deps: Any, lambda_context: Any
) -> None:
    state = placed_order()
    charge_payment.handler(state, lambda_context, deps=order_deps)
    state["paymentToken"] = "tok_other"
    with pytest.raises(IdempotencyValidationError):
        charge_payment.handler(state, lambda_context, deps=order_deps)


def test_charge_needs_a_payment_token(
    placed_order: Any, order_deps: Any, lambda_context: Any
) -> None:
    state = placed_order()
    del state["paymentToken"]
    with pytest.raises(InvalidOrder, match="paymentToken: Field required"):
        charge_payment.handler(state, lambda_context, deps=order_deps)


def test_refund_refunds_once(
    placed_order: Any, order_deps: Any, lambda_context: Any, gateway: Any, table: Any
) -> None:
    state = placed_order()
    charge_payment.handler(state, lambda_context, deps=order_deps)

    first = refund_payment.handler(state, lambda_context, deps=order_deps)
    second = refund_payment.handler(state, lambda_context, deps=order_deps)

    assert (
        first
        == second
        == {
            "orderId": "ORD-2025-000123",
            "refunded": True,
            "refundId": "re_000001",
            "amount": 155.15,
        }
    )
    assert len(gateway.refunds) == 1
    stored = table.get_item(Key={"PK": "ORDER#ORD-2025-000123", "SK": "PAYMENT"})["Item"]
    assert stored["status"] == "REFUNDED"


def test_charging_an_order_that_does_not_exist_is_invalid(order_deps: Any, gateway: Any) -> None:
    request = {"orderId": "ORD-X", "paymentToken": "tok_ok"}
    with pytest.raises(InvalidOrder, match="does not exist"):
        charge_payment.charge_payment(request, order_deps)
    assert gateway.captured_count == 0


def test_a_refunded_payment_is_not_charged_again(
    placed_order: Any, order_deps: Any, lambda_context: Any, gateway: Any
) -> None:
    state = placed_order()
    charge_payment.handler(state, lambda_context, deps=order_deps)
    refund_payment.handler(state, lambda_context, deps=order_deps)
    # below Powertools (its record would answer first): the stored payment decides
    with pytest.raises(InvalidOrder, match="already REFUNDED"):
        charge_payment.charge_payment(state, order_deps)
    assert gateway.captured_count == 1


def test_refund_without_a_payment_is_a_no_op(order_deps: Any, lambda_context: Any) -> None:
    result = refund_payment.handler({"orderId": "ORD-X"}, lambda_context, deps=order_deps)
    assert result["refunded"] is False


def test_an_expired_idempotency_record_does_not_double_charge(
    placed_order: Any, order_deps: Any, lambda_context: Any, gateway: Any, aws: None
) -> None:
    import boto3

    state = placed_order()
    charge_payment.handler(state, lambda_context, deps=order_deps)
    idempotency = boto3.resource("dynamodb").Table("workflows-idempotency")
    for item in idempotency.scan()["Items"]:  # as if the records had expired
        idempotency.delete_item(Key={"id": item["id"]})
    fresh = replace(order_deps, idempotency=dynamodb_persistence("workflows-idempotency"))
    again = charge_payment.handler(state, lambda_context, deps=fresh)
    assert again["chargeId"] == "ch_000001"
    assert gateway.captured_count == 1
