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
from itertools import chain
from typing import Any

from contracts.envelope import Event
from notifier.domain import invoicing, orders, payments
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


CATALOGUE = Catalogue(chain(*orders.NOTICES, *invoicing.NOTICES, *payments.NOTICES))

#: X-11: the events that email nobody, and why. Every event of orders.events,
#: invoicing.events, payments.events and suppliers.events is either in the table or here (a unit test checks
#: it): a new event gets one row in its module's NOTICES (and its templates), or one line here.
SILENT: dict[str, str] = {
    "DraftEdited": "the member edits its own draft (M-01); the notifier learns the parties",
    "OrderSubmitted": "the member submitted it; the operator works from its queue (M-03)",
    "OperatorReviewOverdue": "a signal for ops, as an event and a metric (M-04)",
    "CancellationRequested": "the member asked; the operator works from its queue (M-13)",
    "InvoicingCompleted": "internal: M-16 completes the order when the period ends",
    "ServicePeriodEnded": "internal: M-16 completes the order when invoicing is done",
    "OrderDuplicated": "the member duplicated its own order (M-15)",
    "ReviewLeft": "the customer wrote it (P-17)",
    "NotesEdited": "the agent edited its own notes (A-08)",
    "ItemConfigured": "the agent configured its own item (A-06)",
    "OrderPlaced": "the agent placed it; an approver works from its queue (A-07)",
    "OrderApproved": "the approver acted; the completion's receipt follows (A-10)",
    "OrderCommandRejected": "the answer to the sender's own command (X-07)",
    "InvoicePlanned": "internal: the member hears of the draft seven days ahead (M-10)",
    "InvoiceChangesRequested": "the member asked; the operator works from its queue (M-11)",
    "InvoiceCancelled": "the order's cancellation email says it (M-14); nothing was issued",
    "InvoicingCommandRejected": "the answer to the sender's own command (X-07)",
    "InvoicePaymentRecorded": "the payer made it; the invoice's status shows it (M-16)",
    "BillCycleRun": "each invoice the run issued is emailed itself (InvoiceIssued, A-11)",
    "PaymentCommandRejected": "the answer to the sender's own command (X-07)",
    "PayoutRequested": "the gateway's work; the supplier hears when it is paid (P-18)",
    "PayoutOverdue": "a signal for ops (P-18)",
    "OrderWithdrawn": "the member took its own order back to draft (M-19)",
    "DraftDiscarded": "the member discarded its own draft (M-19)",
    "ApprovalOverdue": "a signal for ops, as an event and a metric (A-13, as M-04)",
    "SupplierSettingsSet": (
        "the supplier's settings, set by it or by the platform (P-11, P-14): no order "
        "already booked changes, and the event carries no contact to email"
    ),
    "SupplierCommandRejected": "the answer to the sender's own command (X-07)",
}


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
    rows = catalogue.rows_for(event)
    return [compose(cause, row, event, facts, policy) for row in rows if row.when(event)]


def compose(
    cause: Cause,
    row: Notice[Any],
    event: Event,
    facts: OrderFacts | None,
    policy: EmailPolicy,
    **extra: Any,
) -> Email:
    """The email `row` sends about `event`, with its recipient and the template's context."""
    recipient = row.to.resolve(event, facts)
    theirs = policy.for_recipient(recipient)  # deadlines in the party's zone
    context = {
        **common_context(cause, recipient, facts, theirs),
        **extra,
        **row.context(event, facts, theirs),
    }
    return Email(cause, row.template, recipient, row.rules, context)


def common_context(
    cause: Cause, recipient: Recipient, facts: OrderFacts | None, policy: EmailPolicy
) -> dict[str, Any]:
    return {
        "order_id": str(cause.order_id) if cause.order_id else "",
        "account_id": cause.account_id or "",
        "title": facts.title if facts else "",
        "recipient_name": recipient.name,
        "recipient_role": recipient.role.value,
    }
