"""M-08: the client's confirmation link carries a signed, expiring token (shared by
ordering, which issues and checks it, and the gateway's confirmation page, which checks it).

    token = base64url(payload) "." base64url(HMAC-SHA256(secret, purpose + payload))
    payload = JSON [order id, client party id, expiry as Unix seconds]

It binds one order and one client, and expires when the offer does, so a link cannot be
guessed, reused for another order, or used by anyone but that client. The secret comes in
as an argument (the service's config holds it); only the stdlib's hmac is used.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import uuid
from datetime import datetime

#: Keeps a signature made for this purpose from ever verifying for another one.
PURPOSE = b"orderflow/client-confirmation/v1:"
#: P-17: the review link's token (the notifier signs it; the gateway's review page checks it).
REVIEW_PURPOSE = b"orderflow/review/v1:"


class TokenError(ValueError):
    """A token that must not be honoured."""


class InvalidTokenError(TokenError):
    """Malformed, forged, or made for another order."""


class ExpiredTokenError(TokenError):
    """Genuine, but the offer it confirms is no longer valid."""


def issue_token(
    secret: bytes | str,
    order_id: uuid.UUID,
    client_id: str,
    expires_at: datetime,
    purpose: bytes = PURPOSE,
) -> str:
    """A token letting `client_id` answer for `order_id` until `expires_at` (Rule M-08)."""
    payload = json.dumps(
        [str(order_id), client_id, int(expires_at.timestamp())], separators=(",", ":")
    ).encode()
    body = _encode(payload)
    return f"{body}.{_encode(_sign(_key(secret), body, purpose))}"


def verify_token(
    secret: bytes | str,
    token: str,
    order_id: uuid.UUID,
    now: datetime,
    purpose: bytes = PURPOSE,
) -> str:
    """The client id the token was issued to, if it is genuine, for `order_id` and not
    expired at `now`; raises `InvalidTokenError` or `ExpiredTokenError` (Rule M-08)."""
    key = _key(secret)
    body, _, signature = token.partition(".")
    try:
        expected = _sign(key, body, purpose)
        if not hmac.compare_digest(expected, _decode(signature)):
            raise InvalidTokenError("the confirmation link is not genuine")
        token_order, client_id, expires = json.loads(_decode(body))
    except (binascii.Error, UnicodeError, ValueError, TypeError) as error:
        if isinstance(error, TokenError):
            raise
        raise InvalidTokenError("the confirmation link is malformed") from None
    if token_order != str(order_id):
        raise InvalidTokenError("the confirmation link is for another order")
    if not isinstance(client_id, str) or not isinstance(expires, int):
        raise InvalidTokenError("the confirmation link is malformed")
    if now.timestamp() >= expires:
        raise ExpiredTokenError("the confirmation link has expired")
    return client_id


def _key(secret: bytes | str) -> bytes:
    key = secret.encode() if isinstance(secret, str) else secret
    if not key:
        raise ValueError("the token secret is empty: configure one")
    return key


def _sign(key: bytes, body: str, purpose: bytes) -> bytes:
    return hmac.new(key, purpose + body.encode(), hashlib.sha256).digest()


def _encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
