"""Fuzz POST /orders: no body, however odd, makes the API answer 500."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from order_api_support import Invoke, TokenFactory, api_event, order_body

ALLOWED = {202, 400, 409, 413, 415, 422}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=25,
)
FIELDS = ["orderId", "items", "currency", "paymentToken", "shippingAddress", "customerId"]


@st.composite
def mutated_orders(draw: st.DrawFn) -> dict[str, Any]:
    """A valid order with some fields removed or replaced by arbitrary JSON."""
    body = order_body()
    for field in draw(st.lists(st.sampled_from(FIELDS), max_size=3, unique=True)):
        if draw(st.booleans()):
            body.pop(field, None)
        else:
            body[field] = draw(json_values)
    if draw(st.booleans()):
        item = {"productId": draw(json_values), "quantity": draw(json_values)}
        body["items"] = [item]
    return body


FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _assert_answer(answer: Any) -> None:
    assert answer.status in ALLOWED, answer.body
    assert set(answer.body) == {"success", "data", "error", "message"}
    if answer.status >= 400:
        assert answer.body["success"] is False
        assert answer.body["error"]["code"]


@FUZZ
@given(body=mutated_orders())
def test_mutated_orders_never_fail_the_server(
    call: Invoke, tokens: TokenFactory, body: dict[str, Any]
) -> None:
    _assert_answer(call(api_event("post_orders", token=tokens.customer(), body=body)))


@FUZZ
@given(body=json_values)
def test_arbitrary_json_never_fails_the_server(
    call: Invoke, tokens: TokenFactory, body: Any
) -> None:
    _assert_answer(call(api_event("post_orders", token=tokens.customer(), body=body)))


@FUZZ
@given(raw=st.text(max_size=200), content_type=st.sampled_from(["application/json", "text/x"]))
def test_arbitrary_text_never_fails_the_server(
    call: Invoke, tokens: TokenFactory, raw: str, content_type: str
) -> None:
    event = api_event(
        "post_orders",
        token=tokens.customer(),
        raw_body=raw or " ",
        headers={"Content-Type": content_type},
    )
    _assert_answer(call(event))
