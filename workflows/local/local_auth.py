"""Local JWTs: a token issuer for calling the local API with curl.

``workflows up`` serves the API on 127.0.0.1:3000. The API verifies RS256 bearer tokens
against a JWKS (``JWT_JWKS_URL``), so the local runtime plays the identity provider:

* an RSA key pair is generated once and kept in ``.workflows/jwt-key.pem`` (PKCS#8 PEM,
  mode 0600; the path is injectable), so tokens stay valid across restarts;
* its public half is served as a JWKS by the local API app at ``/.well-known/jwks.json``
  (see :func:`workflows.local.apigateway.create_app`), so the API's own ``PyJWKClient``
  fetches it like any identity provider's;
* :func:`mint_token` signs tokens with issuer ``http://127.0.0.1:3000/`` and audience
  ``orders-api`` (the template's ``JwtAudience`` default);
* :func:`template_overrides` and :func:`jwt_environment` point the API function at it.

The key is a development key for a loopback server. It is never a production
credential, and nothing here ever runs on AWS.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import tempfile
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

__all__ = [
    "DEFAULT_KEY_PATH",
    "JWKS_PATH",
    "LOCAL_AUDIENCE",
    "LOCAL_BASE_URL",
    "LOCAL_ISSUER",
    "LocalIssuer",
    "LocalKeyError",
    "jwk_thumbprint",
    "jwt_environment",
    "load_or_create_key",
    "mint_token",
    "template_overrides",
]

LOCAL_BASE_URL = "http://127.0.0.1:3000"
LOCAL_ISSUER = f"{LOCAL_BASE_URL}/"
# The template's JwtAudience default (infra/sam/template.yaml); the API checks `aud` exactly.
LOCAL_AUDIENCE = "orders-api"
JWKS_PATH = "/.well-known/jwks.json"
DEFAULT_KEY_PATH = Path(".workflows") / "jwt-key.pem"
ALGORITHM = "RS256"
KEY_SIZE = 2048
MAX_MINUTES = 60 * 24 * 366


class LocalKeyError(RuntimeError):
    """The local signing key file exists but cannot be used; the message names the file."""


def load_or_create_key(path: Path | str = DEFAULT_KEY_PATH) -> rsa.RSAPrivateKey:
    """The RSA private key kept at ``path``, generated (2048 bits, mode 0600) on first use.

    Creation is atomic: the key is written to a temporary file in the same directory and
    linked into place only if nothing is there yet, so two processes starting at once end
    up with the same key. An existing file that is not an RSA private key is an error,
    never silently replaced (tokens signed with it would stop verifying).
    """
    path = Path(path)
    if not path.exists():
        _create_key_file(path)
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError, OSError) as exc:
        raise LocalKeyError(
            f"{path} is not a readable unencrypted PEM private key ({exc}); "
            "delete it to have a new key generated (tokens minted before become invalid)"
        ) from exc
    if not isinstance(key, rsa.RSAPrivateKey):
        raise LocalKeyError(f"{path} holds a {type(key).__name__}, not an RSA private key")
    return key


def _create_key_file(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_SIZE)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    descriptor, temporary = tempfile.mkstemp(prefix=".jwt-key-", dir=path.parent)
    try:
        with os.fdopen(descriptor, "wb") as handle:  # mkstemp creates it with mode 0600
            handle.write(pem)
        with contextlib.suppress(FileExistsError):  # somebody was first: use theirs
            os.link(temporary, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)


def _b64url_uint(value: int) -> str:
    data = value.to_bytes((value.bit_length() + 7) // 8 or 1, "big")
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def jwk_thumbprint(public_key: rsa.RSAPublicKey) -> str:
    """The RFC 7638 SHA-256 thumbprint of an RSA public key, base64url without padding."""
    numbers = public_key.public_numbers()
    canonical = json.dumps(
        {"e": _b64url_uint(numbers.e), "kty": "RSA", "n": _b64url_uint(numbers.n)},
        separators=(",", ":"),
        sort_keys=True,
    )
    digest = hashlib.sha256(canonical.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class LocalIssuer:
    """Signs local tokens with one RSA key and publishes its JWKS."""

    private_key: rsa.RSAPrivateKey = field(repr=False)
    issuer: str = LOCAL_ISSUER
    audience: str = LOCAL_AUDIENCE

    @classmethod
    def from_key_file(
        cls,
        key_path: Path | str = DEFAULT_KEY_PATH,
        *,
        issuer: str = LOCAL_ISSUER,
        audience: str = LOCAL_AUDIENCE,
    ) -> LocalIssuer:
        """The issuer of the key at ``key_path`` (generated there on first use)."""
        return cls(load_or_create_key(key_path), issuer=issuer, audience=audience)

    def public_jwk(self) -> dict[str, str]:
        numbers = self.private_key.public_key().public_numbers()
        return {
            "kty": "RSA",
            "use": "sig",
            "alg": ALGORITHM,
            "kid": self.kid,
            "n": _b64url_uint(numbers.n),
            "e": _b64url_uint(numbers.e),
        }

    @property
    def kid(self) -> str:
        """The key id: the RFC 7638 JWK thumbprint (SHA-256) of the public key."""
        return jwk_thumbprint(self.private_key.public_key())

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        """The JWKS document served at ``/.well-known/jwks.json``."""
        return {"keys": [self.public_jwk()]}

    def mint(
        self,
        sub: str,
        roles: Iterable[str] = (),
        minutes: float = 60,
        *,
        now: float | None = None,
        claims: Mapping[str, Any] | None = None,
    ) -> str:
        """An RS256 token for ``sub`` with ``roles``, valid for ``minutes`` from ``now``."""
        if not isinstance(sub, str) or not sub.strip():
            raise ValueError("sub must be a non-empty string")
        if not 0 < minutes <= MAX_MINUTES:
            raise ValueError(f"minutes must be above 0 and at most {MAX_MINUTES}")
        role_list = [roles] if isinstance(roles, str) else list(roles)
        if not all(isinstance(role, str) and role.strip() for role in role_list):
            raise ValueError("roles must be non-empty strings")
        issued = int(time.time() if now is None else now)
        payload: dict[str, Any] = {
            **(claims or {}),
            "iss": self.issuer,
            "aud": self.audience,
            "sub": sub,
            "iat": issued,
            "nbf": issued,
            "exp": issued + int(minutes * 60),
            "jti": uuid.uuid4().hex,
        }
        if role_list:
            payload["roles"] = role_list
        return jwt.encode(payload, self.private_key, algorithm=ALGORITHM, headers={"kid": self.kid})


def mint_token(
    sub: str,
    roles: Iterable[str] = (),
    minutes: float = 60,
    *,
    key_path: Path | str = DEFAULT_KEY_PATH,
    issuer: str = LOCAL_ISSUER,
    audience: str = LOCAL_AUDIENCE,
    now: float | None = None,
    claims: Mapping[str, Any] | None = None,
) -> str:
    """A local RS256 token (kid, iss, aud, sub, iat, nbf, exp, jti, roles) for curl.

    ``roles`` become the ``roles`` claim (``approver`` unlocks the approval route);
    ``claims`` adds more claims (the standard ones above always win). The key at
    ``key_path`` is generated on first use.
    """
    issuer_ = LocalIssuer.from_key_file(key_path, issuer=issuer, audience=audience)
    return issuer_.mint(sub, roles, minutes, now=now, claims=claims)


def jwt_environment(
    base_url: str = LOCAL_BASE_URL, audience: str = LOCAL_AUDIENCE
) -> dict[str, str]:
    """The API function's JWT settings for a local API at ``base_url``."""
    base = base_url.rstrip("/")
    return {
        "JWT_ISSUER": f"{base}/",
        "JWT_AUDIENCE": audience,
        "JWT_JWKS_URL": f"{base}{JWKS_PATH}",
    }


def template_overrides(base_url: str = LOCAL_BASE_URL) -> dict[str, str]:
    """Parameter overrides of ``infra/sam/template.yaml`` that point the API at local JWTs
    (for :func:`workflows.local.template.load_template`)."""
    environment = jwt_environment(base_url)
    return {"JwtIssuer": environment["JWT_ISSUER"], "JwtJwksUrl": environment["JWT_JWKS_URL"]}
