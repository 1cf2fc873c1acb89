"""Bearer JWT verification with pyjwt: an explicit algorithm allow-list, signature,
``exp``/``nbf``/``iat`` (with a small leeway), ``iss`` and ``aud``.

RS256 keys come from a JWKS through :class:`jwt.PyJWKClient`, which caches the key set
and refetches it when a token names a key id it has not seen (key rotation). HS256 is
accepted only when a shared secret is configured. Nothing here logs or returns the token.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol

import jwt

from workflows.api.errors import Unauthorized, Unavailable

APPROVER_ROLE = "approver"
JWKS_RETRY_AFTER_SECONDS = 5
_REQUIRED_CLAIMS = ["exp", "iat", "iss", "aud", "sub"]


class SigningKeySource(Protocol):
    """What the verifier needs from a JWKS client (``jwt.PyJWKClient`` satisfies it)."""

    def get_signing_key_from_jwt(self, token: str) -> jwt.PyJWK: ...


@dataclass(frozen=True)
class Principal:
    """The authenticated caller: the token's subject and its roles. Never the token itself."""

    subject: str
    roles: frozenset[str] = field(default_factory=frozenset)

    @property
    def is_approver(self) -> bool:
        return APPROVER_ROLE in self.roles


@dataclass(frozen=True)
class JwtVerifier:
    """Verifies bearer tokens against one issuer and audience."""

    issuer: str
    audience: str
    algorithms: Sequence[str]
    jwks: SigningKeySource | None = None
    hs256_secret: str | None = field(default=None, repr=False)
    leeway: timedelta = timedelta(seconds=30)

    def authenticate(self, authorization: str | None) -> Principal:
        """The principal of an ``Authorization`` header value, or :class:`Unauthorized`."""
        return self.verify(bearer_token(authorization))

    def verify(self, token: str) -> Principal:
        try:
            # also checks the header's shape: a string kid, a crit naming only what is
            # understood (RFC 7515 4.1.11 says to refuse the others)
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise Unauthorized(
                "The bearer token is not a well-formed JWT.", reason="malformed_token"
            )
        if not isinstance(header, dict):  # pragma: no cover - pyjwt refuses it first
            raise Unauthorized(
                "The bearer token is not a well-formed JWT.", reason="malformed_token"
            )
        algorithm = header.get("alg")
        if not isinstance(algorithm, str) or algorithm not in self.algorithms:
            raise Unauthorized(
                "The token's signing algorithm is not accepted.", reason="unsupported_algorithm"
            )
        key = self._key_for(token, algorithm)
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": _REQUIRED_CLAIMS},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthorized("The token has expired.", reason="token_expired")
        except jwt.ImmatureSignatureError:
            raise Unauthorized("The token is not valid yet.", reason="token_not_yet_valid")
        except jwt.InvalidAudienceError:
            raise Unauthorized(
                "The token is meant for another audience.", reason="invalid_audience"
            )
        except jwt.InvalidIssuerError:
            raise Unauthorized("The token comes from an unknown issuer.", reason="invalid_issuer")
        except jwt.InvalidSignatureError:
            raise Unauthorized("The token's signature does not verify.", reason="invalid_signature")
        except jwt.MissingRequiredClaimError as exc:
            raise Unauthorized(f"The token lacks the {exc.claim!r} claim.", reason="missing_claim")
        except jwt.PyJWTError:
            raise Unauthorized("The token is not valid.", reason="invalid_token")
        return _principal(claims)

    def _key_for(self, token: str, algorithm: str) -> Any:
        if algorithm == "HS256":
            if self.hs256_secret is None:  # pragma: no cover - excluded by the allow-list
                raise Unauthorized("HS256 is not accepted.", reason="unsupported_algorithm")
            return self.hs256_secret
        if self.jwks is None:  # pragma: no cover - excluded by the allow-list
            raise Unauthorized("RS256 is not accepted.", reason="unsupported_algorithm")
        try:
            return self.jwks.get_signing_key_from_jwt(token).key
        except jwt.PyJWKClientConnectionError:
            raise Unavailable(
                "The token issuer's keys cannot be fetched right now.",
                retry_after=JWKS_RETRY_AFTER_SECONDS,
            )
        except jwt.PyJWTError:
            raise Unauthorized("The token's key id is unknown.", reason="unknown_key")


def bearer_token(authorization: str | None) -> str:
    """The token of a ``Bearer`` ``Authorization`` header value, or :class:`Unauthorized`."""
    if authorization is None or not authorization.strip():
        raise Unauthorized(
            "An Authorization: Bearer <JWT> header is required.", reason="missing_token"
        )
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token or token.count(".") != 2:
        raise Unauthorized(
            "The Authorization header must be 'Bearer <JWT>'.", reason="malformed_header"
        )
    return token


def _principal(claims: Mapping[str, Any]) -> Principal:
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject.strip():
        raise Unauthorized("The token's subject is empty.", reason="missing_claim")
    return Principal(subject=subject, roles=frozenset(_roles(claims)))


def _roles(claims: Mapping[str, Any]) -> list[str]:
    roles: list[str] = []
    for claim in ("roles", "cognito:groups"):
        value = claims.get(claim)
        if isinstance(value, str):
            roles.extend(value.replace(",", " ").split())
        elif isinstance(value, list):
            roles.extend(item for item in value if isinstance(item, str))
    return roles
