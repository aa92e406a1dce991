"""One order as every service told it: the gateway's read model, folded from events (M-17).

    OrderView                     one document per order, `_id` the order id
    ├── status, flow, parties, terms, flags        from orders.events
    ├── invoices                                   from invoicing.events (M-10..M-16)
    ├── payment_request, claims, payout            from payments.events (P-15..P-18, P-21)
    ├── emails                                     from notifications.events (X-06)
    ├── deadlines                                  what falls due next, from every topic
    ├── timeline                                   who did what, when: one entry per event
    └── positions                                  per topic, the (partition, offset) applied

`apply` is pure: the same events in the same order give the same view, so replaying the
topics from the start rebuilds it, and an event at or before the position the view holds
for its topic changes nothing (a redelivery). Every order's events share a partition
of each topic (the Kafka key is the order id), so one position per topic suffices.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from contracts.envelope import Event, Party
from contracts.invoicing import InvoiceEvent, InvoiceIssued
from contracts.notifications import NotificationEvent
from contracts.orders import (
    AccountTerms,
    Money,
    OrderEvent,
    OrderParty,
    OrderStatus,
)
from contracts.payments import ClaimEvent, PayoutEvent, RequestEvent
from contracts.timers import DeadlineExpired
from gateway.domain import rules

#: Statuses after which nothing is pending for the order any more.
FINAL = frozenset(
    {
        OrderStatus.REJECTED,
        OrderStatus.CANCELLED,
        OrderStatus.CLOSED,
        OrderStatus.COMPLETED,
        OrderStatus.DISCARDED,
    }
)

#: Envelope and bulky or personal fields a timeline entry never repeats: contacts stay in
#: `parties` (shown to the order's own parties), and the confirmation token is M-08's
#: credential, for the client's email only.
_NOT_IN_DETAILS = frozenset(
    {
        "message_id", "type", "schema_version", "occurred_at", "correlation_id",
        "causation_id", "actor", "order_id", "flow", "status", "parties", "terms",
        "client", "member", "customer", "supplier", "receipt_to", "bill_to", "contact",
        "confirmation_token", "lines", "planned_invoices", "payload", "computation",
    }
)  # fmt: skip


class Position(BaseModel):
    model_config = ConfigDict(frozen=True)

    topic: str
    partition: int
    offset: int


class Entry(BaseModel):
    """One line of the timeline (Saleor's order events): what happened, who, when."""

    model_config = ConfigDict(frozen=True)

    at: datetime
    type: str
    topic: str
    actor: Party
    message_id: uuid.UUID
    status: str | None = None
    details: dict[str, Any] = {}


class OrderView(BaseModel):
    """An order as the gateway serves it; see the module docstring."""

    order_id: uuid.UUID
    flow: str | None = None
    status: str | None = None
    parties: list[OrderParty] = []
    terms: dict[str, Any] | None = None
    account_id: str | None = None
    total: Money | None = None
    flags: list[str] = []
    created_at: datetime | None = None
    updated_at: datetime | None = None
    submitted_at: datetime | None = None
    cancellation_request: str | None = None
    invoices: dict[str, dict[str, Any]] = {}
    payment_request: dict[str, Any] | None = None
    claims: dict[str, dict[str, Any]] = {}
    payout: dict[str, Any] | None = None
    emails: list[dict[str, Any]] = []
    deadlines: dict[str, datetime] = {}
    timeline: list[Entry] = []
    #: One per topic, sorted by topic (a list: field names may not hold the topics' dots).
    positions: list[Position] = []

    def party_ids(self) -> set[str]:
        return {p.id for p in self.parties}

    def consistent_with(self) -> list[Position]:
        """The (topic, partition, offset) of the newest event applied from each topic."""
        return list(self.positions)

    def position(self, topic: str) -> Position | None:
        return next((p for p in self.positions if p.topic == topic), None)


def order_of(event: Event) -> uuid.UUID | None:
    """The order an event is about, if any (an account's invoice or email is about none)."""
    value = getattr(event, "order_id", None)
    if isinstance(value, uuid.UUID):
        return value
    if isinstance(event, DeadlineExpired):  # the key is the order id, or another aggregate's
        try:
            return uuid.UUID(value) if isinstance(value, str) else None
        except ValueError:
            return None
    return None


def seen(view: OrderView | None, at: Position) -> bool:
    """Whether `view` already holds the event at `at` (a redelivery or a replay)."""
    held = view.position(at.topic) if view else None
    return held is not None and held.partition == at.partition and held.offset >= at.offset


def apply(view: OrderView | None, event: Event, at: Position) -> OrderView | None:
    """The view after `event` (read at `at`); `view` itself when the event changes nothing.

    Topics are consumed independently, so another service's event may come before the
    order's `OrderCreated`: it starts the view all the same (parties and status come with
    `OrderCreated`). Each part of the view is folded from one topic only, and the timeline
    is kept in time order, so any interleaving of the topics gives the same view. A timer's
    event starts no view: its key may be another aggregate's id (a payout, an invoice).
    """
    order_id = order_of(event)
    if order_id is None or seen(view, at) or rules.is_answer_only(event):
        return view
    if view is None and isinstance(event, DeadlineExpired):
        return None
    view = (view or OrderView(order_id=order_id)).model_copy(deep=True)
    if event.type == "OrderCreated" or view.created_at is None:
        view.created_at = event.occurred_at
    others = [p for p in view.positions if p.topic != at.topic]
    view.positions = sorted([*others, at], key=lambda p: p.topic)
    if isinstance(event, OrderEvent):
        view.flow, view.status = event.flow.value, event.status.value
    rules.fold(view, event)
    _money_and_parties(view, event)
    if view.status in FINAL and isinstance(event, OrderEvent):
        for name in rules.ORDER_DEADLINES:
            view.deadlines.pop(name, None)
    view.timeline.append(_entry(event, at.topic))
    view.timeline.sort(key=lambda e: (e.at, str(e.message_id)))
    view.updated_at = view.timeline[-1].at
    return view


def _money_and_parties(view: OrderView, event: Event) -> None:
    parties = getattr(event, "parties", None)
    if isinstance(parties, list) and parties:
        view.parties = list(parties)
    terms = getattr(event, "terms", None)
    if terms is not None and isinstance(event, OrderEvent):
        view.terms = terms.model_dump(mode="json")
        if isinstance(terms, AccountTerms):
            view.account_id = terms.account_id
    if isinstance(event, InvoiceEvent):
        invoice = view.invoices.setdefault(event.invoice_id, {})
        invoice["status"] = event.status.value
        for name in ("total", "number", "invoice_date", "payment_status", "outstanding"):
            if hasattr(event, name):
                invoice[name] = _json(getattr(event, name))
        if isinstance(event, InvoiceIssued):
            invoice["issued_at"] = event.issued_at.isoformat()
    elif isinstance(event, RequestEvent):
        request = view.payment_request or {}
        request.update(request_id=event.request_id, purpose=event.purpose.value)
        request["status"] = event.status.value
        for name in ("amount", "due_at", "outstanding", "paid_total"):
            if hasattr(event, name):
                request[name] = _json(getattr(event, name))
        view.payment_request = request
    elif isinstance(event, ClaimEvent):
        claim = view.claims.setdefault(event.claim_id, {})
        claim["status"] = event.status.value
        for name in ("number", "amount", "reason"):
            if hasattr(event, name):
                claim[name] = _json(getattr(event, name))
    elif isinstance(event, PayoutEvent):
        payout = view.payout or {}
        payout.update(payout_id=event.payout_id, status=event.status.value)
        for name in ("gross", "fee", "net", "scheduled_for", "expected_by", "reference"):
            if hasattr(event, name):
                payout[name] = _json(getattr(event, name))
        view.payout = payout
    elif isinstance(event, NotificationEvent):
        view.emails.append(
            {
                "template": event.template,
                "recipient_role": event.recipient_role.value,
                "recipient_id": event.recipient_id,
                "status": event.status.value,
                "rules": list(event.rules),
                "at": event.occurred_at.isoformat(),
            }
        )


def _entry(event: Event, topic: str) -> Entry:
    data = event.model_dump(mode="json")
    details = {k: v for k, v in data.items() if k not in _NOT_IN_DETAILS and v is not None}
    status = getattr(event, "status", None)
    return Entry(
        at=event.occurred_at,
        type=event.type,
        topic=topic,
        actor=event.actor,
        message_id=event.message_id,
        status=None if status is None else str(status),
        details=details,
    )


def _json(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value.value if hasattr(value, "value") else value
