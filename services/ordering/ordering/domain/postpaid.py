"""Post-paid service orders (seeds 001 and 004, rules P-01 to P-17): the customer books,
the supplier provides at an appointment, the customer pays afterwards. With a payment
stage or without one, chosen per order or by the supplier's settings (P-14). A new price
of the supplier applies only once the customer accepts it (P-19). The TABLE at the bottom
is the flow."""

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
    MarkOrderUnpaid,
    MarkServiceDone,
    OrderCancelled,
    OrderClosedUnpaid,
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
from ordering.domain.postpaid_edits import appointment_problem, edited_prices, normalized_change
from ordering.domain.suppliers import in_force, stamped
from servicekit.decisions import carry
from servicekit.tables import Table, after, on

S = OrderStatus
R = RejectionReason


def create(order: None, cmd: CreateOrder, step: Step) -> Outcome:
    """The customer books; the supplier has 24 hours to confirm or edit (Rules P-01, P-02).
    The supplier's settings in force at the booking are stamped on the terms (P-11, P-14)."""
    terms = cmd.terms
    assert isinstance(terms, PostpaidTerms)
    roles = frozenset({Role.SUPPLIER, Role.CUSTOMER})
    problem = parties_problem(cmd.parties, step.actor, roles)
    problem = problem or appointment_problem(
        terms.appointment_start, terms.appointment_end, step.now
    )
    if terms.cancellation_policy is not None:
        problem = problem or "the cancellation policy is the supplier's: SetSupplierSettings"
    if problem:
        return refuse(R.INVALID, problem)
    supplier = next(p.id for p in cmd.parties if p.role is Role.SUPPLIER)
    booked_at = min(cmd.occurred_at, step.now)
    settings = in_force(step.ctx.supplier_settings, supplier, booked_at)
    return [
        OrderCreated(
            **step.stamp(status=S.CONFIRMATION),
            parties=cmd.parties,
            terms=stamped(terms, settings),
            respond_by=step.now + step.ctx.policy.confirmation_window,
        )
    ]


def edit(order: Order, cmd: EditOrder, step: Step) -> Outcome:
    """In confirmation an edit applies and the other party has 24 hours to answer (Rules
    P-02 to P-05, P-07), a new price pending until the customer accepts it (P-19); in
    progress it is a proposal the customer must accept (P-09)."""
    details, now, policy = postpaid_details(order), step.now, step.ctx.policy
    if cmd.accept_price is not None and step.actor.role is not Role.CUSTOMER:
        return refuse(R.NOT_AUTHORIZED, "only the customer accepts a price")
    changes = normalized_change(details.terms, cmd.changes, step.actor.role, now)
    if isinstance(changes, Rejection):
        return changes
    if order.status is S.CONFIRMATION:
        prices = edited_prices(details, changes, cmd.accept_price)
        if isinstance(prices, Rejection):
            return prices
        pending, accepted = prices
        other = Role.CUSTOMER if step.actor.role is Role.SUPPLIER else Role.SUPPLIER
        return [
            OrderEdited(
                **step.stamp(status=S.CONFIRMATION),
                changes=changes,
                comment=cmd.comment,
                awaiting=other,
                respond_by=now + policy.confirmation_window,
                pending_price=pending,
                accepted_price=accepted,
            )
        ]
    start = details.terms.appointment_start
    if now >= start:
        return refuse(R.WINDOW_CLOSED, "the appointment has started: it can no longer change")
    proposed_start = apply_change(details.terms, changes).appointment_start
    return [
        ChangeProposed(
            **step.stamp(status=S.IN_PROGRESS),
            proposal=details.proposals_made + 1,
            changes=changes,
            comment=cmd.comment,
            lapses_at=min(now + policy.proposal_lapse, start, proposed_start),
        )
    ]


def confirm(order: Order, cmd: ConfirmOrder, step: Step) -> Outcome:
    """The awaited party confirms: the order is in progress at once (Rules P-05, P-06);
    not while a new price of the supplier waits for the customer, whose confirmation
    accepts it (P-19)."""
    details = postpaid_details(order)
    if step.actor.role is not details.awaiting:
        awaited = details.awaiting.value if details.awaiting else "other party"
        return refuse(R.NOT_YOUR_TURN, f"the order waits for the {awaited}'s answer")
    pending = details.pending_price
    if pending is not None and step.actor.role is not Role.CUSTOMER:
        return refuse(
            R.PRICE_NOT_ACCEPTED,
            "the customer has not accepted the new price: restate it for the customer to "
            "accept, or edit the price back to withdraw it",
        )
    terms = details.terms
    return [
        OrderConfirmed(
            **step.stamp(status=S.IN_PROGRESS),
            terms=terms,
            auto_done_at=terms.appointment_end + step.ctx.policy.auto_done_after,
            accepted_price=pending,
        )
    ]


def cancel(order: Order, cmd: CancelOrder, step: Step) -> Outcome:
    """Either party cancels with a reason in confirmation (P-08); in progress the supplier
    until the service has been provided (P-10, P-20), the customer before the appointment,
    maybe for a fee (P-11)."""
    in_progress = order.status is S.IN_PROGRESS
    customer_in_progress = in_progress and step.actor.role is Role.CUSTOMER
    terms = postpaid_details(order).terms
    if customer_in_progress and step.now >= terms.appointment_start:
        return refuse(R.WINDOW_CLOSED, "the appointment has started: ask the supplier")
    if in_progress and step.now >= terms.appointment_end:
        return refuse(
            R.SERVICE_ALREADY_PROVIDED,
            "the appointment has ended: the service counts as provided (mark it done)",
        )
    return [
        OrderCancelled(
            **step.stamp(status=S.CANCELLED),
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
            **step.stamp(status=S.IN_PROGRESS),
            proposal=proposal.number,
            changes=proposal.changes,
            auto_done_at=terms.appointment_end + step.ctx.policy.auto_done_after,
        )
    ]


def reject(order: Order, cmd: RejectProposal, step: Step) -> Outcome:
    """The customer rejects the pending proposal; the terms stay (Rule P-09)."""
    proposal = _pending(order, cmd.proposal, step.now)
    if isinstance(proposal, Rejection):
        return proposal
    return [
        ProposalRejected(
            **step.stamp(status=S.IN_PROGRESS), proposal=proposal.number, comment=cmd.comment
        )
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
    return [OrderPaid(**step.stamp(status=S.CLOSED), payment_id=cmd.payment_id)]


def unpaid(order: Order, cmd: MarkOrderUnpaid, step: Step) -> Outcome:
    """Payments gives up collecting the money: the order ends, closed and marked unpaid,
    and the review opens (Rules P-21, P-17)."""
    return [
        OrderClosedUnpaid(**step.stamp(status=S.CLOSED), cause=cmd.cause, claim_id=cmd.claim_id)
    ]


def review(order: Order, cmd: LeaveReview, step: Step) -> Outcome:
    """The customer rates and reviews a closed order, once (Rule P-17)."""
    if postpaid_details(order).reviewed:
        return refuse(R.ALREADY_EXISTS, "this order has been reviewed already")
    ratings = carry(cmd, "service_rating supplier_rating text")
    return [ReviewLeft(**step.stamp(status=S.CLOSED), **ratings)]


def window_passed(order: Order, fired: DeadlineFired, step: Step) -> list[OrderEvent]:
    """Nobody answered within the window: cancelled (Rules P-02, P-07, P-19)."""
    unaccepted = postpaid_details(order).pending_price is not None
    return [
        OrderCancelled(
            **step.stamp(status=S.CANCELLED),
            reason="the customer did not accept the supplier's new price within the window"
            if unaccepted
            else "nobody confirmed the order within the confirmation window",
            previous_status=order.status,
        )
    ]


def proposal_lapsed(order: Order, fired: DeadlineFired, step: Step) -> list[OrderEvent]:
    """An unanswered proposal lapses; the current terms stand (Rule P-09)."""
    proposal = postpaid_details(order).proposal
    if proposal is None:
        return []
    return [ProposalLapsed(**step.stamp(status=S.IN_PROGRESS), proposal=proposal.number)]


def auto_done(order: Order, fired: DeadlineFired, step: Step) -> list[OrderEvent]:
    """72 hours after the appointment's end the service counts as done (Rule P-12)."""
    return [_done(step, automatic=True)]


def auto_confirm(order: Order, fired: DeadlineFired, step: Step) -> list[OrderEvent]:
    """Unconfirmed for 5 days, the execution counts as confirmed (Rule P-13)."""
    return [_execution_confirmed(order, step, automatic=True)]


def _done(step: Step, *, automatic: bool) -> ServiceMarkedDone:
    return ServiceMarkedDone(
        **step.stamp(status=S.EXECUTION_CONFIRMATION),
        automatic=automatic,
        confirm_by=step.now + step.ctx.policy.auto_confirm_after,
    )


def _execution_confirmed(order: Order, step: Step, *, automatic: bool) -> ExecutionConfirmed:
    terms = postpaid_details(order).terms
    return ExecutionConfirmed(
        **step.stamp(status=S.CLOSED if terms.payment_stage is False else S.PAYMENT),
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
TABLE = Table[S](
    name=Flow.POSTPAID.value,
    statuses=(S.CONFIRMATION, S.IN_PROGRESS, S.EXECUTION_CONFIRMATION, S.PAYMENT, S.CLOSED,
              S.CANCELLED),
    staff=frozenset({Role.SYSTEM}),
    ends=frozenset({S.CLOSED, S.CANCELLED}),
    rows=(
        *on(None, CreateOrder, create, to=S.CONFIRMATION, by=Role.CUSTOMER,
            rules="P-01 P-02"),
        *on(S.CONFIRMATION, EditOrder, edit, by=(Role.SUPPLIER, Role.CUSTOMER),
            rules="P-03 P-04 P-05 P-07 P-19", guard="restarts the other party's window"),
        *on(S.CONFIRMATION, ConfirmOrder, confirm, to=S.IN_PROGRESS,
            by=(Role.SUPPLIER, Role.CUSTOMER), rules="P-05 P-06 P-19",
            guard="the awaited party; a new price only by the customer"),
        *on(S.CONFIRMATION, CancelOrder, cancel, to=S.CANCELLED,
            by=(Role.SUPPLIER, Role.CUSTOMER), rules="P-08"),
        *on(S.IN_PROGRESS, EditOrder, edit, by=Role.SUPPLIER, rules="P-09",
            guard="before the appointment; a pending proposal"),
        *on(S.IN_PROGRESS, AcceptProposal, accept, by=Role.CUSTOMER, rules="P-09"),
        *on(S.IN_PROGRESS, RejectProposal, reject, by=Role.CUSTOMER, rules="P-09"),
        *on(S.IN_PROGRESS, CancelOrder, cancel, to=S.CANCELLED,
            by=(Role.SUPPLIER, Role.CUSTOMER), rules="P-10 P-11 P-20",
            guard="the customer before the appointment, the supplier before its end"),
        *on(S.IN_PROGRESS, MarkServiceDone, mark_done, to=S.EXECUTION_CONFIRMATION,
            by=Role.SUPPLIER, rules="P-12", guard="the appointment has started"),
        *on(S.EXECUTION_CONFIRMATION, ConfirmExecution, confirm_execution,
            to=(S.PAYMENT, S.CLOSED), by=Role.CUSTOMER, rules="P-13 P-14",
            guard="payment if the order has a payment stage"),
        *on(S.PAYMENT, MarkOrderPaid, paid, to=S.CLOSED, by=Role.SYSTEM, rules="P-15"),
        *on(S.CLOSED, LeaveReview, review, by=Role.CUSTOMER, rules="P-17", guard="once"),
        *on(S.PAYMENT, MarkOrderUnpaid, unpaid, to=S.CLOSED, by=Role.SYSTEM, rules="P-21"),
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
