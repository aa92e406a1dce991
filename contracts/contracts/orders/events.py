"""Events of the ordering service: past tense, tolerant, keyed by `order_id`.

`status` on every `OrderEvent` is the order's status after the event, so a consumer can
list orders by status (M-17) without folding anything.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Literal

from pydantic import AwareDatetime

from contracts.envelope import Contact, Event, FieldError, MessageUnion, Role
from contracts.orders.values import (
    DraftTerms,
    Flow,
    Money,
    OrderParty,
    OrderStatus,
    PlannedInvoice,
    PostpaidTerms,
    ReasonCode,
    Terms,
    TermsChange,
)


class OrderEvent(Event):
    order_id: uuid.UUID
    flow: Flow
    status: OrderStatus


class OrderCreated(OrderEvent):
    """Carries every party with its contact, so the notifier can address emails (X-06)."""

    type: Literal["OrderCreated"] = "OrderCreated"
    parties: list[OrderParty]
    terms: Terms
    duplicated_from: uuid.UUID | None = None
    #: P-02: when the other party's window to confirm or edit closes.
    respond_by: AwareDatetime | None = None


class DraftEdited(OrderEvent):
    type: Literal["DraftEdited"] = "DraftEdited"
    parties: list[OrderParty]
    terms: DraftTerms


class OrderSubmitted(OrderEvent):
    type: Literal["OrderSubmitted"] = "OrderSubmitted"
    offer_valid_until: AwareDatetime
    review_due_at: AwareDatetime


class OperatorReviewOverdue(OrderEvent):
    """M-04: a signal for ops; the status does not change."""

    type: Literal["OperatorReviewOverdue"] = "OperatorReviewOverdue"
    review_due_at: AwareDatetime


class OrderSentToClient(OrderEvent):
    """M-05: email `client` a link that carries `confirmation_token` (M-08)."""

    type: Literal["OrderSentToClient"] = "OrderSentToClient"
    client: OrderParty
    confirmation_token: str
    offer_valid_until: AwareDatetime


class OrderActivated(OrderEvent):
    """M-05/M-08: what invoicing needs to plan the invoices (M-10)."""

    type: Literal["OrderActivated"] = "OrderActivated"
    confirmed_by: Role
    no_payment_guarantee: bool
    proof_document: str | None = None
    planned_invoices: list[PlannedInvoice]
    service_start: date
    service_end: date
    service_ends_at: AwareDatetime


class OrderRejected(OrderEvent):
    type: Literal["OrderRejected"] = "OrderRejected"
    cause: Literal["operator", "client", "offer_expired"]
    reason: str = ""
    #: The status the order was rejected from: an offer that expired in `operator_review`
    #: was never put to the client (M-09). None from producers that predate the field.
    previous_status: OrderStatus | None = None


class CancellationRequested(OrderEvent):
    type: Literal["CancellationRequested"] = "CancellationRequested"
    reason: str


class CancellationRefused(OrderEvent):
    type: Literal["CancellationRefused"] = "CancellationRefused"
    reason: str = ""


class OrderCancelled(OrderEvent):
    """M-14 voids invoices; `fee_may_apply` tells payments to work out a fee (P-11)."""

    type: Literal["OrderCancelled"] = "OrderCancelled"
    reason: str
    previous_status: OrderStatus
    fee_may_apply: bool = False


class InvoicingCompleted(OrderEvent):
    type: Literal["InvoicingCompleted"] = "InvoicingCompleted"


class ServicePeriodEnded(OrderEvent):
    type: Literal["ServicePeriodEnded"] = "ServicePeriodEnded"


class OrderCompleted(OrderEvent):
    """M-16 or A-07; an account order's receipt goes to `receipt_to` (A-10), the order's
    contact, and its bill-cycle invoice to `bill_to` (A-11, A-15)."""

    type: Literal["OrderCompleted"] = "OrderCompleted"
    receipt_to: Contact | None = None
    total: Money | None = None
    bill_to: Contact | None = None


class OrderDuplicated(OrderEvent):
    type: Literal["OrderDuplicated"] = "OrderDuplicated"
    new_order_id: uuid.UUID


class OrderEdited(OrderEvent):
    type: Literal["OrderEdited"] = "OrderEdited"
    changes: TermsChange
    comment: str = ""
    awaiting: Role
    respond_by: AwareDatetime
    #: P-19: the supplier's price the customer has not accepted yet, after this edit
    #: (None: the price on the order is agreed). The order cannot start while it is set.
    pending_price: Money | None = None
    #: P-19: the supplier's price the customer accepted with this edit, if any.
    accepted_price: Money | None = None


class OrderConfirmed(OrderEvent):
    type: Literal["OrderConfirmed"] = "OrderConfirmed"
    terms: PostpaidTerms
    auto_done_at: AwareDatetime
    #: P-19: the supplier's new price the customer accepted by confirming, if any.
    accepted_price: Money | None = None


class ChangeProposed(OrderEvent):
    type: Literal["ChangeProposed"] = "ChangeProposed"
    proposal: int
    changes: TermsChange
    comment: str = ""
    lapses_at: AwareDatetime


class ProposalAccepted(OrderEvent):
    type: Literal["ProposalAccepted"] = "ProposalAccepted"
    proposal: int
    changes: TermsChange
    auto_done_at: AwareDatetime


class ProposalRejected(OrderEvent):
    type: Literal["ProposalRejected"] = "ProposalRejected"
    proposal: int
    comment: str = ""


class ProposalLapsed(OrderEvent):
    type: Literal["ProposalLapsed"] = "ProposalLapsed"
    proposal: int


class ServiceMarkedDone(OrderEvent):
    type: Literal["ServiceMarkedDone"] = "ServiceMarkedDone"
    automatic: bool
    confirm_by: AwareDatetime


class ExecutionConfirmed(OrderEvent):
    """P-13/P-14: `status` is `payment` with a payment stage, else `closed`."""

    type: Literal["ExecutionConfirmed"] = "ExecutionConfirmed"
    automatic: bool
    price: Money
    payment_method: str


class OrderPaid(OrderEvent):
    type: Literal["OrderPaid"] = "OrderPaid"
    payment_id: str


class ReviewLeft(OrderEvent):
    type: Literal["ReviewLeft"] = "ReviewLeft"
    service_rating: int
    supplier_rating: int
    text: str = ""


class NotesEdited(OrderEvent):
    type: Literal["NotesEdited"] = "NotesEdited"
    notes: str


class ItemConfigured(OrderEvent):
    type: Literal["ItemConfigured"] = "ItemConfigured"
    line: int
    values: dict[str, str]


class OrderPlaced(OrderEvent):
    type: Literal["OrderPlaced"] = "OrderPlaced"
    needs_approval: bool
    #: A-13: when a pending approval becomes overdue (only when approval is needed).
    approval_due_at: AwareDatetime | None = None


class OrderApproved(OrderEvent):
    type: Literal["OrderApproved"] = "OrderApproved"


class ReceiptResent(OrderEvent):
    type: Literal["ReceiptResent"] = "ReceiptResent"
    receipt_to: Contact


class OrderReturned(OrderEvent):
    """M-18: the operator sent the order back to draft with a question or comment."""

    type: Literal["OrderReturned"] = "OrderReturned"
    comment: str


class OrderWithdrawn(OrderEvent):
    """M-19: the member took the submitted order back to draft before the review."""

    type: Literal["OrderWithdrawn"] = "OrderWithdrawn"


class DraftDiscarded(OrderEvent):
    """M-19: the member discarded the draft; `status` is `discarded`, for good."""

    type: Literal["DraftDiscarded"] = "DraftDiscarded"


class ApprovalRefused(OrderEvent):
    """A-13: the approver refused; the order is a draft again for the agent to change."""

    type: Literal["ApprovalRefused"] = "ApprovalRefused"
    reason: str


class ApprovalOverdue(OrderEvent):
    """A-13: a signal for ops, as M-04's; the status does not change."""

    type: Literal["ApprovalOverdue"] = "ApprovalOverdue"
    approval_due_at: AwareDatetime


class OrderClosedUnpaid(OrderEvent):
    """P-21: the money was finally not collected; the order is closed, marked unpaid, and
    may be reviewed (P-17). `claim_id` is payments' claim that ended so."""

    type: Literal["OrderClosedUnpaid"] = "OrderClosedUnpaid"
    cause: Literal["claim_written_off", "claim_withdrawn"]
    claim_id: str
    unpaid: Literal[True] = True


class OrderCommandRejected(Event):
    """X-07: a command was refused; `reason` is a `RejectionReason` value."""

    type: Literal["OrderCommandRejected"] = "OrderCommandRejected"
    order_id: uuid.UUID
    command_type: str
    command_id: uuid.UUID
    reason: ReasonCode
    message: str
    #: X-13: reason `invalid`: what is wrong with the command, field by field.
    errors: list[FieldError] = []


ORDER_EVENTS: MessageUnion[Event] = MessageUnion(
    OrderCreated, DraftEdited, OrderSubmitted, OperatorReviewOverdue, OrderSentToClient,
    OrderActivated, OrderRejected, CancellationRequested, CancellationRefused, OrderCancelled,
    InvoicingCompleted, ServicePeriodEnded, OrderCompleted, OrderDuplicated, OrderEdited,
    OrderConfirmed, ChangeProposed, ProposalAccepted, ProposalRejected, ProposalLapsed,
    ServiceMarkedDone, ExecutionConfirmed, OrderPaid, ReviewLeft, NotesEdited, ItemConfigured,
    OrderPlaced, OrderApproved, ReceiptResent, OrderCommandRejected, OrderReturned,
    OrderWithdrawn, DraftDiscarded, ApprovalRefused, ApprovalOverdue, OrderClosedUnpaid,
)  # fmt: skip
