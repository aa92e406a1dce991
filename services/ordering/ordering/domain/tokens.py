"""M-08: the client's confirmation token; it lives in `servicekit.links` so the gateway's
confirmation page verifies the very tokens ordering issues (docs/gateway.md)."""

from servicekit.links import (
    PURPOSE,
    ExpiredTokenError,
    InvalidTokenError,
    TokenError,
    issue_token,
    verify_token,
)

__all__ = [
    "PURPOSE",
    "ExpiredTokenError",
    "InvalidTokenError",
    "TokenError",
    "issue_token",
    "verify_token",
]
