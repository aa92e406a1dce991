"""Reminders (X-12): before a party's window closes, the party who must act is reminded once.

    REMINDERS                      the windows, as data: which event opens one, for whom,
                                   when it closes, which email reminds, which events close it
    remind(event, facts, policy)   [Open | Close]: what one event does to the windows
    reminder_due(window, by, now)  the reminder to send when its deadline fires, or None

    OrderCreated / OrderEdited ──▶ Open P-02 ─┐                       ┌─▶ fires: still open and
    OrderSentToClient          ──▶ Open M-09 ─┼─▶ the window's record │   opened by the same
    ServiceMarkedDone          ──▶ Open P-13 ─┤   + a timer deadline ─┘   event? send the email
    PaymentRequested           ──▶ Open P-15 ─┘   at closes_at - lead
    the party acted / the window ended ──▶ Close: the record closed, the deadline cancelled

A window is keyed by its name and the order (and the payment request for P-15): a new
opening of the same window (a counter-edit, P-05) replaces the previous one. The reminder
email is planned when the window opens (the party's zone, the link, the amount), and
derives its id from the opening event, so a timer that fires twice sends it once. A lead
of zero, or a window shorter than its lead, means no reminder.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from contracts.envelope import Event, Role, derived_id
from contracts.orders import (
    ExecutionConfirmed,
    Flow,
    OrderActivated,
    OrderCancelled,
    OrderClosedUnpaid,
    OrderConfirmed,
    OrderCreated,
    OrderEdited,
    OrderRejected,
    OrderSentToClient,
    ServiceMarkedDone,
)
from contracts.payments import (
    ClaimLapsed,
    ClaimWrittenOff,
    PaymentOverdue,
    PaymentRequested,
    PaymentSettled,
)
from contracts.topics import ORDERS_EVENTS, PAYMENTS_EVENTS
from notifier.domain import orders, payments
from notifier.domain.catalogue import cause_of, compose
from notifier.domain.model import Cause, Email, EmailPolicy, OrderFacts
from notifier.domain.notices import (
    AwaitingParty,
    Notice,
    OtherParty,
    PartyOf,
    StoredParty,
)

#: The owner of the notifier's deadlines in the timer service, and their kind's prefix.
OWNER = "notifier"
KIND = "reminder"
#: `Cause.type` of a reminder email (EmailSent.cause_type says it was a reminder).
CAUSE_TYPE = "ReminderDue"


@dataclass(frozen=True, kw_only=True)
class Reminder(Notice[Any]):
    """One way a window opens: a notice whose `event` opens window `window` for `to`,
    closing at `closes_at(event)`; `template` reminds `lead` before (the lead is a setting)."""

    window: str
    closes_at: Callable[[Any], datetime | None]
    #: The events that end the window: the party acted, or the window closed without it.
    closed_by: tuple[type[Event], ...]
    #: A part of the window's key beyond the order (P-15: the payment request).
    subkey: str = ""
    #: The flow whose orders have the window: an event of another flow leaves it alone.
    flow: Flow | None = None


def _postpaid(event: OrderCreated) -> bool:
    return event.respond_by is not None and event.flow is Flow.POSTPAID


P02_CLOSED_BY = (OrderEdited, OrderConfirmed, OrderCancelled)
M09_CLOSED_BY = (OrderActivated, OrderRejected, OrderCancelled)
P13_CLOSED_BY = (ExecutionConfirmed, OrderCancelled)
#: P-21: the money finally not collected ends the window too (PaymentOverdue normally has
#: already). OrderClosedUnpaid names no payment request: it closes the window of the
#: request only through the claim's events, which do (see `remind`).
P15_CLOSED_BY = (PaymentSettled, PaymentOverdue, OrderClosedUnpaid, ClaimWrittenOff, ClaimLapsed)

REMINDERS: tuple[Reminder, ...] = (
    Reminder(OrderCreated, ORDERS_EVENTS, "reminder_respond", OtherParty(Role.SUPPLIER),
             ("P-02", "X-12"), orders.new_postpaid, _postpaid, "post-paid orders", window="P-02",
             closes_at=lambda e: e.respond_by, closed_by=P02_CLOSED_BY, flow=Flow.POSTPAID),
    Reminder(OrderEdited, ORDERS_EVENTS, "reminder_respond", AwaitingParty(),
             ("P-02", "P-05", "X-12"), orders.edited, window="P-02",
             closes_at=lambda e: e.respond_by, closed_by=P02_CLOSED_BY, flow=Flow.POSTPAID),
    Reminder(OrderSentToClient, ORDERS_EVENTS, "reminder_offer", PartyOf("client", Role.CLIENT),
             ("M-08", "M-09", "X-12"), orders.confirmation_request, window="M-09",
             closes_at=lambda e: e.offer_valid_until, closed_by=M09_CLOSED_BY, flow=Flow.MANAGED),
    Reminder(ServiceMarkedDone, ORDERS_EVENTS, "reminder_confirm_service",
             StoredParty(Role.CUSTOMER), ("P-13", "X-12"), orders.execution_done, window="P-13",
             closes_at=lambda e: e.confirm_by, closed_by=P13_CLOSED_BY, flow=Flow.POSTPAID),
    Reminder(PaymentRequested, PAYMENTS_EVENTS, "reminder_payment",
             PartyOf("customer", Role.CUSTOMER), ("P-15", "X-12"), payments.payment_due,
             window="P-15", closes_at=lambda e: e.due_at, closed_by=P15_CLOSED_BY,
             subkey="request_id"),
)  # fmt: skip


@dataclass(frozen=True)
class Open:
    """Keep window `window_id` open and remind with `email` at `due_at` (a timer deadline)."""

    window_id: str
    order_id: uuid.UUID
    kind: str
    due_at: datetime
    opened_by: uuid.UUID
    email: Email
    closes_at: datetime


@dataclass(frozen=True)
class Window:
    """A window as stored: open or not, the event that opened it, when it closes, and the
    reminder it would send."""

    window_id: str
    open: bool
    opened_by: str
    closes_at: datetime
    email: Email


def reminder_due(window: Window | None, opened_by: str, now: datetime) -> Email | None:
    """Rule X-12: the reminder to send when a deadline fires: only if its window is still
    open, still the one it was scheduled for (`opened_by`), and not yet closed by time
    (the closing event may still be on its way). Otherwise None: it is stale (X-02)."""
    if window is None or not window.open or window.opened_by != opened_by:
        return None
    return window.email if now < window.closes_at else None


@dataclass(frozen=True)
class Close:
    """Window `window_id` ended: its reminder must not be sent (the deadline is cancelled)."""

    window_id: str
    order_id: uuid.UUID


Action = Open | Close


def window_of(window_id: str) -> str:
    """The window's name in a window id (`P-02`), for metrics and logs."""
    parts = window_id.split(":")
    return parts[1] if len(parts) > 2 and parts[0] == OWNER else ""


def window_id(window: str, order_id: uuid.UUID, sub: str = "") -> str:
    """`notifier:P-02:<order id>[:<sub>]`: the timer's deadline id and the record's id."""
    return f"{OWNER}:{window}:{order_id}" + (f":{sub}" if sub else "")


def _sub(event: Event, field: str) -> str:
    value = getattr(event, field, "") if field else ""
    return str(value) if value else ""


def touches(event: Event, reminders: tuple[Reminder, ...] = REMINDERS) -> bool:
    """Whether `event` opens or closes any window (the handler then loads the facts)."""
    return any(isinstance(event, (r.event, *r.closed_by)) for r in reminders)


def remind(
    event: Event,
    facts: OrderFacts | None,
    policy: EmailPolicy,
    reminders: tuple[Reminder, ...] = REMINDERS,
) -> list[Action]:
    """Rule X-12: what `event` does to the reminders: opens a window (with its reminder
    email, due `lead` before the window closes) or closes one. Pure."""
    order_id = cause_of(event).order_id
    if order_id is None:
        return []
    opened: dict[str, Action] = {}
    closed: dict[str, Action] = {}
    flow = getattr(event, "flow", None)
    for row in reminders:
        if row.flow is not None and flow is not None and flow is not row.flow:
            continue
        sub = _sub(event, row.subkey)
        wid = window_id(row.window, order_id, sub)
        if isinstance(event, row.closed_by) and (sub or not row.subkey):
            closed[wid] = Close(wid, order_id)
        if isinstance(event, row.event) and row.when(event):
            action = _open(row, wid, order_id, event, facts, policy)
            if action is not None:
                opened[wid] = action
    # An event that reopens a window (a counter-edit) replaces its reminder, not closes it.
    return [a for wid, a in closed.items() if wid not in opened] + list(opened.values())


def _open(
    row: Reminder,
    wid: str,
    order_id: uuid.UUID,
    event: Event,
    facts: OrderFacts | None,
    policy: EmailPolicy,
) -> Open | None:
    closes_at = row.closes_at(event)
    lead = policy.reminder_leads.get(row.window)
    if closes_at is None or not lead:
        return None
    due_at = closes_at - lead
    if due_at <= event.occurred_at:
        return None  # the window is shorter than the lead: nothing useful to remind
    cause = Cause(
        message_id=derived_id(event.message_id, 0, f"reminder|{row.window}"),
        type=CAUSE_TYPE,
        correlation_id=event.correlation_id,
        occurred_at=due_at,
        order_id=order_id,
    )
    email = compose(cause, row, event, facts, policy, window=row.window)
    return Open(wid, order_id, f"{KIND}.{row.window}", due_at, event.message_id, email, closes_at)
