"""What the notifier reasons about: the event an email is about, its recipient, the email.

Cause        the event: id, type, correlation, the order (or account) it concerns
Recipient    a role, the party id if the event named one, the address and name
Email        one email to one recipient with one template: a *delivery*, keyed by
             (cause id, recipient, template)
OrderFacts   an order's parties and summary, as OrderCreated / DraftEdited told them
EmailPolicy  links, the business's timezone (a recipient's own zone wins, X-11) and the
             reminder leads (X-12)
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from contracts.envelope import Role, derived_id
from contracts.orders import Flow, Money, OrderParty
from servicekit.links import REVIEW_PURPOSE, issue_token


@dataclass(frozen=True)
class Cause:
    """The event an email is about."""

    message_id: uuid.UUID
    type: str
    correlation_id: uuid.UUID
    occurred_at: datetime
    order_id: uuid.UUID | None = None
    account_id: str | None = None


@dataclass(frozen=True)
class Recipient:
    """Who an email goes to. `address` is None when no event told it: the email fails."""

    role: Role
    party_id: str | None
    address: str | None
    name: str = ""
    #: X-11: the party's own IANA zone, when its contact names one.
    timezone: str | None = None

    @property
    def token(self) -> str:
        """The recipient's part of a delivery key: a digest of the address, never the
        address itself (keys end up in logs, headers and events)."""
        if self.address is None:
            return f"role:{self.role.value}"
        return hashlib.sha256(self.address.strip().lower().encode()).hexdigest()[:24]


@dataclass(frozen=True)
class Email:
    """One email to one recipient with one template, about one event."""

    cause: Cause
    template: str
    recipient: Recipient
    rules: tuple[str, ...]
    context: Mapping[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """`<event id>|<recipient>|<template>`: the delivery's key, the same on redelivery."""
        return f"{self.cause.message_id}|{self.recipient.token}|{self.template}"

    @property
    def delivery_id(self) -> uuid.UUID:
        """The delivery's id, derived from the cause's message id (and so from the key)."""
        return derived_id(
            self.cause.message_id, 0, f"delivery|{self.recipient.token}|{self.template}"
        )


@dataclass(frozen=True)
class OrderFacts:
    """What the notifier learned of an order from OrderCreated and DraftEdited (X-06):
    its parties with their contacts, and what an email may say about it."""

    order_id: uuid.UUID
    flow: Flow
    parties: tuple[OrderParty, ...]
    title: str = ""
    #: Account orders (A-10): the total the terms give, for a receipt's copy.
    total: Money | None = None
    #: M-09: an OrderSentToClient was seen, so the client was asked (an offer that expires
    #: now expired awaiting the client, not in review).
    client_asked: bool = False

    def party(self, role: Role) -> OrderParty | None:
        return next((p for p in self.parties if p.role is role), None)


PLACEHOLDERS = {"confirmation_url": ("order_id", "token"), "review_url": ("order_id", "token")}


@dataclass(frozen=True)
class EmailPolicy:
    """Settings that shape what an email says; the service's config builds it."""

    timezone: tzinfo = UTC
    #: M-08: the client's confirmation page; `{order_id}` and `{token}` are filled in.
    confirmation_url: str = "https://example.test/confirm?order={order_id}&token={token}"
    #: P-17: where the customer rates and reviews; `{order_id}` and `{token}` are filled in.
    review_url: str = "https://example.test/orders/{order_id}/review"
    #: P-17: the secret that signs the review link's token (none: the link has no token).
    review_secret: str = ""
    #: P-17: how long a review link works after the order closed.
    review_valid_for: timedelta = timedelta(days=30)
    #: X-12: how long before each window closes its party is reminded, by window name.
    reminder_leads: Mapping[str, timedelta] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name, allowed in PLACEHOLDERS.items():
            template = getattr(self, name)
            try:
                template.format(**dict.fromkeys(allowed, "x"))
            except (KeyError, IndexError, ValueError) as error:
                raise ValueError(f"{name} may only use {allowed} placeholders") from error
        if "{token}" not in self.confirmation_url:
            raise ValueError("confirmation_url must carry the {token}")

    def confirmation_link(self, order_id: uuid.UUID, token: str) -> str:
        """Rule M-08: the link carries the signed, expiring token as it was issued."""
        return _filled(self.confirmation_url, order_id, token)

    def review_link(
        self,
        order_id: uuid.UUID,
        customer: OrderParty | None = None,
        closed_at: datetime | None = None,
    ) -> str:
        """P-17: the link carries a token signed for the order's customer (docs/gateway.md):
        the gateway's review page lets only its bearer review, as that customer, once."""
        token = ""
        if self.review_secret and customer is not None and closed_at is not None:
            expires = closed_at + self.review_valid_for
            token = issue_token(self.review_secret, order_id, customer.id, expires, REVIEW_PURPOSE)
        return _filled(self.review_url, order_id, token)

    def for_recipient(self, recipient: Recipient) -> EmailPolicy:
        """X-11: the policy as `recipient` reads it: times in its own zone when its contact
        names a known one, else in the business's."""
        zone = zone_named(recipient.timezone)
        return self if zone is None else replace(self, timezone=zone)


def _filled(url: str, order_id: uuid.UUID, token: str) -> str:
    return url.format(order_id=quote(str(order_id), safe=""), token=quote(token, safe=""))


def zone_named(name: str | None) -> tzinfo | None:
    """The IANA zone `name`, or None when unset or unknown (then the business's zone)."""
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
