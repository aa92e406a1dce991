"""`evolve`: fold one event into a ledger. Pure, deterministic, total over known events.

Published events and the ledger's own records fold alike; an event type this module does
not know only bumps the version, so a newer producer never breaks the fold.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from contracts.envelope import Event
from contracts.invoicing import (
    BillCycleRun,
    InvoiceCancelled,
    InvoiceChangesDeclined,
    InvoiceChangesRequested,
    InvoiceDrafted,
    InvoiceDraftRevised,
    InvoiceIssued,
    InvoicePaymentRecorded,
    InvoicePlanned,
    InvoiceStatus,
    InvoiceVoided,
)
from invoicing.domain.model import (
    AccountFacts,
    CreditNoteState,
    Invoice,
    Ledger,
    OrderFacts,
    Payment,
    QueuedOrder,
)
from invoicing.domain.records import (
    AccountInvoiceIssuing,
    AccountOrderQueued,
    AccountRecorded,
    BillCycleScheduled,
    CompletionReported,
    InvoiceIssuing,
    InvoiceVoiding,
    OrderRecorded,
    OrderStatusNoted,
)
from servicekit.decisions import EventMismatchError, Evolution, carry

S = InvoiceStatus


_APPLY: Evolution[Ledger] = Evolution()
_on = _APPLY.on


def evolve(ledger: Ledger, event: Event) -> Ledger:
    """The ledger after `event`."""
    apply = _APPLY.of(event)
    changed = apply(ledger, event) if apply else ledger
    return replace(changed, version=ledger.version + 1)


def fold(events: Iterable[Event], ledger: Ledger) -> Ledger:
    """`evolve` over events, in order."""
    for event in events:
        ledger = evolve(ledger, event)
    return ledger


def _invoice(ledger: Ledger, invoice_id: str) -> Invoice:
    invoice = ledger.invoice(invoice_id)
    if invoice is None:
        raise EventMismatchError(f"{ledger.ledger_id} has no invoice {invoice_id}")
    return invoice


def _change(ledger: Ledger, invoice_id: str, **changes: Any) -> Ledger:
    new = replace(_invoice(ledger, invoice_id), **changes)
    return replace(ledger, invoices=ledger.replace_invoice(new))


def _account(ledger: Ledger, account_id: str) -> AccountFacts:
    return ledger.account or AccountFacts(account_id=account_id)


# -- orders --------------------------------------------------------------------------------


@_on(OrderRecorded)
def _order_recorded(ledger: Ledger, e: OrderRecorded) -> Ledger:
    facts = OrderFacts(e.order_id, e.flow, e.status, tuple(e.parties), e.terms)
    return replace(ledger, order=facts)


@_on(OrderStatusNoted)
def _order_status(ledger: Ledger, e: OrderStatusNoted) -> Ledger:
    if ledger.order is None:
        raise EventMismatchError(f"{ledger.ledger_id} knows no order")
    return replace(ledger, order=replace(ledger.order, status=e.status))


@_on(CompletionReported)
def _completion(ledger: Ledger, e: CompletionReported) -> Ledger:
    return replace(ledger, completion_reported=True)


# -- invoices ------------------------------------------------------------------------------

#: What a new invoice takes from the event that plans or issues it.
_FROM_EVENT = "invoice_id issuer_id invoice_date correlation_id"


@_on(InvoicePlanned)
def _planned(ledger: Ledger, e: InvoicePlanned) -> Ledger:
    invoice = Invoice(
        **carry(e, f"{_FROM_EVENT} order_id issue_at position draft_at"),
        status=S.PLANNED,
        currency=e.total.currency,
        lines=tuple(e.lines),
    )
    return _add(ledger, invoice)


@_on(InvoiceDrafted)
def _drafted(ledger: Ledger, e: InvoiceDrafted) -> Ledger:
    return _change(ledger, e.invoice_id, status=S.DRAFT)


@_on(InvoiceChangesRequested)
def _changes_requested(ledger: Ledger, e: InvoiceChangesRequested) -> Ledger:
    return _change(ledger, e.invoice_id, status=S.CHANGES_REQUESTED, request=e.message)


@_on(InvoiceDraftRevised)
def _revised(ledger: Ledger, e: InvoiceDraftRevised) -> Ledger:
    return _change(ledger, e.invoice_id, status=S.DRAFT, request=None, lines=tuple(e.lines))


@_on(InvoiceChangesDeclined)
def _declined(ledger: Ledger, e: InvoiceChangesDeclined) -> Ledger:
    return _change(ledger, e.invoice_id, status=S.DRAFT, request=None)


@_on(InvoiceIssuing)
def _issuing(ledger: Ledger, e: InvoiceIssuing) -> Ledger:
    return _change(ledger, e.invoice_id, status=S.ISSUED, request=None, issued_at=e.issued_at)


@_on(AccountInvoiceIssuing)
def _account_issuing(ledger: Ledger, e: AccountInvoiceIssuing) -> Ledger:
    invoice = Invoice(
        **carry(e, f"{_FROM_EVENT} currency account_id issued_at bill_to"),
        status=S.ISSUED,
        lines=tuple(e.lines),
        issue_at=e.issued_at,
    )
    return _add(ledger, invoice)


def _add(ledger: Ledger, invoice: Invoice) -> Ledger:
    """The ledger with a new invoice; an id it already has means the events disagree."""
    if ledger.invoice(invoice.invoice_id) is not None:
        raise EventMismatchError(f"{invoice.invoice_id} exists already")
    return replace(ledger, invoices=(*ledger.invoices, invoice))


@_on(InvoiceIssued)
def _issued(ledger: Ledger, e: InvoiceIssued) -> Ledger:
    return _change(ledger, e.invoice_id, number=e.number)


@_on(InvoiceCancelled)
def _cancelled(ledger: Ledger, e: InvoiceCancelled) -> Ledger:
    return _change(ledger, e.invoice_id, status=S.CANCELLED, request=None, cancel_reason=e.reason)


@_on(InvoiceVoiding)
def _voiding(ledger: Ledger, e: InvoiceVoiding) -> Ledger:
    note = CreditNoteState(e.credit_note_id, e.occurred_at, e.reason)
    return _change(ledger, e.invoice_id, status=S.VOIDED, credit_note=note)


@_on(InvoiceVoided)
def _voided(ledger: Ledger, e: InvoiceVoided) -> Ledger:
    note = _invoice(ledger, e.invoice_id).credit_note
    if note is None:
        raise EventMismatchError(f"{e.invoice_id} has no credit note to number")
    return _change(ledger, e.invoice_id, credit_note=replace(note, number=e.credit_note.number))


@_on(InvoicePaymentRecorded)
def _paid(ledger: Ledger, e: InvoicePaymentRecorded) -> Ledger:
    invoice = _invoice(ledger, e.invoice_id)
    payment = Payment(e.payment_id, e.amount.amount, e.occurred_at)
    return _change(ledger, e.invoice_id, payments=(*invoice.payments, payment))


# -- accounts (A-11) -----------------------------------------------------------------------


@_on(AccountRecorded)
def _account_recorded(ledger: Ledger, e: AccountRecorded) -> Ledger:
    account = _account(ledger, e.account_id)
    changed = replace(account, contact=e.contact, bill_cycle_day=e.bill_cycle_day)
    return replace(ledger, account=changed)


@_on(AccountOrderQueued)
def _queued(ledger: Ledger, e: AccountOrderQueued) -> Ledger:
    account = _account(ledger, e.account_id)
    queued = QueuedOrder(e.order_id, e.currency, tuple(e.lines), e.occurred_at, e.bill_to)
    changed = replace(
        account,
        queued=(*account.queued, queued),
        contact=account.contact or e.receipt_to,
    )
    return replace(ledger, account=changed)


@_on(BillCycleScheduled)
def _scheduled(ledger: Ledger, e: BillCycleScheduled) -> Ledger:
    account = _account(ledger, e.account_id)
    return replace(ledger, account=replace(account, next_run_at=e.run_at))


@_on(BillCycleRun)
def _cycle_run(ledger: Ledger, e: BillCycleRun) -> Ledger:
    account = _account(ledger, e.account_id)
    billed = set(e.order_ids)
    changed = replace(
        account,
        cycle=e.cycle + 1,
        next_run_at=e.next_run_at,
        queued=tuple(q for q in account.queued if q.order_id not in billed),
        billed=account.billed | billed,
    )
    return replace(ledger, account=changed)
