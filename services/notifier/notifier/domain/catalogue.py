"""Every email the notifier sends, as one table, and `plan`: an event's emails.

    CATALOGUE                  the rows of orders, invoicing and payments (in that order)
    plan(event, facts, policy) the emails one event asks for: zero, one or more
    needs_facts(event)         whether planning it reads the order's stored parties

An email whose recipient has no address is still planned (with `address=None`): the
delivery then fails with `no_recipient_address`, visibly, rather than being guessed.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from contracts.envelope import Event
from notifier.domain import invoicing, orders, payments
from notifier.domain.formatting import moment
from notifier.domain.model import Cause, Email, EmailPolicy, OrderFacts, Recipient
from notifier.domain.notices import Notice


class Catalogue:
    """The table of emails, indexed by event type."""

    def __init__(self, notices: Iterable[Notice[Any]]) -> None:
        self.notices: tuple[Notice[Any], ...] = tuple(notices)
        self._by_type: dict[str, list[Notice[Any]]] = {}
        for row in self.notices:
            self._by_type.setdefault(row.event_type, []).append(row)
        for rows in self._by_type.values():
            templates = [(r.template, r.to.describe()) for r in rows]
            if len(templates) != len(set(templates)):
                raise ValueError(f"{rows[0].event_type}: the same email twice")

    def rows_for(self, event: Event) -> list[Notice[Any]]:
        return [r for r in self._by_type.get(event.type, []) if isinstance(event, r.event)]

    @property
    def templates(self) -> list[str]:
        return sorted({r.template for r in self.notices})


CATALOGUE = Catalogue((*orders.NOTICES, *invoicing.NOTICES, *payments.NOTICES))


def cause_of(event: Event) -> Cause:
    order_id = getattr(event, "order_id", None)
    account_id = getattr(event, "account_id", None)
    return Cause(
        message_id=event.message_id,
        type=event.type,
        correlation_id=event.correlation_id,
        occurred_at=event.occurred_at,
        order_id=order_id if isinstance(order_id, uuid.UUID) else None,
        account_id=account_id if isinstance(account_id, str) else None,
    )


def needs_facts(event: Event, catalogue: Catalogue = CATALOGUE) -> bool:
    """Whether any email of `event` reads the order's stored parties or summary."""
    if not isinstance(getattr(event, "order_id", None), uuid.UUID):
        return False
    return any(r.needs_facts and r.when(event) for r in catalogue.rows_for(event))


def plan(
    event: Event,
    facts: OrderFacts | None,
    policy: EmailPolicy,
    catalogue: Catalogue = CATALOGUE,
) -> list[Email]:
    """The emails `event` asks for (Rule X-06), each with its recipient and context."""
    cause = cause_of(event)
    emails = []
    for row in catalogue.rows_for(event):
        if not row.when(event):
            continue
        recipient = row.to.resolve(event, facts)
        theirs = policy.for_recipient(recipient)  # deadlines in the party's zone
        context = {
            **common_context(cause, recipient, facts, theirs),
            "rules": list(row.rules),
            **row.context(event, facts, theirs),
        }
        emails.append(Email(cause, row.template, recipient, row.rules, context))
    return emails


def common_context(
    cause: Cause, recipient: Recipient, facts: OrderFacts | None, policy: EmailPolicy
) -> dict[str, Any]:
    return {
        "order_id": str(cause.order_id) if cause.order_id else "",
        "account_id": cause.account_id or "",
        "title": facts.title if facts else "",
        "recipient_name": recipient.name,
        "recipient_role": recipient.role.value,
        "occurred_at": moment(cause.occurred_at, policy.timezone),
    }
