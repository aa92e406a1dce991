"""P-17: the review invitation's link carries a token signed for the order's customer."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from contracts.envelope import Role
from contracts.orders import OrderParty
from notifier.domain import EmailPolicy
from servicekit.links import REVIEW_PURPOSE, InvalidTokenError, verify_token

SECRET = "review-secret"
CLOSED = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CUSTOMER = OrderParty(id="customer-7", role=Role.CUSTOMER)


def token_of(link: str) -> str:
    return parse_qs(urlsplit(link).query)["token"][0]


def policy() -> EmailPolicy:
    return EmailPolicy(
        review_url="https://shop.test/review?order={order_id}&token={token}",
        review_secret=SECRET,
        review_valid_for=timedelta(days=30),
    )


def test_P17_the_review_link_speaks_for_the_customer_until_it_expires() -> None:
    order_id = uuid.uuid4()
    token = token_of(policy().review_link(order_id, CUSTOMER, CLOSED))
    now = CLOSED + timedelta(days=29)
    assert verify_token(SECRET, token, order_id, now, REVIEW_PURPOSE) == "customer-7"
    with pytest.raises(InvalidTokenError):
        verify_token(SECRET, token, order_id, now)  # never a confirmation token (M-08)


def test_P17_the_same_close_gives_the_same_link() -> None:
    order_id = uuid.uuid4()
    assert policy().review_link(order_id, CUSTOMER, CLOSED) == policy().review_link(
        order_id, CUSTOMER, CLOSED
    )
