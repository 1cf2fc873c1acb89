"""Fuzz the JWT header: however its header is shaped, a token is 202 or 401, never 5xx."""

from __future__ import annotations

import base64
import json
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from order_api_support import Invoke, SigningKey, TokenFactory, api_event

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=15,
)
# the members a JWS header may carry (RFC 7515 4.1), each either well-formed or arbitrary
MEMBERS = ["alg", "kid", "typ", "cty", "crit", "jku", "jwk", "x5u", "x5c", "x5t", "b64", "zip"]


@st.composite
def headers(draw: st.DrawFn) -> Any:
    """A JOSE header: the valid one with members added, removed or replaced, or not an object."""
    if draw(st.integers(0, 9)) == 0:
        return draw(json_values)  # not even an object
    header: dict[str, Any] = {"alg": "RS256", "typ": "JWT", "kid": "key-2025-01"}
    for member in draw(st.lists(st.sampled_from(MEMBERS), max_size=4, unique=True)):
        if draw(st.booleans()):
            header.pop(member, None)
        else:
            header[member] = draw(json_values | st.sampled_from(["RS256", "HS256", "none"]))
    return header


def _segment(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def signed(header: Any, claims: dict[str, Any], key: SigningKey) -> str:
    """A token whose signature really verifies with ``key``, whatever its header says."""
    signing_input = (
        f"{_segment(json.dumps(header).encode())}.{_segment(json.dumps(claims).encode())}"
    )
    signature = key.private.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{_segment(signature)}"


FUZZ = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@FUZZ
@given(header=headers())
@example(header={"alg": "RS256", "typ": "JWT", "kid": 7})
@example(header={"alg": "RS256", "typ": "JWT", "kid": ["key-2025-01"]})
@example(header={"alg": "RS256", "typ": "JWT", "kid": {"a": 1}})
@example(header={"alg": "RS256", "typ": "JWT", "kid": "key-2025-01", "crit": ["exp"]})
@example(header={"alg": "RS256", "typ": "JWT", "kid": "key-2025-01", "crit": "b64"})
@example(header={"alg": "RS256", "typ": "JWT", "kid": "key-2025-01", "crit": [1]})
@example(header={"alg": "RS256", "typ": "JWT", "kid": "key-2025-01", "b64": False})
@example(header=["RS256"])
def test_no_header_shape_fails_the_server(
    call: Invoke, tokens: TokenFactory, signing_key: SigningKey, header: Any
) -> None:
    token = signed(header, tokens.claims(), signing_key)
    answer = call(api_event("post_orders", token=token))
    assert answer.status in (202, 401), answer.body
    if answer.status == 401:
        assert answer.body["success"] is False
        assert answer.error_code == "unauthorized"
    else:  # only the well-formed header is accepted
        assert isinstance(header, dict)
        assert header.get("alg") == "RS256"
        assert header.get("kid") == "key-2025-01"
        assert "crit" not in header
