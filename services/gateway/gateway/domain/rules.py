"""What each event does to an order's flags and pending deadlines, as data.

    Rule(sets={deadline: field}, clears=(deadlines...), flag=..., unflag=(flags...))

A deadline is named by what it is for (`operator_review` is M-04's due time) and holds the
event's timestamp field; it goes when the event that settles it arrives, and all of them
go when the order reaches a final status (`view.FINAL`). Flags are what a list shows at a
glance: `no_payment_guarantee` (M-05), `review_overdue` (M-04), `unpaid` (P-21), ...
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from contracts.envelope import Event

if TYPE_CHECKING:
    from gateway.domain.view import OrderView

#: Answers to refused commands: recorded as answers, not on the order's timeline.
ANSWER_ONLY = frozenset(
    {
        "OrderCommandRejected",
        "InvoicingCommandRejected",
        "PaymentCommandRejected",
        "TimerCommandRejected",
        "SupplierCommandRejected",
    }
)


@dataclass(frozen=True)
class Rule:
    sets: dict[str, str] = field(default_factory=dict)
    clears: tuple[str, ...] = ()
    flag: str | None = None
    unflag: tuple[str, ...] = ()


#: The deadlines of the order itself (from orders.events): none is pending once it ends.
ORDER_DEADLINES = (
    "respond_by", "operator_review", "offer_valid_until", "client_confirmation",
    "service_ends", "auto_done", "proposal_lapses", "execution_confirmation", "approval",
)  # fmt: skip

_REVIEW = ("operator_review",)
_DRAFT_AGAIN = Rule(clears=(*_REVIEW, "offer_valid_until"), unflag=("review_overdue",))

RULES: dict[str, Rule] = {
    "OrderCreated": Rule(sets={"respond_by": "respond_by"}),
    "OrderSubmitted": Rule(
        sets={"operator_review": "review_due_at", "offer_valid_until": "offer_valid_until"}
    ),
    "OperatorReviewOverdue": Rule(flag="review_overdue"),
    "OrderSentToClient": Rule(
        sets={"client_confirmation": "offer_valid_until"}, clears=("operator_review",)
    ),
    "OrderActivated": Rule(
        sets={"service_ends": "service_ends_at"},
        clears=(*_REVIEW, "client_confirmation", "offer_valid_until"),
        unflag=("review_overdue",),
    ),
    "OrderReturned": _DRAFT_AGAIN,
    "OrderWithdrawn": _DRAFT_AGAIN,
    "CancellationRequested": Rule(flag="cancellation_requested"),
    "CancellationRefused": Rule(unflag=("cancellation_requested",)),
    "OrderEdited": Rule(sets={"respond_by": "respond_by"}),
    "OrderConfirmed": Rule(sets={"auto_done": "auto_done_at"}, clears=("respond_by",)),
    "ChangeProposed": Rule(sets={"proposal_lapses": "lapses_at"}),
    "ProposalAccepted": Rule(sets={"auto_done": "auto_done_at"}, clears=("proposal_lapses",)),
    "ProposalRejected": Rule(clears=("proposal_lapses",)),
    "ProposalLapsed": Rule(clears=("proposal_lapses",)),
    "ServiceMarkedDone": Rule(sets={"execution_confirmation": "confirm_by"}, clears=("auto_done",)),
    "ExecutionConfirmed": Rule(clears=("execution_confirmation",)),
    "OrderPaid": Rule(flag="paid"),
    "OrderPlaced": Rule(sets={"approval": "approval_due_at"}),
    "OrderApproved": Rule(clears=("approval",), unflag=("approval_overdue",)),
    "ApprovalRefused": Rule(clears=("approval",), unflag=("approval_overdue",)),
    "ApprovalOverdue": Rule(flag="approval_overdue"),
    "OrderClosedUnpaid": Rule(flag="unpaid"),
    "InvoiceChangesRequested": Rule(flag="invoice_changes_requested"),
    "InvoiceDraftRevised": Rule(unflag=("invoice_changes_requested",)),
    "InvoiceChangesDeclined": Rule(unflag=("invoice_changes_requested",)),
    "PaymentRequested": Rule(sets={"payment_due": "due_at"}),
    "ChargeRequested": Rule(sets={"payment_due": "due_at"}),
    "ChargeFailed": Rule(sets={"payment_due": "due_at"}, flag="charge_failed"),
    "PaymentSettled": Rule(clears=("payment_due",), unflag=("charge_failed",)),
    "PaymentOverdue": Rule(clears=("payment_due",), flag="payment_overdue"),
    "ClaimWithdrawn": Rule(sets={"claim_reopen": "reopen_until"}, unflag=("claim_open",)),
    "ClaimOpened": Rule(flag="claim_open", clears=("claim_reopen",)),
    "ClaimPaid": Rule(unflag=("claim_open", "payment_overdue")),
    "ClaimWrittenOff": Rule(unflag=("claim_open",)),
    "ClaimLapsed": Rule(clears=("claim_reopen",)),  # P-21: the debt is given up
    "PayoutScheduled": Rule(sets={"payout_expected": "expected_by"}),
    "PayoutOverdue": Rule(flag="payout_overdue"),
    "PayoutPaid": Rule(clears=("payout_expected",), unflag=("payout_overdue",)),
    "EmailFailed": Rule(flag="email_failed"),
}


def is_answer_only(event: Event) -> bool:
    return event.type in ANSWER_ONLY


def fold(view: OrderView, event: Event) -> None:
    """Apply `event`'s rule (and the few flags read off fields) to `view`, in place."""
    rule = RULES.get(event.type, Rule())
    for name in rule.clears:
        view.deadlines.pop(name, None)
    for name, source in rule.sets.items():
        due = getattr(event, source, None)
        if due is not None:
            view.deadlines[name] = due
    flags = set(view.flags) - set(rule.unflag)
    if rule.flag:
        flags.add(rule.flag)
    if getattr(event, "no_payment_guarantee", False):
        flags.add("no_payment_guarantee")  # M-05: confirmed without the client (M-06)
    if event.type in ("OrderEdited", "OrderConfirmed", "ProposalAccepted"):
        pending = getattr(event, "pending_price", None)
        flags.discard("price_not_accepted")
        if pending is not None:
            flags.add("price_not_accepted")  # P-19
    if event.type == "OrderCancelled" or event.type == "CancellationRefused":
        view.cancellation_request = None
    if event.type == "CancellationRequested":
        view.cancellation_request = str(getattr(event, "reason", ""))
    if event.type == "OrderSubmitted":
        view.submitted_at = event.occurred_at
    total = getattr(event, "total", None) or getattr(event, "price", None)
    if event.type in ("OrderCompleted", "ExecutionConfirmed") and total is not None:
        view.total = total
    view.flags = sorted(flags)
