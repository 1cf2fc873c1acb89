"""Local JWTs for the local API: the key kept in .workflows/, its JWKS, and minted tokens
that the API's own verifier (RS256 through a JWKS) accepts."""

from __future__ import annotations

import base64
import stat
import time
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from workflows.api.auth import JwtVerifier
from workflows.api.errors import Unauthorized
from workflows.local.local_auth import (
    JWKS_PATH,
    LOCAL_AUDIENCE,
    LOCAL_ISSUER,
    LocalIssuer,
    LocalKeyError,
    jwk_thumbprint,
    jwt_environment,
    load_or_create_key,
    mint_token,
    template_overrides,
)
from workflows.local.template import load_template

REPO = Path(__file__).resolve().parents[3]
TEMPLATE = REPO / "infra" / "sam" / "template.yaml"


class MemoryJWKClient(jwt.PyJWKClient):
    """A real PyJWKClient whose JWKS is the local issuer's, without the network."""

    def __init__(self, issuer: LocalIssuer) -> None:
        super().__init__("http://127.0.0.1:3000" + JWKS_PATH, cache_keys=False)
        self.issuer = issuer

    def fetch_data(self) -> Any:
        return self.issuer.jwks()


def verifier(issuer: LocalIssuer) -> JwtVerifier:
    return JwtVerifier(
        issuer=LOCAL_ISSUER,
        audience=LOCAL_AUDIENCE,
        algorithms=["RS256"],
        jwks=MemoryJWKClient(issuer),
    )


def test_the_key_is_generated_once_private_to_the_user_and_reused(tmp_path: Path) -> None:
    path = tmp_path / ".workflows" / "jwt-key.pem"
    first = LocalIssuer.from_key_file(path)
    assert path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert first.private_key.key_size == 2048
    second = LocalIssuer.from_key_file(path)
    assert second.kid == first.kid
    assert [p.name for p in path.parent.iterdir()] == ["jwt-key.pem"]  # no temporary left
    assert load_or_create_key(path).private_numbers() == first.private_key.private_numbers()


def test_a_damaged_key_file_is_reported_not_replaced(tmp_path: Path) -> None:
    path = tmp_path / "jwt-key.pem"
    path.write_text("not a key")
    with pytest.raises(LocalKeyError, match=r"jwt-key\.pem"):
        load_or_create_key(path)
    assert path.read_text() == "not a key"


def test_the_jwks_publishes_the_public_key_under_its_thumbprint(tmp_path: Path) -> None:
    issuer = LocalIssuer.from_key_file(tmp_path / "k.pem")
    [key] = issuer.jwks()["keys"]
    assert key["kty"] == "RSA"
    assert key["alg"] == "RS256"
    assert key["use"] == "sig"
    assert key["kid"] == issuer.kid
    assert "d" not in key  # never the private half
    assert key["e"] == "AQAB"
    assert jwt.PyJWK(key).key.public_numbers() == issuer.private_key.public_key().public_numbers()


def test_the_key_id_is_the_rfc_7638_thumbprint() -> None:
    # the example of RFC 7638, section 3.1
    n = (
        "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_B"
        "JECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_F"
        "DW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4"
        "vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
    )
    modulus = int.from_bytes(base64.urlsafe_b64decode(n + "=" * (-len(n) % 4)), "big")
    public_key = rsa.RSAPublicNumbers(65537, modulus).public_key()
    assert jwk_thumbprint(public_key) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


def test_minted_tokens_carry_the_claims_the_api_requires(tmp_path: Path) -> None:
    path = tmp_path / "k.pem"
    now = time.time()
    token = mint_token("customer-1", roles=["approver"], minutes=5, key_path=path, now=now)
    issuer = LocalIssuer.from_key_file(path)
    header = jwt.get_unverified_header(token)
    assert header == {"alg": "RS256", "kid": issuer.kid, "typ": "JWT"}
    claims = jwt.decode(
        token,
        issuer.private_key.public_key(),
        algorithms=["RS256"],
        audience=LOCAL_AUDIENCE,
        issuer=LOCAL_ISSUER,
    )
    assert claims["sub"] == "customer-1"
    assert claims["roles"] == ["approver"]
    assert claims["iat"] == claims["nbf"] == int(now)
    assert claims["exp"] == int(now) + 300
    assert claims["iss"] == "http://127.0.0.1:3000/"
    assert claims["aud"] == "orders-api"
    assert len(claims["jti"]) == 32
    principal = verifier(issuer).verify(token)
    assert principal.subject == "customer-1"
    assert principal.is_approver


def test_a_token_without_roles_has_no_roles_claim(tmp_path: Path) -> None:
    issuer = LocalIssuer.from_key_file(tmp_path / "k.pem")
    token = issuer.mint("customer-2", claims={"email": "c2@example.com", "sub": "spoofed"})
    claims = jwt.decode(token, options={"verify_signature": False})
    assert "roles" not in claims
    assert claims["sub"] == "customer-2"  # the standard claims always win
    assert claims["email"] == "c2@example.com"
    assert not verifier(issuer).verify(token).is_approver
    assert issuer.mint("x", roles="approver") != token  # a single role as a string


def test_tokens_of_another_key_or_past_expiry_are_refused(tmp_path: Path) -> None:
    issuer = LocalIssuer.from_key_file(tmp_path / "k.pem")
    other = LocalIssuer.from_key_file(tmp_path / "other.pem")
    with pytest.raises(Unauthorized) as refused:
        verifier(issuer).verify(other.mint("customer-1"))
    assert refused.value.details == {"reason": "unknown_key"}
    expired = issuer.mint("customer-1", minutes=1, now=time.time() - 3600)
    with pytest.raises(Unauthorized) as late:
        verifier(issuer).verify(expired)
    assert late.value.details == {"reason": "token_expired"}


@pytest.mark.parametrize(
    ("sub", "roles", "minutes"),
    [("", (), 60), ("  ", (), 60), ("u", (), 0), ("u", (), -5), ("u", ("",), 60)],
)
def test_bad_arguments_are_refused(
    sub: str, roles: tuple[str, ...], minutes: float, tmp_path: Path
) -> None:
    issuer = LocalIssuer.from_key_file(tmp_path / "k.pem")
    with pytest.raises(ValueError, match=r"sub|minutes|roles"):
        issuer.mint(sub, roles, minutes)


def test_the_api_function_can_be_pointed_at_the_local_issuer() -> None:
    assert jwt_environment("http://127.0.0.1:3000/") == {
        "JWT_ISSUER": "http://127.0.0.1:3000/",
        "JWT_AUDIENCE": "orders-api",
        "JWT_JWKS_URL": "http://127.0.0.1:3000/.well-known/jwks.json",
    }
    template = load_template(TEMPLATE, overrides=template_overrides())
    environment = template.functions["ApiFunction"].environment
    assert environment["JWT_ISSUER"] == LOCAL_ISSUER
    assert environment["JWT_JWKS_URL"] == "http://127.0.0.1:3000/.well-known/jwks.json"
    # the audience is the template's own default: nothing to override
    assert environment["JWT_AUDIENCE"] == LOCAL_AUDIENCE == template.parameters["JwtAudience"]
