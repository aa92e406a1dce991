"""Bearer tokens: who is calling, from a JWT signed by whoever the gateway trusts.

    Authorization: Bearer <jwt>     claims: sub (the party id), role, exp (required),
                                    accounts (A-14, agents), iss / aud when configured

HS256 checks the shared secret; RS256 tries each configured public key (rotation). A
token without `exp`, expired, of another algorithm (`none` included), audience or
issuer, or naming an unknown role is refused: `TokenError`, which the API answers 401.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import jwt

from contracts.envelope import Role
from gateway.config import GatewaySettings
from gateway.domain import UPSTREAM, Caller

ROLES = frozenset({*(r.value for r in Role), UPSTREAM})
_PEM = re.compile(r"-----BEGIN PUBLIC KEY-----.+?-----END PUBLIC KEY-----", re.S)


class TokenError(Exception):
    """The bearer token is missing, malformed, badly signed, expired or not for us."""


class Verifier:
    """Turns a bearer token into a `Caller`, or raises `TokenError`."""

    def __init__(self, settings: GatewaySettings) -> None:
        self.algorithm = settings.jwt_algorithm
        self.issuer = settings.jwt_issuer or None
        self.audience = settings.jwt_audience or None
        if self.algorithm == "HS256":
            secret = settings.jwt_secret.get_secret_value()
            self.keys: list[Any] = [secret] if secret else []
        else:
            self.keys = _PEM.findall(settings.jwt_public_keys)

    def caller(self, authorization: str | None) -> Caller:
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise TokenError("a bearer token is required")
        claims = self._claims(token.strip())
        role, subject = claims.get("role"), claims.get("sub")
        if role not in ROLES or not isinstance(subject, str) or not subject:
            raise TokenError("the token names no known role and party")
        accounts = claims.get("accounts") or []
        if not isinstance(accounts, list) or not all(isinstance(a, str) for a in accounts):
            raise TokenError("`accounts` must be a list of account ids")
        return Caller(id=subject, role=role, accounts=tuple(accounts))

    def _claims(self, token: str) -> dict[str, Any]:
        error: Exception = TokenError("no key to check tokens with is configured")
        for key in self.keys:
            try:
                claims: dict[str, Any] = jwt.decode(
                    token,
                    key,
                    algorithms=[self.algorithm],
                    audience=self.audience,
                    issuer=self.issuer,
                    options={"require": ["exp", "sub"], "verify_aud": self.audience is not None},
                )
                return claims
            except jwt.ExpiredSignatureError as e:
                raise TokenError("the token has expired") from e
            except jwt.PyJWTError as e:
                error = e
        raise TokenError(f"the token is not valid: {error}") from error


def issue(
    settings: GatewaySettings,
    caller: Caller,
    now: datetime,
    valid_for: timedelta = timedelta(hours=12),
) -> str:
    """An HS256 token for `caller` (the demo login and tests; production issues its own)."""
    claims: dict[str, Any] = {
        "sub": caller.id,
        "role": caller.role,
        "iat": int(now.timestamp()),
        "exp": int((now + valid_for).timestamp()),
    }
    if caller.accounts:
        claims["accounts"] = list(caller.accounts)
    if settings.jwt_audience:
        claims["aud"] = settings.jwt_audience
    if settings.jwt_issuer:
        claims["iss"] = settings.jwt_issuer
    return jwt.encode(claims, settings.jwt_secret.get_secret_value(), algorithm="HS256")
