"""Commands to the ordering service: imperative, strict, keyed by `order_id`."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from pydantic import Field

from contracts.envelope import Command, MessageUnion
from contracts.orders.values import (
    DraftTerms,
    Money,
    Name,
    OrderParty,
    Rating,
    Reason,
    Terms,
    TermsChange,
    Text,
)

Token = Annotated[str, Field(min_length=1, max_length=1000)]


class OrderCommand(Command):
    order_id: uuid.UUID


class CreateOrder(OrderCommand):
    """Start an order; the actor must be one of `parties` (M-01, P-02, A-01)."""

    type: Literal["CreateOrder"] = "CreateOrder"
    parties: Annotated[list[OrderParty], Field(min_length=1, max_length=10)]
    terms: Terms


class EditDraft(OrderCommand):
    """Replace a draft's terms (M-01, A-08); a managed draft may also change its client."""

    type: Literal["EditDraft"] = "EditDraft"
    terms: DraftTerms
    client: OrderParty | None = None


class CancelOrder(OrderCommand):
    type: Literal["CancelOrder"] = "CancelOrder"
    reason: Reason


class ConfirmOrder(OrderCommand):
    """The operator's review (M-05), or the awaited party's confirmation (P-06)."""

    type: Literal["ConfirmOrder"] = "ConfirmOrder"


class SubmitOrder(OrderCommand):
    type: Literal["SubmitOrder"] = "SubmitOrder"


class RejectOrder(OrderCommand):
    type: Literal["RejectOrder"] = "RejectOrder"
    reason: Reason


class ConfirmAsClient(OrderCommand):
    """M-08: `token` is the signed one from the client's confirmation link."""

    type: Literal["ConfirmAsClient"] = "ConfirmAsClient"
    token: Token


class DeclineAsClient(OrderCommand):
    type: Literal["DeclineAsClient"] = "DeclineAsClient"
    token: Token
    reason: Text = ""


class RequestCancellation(OrderCommand):
    type: Literal["RequestCancellation"] = "RequestCancellation"
    reason: Reason


class ApproveCancellation(OrderCommand):
    type: Literal["ApproveCancellation"] = "ApproveCancellation"


class RefuseCancellation(OrderCommand):
    type: Literal["RefuseCancellation"] = "RefuseCancellation"
    reason: Text = ""


class MarkInvoicingComplete(OrderCommand):
    """From invoicing: every planned invoice of the order is issued (M-16)."""

    type: Literal["MarkInvoicingComplete"] = "MarkInvoicingComplete"


class DuplicateOrder(OrderCommand):
    """M-15: copy a rejected order into a new draft (the new id is ordering's to make)."""

    type: Literal["DuplicateOrder"] = "DuplicateOrder"


class EditOrder(OrderCommand):
    """P-03/P-04 in confirmation; a pending proposal while in progress (P-09)."""

    type: Literal["EditOrder"] = "EditOrder"
    changes: TermsChange
    comment: Text = ""
    #: P-19: the customer accepts the supplier's new price with this counter-edit; it
    #: must equal the price on the order. Left out, a new price stays unaccepted.
    accept_price: Money | None = None


class AcceptProposal(OrderCommand):
    type: Literal["AcceptProposal"] = "AcceptProposal"
    proposal: Annotated[int, Field(ge=1)]


class RejectProposal(OrderCommand):
    type: Literal["RejectProposal"] = "RejectProposal"
    proposal: Annotated[int, Field(ge=1)]
    comment: Text = ""


class MarkServiceDone(OrderCommand):
    type: Literal["MarkServiceDone"] = "MarkServiceDone"


class ConfirmExecution(OrderCommand):
    type: Literal["ConfirmExecution"] = "ConfirmExecution"


class MarkOrderPaid(OrderCommand):
    """From payments: the customer paid (P-15)."""

    type: Literal["MarkOrderPaid"] = "MarkOrderPaid"
    payment_id: Name


class LeaveReview(OrderCommand):
    type: Literal["LeaveReview"] = "LeaveReview"
    service_rating: Rating
    supplier_rating: Rating
    text: Text = ""


class EditNotes(OrderCommand):
    type: Literal["EditNotes"] = "EditNotes"
    notes: Text


class ConfigureItem(OrderCommand):
    """A-06: set configuration values of the item at index `line`."""

    type: Literal["ConfigureItem"] = "ConfigureItem"
    line: Annotated[int, Field(ge=0)]
    values: Annotated[dict[Name, Text], Field(min_length=1)]


class PlaceOrder(OrderCommand):
    type: Literal["PlaceOrder"] = "PlaceOrder"


class ApproveOrder(OrderCommand):
    type: Literal["ApproveOrder"] = "ApproveOrder"


class CompleteOrder(OrderCommand):
    type: Literal["CompleteOrder"] = "CompleteOrder"


class ResendReceipt(OrderCommand):
    type: Literal["ResendReceipt"] = "ResendReceipt"


class ReturnOrder(OrderCommand):
    """M-18: the operator sends a submitted order back to its member with a question."""

    type: Literal["ReturnOrder"] = "ReturnOrder"
    comment: Reason


class WithdrawOrder(OrderCommand):
    """M-19: the member takes a submitted order back before the operator decides."""

    type: Literal["WithdrawOrder"] = "WithdrawOrder"


class DiscardDraft(OrderCommand):
    """M-19: the member discards a draft; it is kept but never changes again."""

    type: Literal["DiscardDraft"] = "DiscardDraft"


class RefuseApproval(OrderCommand):
    """A-13: the approver refuses an order that needs approval; it goes back to draft."""

    type: Literal["RefuseApproval"] = "RefuseApproval"
    reason: Reason


class MarkOrderUnpaid(OrderCommand):
    """From payments: the money will not be collected; the order ends unpaid (P-21)."""

    type: Literal["MarkOrderUnpaid"] = "MarkOrderUnpaid"
    claim_id: Name
    cause: Literal["claim_written_off", "claim_withdrawn"]


ORDER_COMMANDS: MessageUnion[OrderCommand] = MessageUnion(
    CreateOrder, EditDraft, CancelOrder, ConfirmOrder, SubmitOrder, RejectOrder,
    ConfirmAsClient, DeclineAsClient, RequestCancellation, ApproveCancellation,
    RefuseCancellation, MarkInvoicingComplete, DuplicateOrder, EditOrder, AcceptProposal,
    RejectProposal, MarkServiceDone, ConfirmExecution, MarkOrderPaid, LeaveReview, EditNotes,
    ConfigureItem, PlaceOrder, ApproveOrder, CompleteOrder, ResendReceipt, ReturnOrder,
    WithdrawOrder, DiscardDraft, RefuseApproval, MarkOrderUnpaid,
)  # fmt: skip
