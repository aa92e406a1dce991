"""Post-paid service orders (seeds 001 and 004, rules P-01 to P-17): the customer books,
the supplier provides at an appointment, the customer pays afterwards. With a payment
stage or without one, chosen per order (P-14). The TABLE at the bottom is the flow."""

from __future__ import annotations

from datetime import datetime

from contracts.envelope import Role
from contracts.orders import (
    AcceptProposal,
    CancelOrder,
    ChangeProposed,
    ConfirmExecution,
    ConfirmOrder,
    CreateOrder,
    EditOrder,
    ExecutionConfirmed,
    Flow,
    LeaveReview,
    MarkOrderPaid,
    MarkServiceDone,
    OrderCancelled,
    OrderConfirmed,
    OrderCreated,
    OrderEdited,
    OrderEvent,
    OrderPaid,
    OrderStatus,
    PostpaidTerms,
    ProposalAccepted,
    ProposalLapsed,
    ProposalRejected,
    RejectionReason,
    RejectProposal,
    ReviewLeft,
    ServiceMarkedDone,
)
from ordering.domain.common import parties_problem
from ordering.domain.context import DeadlineFired, Outcome, Rejection, Step, refuse
from ordering.domain.model import DeadlineKind, Order, Proposal, apply_change, postpaid_details
from ordering.domain.postpaid_edits import appointment_problem, normalized_change
from ordering.domain.table import Creation, Table, after, on

S = OrderStatus
R = RejectionReason


def create(cmd: CreateOrder, step: Step) -> Outcome:
    """The customer books; the supplier has 24 hours to confirm or edit (Rules P-01, P-02)."""
    terms = cmd.terms
    assert isinstance(terms, PostpaidTerms)
    roles = frozenset({Role.SUPPLIER, Role.CUSTOMER})
    problem = parties_problem(cmd.parties, step.actor, roles)
    problem = problem or appointment_problem(
        terms.appointment_start, terms.appointment_end, step.now
    )
    if problem:
        return refuse(R.INVALID, problem)
    return [
        OrderCreated(
            **step.stamp(S.CONFIRMATION),
            parties=cmd.parties,
            terms=terms,
            respond_by=step.now + step.policy.confirmation_window,
        )
    ]


def edit(order: Order, cmd: EditOrder, step: Step) -> Outcome:
    """In confirmation an edit applies and the other party has 24 hours to answer (Rules
    P-02 to P-05, P-07); in progress it is a proposal the customer must accept (P-09)."""
    details, now, policy = postpaid_details(order), step.now, step.policy
    changes = normalized_change(details.terms, cmd.changes, step.actor.role, now)
    if isinstance(changes, Rejection):
        return changes
    if order.status is S.CONFIRMATION:
        other = Role.CUSTOMER if step.actor.role is Role.SUPPLIER else Role.SUPPLIER
        return [
            OrderEdited(
                **step.stamp(S.CONFIRMATION),
                changes=changes,
                comment=cmd.comment,
                awaiting=other,
                respond_by=now + policy.confirmation_window,
            )
        ]
    start = details.terms.appointment_start
    if now >= start:
        return refuse(R.WINDOW_CLOSED, "the appointment has started: it can no longer change")
    proposed_start = apply_change(details.terms, changes).appointment_start
    return [
        ChangeProposed(
            **step.stamp(S.IN_PROGRESS),
            proposal=details.proposals_made + 1,
            changes=changes,
            comment=cmd.comment,
            lapses_at=min(now + policy.proposal_lapse, start, proposed_start),
        )
    ]


def confirm(order: Order, cmd: ConfirmOrder, step: Step) -> Outcome:
    """The awaited party confirms: the order is in progress at once (Rules P-05, P-06)."""
    details = postpaid_details(order)
    if step.actor.role is not details.awaiting:
        awaited = details.awaiting.value if details.awaiting else "other party"
        return refuse(R.NOT_YOUR_TURN, f"the order waits for the {awaited}'s answer")
    terms = details.terms
    return [
        OrderConfirmed(
            **step.stamp(S.IN_PROGRESS),
            terms=terms,
            auto_done_at=terms.appointment_end + step.policy.auto_done_after,
        )
    ]


def cancel(order: Order, cmd: CancelOrder, step: Step) -> Outcome:
    """Either party cancels with a reason in confirmation (P-08); in progress the supplier
    any time (P-10), the customer before the appointment, maybe for a fee (P-11)."""
    customer_in_progress = order.status is S.IN_PROGRESS and step.actor.role is Role.CUSTOMER
    if customer_in_progress and step.now >= postpaid_details(order).terms.appointment_start:
        return refuse(R.WINDOW_CLOSED, "the appointment has started: ask the supplier")
    return [
        OrderCancelled(
            **step.stamp(S.CANCELLED),
            reason=cmd.reason,
            previous_status=order.status,
            fee_may_apply=customer_in_progress,
        )
    ]


def accept(order: Order, cmd: AcceptProposal, step: Step) -> Outcome:
    """The customer accepts the pending proposal: it applies now (Rule P-09)."""
    proposal = _pending(order, cmd.proposal, step.now)
    if isinstance(proposal, Rejection):
        return proposal
    terms = apply_change(postpaid_details(order).terms, proposal.changes)
    return [
        ProposalAccepted(
            **step.stamp(S.IN_PROGRESS),
            proposal=proposal.number,
            changes=proposal.changes,
            auto_done_at=terms.appointment_end + step.policy.auto_done_after,
        )
    ]


def reject(order: Order, cmd: RejectProposal, step: Step) -> Outcome:
    """The customer rejects the pending proposal; the terms stay (Rule P-09)."""
    proposal = _pending(order, cmd.proposal, step.now)
    if isinstance(proposal, Rejection):
        return proposal
    return [
        ProposalRejected(**step.stamp(S.IN_PROGRESS), proposal=proposal.number, comment=cmd.comment)
    ]


def mark_done(order: Order, cmd: MarkServiceDone, step: Step) -> Outcome:
    """The supplier confirms the service was provided (Rule P-12)."""
    if step.now < postpaid_details(order).terms.appointment_start:
        return refuse(R.TOO_EARLY, "the appointment has not started yet")
    return [_done(step, automatic=False)]


def confirm_execution(order: Order, cmd: ConfirmExecution, step: Step) -> Outcome:
    """The customer confirms the service was fulfilled (Rules P-13, P-14)."""
    return [_execution_confirmed(order, step, automatic=False)]


def paid(order: Order, cmd: MarkOrderPaid, step: Step) -> Outcome:
    """Payments reports the payment: the order is closed (Rule P-15)."""
    return [OrderPaid(**step.stamp(S.CLOSED), payment_id=cmd.payment_id)]


def review(order: Order, cmd: LeaveReview, step: Step) -> Outcome:
    """The customer rates and reviews a closed order, once (Rule P-17)."""
    if postpaid_details(order).reviewed:
        return refuse(R.ALREADY_EXISTS, "this order has been reviewed already")
    return [
        ReviewLeft(
            **step.stamp(S.CLOSED),
            service_rating=cmd.service_rating,
            supplier_rating=cmd.supplier_rating,
            text=cmd.text,
        )
    ]


def window_passed(order: Order, fired: DeadlineFired, step: Step) -> list[OrderEvent]:
    """Nobody answered within the window: cancelled (Rules P-02, P-07)."""
    return [
        OrderCancelled(
            **step.stamp(S.CANCELLED),
            reason="nobody confirmed the order within the confirmation window",
            previous_status=order.status,
        )
    ]


def proposal_lapsed(order: Order, fired: DeadlineFired, step: Step) -> list[OrderEvent]:
    """An unanswered proposal lapses; the current terms stand (Rule P-09)."""
    proposal = postpaid_details(order).proposal
    if proposal is None:
        return []
    return [ProposalLapsed(**step.stamp(S.IN_PROGRESS), proposal=proposal.number)]


def auto_done(order: Order, fired: DeadlineFired, step: Step) -> list[OrderEvent]:
    """72 hours after the appointment's end the service counts as done (Rule P-12)."""
    return [_done(step, automatic=True)]


def auto_confirm(order: Order, fired: DeadlineFired, step: Step) -> list[OrderEvent]:
    """Unconfirmed for 5 days, the execution counts as confirmed (Rule P-13)."""
    return [_execution_confirmed(order, step, automatic=True)]


def _done(step: Step, *, automatic: bool) -> ServiceMarkedDone:
    return ServiceMarkedDone(
        **step.stamp(S.EXECUTION_CONFIRMATION),
        automatic=automatic,
        confirm_by=step.now + step.policy.auto_confirm_after,
    )


def _execution_confirmed(order: Order, step: Step, *, automatic: bool) -> ExecutionConfirmed:
    terms = postpaid_details(order).terms
    return ExecutionConfirmed(
        **step.stamp(S.PAYMENT if terms.payment_stage else S.CLOSED),
        automatic=automatic,
        price=terms.price,
        payment_method=terms.payment_method,
    )


def _pending(order: Order, number: int, now: datetime) -> Proposal | Rejection:
    proposal = postpaid_details(order).proposal
    if proposal is None or proposal.number != number:
        return refuse(R.STALE_PROPOSAL, f"proposal {number} is not the pending one")
    if now >= proposal.lapses_at:
        return refuse(R.WINDOW_CLOSED, "the proposal has lapsed")
    return proposal


# fmt: off
TABLE = Table(
    flow=Flow.POSTPAID,
    statuses=(S.CONFIRMATION, S.IN_PROGRESS, S.EXECUTION_CONFIRMATION, S.PAYMENT, S.CLOSED,
              S.CANCELLED),
    creation=Creation(S.CONFIRMATION, frozenset({Role.CUSTOMER}), ("P-01", "P-02"), create),
    staff=frozenset({Role.SYSTEM}),
    transitions=(
        *on(S.CONFIRMATION, EditOrder, edit, by=(Role.SUPPLIER, Role.CUSTOMER),
            rules="P-03 P-04 P-05 P-07", guard="restarts the other party's window"),
        *on(S.CONFIRMATION, ConfirmOrder, confirm, to=S.IN_PROGRESS,
            by=(Role.SUPPLIER, Role.CUSTOMER), rules="P-05 P-06", guard="the awaited party"),
        *on(S.CONFIRMATION, CancelOrder, cancel, to=S.CANCELLED,
            by=(Role.SUPPLIER, Role.CUSTOMER), rules="P-08"),
        *on(S.IN_PROGRESS, EditOrder, edit, by=Role.SUPPLIER, rules="P-09",
            guard="before the appointment; a pending proposal"),
        *on(S.IN_PROGRESS, AcceptProposal, accept, by=Role.CUSTOMER, rules="P-09"),
        *on(S.IN_PROGRESS, RejectProposal, reject, by=Role.CUSTOMER, rules="P-09"),
        *on(S.IN_PROGRESS, CancelOrder, cancel, to=S.CANCELLED,
            by=(Role.SUPPLIER, Role.CUSTOMER), rules="P-10 P-11",
            guard="the customer only before the appointment"),
        *on(S.IN_PROGRESS, MarkServiceDone, mark_done, to=S.EXECUTION_CONFIRMATION,
            by=Role.SUPPLIER, rules="P-12", guard="the appointment has started"),
        *on(S.EXECUTION_CONFIRMATION, ConfirmExecution, confirm_execution,
            to=(S.PAYMENT, S.CLOSED), by=Role.CUSTOMER, rules="P-13 P-14",
            guard="payment if the order has a payment stage"),
        *on(S.PAYMENT, MarkOrderPaid, paid, to=S.CLOSED, by=Role.SYSTEM, rules="P-15"),
        *on(S.CLOSED, LeaveReview, review, by=Role.CUSTOMER, rules="P-17", guard="once"),
    ),
    timeouts=(
        *after(S.CONFIRMATION, DeadlineKind.CONFIRMATION_WINDOW, window_passed,
               to=S.CANCELLED, rules="P-02 P-07"),
        *after(S.IN_PROGRESS, DeadlineKind.PROPOSAL_LAPSE, proposal_lapsed, rules="P-09"),
        *after(S.IN_PROGRESS, DeadlineKind.AUTO_DONE, auto_done,
               to=S.EXECUTION_CONFIRMATION, rules="P-12"),
        *after(S.EXECUTION_CONFIRMATION, DeadlineKind.AUTO_CONFIRM, auto_confirm,
               to=(S.PAYMENT, S.CLOSED), rules="P-13 P-14",
               guard="payment if the order has a payment stage"),
    ),
)
# fmt: on
