"""M-08: the signed, expiring confirmation token."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from ordering.domain import ExpiredTokenError, InvalidTokenError, issue_token, verify_token

SECRET = b"k" * 32
ORDER = uuid.UUID("00000000-0000-4000-8000-00000000000a")
NOW = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
UNTIL = NOW + timedelta(days=7)


def test_M08_a_token_verifies_to_the_client_it_was_issued_to() -> None:
    token = issue_token(SECRET, ORDER, "client-1", UNTIL)
    assert verify_token(SECRET, token, ORDER, NOW) == "client-1"


def test_M08_a_token_is_not_a_guessable_id() -> None:
    token = issue_token(SECRET, ORDER, "client-1", UNTIL)
    assert str(ORDER) not in token and len(token) > 60


def test_M08_a_token_for_another_order_is_refused() -> None:
    token = issue_token(SECRET, uuid.uuid4(), "client-1", UNTIL)
    with pytest.raises(InvalidTokenError, match="another order"):
        verify_token(SECRET, token, ORDER, NOW)


def test_M08_a_token_signed_with_another_secret_is_refused() -> None:
    token = issue_token(b"other-secret", ORDER, "client-1", UNTIL)
    with pytest.raises(InvalidTokenError):
        verify_token(SECRET, token, ORDER, NOW)


def test_M08_a_tampered_token_is_refused() -> None:
    token = issue_token(SECRET, ORDER, "client-1", UNTIL)
    forged = issue_token(SECRET, ORDER, "client-2", UNTIL)
    spliced = forged.split(".")[0] + "." + token.split(".")[1]
    with pytest.raises(InvalidTokenError):
        verify_token(SECRET, spliced, ORDER, NOW)


@pytest.mark.parametrize("junk", ["", ".", "abc", "abc.def", "!!!.???", "a" * 500])
def test_M08_malformed_tokens_are_refused(junk: str) -> None:
    with pytest.raises(InvalidTokenError):
        verify_token(SECRET, junk, ORDER, NOW)


def test_M08_a_token_expires_when_the_offer_does() -> None:
    token = issue_token(SECRET, ORDER, "client-1", UNTIL)
    assert verify_token(SECRET, token, ORDER, UNTIL - timedelta(seconds=1)) == "client-1"
    with pytest.raises(ExpiredTokenError):
        verify_token(SECRET, token, ORDER, UNTIL)


def test_an_empty_secret_is_a_configuration_error_not_a_weak_token() -> None:
    with pytest.raises(ValueError, match="secret"):
        issue_token(b"", ORDER, "client-1", UNTIL)
    with pytest.raises(ValueError, match="secret"):
        verify_token("", "x.y", ORDER, NOW)
