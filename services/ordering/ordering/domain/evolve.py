"""`evolve`: fold one event into an order. Pure, deterministic, total over known events.

Each event sets the status it carries, bumps the version, adds a timeline entry (M-17)
and may change the flow's details; the deadlines the new state needs are then derived
from it (see `deadlines`). An event type this module does not know still moves status,
version and timeline: a newer producer's event never breaks the fold.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from contracts.envelope import Role
from contracts.orders import (
    ApprovalOverdue,
    CancellationRequested,
    ChangeProposed,
    DraftEdited,
    InvoicingCompleted,
    ItemConfigured,
    ManagedTerms,
    NotesEdited,
    OperatorReviewOverdue,
    OrderActivated,
    OrderClosedUnpaid,
    OrderCompleted,
    OrderConfirmed,
    OrderCreated,
    OrderDuplicated,
    OrderEdited,
    OrderEvent,
    OrderPlaced,
    OrderRejected,
    OrderReturned,
    OrderSubmitted,
    PostpaidTerms,
    ProposalAccepted,
    ProposalLapsed,
    ProposalRejected,
    ReceiptResent,
    ReviewLeft,
    ServiceMarkedDone,
    ServicePeriodEnded,
)
from ordering.domain.deadlines import required
from ordering.domain.model import (
    AccountDetails,
    Deadline,
    DeadlineKind,
    Details,
    ManagedDetails,
    Order,
    PostpaidDetails,
    Proposal,
    TimelineEntry,
    account_details,
    apply_change,
    managed_details,
    postpaid_details,
)
from servicekit.deadlines import reconcile
from servicekit.decisions import EventMismatchError, Evolution, carry

_APPLY: Evolution[Order] = Evolution()
_on = _APPLY.on


def evolve(order: Order | None, event: OrderEvent) -> Order:
    """The order after `event` (Rule M-17: each event is a timeline entry)."""
    if isinstance(event, OrderCreated):
        if order is not None:
            raise EventMismatchError(f"order {order.order_id} exists already")
        changed = _created(event)
    else:
        if order is None or order.order_id != event.order_id:
            raise EventMismatchError(f"{event.type} does not follow this state")
        apply = _APPLY.of(event)
        changed = apply(order, event) if apply else order
        changed = replace(changed, version=order.version + 1)
    changed = replace(
        changed,
        status=event.status,
        updated_at=event.occurred_at,
        timeline=(
            *changed.timeline,
            TimelineEntry(event.type, event.actor, event.occurred_at, event.status),
        ),
    )
    return replace(
        changed, deadlines=reconcile(Deadline, DeadlineKind, changed.deadlines, required(changed))
    )


def fold(events: list[OrderEvent], order: Order | None = None) -> Order | None:
    """`evolve` over a list of events."""
    for event in events:
        order = evolve(order, event)
    return order


def _created(event: OrderCreated) -> Order:
    terms = event.terms
    details: Details
    if isinstance(terms, ManagedTerms):
        details = ManagedDetails(terms, duplicated_from=event.duplicated_from)
    elif isinstance(terms, PostpaidTerms):
        details = PostpaidDetails(terms, awaiting=Role.SUPPLIER, respond_by=event.respond_by)
    else:
        details = AccountDetails(terms)
    at = event.occurred_at
    return Order(
        **carry(event, "order_id flow status"),
        parties=tuple(event.parties),
        details=details,
        created_at=at,
        updated_at=at,
    )


def _with(order: Order, details: Callable[[Order], Details], **changes: Any) -> Order:
    """The order with its flow's details (read by `details`, which checks the flow)
    changed."""
    return replace(order, details=replace(details(order), **changes))


# --- managed ----------------------------------------------------------------------------


@_on(DraftEdited)
def _draft_edited(order: Order, event: DraftEdited) -> Order:
    order = replace(order, parties=tuple(event.parties))
    if isinstance(event.terms, ManagedTerms):
        return _with(order, managed_details, terms=event.terms)
    return _with(order, account_details, terms=event.terms)


@_on(OrderSubmitted)
def _submitted(order: Order, event: OrderSubmitted) -> Order:
    return _with(
        order,
        managed_details,
        submitted_at=event.occurred_at,
        review_due_at=event.review_due_at,
        review_overdue=False,
    )


@_on(OperatorReviewOverdue)
def _review_overdue(order: Order, event: OperatorReviewOverdue) -> Order:
    return _with(order, managed_details, review_overdue=True)


@_on(OrderActivated)
def _activated(order: Order, event: OrderActivated) -> Order:
    return _with(order, managed_details, service_ends_at=event.service_ends_at)


@_on(OrderRejected)
def _rejected(order: Order, event: OrderRejected) -> Order:
    return _with(order, managed_details, rejection_cause=event.cause)


@_on(CancellationRequested)
def _cancellation_requested(order: Order, event: CancellationRequested) -> Order:
    return _with(order, managed_details, cancellation_reason=event.reason)


@_on(InvoicingCompleted)
def _invoicing_completed(order: Order, event: InvoicingCompleted) -> Order:
    return _with(order, managed_details, invoicing_complete=True)


@_on(ServicePeriodEnded)
def _service_period_ended(order: Order, event: ServicePeriodEnded) -> Order:
    return _with(order, managed_details, service_ended=True)


@_on(OrderDuplicated)
def _duplicated(order: Order, event: OrderDuplicated) -> Order:
    duplicates = (*managed_details(order).duplicates, event.new_order_id)
    return _with(order, managed_details, duplicates=duplicates)


@_on(OrderCompleted)
def _completed(order: Order, event: OrderCompleted) -> Order:
    if isinstance(order.details, AccountDetails):  # the first receipt goes out now
        return _with(order, account_details, receipts_sent=1)
    return _with(order, managed_details, service_ended=True)


# --- postpaid ---------------------------------------------------------------------------


@_on(OrderEdited)
def _edited(order: Order, event: OrderEdited) -> Order:
    details = postpaid_details(order)
    terms = apply_change(details.terms, event.changes)
    # P-19: the agreed price moves only when the event says no price is pending.
    agreed = details.agreed_price or details.terms.price
    return _with(
        order,
        postpaid_details,
        terms=terms,
        awaiting=event.awaiting,
        respond_by=event.respond_by,
        agreed_price=agreed if event.pending_price is not None else terms.price,
    )


@_on(OrderConfirmed)
def _confirmed(order: Order, event: OrderConfirmed) -> Order:
    return _with(
        order,
        postpaid_details,
        terms=event.terms,
        awaiting=None,
        respond_by=None,
        auto_done_at=event.auto_done_at,
        agreed_price=event.terms.price,
    )


@_on(ChangeProposed)
def _proposed(order: Order, event: ChangeProposed) -> Order:
    proposal = Proposal(event.proposal, event.changes, event.comment, event.lapses_at)
    return _with(order, postpaid_details, proposal=proposal, proposals_made=event.proposal)


@_on(ProposalAccepted)
def _accepted(order: Order, event: ProposalAccepted) -> Order:
    terms = apply_change(postpaid_details(order).terms, event.changes)
    return _with(
        order, postpaid_details, terms=terms, proposal=None, auto_done_at=event.auto_done_at
    )


@_on(ProposalRejected)
def _proposal_rejected(order: Order, event: ProposalRejected) -> Order:
    return _with(order, postpaid_details, proposal=None)


@_on(ProposalLapsed)
def _proposal_lapsed(order: Order, event: ProposalLapsed) -> Order:
    return _with(order, postpaid_details, proposal=None)


@_on(ServiceMarkedDone)
def _done(order: Order, event: ServiceMarkedDone) -> Order:
    return _with(order, postpaid_details, proposal=None, confirm_by=event.confirm_by)


@_on(OrderClosedUnpaid)
def _closed_unpaid(order: Order, event: OrderClosedUnpaid) -> Order:
    return _with(order, postpaid_details, unpaid=True)


@_on(ReviewLeft)
def _reviewed(order: Order, event: ReviewLeft) -> Order:
    return _with(order, postpaid_details, reviewed=True)


# --- account ----------------------------------------------------------------------------


@_on(NotesEdited)
def _notes(order: Order, event: NotesEdited) -> Order:
    terms = account_details(order).terms
    return _with(order, account_details, terms=terms.model_copy(update={"notes": event.notes}))


@_on(ItemConfigured)
def _configured(order: Order, event: ItemConfigured) -> Order:
    terms = account_details(order).terms
    items = list(terms.items)
    item = items[event.line]
    merged = {**item.configurations, **event.values}
    items[event.line] = item.model_copy(update={"configurations": merged})
    return _with(order, account_details, terms=terms.model_copy(update={"items": items}))


@_on(OrderPlaced)
def _placed(order: Order, event: OrderPlaced) -> Order:
    return _with(
        order,
        account_details,
        needs_approval=event.needs_approval,
        approval_due_at=event.approval_due_at,
        approval_overdue=False,
    )


@_on(ReceiptResent)
def _receipt(order: Order, event: ReceiptResent) -> Order:
    receipts_sent = account_details(order).receipts_sent + 1
    return _with(order, account_details, receipts_sent=receipts_sent)


@_on(ApprovalOverdue)
def _approval_overdue(order: Order, event: ApprovalOverdue) -> Order:
    return _with(order, account_details, approval_overdue=True)


# --- managed, M-18 and M-19 -----------------------------------------------------------


@_on(OrderReturned)
def _returned(order: Order, event: OrderReturned) -> Order:
    return _with(order, managed_details, returned_comment=event.comment)
