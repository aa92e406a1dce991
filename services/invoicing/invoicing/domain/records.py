"""The ledger's own records: events that are stored and folded but never published.

    LedgerRecord
    ├── OrderRecorded          an order's parties and terms (OrderCreated, DraftEdited)
    ├── OrderStatusNoted       ordering rejected, cancelled or completed the order
    ├── InvoiceIssuing         M-12: the point of no return of an issue; the number follows
    ├── AccountInvoiceIssuing  A-11: a bill-cycle invoice, issued; the number follows
    ├── InvoiceVoiding         M-14: the point of no return of a void; the credit note's
    │                          number follows
    ├── CompletionReported     M-16: ordering was told invoicing is complete
    ├── AccountRecorded        A-11: an account's contact and bill-cycle day
    ├── AccountOrderQueued     A-11: a completed account order, waiting for the next run
    └── BillCycleScheduled     A-11: the open cycle's run is scheduled

Issuing is split in two so that a number is only ever taken for an invoice that is
already issued for good (see `model.pending_numbers`): no decision can then drop a number
it took, and the sequence has no gap.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Literal

from pydantic import AwareDatetime

from contracts.envelope import Contact, Event, MessageUnion
from contracts.invoicing import INVOICING_EVENTS, InvoiceLine
from contracts.orders import DraftTerms, Flow, OrderParty, OrderStatus


class LedgerRecord(Event):
    """Stored with the ledger's events and folded like them; never published."""

    ledger_id: str


class OrderRecorded(LedgerRecord):
    type: Literal["OrderRecorded"] = "OrderRecorded"
    order_id: uuid.UUID
    flow: Flow
    status: OrderStatus
    parties: list[OrderParty]
    terms: DraftTerms


class OrderStatusNoted(LedgerRecord):
    type: Literal["OrderStatusNoted"] = "OrderStatusNoted"
    order_id: uuid.UUID
    status: OrderStatus


class InvoiceIssuing(LedgerRecord):
    type: Literal["InvoiceIssuing"] = "InvoiceIssuing"
    invoice_id: str
    issued_at: AwareDatetime


class AccountInvoiceIssuing(LedgerRecord):
    type: Literal["AccountInvoiceIssuing"] = "AccountInvoiceIssuing"
    invoice_id: str
    account_id: str
    issuer_id: str
    currency: str
    lines: list[InvoiceLine]
    invoice_date: date
    issued_at: AwareDatetime
    #: A-15: whom the invoice is addressed to; absent, the account's contact.
    bill_to: Contact | None = None


class InvoiceVoiding(LedgerRecord):
    type: Literal["InvoiceVoiding"] = "InvoiceVoiding"
    invoice_id: str
    credit_note_id: str
    reason: str


class CompletionReported(LedgerRecord):
    type: Literal["CompletionReported"] = "CompletionReported"
    order_id: uuid.UUID


class AccountRecorded(LedgerRecord):
    type: Literal["AccountRecorded"] = "AccountRecorded"
    account_id: str
    contact: Contact | None = None
    bill_cycle_day: int | None = None


class AccountOrderQueued(LedgerRecord):
    type: Literal["AccountOrderQueued"] = "AccountOrderQueued"
    account_id: str
    order_id: uuid.UUID
    currency: str
    lines: list[InvoiceLine]
    receipt_to: Contact | None = None
    #: A-15: the order's bill-to as ordering resolved it.
    bill_to: Contact | None = None


class BillCycleScheduled(LedgerRecord):
    type: Literal["BillCycleScheduled"] = "BillCycleScheduled"
    account_id: str
    cycle: int
    run_at: AwareDatetime


RECORDS: tuple[type[LedgerRecord], ...] = (
    OrderRecorded,
    OrderStatusNoted,
    InvoiceIssuing,
    AccountInvoiceIssuing,
    InvoiceVoiding,
    CompletionReported,
    AccountRecorded,
    AccountOrderQueued,
    BillCycleScheduled,
)

#: Everything a ledger stores: the published events and its own records.
LEDGER_EVENTS: MessageUnion[Event] = MessageUnion(
    *(c for c in INVOICING_EVENTS.classes.values() if c.__name__ != "InvoicingCommandRejected"),
    *RECORDS,
)
