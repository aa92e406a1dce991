"""Messages of the invoicing service: every invoice, from plan to issue or void (X-04).

    InvoiceCommand (Command)       on invoicing.commands; strict; about one invoice
    ├── RequestInvoiceChanges      member: ask for changes to a draft, with a message (M-11)
    ├── ReviseInvoiceDraft         operator: new lines and total for the draft (M-11)
    ├── DeclineInvoiceChanges      operator: the draft stays as it is (M-11)
    └── RecordInvoicePayment       payments or operator: money received (M-16)
    RunBillCycle (Command)         operator or system: bill an account now (A-11)
    InvoiceEvent (Event)           on invoicing.events; tolerant; `status` is the invoice's
    │                              status after the event
    ├── InvoicePlanned             M-10: a planned invoice of an active order
    ├── InvoiceDrafted             M-10: the draft exists; email `member`
    ├── InvoiceChangesRequested    M-11: the member asked for changes
    ├── InvoiceDraftRevised        M-11: the operator revised it; email `member`
    ├── InvoiceChangesDeclined     M-11: the operator declined; email `member`
    ├── InvoiceIssued              M-12, A-11: numbered and issued; email `client`
    ├── InvoiceCancelled           M-14: a planned or draft invoice of a cancelled order
    ├── InvoiceVoided              M-14: an issued invoice voided by a numbered credit note
    └── InvoicePaymentRecorded     M-16: what is paid and what is still due
    BillCycleRun (Event)           A-11: an account's cycle ran (what it billed, next run)
    InvoicingCommandRejected       X-07: the answer to a refused command, with a reason

Invoice ids name the aggregate that owns the invoice:

    order/<order id>/<n>                    the n-th planned invoice of a managed order
    account/<account id>/<cycle>-<currency> an account's invoice of one bill cycle (the
                                            account id percent-encoded, `quote(id, safe="")`)

The Kafka key is the order id, or the account id for bill-cycle invoices, so everything
about one order stays in one partition with ordering's own events. Money is a `Decimal`
with an ISO 4217 code, exact to the currency's minor unit; a line's amount is its
quantity times its unit price and an invoice's total is the sum of its lines.
"""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, ClassVar, Literal
from urllib.parse import unquote

from pydantic import AwareDatetime, Field

from contracts.envelope import Command, Event, FieldError, MessageUnion
from contracts.orders.values import Money, Name, OrderParty, Reason, Text, Value
from contracts.reasons import published_codes

#: `order/<uuid>/<n>` or `account/<account id>/<cycle>-<currency>` (see the module docstring).
InvoiceId = Annotated[
    str,
    Field(
        pattern=r"^(order/[0-9a-f-]{36}/[1-9][0-9]{0,3}|account/[A-Za-z0-9%._~-]{1,300}/[1-9][0-9]{0,5}-[A-Z]{3})$",
        max_length=400,
    ),
]
Amount = Annotated[Decimal, Field(ge=0, allow_inf_nan=False)]


def invoice_key(invoice_id: str) -> str:
    """The Kafka key of an invoice: its order id, or its account id."""
    kind, rest = invoice_id.split("/", 1)
    owner = rest.rsplit("/", 1)[0]
    return unquote(owner) if kind == "account" else owner


class InvoiceStatus(StrEnum):
    PLANNED = "planned"
    DRAFT = "draft"
    CHANGES_REQUESTED = "changes_requested"
    ISSUED = "issued"
    CANCELLED = "cancelled"
    VOIDED = "voided"


class PaymentStatus(StrEnum):
    UNPAID = "unpaid"
    PARTIALLY_PAID = "partially_paid"
    PAID = "paid"
    OVERPAID = "overpaid"


class InvoicingRejectionReason(StrEnum):
    """The stable, machine-readable codes of `InvoicingCommandRejected.reason`."""

    UNKNOWN_INVOICE = "unknown_invoice"
    UNKNOWN_ACCOUNT = "unknown_account"
    NOT_AUTHORIZED = "not_authorized"
    NOT_ALLOWED_IN_STATUS = "not_allowed_in_status"
    WINDOW_CLOSED = "window_closed"
    INVALID = "invalid"
    INEXACT_AMOUNT = "inexact_amount"
    TOTAL_MISMATCH = "total_mismatch"
    CURRENCY_MISMATCH = "currency_mismatch"
    DUPLICATE_PAYMENT = "duplicate_payment"


#: What each `InvoicingRejectionReason` means (published with the code in docs/asyncapi).
INVOICING_REJECTION_REASON_MEANINGS: dict[str, str] = {
    InvoicingRejectionReason.UNKNOWN_INVOICE: "invoicing has no invoice of this `invoice_id`.",
    InvoicingRejectionReason.UNKNOWN_ACCOUNT: (
        "invoicing knows no account of this id (none opened on accounts.events)."
    ),
    InvoicingRejectionReason.NOT_AUTHORIZED: (
        "The actor's role may not send this command, or the actor is not the order's member."
    ),
    InvoicingRejectionReason.NOT_ALLOWED_IN_STATUS: (
        "The invoice is not in a status that takes this command (e.g. no open change request)."
    ),
    InvoicingRejectionReason.WINDOW_CLOSED: (
        "M-11: changes can be asked for until the invoice date only."
    ),
    InvoicingRejectionReason.INVALID: (
        "The content is not acceptable (a payment of zero, a command invoicing does not "
        "take); `message` says why."
    ),
    InvoicingRejectionReason.INEXACT_AMOUNT: (
        "An amount is finer than the currency's minor unit allows."
    ),
    InvoicingRejectionReason.TOTAL_MISMATCH: (
        "A line's amount is not its quantity times its unit price, or the lines do not add "
        "up to the total."
    ),
    InvoicingRejectionReason.CURRENCY_MISMATCH: "The amount is not in the invoice's currency.",
    InvoicingRejectionReason.DUPLICATE_PAYMENT: "This `payment_id` is recorded already.",
}
InvoicingReasonCode = Annotated[
    str, published_codes(InvoicingRejectionReason, INVOICING_REJECTION_REASON_MEANINGS)
]


class InvoiceLine(Value):
    """One line: `amount` must equal `quantity` x `unit_price`, exact to the minor unit."""

    description: Annotated[str, Field(min_length=1, max_length=500)]
    quantity: Annotated[int, Field(ge=1)] = 1
    unit_price: Amount
    amount: Amount
    #: A-11: the account order the line bills.
    order_id: uuid.UUID | None = None


class CreditNote(Value):
    """M-14: cancels an issued invoice in full; numbered in the issuer's credit-note series."""

    credit_note_id: str
    number: int
    issuer_id: str
    invoice_id: str
    invoice_number: int
    total: Money
    issued_at: AwareDatetime


# -- commands ------------------------------------------------------------------------------


class InvoiceCommand(Command):
    invoice_id: InvoiceId

    def kafka_key(self) -> bytes:
        return invoice_key(self.invoice_id).encode()


class RequestInvoiceChanges(InvoiceCommand):
    """M-11: the order's member asks for changes to a draft, before the invoice date."""

    type: Literal["RequestInvoiceChanges"] = "RequestInvoiceChanges"
    message: Reason


class ReviseInvoiceDraft(InvoiceCommand):
    """M-11: the operator settles a change request with new lines; `total` is checked."""

    type: Literal["ReviseInvoiceDraft"] = "ReviseInvoiceDraft"
    lines: Annotated[list[InvoiceLine], Field(min_length=1, max_length=200)]
    total: Money
    comment: Text = ""


class DeclineInvoiceChanges(InvoiceCommand):
    """M-11: the operator settles a change request by keeping the draft as it is."""

    type: Literal["DeclineInvoiceChanges"] = "DeclineInvoiceChanges"
    reason: Reason


class RecordInvoicePayment(InvoiceCommand):
    """M-16: money received against an issued invoice; `payment_id` is recorded once."""

    type: Literal["RecordInvoicePayment"] = "RecordInvoicePayment"
    payment_id: Name
    amount: Money


class RunBillCycle(Command):
    """A-11: run the account's open bill cycle now, as its scheduled run would."""

    type: Literal["RunBillCycle"] = "RunBillCycle"
    key_field: ClassVar[str] = "account_id"
    account_id: Name


# -- events --------------------------------------------------------------------------------


class InvoiceEvent(Event):
    invoice_id: str
    order_id: uuid.UUID | None = None
    account_id: str | None = None
    status: InvoiceStatus

    def kafka_key(self) -> bytes:
        return str(self.order_id or self.account_id).encode()


class InvoicePlanned(InvoiceEvent):
    """M-10: one planned invoice of an active order, with when it is drafted and issued."""

    type: Literal["InvoicePlanned"] = "InvoicePlanned"
    issuer_id: str
    position: int
    invoice_date: date
    lines: list[InvoiceLine]
    total: Money
    draft_at: AwareDatetime
    issue_at: AwareDatetime


class InvoiceDrafted(InvoiceEvent):
    """M-10: the draft is ready for review; the member may ask for changes until
    `changes_until` (the invoice date)."""

    type: Literal["InvoiceDrafted"] = "InvoiceDrafted"
    member: OrderParty
    invoice_date: date
    lines: list[InvoiceLine]
    total: Money
    changes_until: AwareDatetime


class InvoiceChangesRequested(InvoiceEvent):
    """M-11: the draft is held until the operator settles the request."""

    type: Literal["InvoiceChangesRequested"] = "InvoiceChangesRequested"
    message: str


class InvoiceDraftRevised(InvoiceEvent):
    """M-11: the operator revised the draft; the member is told."""

    type: Literal["InvoiceDraftRevised"] = "InvoiceDraftRevised"
    member: OrderParty
    lines: list[InvoiceLine]
    total: Money
    comment: str = ""


class InvoiceChangesDeclined(InvoiceEvent):
    """M-11: the operator declined the request; the member is told."""

    type: Literal["InvoiceChangesDeclined"] = "InvoiceChangesDeclined"
    member: OrderParty
    reason: str


class InvoiceIssued(InvoiceEvent):
    """M-12, A-11: issued to `client` with `number`, the next of the issuer's gap-free
    sequence. `status` is always `issued` here, even when a void followed at once."""

    type: Literal["InvoiceIssued"] = "InvoiceIssued"
    issuer_id: str
    number: int
    issued_at: AwareDatetime
    invoice_date: date
    client: OrderParty
    lines: list[InvoiceLine]
    total: Money
    payment_status: PaymentStatus = PaymentStatus.UNPAID


class InvoiceCancelled(InvoiceEvent):
    """M-14: a planned or draft invoice of a cancelled order; it is kept, never deleted."""

    type: Literal["InvoiceCancelled"] = "InvoiceCancelled"
    reason: str


class InvoiceVoided(InvoiceEvent):
    """M-14: an issued invoice of a cancelled order, voided by `credit_note`."""

    type: Literal["InvoiceVoided"] = "InvoiceVoided"
    credit_note: CreditNote
    client: OrderParty
    reason: str


class InvoicePaymentRecorded(InvoiceEvent):
    """M-16: a payment against the invoice; paid and outstanding after it."""

    type: Literal["InvoicePaymentRecorded"] = "InvoicePaymentRecorded"
    payment_id: str
    amount: Money
    paid: Money
    outstanding: Money
    payment_status: PaymentStatus


class BillCycleRun(Event):
    """A-11: cycle `cycle` of the account ran: the invoices it issued (one per currency,
    none when nothing was completed since the last run) and when the next one runs."""

    type: Literal["BillCycleRun"] = "BillCycleRun"
    key_field: ClassVar[str] = "account_id"
    account_id: str
    cycle: int
    invoice_ids: list[str]
    order_ids: list[uuid.UUID]
    next_run_at: AwareDatetime | None = None


class InvoicingCommandRejected(Event):
    """X-07: a command was refused; `reason` is an `InvoicingRejectionReason` value."""

    type: Literal["InvoicingCommandRejected"] = "InvoicingCommandRejected"
    invoice_id: str | None = None
    account_id: str | None = None
    command_type: str
    command_id: uuid.UUID
    reason: InvoicingReasonCode
    message: str
    #: X-13: reason `invalid`: what is wrong with the command, field by field.
    errors: list[FieldError] = []

    def kafka_key(self) -> bytes:
        if self.invoice_id is not None:
            return invoice_key(self.invoice_id).encode()
        return str(self.account_id).encode()


INVOICING_COMMANDS: MessageUnion[Command] = MessageUnion(
    RequestInvoiceChanges,
    ReviseInvoiceDraft,
    DeclineInvoiceChanges,
    RecordInvoicePayment,
    RunBillCycle,
)
INVOICING_EVENTS: MessageUnion[Event] = MessageUnion(
    InvoicePlanned,
    InvoiceDrafted,
    InvoiceChangesRequested,
    InvoiceDraftRevised,
    InvoiceChangesDeclined,
    InvoiceIssued,
    InvoiceCancelled,
    InvoiceVoided,
    InvoicePaymentRecorded,
    BillCycleRun,
    InvoicingCommandRejected,
)

__all__ = [
    "INVOICING_COMMANDS",
    "INVOICING_EVENTS",
    "BillCycleRun",
    "CreditNote",
    "DeclineInvoiceChanges",
    "InvoiceCancelled",
    "InvoiceChangesDeclined",
    "InvoiceChangesRequested",
    "InvoiceCommand",
    "InvoiceDraftRevised",
    "InvoiceDrafted",
    "InvoiceEvent",
    "InvoiceId",
    "InvoiceIssued",
    "InvoiceLine",
    "InvoicePaymentRecorded",
    "InvoicePlanned",
    "InvoiceStatus",
    "InvoiceVoided",
    "InvoicingCommandRejected",
    "InvoicingRejectionReason",
    "PaymentStatus",
    "RecordInvoicePayment",
    "RequestInvoiceChanges",
    "ReviseInvoiceDraft",
    "RunBillCycle",
    "invoice_key",
]
