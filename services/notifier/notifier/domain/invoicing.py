"""The emails invoicing's events send (invoicing.events): rules M-10 to M-12 and A-11,
and M-14's credit note. Each of these events carries the party it concerns."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from contracts.envelope import Role
from contracts.invoicing import (
    InvoiceChangesDeclined,
    InvoiceDrafted,
    InvoiceDraftRevised,
    InvoiceIssued,
    InvoiceLine,
    InvoiceVoided,
)
from contracts.orders import Money
from contracts.topics import INVOICING_EVENTS
from notifier.domain.formatting import money, shown
from notifier.domain.model import EmailPolicy, OrderFacts
from notifier.domain.notices import PartyOf, Rows, notice, reason

Facts = OrderFacts | None


def lines(items: list[InvoiceLine], currency: str) -> list[dict[str, str]]:
    """An invoice's lines as an email shows them, in the invoice's currency."""
    return [
        {
            "description": line.description,
            "quantity": str(line.quantity),
            "unit_price": money(Money(amount=line.unit_price, currency=currency)),
            "amount": money(Money(amount=line.amount, currency=currency)),
        }
        for line in items
    ]


def drafted(event: InvoiceDrafted, facts: Facts, policy: EmailPolicy) -> Mapping[str, Any]:
    """M-10, M-11: the draft, and until when the member may ask for changes."""
    return {
        **shown(event, policy.timezone, "invoice_date", "total", "changes_until"),
        "lines": lines(event.lines, event.total.currency),
    }


def revised(event: InvoiceDraftRevised, facts: Facts, policy: EmailPolicy) -> Mapping[str, Any]:
    """M-11: the operator revised the draft as asked."""
    return {
        **shown(event, policy.timezone, "total", "comment"),
        "lines": lines(event.lines, event.total.currency),
    }


def issued(event: InvoiceIssued, facts: Facts, policy: EmailPolicy) -> Mapping[str, Any]:
    """M-12, A-11: the issued invoice, numbered."""
    return {
        "invoice_number": event.number,
        **shown(event, policy.timezone, "invoice_date", "total"),
        "lines": lines(event.lines, event.total.currency),
    }


def voided(event: InvoiceVoided, facts: Facts, policy: EmailPolicy) -> Mapping[str, Any]:
    """M-14: the issued invoice is voided by a credit note."""
    note = event.credit_note
    return {
        "invoice_number": note.invoice_number,
        "credit_note_number": note.number,
        "total": money(note.total),
        "reason": event.reason,
    }


T = INVOICING_EVENTS
R = Role

# fmt: off
NOTICES: tuple[Rows, ...] = (
    notice(InvoiceDrafted, T, "invoice_draft_ready", to=PartyOf("member", R.MEMBER),
           rules="M-10 M-11", context=drafted),
    notice(InvoiceDraftRevised, T, "invoice_draft_revised", to=PartyOf("member", R.MEMBER),
           rules="M-11", context=revised),
    notice(InvoiceChangesDeclined, T, "invoice_changes_declined",
           to=PartyOf("member", R.MEMBER), rules="M-11", context=reason),
    notice(InvoiceIssued, T, "invoice_issued", to=PartyOf("client", R.CLIENT),
           rules="M-12 A-11", context=issued),
    notice(InvoiceVoided, T, "invoice_voided", to=PartyOf("client", R.CLIENT),
           rules="M-14", context=voided),
)
# fmt: on
