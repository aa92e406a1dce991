"""A ledger's state: immutable, built only by folding its events (see `evolve`).

    Ledger                one aggregate: the invoices of one managed order, or of one account
    ├── order             OrderFacts: parties with contacts, terms, the status ordering told
    ├── account           AccountFacts: contact, bill-cycle day, open cycle, queued orders
    └── invoices          Invoice: status, lines, number, credit note, payments

Ids (every one derived, none random):

    ledger      order/<order id>                 account/<quoted account id>
    invoice     order/<order id>/<n>             account/<quoted account id>/<cycle>-<CUR>
    credit note <invoice id>/credit-note
    deadlines   <invoice id>:draft  <invoice id>:issue  <ledger id>:cycle:<n>
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from urllib.parse import quote

from contracts.envelope import Contact
from contracts.invoicing import InvoiceLine, InvoiceStatus, PaymentStatus
from contracts.orders import AccountTerms, ManagedTerms, Money
from invoicing.domain.money import total_of
from servicekit.decisions import OrderCore

S = InvoiceStatus


class DeadlineKind(StrEnum):
    DRAFT = "invoice_draft"  # M-10
    ISSUE = "invoice_issue"  # M-12
    BILL_CYCLE = "bill_cycle"


def order_ledger_id(order_id: uuid.UUID) -> str:
    return f"order/{order_id}"


def account_ledger_id(account_id: str) -> str:
    return f"account/{quote(account_id, safe='')}"


def ledger_of(invoice_id: str) -> str:
    """The ledger that owns an invoice."""
    return invoice_id.rsplit("/", 1)[0]


def credit_note_id(invoice_id: str) -> str:
    return f"{invoice_id}/credit-note"


def deadline_id(invoice_id: str, kind: DeadlineKind) -> str:
    return f"{invoice_id}:{'draft' if kind is DeadlineKind.DRAFT else 'issue'}"


def cycle_deadline_id(ledger_id: str, cycle: int) -> str:
    return f"{ledger_id}:cycle:{cycle}"


def invoice_series(issuer_id: str) -> str:
    """The gap-free sequence an issuer's invoices are numbered from."""
    return f"invoices:{issuer_id}"


def credit_note_series(issuer_id: str) -> str:
    """The gap-free sequence an issuer's credit notes are numbered from."""
    return f"credit-notes:{issuer_id}"


@dataclass(frozen=True)
class Payment:
    payment_id: str
    amount: Decimal
    at: datetime


@dataclass(frozen=True)
class CreditNoteState:
    credit_note_id: str
    issued_at: datetime
    reason: str
    number: int | None = None


@dataclass(frozen=True)
class Invoice:
    invoice_id: str
    issuer_id: str
    status: InvoiceStatus
    currency: str
    lines: tuple[InvoiceLine, ...]
    invoice_date: date
    issue_at: datetime
    correlation_id: uuid.UUID
    order_id: uuid.UUID | None = None
    account_id: str | None = None
    position: int = 0
    draft_at: datetime | None = None
    #: M-11: the open change request's message, while there is one.
    request: str | None = None
    number: int | None = None
    issued_at: datetime | None = None
    credit_note: CreditNoteState | None = None
    cancel_reason: str = ""
    payments: tuple[Payment, ...] = ()
    #: A-15: a bill-cycle invoice's addressee, when it is not the account's contact.
    bill_to: Contact | None = None

    @property
    def total(self) -> Money:
        return total_of(self.lines, self.currency)

    @property
    def paid(self) -> Money:
        amount = sum((p.amount for p in self.payments), Decimal(0))
        return Money(amount=amount, currency=self.currency)

    @property
    def outstanding(self) -> Money:
        amount = max(self.total.amount - self.paid.amount, Decimal(0))
        return Money(amount=amount, currency=self.currency)

    @property
    def payment_status(self) -> PaymentStatus:
        paid, total = self.paid.amount, self.total.amount
        if not self.payments:
            return PaymentStatus.UNPAID
        if paid < total:
            return PaymentStatus.PARTIALLY_PAID if paid > 0 else PaymentStatus.UNPAID
        return PaymentStatus.PAID if paid == total else PaymentStatus.OVERPAID

    @property
    def number_pending(self) -> bool:
        """Issued (M-12), its number not assigned yet: `InvoiceIssued` is still to come."""
        return self.issued_at is not None and self.number is None

    @property
    def credit_number_pending(self) -> bool:
        """Voided (M-14), its credit note not numbered yet: `InvoiceVoided` is to come."""
        return self.credit_note is not None and self.credit_note.number is None


@dataclass(frozen=True)
class OrderFacts(OrderCore):
    """What invoicing keeps of an order, from ordering's events."""

    terms: ManagedTerms | AccountTerms


@dataclass(frozen=True)
class QueuedOrder:
    """A-11: a completed account order waiting for the next bill-cycle run."""

    order_id: uuid.UUID
    currency: str
    lines: tuple[InvoiceLine, ...]
    completed_at: datetime
    #: A-15: whom its invoice goes to; None: the account's contact.
    bill_to: Contact | None = None


@dataclass(frozen=True)
class AccountFacts:
    account_id: str
    contact: Contact | None = None
    bill_cycle_day: int | None = None
    #: The open cycle: the one the next run closes.
    cycle: int = 1
    #: When the open cycle's scheduled run is due, if one is scheduled.
    next_run_at: datetime | None = None
    queued: tuple[QueuedOrder, ...] = ()
    billed: frozenset[uuid.UUID] = frozenset()


@dataclass(frozen=True)
class Ledger:
    ledger_id: str
    order: OrderFacts | None = None
    account: AccountFacts | None = None
    invoices: tuple[Invoice, ...] = ()
    #: M-16: ordering was told every planned invoice is issued.
    completion_reported: bool = False
    version: int = 0

    def invoice(self, invoice_id: str) -> Invoice | None:
        return next((i for i in self.invoices if i.invoice_id == invoice_id), None)

    def replace_invoice(self, new: Invoice) -> tuple[Invoice, ...]:
        return tuple(new if i.invoice_id == new.invoice_id else i for i in self.invoices)

    @property
    def all_issued(self) -> bool:
        """M-16: every planned invoice of the order is issued, with its number."""
        return all(i.status is S.ISSUED and i.number is not None for i in self.invoices)


@dataclass(frozen=True)
class NumberRequest:
    """A document that is irrevocably issued and waits for its number (see `pending`)."""

    document_id: str
    series: str
    invoice_id: str


@dataclass(frozen=True)
class NumberTaken:
    """`document_id` got `number` from its issuer's sequence: what `on_number` decides on."""

    document_id: str
    number: int


def pending_numbers(ledger: Ledger) -> list[NumberRequest]:
    """What still needs a number, in the order numbers must be given: an invoice before
    the credit note that voids it."""
    invoices = [
        NumberRequest(i.invoice_id, invoice_series(i.issuer_id), i.invoice_id)
        for i in ledger.invoices
        if i.number_pending
    ]
    credit_notes = [
        NumberRequest(i.credit_note.credit_note_id, credit_note_series(i.issuer_id), i.invoice_id)
        for i in ledger.invoices
        if i.credit_note is not None and i.credit_number_pending and i.number is not None
    ]
    return invoices + credit_notes
