"""Bearer JWT authentication and roles, through the Lambda handler."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from order_api_support import (
    APPROVER,
    AUDIENCE,
    HS256_SECRET,
    ISSUER,
    Aws,
    Invoke,
    SigningKey,
    StubJWKClient,
    TokenFactory,
    api_event,
    invoker,
    make_services,
)

from workflows.api.auth import JwtVerifier, Principal, bearer_token
from workflows.api.errors import Unauthorized
from workflows.api.settings import ApiSettings


def _refused(answer: Any, reason: str) -> None:
    assert answer.status == 401
    assert answer.body["success"] is False
    assert answer.body["data"] is None
    assert answer.error_code == "unauthorized"
    assert answer.reason == reason
    assert answer.headers["www-authenticate"].startswith("Bearer")


class _FromNow:
    """A claim time given as seconds from when the test runs, not from collection."""

    def __init__(self, seconds: int = 0) -> None:
        self.seconds = seconds

    def __add__(self, seconds: int) -> _FromNow:
        return _FromNow(self.seconds + seconds)

    def __sub__(self, seconds: int) -> _FromNow:
        return _FromNow(self.seconds - seconds)

    def at(self, now: int) -> int:
        return now + self.seconds


NOW = _FromNow()


def test_a_valid_rs256_token_is_accepted(call: Invoke, tokens: TokenFactory) -> None:
    assert call(api_event("post_orders", token=tokens.customer())).status == 202


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        # times as seconds from when the test runs (a full suite runs for longer than 600 s)
        pytest.param({"exp": NOW - 120}, "token_expired", id="expired"),
        pytest.param({"nbf": NOW + 600}, "token_not_yet_valid", id="future-nbf"),
        pytest.param({"iat": NOW + 600}, "token_not_yet_valid", id="future-iat"),
        pytest.param({"aud": "another-api"}, "invalid_audience", id="wrong-aud"),
        pytest.param({"iss": "https://evil.example/"}, "invalid_issuer", id="wrong-iss"),
        pytest.param({"exp": None}, "missing_claim", id="no-exp"),
        pytest.param({"iat": None}, "missing_claim", id="no-iat"),
        pytest.param({"sub": None}, "missing_claim", id="no-sub"),
        pytest.param({"sub": "  "}, "missing_claim", id="blank-sub"),
    ],
)
def test_claims_are_checked(
    call: Invoke, aws: Aws, tokens: TokenFactory, claims: dict[str, Any], reason: str
) -> None:
    now = int(time.time())
    claims = {k: v.at(now) if isinstance(v, _FromNow) else v for k, v in claims.items()}
    token = tokens.rs256(**claims)
    answer = call(api_event("post_orders", token=token))
    _refused(answer, reason)
    assert aws.executions() == []


def test_small_clock_skew_is_tolerated(call: Invoke, tokens: TokenFactory) -> None:
    now = int(time.time())
    token = tokens.rs256(exp=now - 5, nbf=now + 5, iat=now + 5)
    assert call(api_event("post_orders", token=token)).status == 202


def test_alg_none_is_refused(call: Invoke, tokens: TokenFactory) -> None:
    token = jwt.encode(tokens.claims(), key=None, algorithm="none")
    _refused(call(api_event("post_orders", token=token)), "unsupported_algorithm")


def test_a_forged_signature_is_refused(
    call: Invoke, tokens: TokenFactory, attacker_key: SigningKey
) -> None:
    # Same kid as the real key, signed with another private key.
    token = tokens.rs256(key=attacker_key)
    _refused(call(api_event("post_orders", token=token)), "invalid_signature")


def test_a_tampered_payload_is_refused(call: Invoke, tokens: TokenFactory) -> None:
    header, _, signature = tokens.customer().split(".")
    other_payload = tokens.approver().split(".")[1]
    token = f"{header}.{other_payload}.{signature}"
    _refused(call(api_event("post_orders", token=token)), "invalid_signature")


def test_an_unknown_kid_is_refused_after_one_refetch(
    call: Invoke, tokens: TokenFactory, jwks: StubJWKClient
) -> None:
    answer = call(api_event("post_orders", token=tokens.rs256(kid="no-such-key")))
    _refused(answer, "unknown_key")
    assert jwks.fetches == 2  # the cached set, then one refresh looking for the new kid


def test_a_token_without_kid_is_refused(call: Invoke, tokens: TokenFactory) -> None:
    token = jwt.encode(tokens.claims(), tokens.key.private, algorithm="RS256")
    _refused(call(api_event("post_orders", token=token)), "unknown_key")


def test_rotated_keys_are_picked_up(
    call: Invoke, tokens: TokenFactory, jwks: StubJWKClient, rotated_key: SigningKey
) -> None:
    assert call(api_event("post_orders", token=tokens.customer())).status == 202
    jwks.keys.append(rotated_key)  # the issuer publishes a new key and starts using it
    token = tokens.rs256(key=rotated_key)
    answer = call(api_event("get_order", token=token))
    assert answer.status == 200


def test_an_unreachable_jwks_is_a_503(
    aws: Aws, settings: ApiSettings, tokens: TokenFactory
) -> None:
    class Unreachable(jwt.PyJWKClient):
        def fetch_data(self) -> Any:
            raise jwt.PyJWKClientConnectionError("connection refused")

    services = make_services(
        settings, sfn=aws.sfn, table=aws.table, jwks=Unreachable("https://idp.example.test/")
    )
    answer = invoker(services)(api_event("post_orders", token=tokens.customer()))
    assert answer.status == 503
    assert answer.headers["retry-after"] == "5"
    assert aws.executions() == []


@pytest.mark.parametrize(
    "authorization",
    [
        pytest.param("Basic dXNlcjpwYXNz", id="basic-scheme"),
        pytest.param("Bearer", id="no-token"),
        pytest.param("Bearer    ", id="blank-token"),
        pytest.param("Bearer abc.def", id="two-segments"),
        pytest.param("Bearer a.b.c.d", id="four-segments"),
        pytest.param("Bearer a.b c", id="space-in-token"),
        pytest.param("Token a.b.c", id="other-scheme"),
    ],
)
def test_malformed_authorization_headers_are_refused(
    call: Invoke, aws: Aws, authorization: str
) -> None:
    answer = call(api_event("post_orders", headers={"Authorization": authorization}))
    _refused(answer, "malformed_header")
    assert aws.executions() == []


def test_garbage_in_a_bearer_header_is_a_malformed_token(call: Invoke) -> None:
    answer = call(api_event("post_orders", headers={"Authorization": "Bearer !!!.???.***"}))
    _refused(answer, "malformed_token")


def test_a_missing_authorization_header_is_refused(call: Invoke, aws: Aws) -> None:
    answer = call(api_event("post_orders"))
    _refused(answer, "missing_token")
    assert answer.headers["www-authenticate"] == "Bearer"
    assert aws.executions() == []


def test_authentication_comes_before_body_validation(call: Invoke) -> None:
    answer = call(api_event("post_orders", raw_body="{not json"))
    _refused(answer, "missing_token")


def test_the_scheme_is_case_insensitive(call: Invoke, tokens: TokenFactory) -> None:
    event = api_event("post_orders", headers={"authorization": f"bearer {tokens.customer()}"})
    assert call(event).status == 202


def test_hs256_is_refused_when_not_configured(call: Invoke, tokens: TokenFactory) -> None:
    _refused(call(api_event("post_orders", token=tokens.hs256())), "unsupported_algorithm")


def test_hs256_signed_with_the_rsa_public_key_is_refused(
    call: Invoke, tokens: TokenFactory, signing_key: SigningKey
) -> None:
    """The classic algorithm-confusion attack: HS256 keyed with the published RSA key."""
    public_pem = (
        signing_key.private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    import hmac
    from hashlib import sha256

    from jwt.utils import base64url_encode

    header = base64url_encode(b'{"alg":"HS256","typ":"JWT","kid":"key-2025-01"}').decode()
    payload = base64url_encode(jwt.api_jws.json.dumps(tokens.claims()).encode()).decode()
    mac = hmac.new(public_pem.encode(), f"{header}.{payload}".encode(), sha256).digest()
    token = f"{header}.{payload}.{base64url_encode(mac).decode()}"
    _refused(call(api_event("post_orders", token=token)), "unsupported_algorithm")


def test_hs256_works_when_a_secret_is_configured(aws: Aws, tokens: TokenFactory) -> None:
    settings = ApiSettings.from_env(
        {},
        order_state_machine_arn=aws.state_machine_arn,
        orders_table="orders",
        jwt_issuer=ISSUER,
        jwt_audience=AUDIENCE,
        jwt_hs256_secret=HS256_SECRET,
    )
    invoke = invoker(make_services(settings, sfn=aws.sfn, table=aws.table))
    assert invoke(api_event("post_orders", token=tokens.hs256())).status == 202
    wrong = tokens.hs256(secret="another-secret-that-is-32-bytes-long!!")
    _refused(invoke(api_event("post_orders", token=wrong)), "invalid_signature")
    _refused(invoke(api_event("post_orders", token=tokens.customer())), "unsupported_algorithm")


def test_a_customer_cannot_decide_approvals(call: Invoke, tokens: TokenFactory) -> None:
    answer = call(api_event("post_order_approval", token=tokens.customer()))
    assert answer.status == 403
    assert answer.error_code == "approver_role_required"


def test_the_role_check_comes_before_body_validation(call: Invoke, tokens: TokenFactory) -> None:
    event = api_event("post_order_approval", token=tokens.customer(), body={"decision": "MAYBE"})
    assert call(event).status == 403


@pytest.mark.parametrize(
    "claims",
    [
        {"roles": ["approver"]},
        {"roles": "approver auditor"},
        {"cognito:groups": ["staff", "approver"]},
    ],
)
def test_approver_role_comes_from_roles_or_cognito_groups(
    tokens: TokenFactory, jwks: StubJWKClient, claims: dict[str, Any]
) -> None:
    verifier = JwtVerifier(ISSUER, AUDIENCE, ("RS256",), jwks=jwks)
    principal = verifier.verify(tokens.rs256(APPROVER, **claims))
    assert principal == Principal(APPROVER, principal.roles)
    assert principal.is_approver


def test_a_principal_never_holds_the_token(tokens: TokenFactory, jwks: StubJWKClient) -> None:
    token = tokens.customer()
    principal = JwtVerifier(ISSUER, AUDIENCE, ("RS256",), jwks=jwks).verify(token)
    assert token not in repr(principal)
    assert not principal.is_approver


@pytest.mark.parametrize("value", [None, "", "   "])
def test_bearer_token_requires_a_header(value: str | None) -> None:
    with pytest.raises(Unauthorized) as raised:
        bearer_token(value)
    assert raised.value.reason == "missing_token"


def test_bearer_token_extracts_the_token() -> None:
    assert bearer_token("  Bearer   a.b.c  ") == "a.b.c"
