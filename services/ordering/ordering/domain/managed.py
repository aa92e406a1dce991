"""Managed orders (seed 000, rules M-01 to M-19): member sells, operator reviews, client
confirms. The TABLE at the bottom is the flow; the functions above it are its handlers."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, time, timedelta
from typing import Literal

from contracts.envelope import Role
from contracts.orders import (
    ApproveCancellation,
    CancellationRefused,
    CancellationRequested,
    ConfirmAsClient,
    ConfirmOrder,
    CreateOrder,
    DeclineAsClient,
    DiscardDraft,
    DraftDiscarded,
    DraftEdited,
    DuplicateOrder,
    EditDraft,
    Flow,
    InvoicingCompleted,
    ManagedTerms,
    MarkInvoicingComplete,
    OperatorReviewOverdue,
    OrderActivated,
    OrderCancelled,
    OrderCompleted,
    OrderCreated,
    OrderDuplicated,
    OrderEvent,
    OrderRejected,
    OrderReturned,
    OrderSentToClient,
    OrderStatus,
    OrderSubmitted,
    OrderWithdrawn,
    RefuseCancellation,
    RejectionReason,
    RejectOrder,
    RequestCancellation,
    ReturnOrder,
    ServicePeriodEnded,
    SubmitOrder,
    WithdrawOrder,
)
from ordering.domain.common import parties_problem, replace_party
from ordering.domain.context import DeadlineFired, Outcome, Rejection, Step, refuse
from ordering.domain.model import DeadlineKind, ManagedDetails, Order, managed_details
from ordering.domain.tokens import ExpiredTokenError, TokenError, issue_token, verify_token
from servicekit.businessdays import add_weekday_time
from servicekit.decisions import carry
from servicekit.tables import Table, after, on

S = OrderStatus
R = RejectionReason


def _terms_problem(terms: ManagedTerms) -> str | None:
    if terms.service_end < terms.service_start:
        return "the service period ends before it starts"
    if len({i.amount.currency for i in terms.planned_invoices}) > 1:
        return "all planned invoices of an order must be in one currency"
    return None


def create(order: None, cmd: CreateOrder, step: Step) -> Outcome:
    """A member saves a new order as a draft (Rule M-01)."""
    assert isinstance(cmd.terms, ManagedTerms)
    roles = frozenset({Role.MEMBER, Role.CLIENT})
    problem = parties_problem(cmd.parties, step.actor, roles, frozenset({Role.CLIENT}))
    problem = problem or _terms_problem(cmd.terms)
    if problem:
        return refuse(R.INVALID, problem)
    return [OrderCreated(**step.stamp(status=S.DRAFT), parties=cmd.parties, terms=cmd.terms)]


def edit_draft(order: Order, cmd: EditDraft, step: Step) -> Outcome:
    """A draft can be edited any number of times before it is submitted (Rule M-01)."""
    if not isinstance(cmd.terms, ManagedTerms):
        return refuse(R.INVALID, "a managed order takes managed terms")
    parties = order.parties
    if cmd.client is not None:
        if cmd.client.role is not Role.CLIENT or cmd.client.contact is None:
            return refuse(R.INVALID, "the client must have the client role and an email")
        parties = replace_party(parties, cmd.client)
    if problem := _terms_problem(cmd.terms):
        return refuse(R.INVALID, problem)
    return [DraftEdited(**step.stamp(status=S.DRAFT), parties=list(parties), terms=cmd.terms)]


def submit(order: Order, cmd: SubmitOrder, step: Step) -> Outcome:
    """Submit for operator review (Rule M-03), refusing a past or too short offer (M-07)."""
    terms, now, policy = managed_details(order).terms, step.now, step.ctx.policy
    if terms.offer_valid_until <= now:
        return refuse(R.OFFER_EXPIRED, "the offer's validity has passed: set a later date")
    left = terms.offer_valid_until - now
    if not terms.skip_client_confirmation and left < policy.min_client_confirmation:
        return refuse(
            R.CONFIRMATION_WINDOW_TOO_SHORT,
            f"the client would have {_days(left)} to confirm; "
            f"the minimum is {_days(policy.min_client_confirmation)}",
        )
    if not terms.planned_invoices:
        return refuse(R.INVALID, "an order needs at least one planned invoice (M-10)")
    review_due = add_weekday_time(
        now.astimezone(policy.business_tz), policy.review_target, policy.days_off
    )
    return [
        OrderSubmitted(
            **step.stamp(status=S.OPERATOR_REVIEW),
            offer_valid_until=terms.offer_valid_until,
            review_due_at=review_due,
        )
    ]


def review_confirm(order: Order, cmd: ConfirmOrder, step: Step) -> Outcome:
    """The operator confirms: to the client with a signed link, or active at once if the
    member skipped client confirmation (Rules M-05, M-06, M-08)."""
    terms = managed_details(order).terms
    if terms.skip_client_confirmation:
        return [_activated(order, step)]
    if terms.offer_valid_until <= step.now:
        return refuse(R.WINDOW_CLOSED, "the offer has expired: the order can only be rejected")
    client = order.party(Role.CLIENT)
    assert client is not None
    token = issue_token(step.ctx.token_secret, order.order_id, client.id, terms.offer_valid_until)
    return [
        OrderSentToClient(
            **step.stamp(status=S.CLIENT_CONFIRMATION),
            client=client,
            confirmation_token=token,
            offer_valid_until=terms.offer_valid_until,
        )
    ]


def review_reject(order: Order, cmd: RejectOrder, step: Step) -> Outcome:
    """The operator rejects, with a reason (Rule M-05)."""
    return [_rejected(order, step, "operator", cmd.reason)]


def client_confirm(order: Order, cmd: ConfirmAsClient, step: Step) -> Outcome:
    """The client confirms through the signed link while the offer is valid (Rule M-08)."""
    problem = _token_problem(order, cmd.token, step)
    return problem or [_activated(order, step)]


def client_decline(order: Order, cmd: DeclineAsClient, step: Step) -> Outcome:
    """The client declines through the signed link (Rule M-08)."""
    if problem := _token_problem(order, cmd.token, step):
        return problem
    return [_rejected(order, step, "client", cmd.reason)]


def request_cancellation(order: Order, cmd: RequestCancellation, step: Step) -> Outcome:
    """The member asks to cancel an active order with a detailed reason (Rule M-13)."""
    least = step.ctx.policy.min_cancellation_reason
    if len(cmd.reason.strip()) < least:
        return refuse(R.INVALID, f"give a detailed reason: at least {least} characters")
    return [CancellationRequested(**step.stamp(status=S.CANCELLATION_REQUESTED), reason=cmd.reason)]


def approve_cancellation(order: Order, cmd: ApproveCancellation, step: Step) -> Outcome:
    """The operator approves; invoicing then cancels and voids (Rules M-13, M-14)."""
    reason = managed_details(order).cancellation_reason
    return [
        OrderCancelled(
            **step.stamp(status=S.CANCELLED), reason=reason, previous_status=order.status
        )
    ]


def refuse_cancellation(order: Order, cmd: RefuseCancellation, step: Step) -> Outcome:
    """The operator refuses: back to active, or completed if M-16 was met meanwhile."""
    events: list[OrderEvent] = [
        CancellationRefused(**step.stamp(status=S.ACTIVE), reason=cmd.reason)
    ]
    return events + _complete_if_done(managed_details(order), step, active=True)


def invoicing_complete(order: Order, cmd: MarkInvoicingComplete, step: Step) -> Outcome:
    """Every planned invoice is issued; completed if the service period is over (M-16)."""
    events: list[OrderEvent] = [InvoicingCompleted(**step.stamp(status=order.status))]
    details = replace(managed_details(order), invoicing_complete=True)
    return events + _complete_if_done(details, step, active=order.status is S.ACTIVE)


def duplicate(order: Order, cmd: DuplicateOrder, step: Step) -> Outcome:
    """A rejected order is copied into a new draft linked to it (Rule M-15)."""
    new_id = step.ctx.new_order_id()
    terms = managed_details(order).terms
    return [
        OrderDuplicated(**step.stamp(status=S.REJECTED), new_order_id=new_id),
        OrderCreated(
            **step.stamp(status=S.DRAFT, order_id=new_id),
            parties=list(order.parties),
            terms=terms,
            duplicated_from=order.order_id,
        ),
    ]


def review_overdue(order: Order, fired: DeadlineFired, step: Step) -> list[OrderEvent]:
    """Unreviewed after 24 weekday hours: a signal, the status stays (Rule M-04)."""
    due = managed_details(order).review_due_at or fired.due_at
    return [OperatorReviewOverdue(**step.stamp(status=order.status), review_due_at=due)]


def offer_expired(order: Order, fired: DeadlineFired, step: Step) -> list[OrderEvent]:
    """No answer by "offer valid until": rejected with reason offer_expired (Rule M-09)."""
    reason = "the offer's validity passed before the order was confirmed"
    return [_rejected(order, step, "offer_expired", reason)]


def service_period_ended(order: Order, fired: DeadlineFired, step: Step) -> list[OrderEvent]:
    """The service period is over; completed if every invoice is issued (Rule M-16)."""
    events: list[OrderEvent] = [ServicePeriodEnded(**step.stamp(status=order.status))]
    details = replace(managed_details(order), service_ended=True)
    return events + _complete_if_done(details, step, active=order.status is S.ACTIVE)


def return_to_member(order: Order, cmd: ReturnOrder, step: Step) -> Outcome:
    """The operator sends the order back to draft with a question or comment; the old
    review's deadlines close, and submitting again starts a new review (Rule M-18)."""
    return [OrderReturned(**step.stamp(status=S.DRAFT), comment=cmd.comment)]


def withdraw(order: Order, cmd: WithdrawOrder, step: Step) -> Outcome:
    """The member takes the order back to draft before the operator decides (Rule M-19)."""
    return [OrderWithdrawn(**step.stamp(status=S.DRAFT))]


def discard(order: Order, cmd: DiscardDraft, step: Step) -> Outcome:
    """The member discards a draft: kept, theirs alone to see, never changed (Rule M-19)."""
    return [DraftDiscarded(**step.stamp(status=S.DISCARDED))]


def _complete_if_done(details: ManagedDetails, step: Step, *, active: bool) -> list[OrderEvent]:
    # M-16 needs both facts; whichever arrives last completes the order, if it is active.
    if active and details.invoicing_complete and details.service_ended:
        return [OrderCompleted(**step.stamp(status=S.COMPLETED))]
    return []


def _rejected(
    order: Order, step: Step, cause: Literal["operator", "client", "offer_expired"], reason: str
) -> OrderRejected:
    # The status it left lets the notifier tell "expired in review" from "the client did
    # not answer" (M-09).
    return OrderRejected(
        **step.stamp(status=S.REJECTED), cause=cause, reason=reason, previous_status=order.status
    )


def _activated(order: Order, step: Step) -> OrderActivated:
    details = managed_details(order)
    terms, tz = details.terms, step.ctx.policy.business_tz
    # The period's last day counts in full: it ends at the following midnight.
    ends_at = datetime.combine(terms.service_end + timedelta(days=1), time(0), tzinfo=tz)
    return OrderActivated(
        **step.stamp(status=S.ACTIVE),
        confirmed_by=step.actor.role,
        no_payment_guarantee=details.no_payment_guarantee,
        **carry(terms, "proof_document planned_invoices service_start service_end"),
        service_ends_at=ends_at,
    )


def _token_problem(order: Order, token: str, step: Step) -> Rejection | None:
    try:
        client_id = verify_token(step.ctx.token_secret, token, order.order_id, step.now)
    except ExpiredTokenError:
        return refuse(R.WINDOW_CLOSED, "the offer is no longer valid")
    except TokenError as error:
        return refuse(R.INVALID_TOKEN, str(error))
    if client_id != step.actor.id:
        return refuse(R.NOT_AUTHORIZED, "this confirmation link belongs to another client")
    return None


def _days(span: timedelta) -> str:
    return f"{span.total_seconds() / 86400:.1f} days"


# fmt: off
TABLE = Table[S](
    name=Flow.MANAGED.value,
    statuses=(S.DRAFT, S.OPERATOR_REVIEW, S.CLIENT_CONFIRMATION, S.ACTIVE,
              S.CANCELLATION_REQUESTED, S.REJECTED, S.CANCELLED, S.COMPLETED, S.DISCARDED),
    staff=frozenset({Role.OPERATOR, Role.SYSTEM}),
    ends=frozenset({S.REJECTED, S.CANCELLED, S.COMPLETED, S.DISCARDED}),
    rows=(
        *on(None, CreateOrder, create, to=S.DRAFT, by=Role.MEMBER, rules="M-01"),
        *on(S.DRAFT, EditDraft, edit_draft, by=Role.MEMBER, rules="M-01"),
        *on(S.DRAFT, SubmitOrder, submit, to=S.OPERATOR_REVIEW, by=Role.MEMBER,
            rules="M-03 M-07", guard="offer valid long enough"),
        *on(S.OPERATOR_REVIEW, ConfirmOrder, review_confirm,
            to=(S.CLIENT_CONFIRMATION, S.ACTIVE), by=Role.OPERATOR, rules="M-05 M-06 M-08",
            guard="active at once if client confirmation is skipped"),
        *on(S.OPERATOR_REVIEW, RejectOrder, review_reject, to=S.REJECTED, by=Role.OPERATOR,
            rules="M-05"),
        *on(S.CLIENT_CONFIRMATION, ConfirmAsClient, client_confirm, to=S.ACTIVE,
            by=Role.CLIENT, rules="M-08", guard="signed token, offer valid"),
        *on(S.CLIENT_CONFIRMATION, DeclineAsClient, client_decline, to=S.REJECTED,
            by=Role.CLIENT, rules="M-08", guard="signed token, offer valid"),
        *on(S.ACTIVE, RequestCancellation, request_cancellation, to=S.CANCELLATION_REQUESTED,
            by=Role.MEMBER, rules="M-13", guard="detailed reason"),
        *on(S.CANCELLATION_REQUESTED, ApproveCancellation, approve_cancellation,
            to=S.CANCELLED, by=Role.OPERATOR, rules="M-13 M-14"),
        *on(S.CANCELLATION_REQUESTED, RefuseCancellation, refuse_cancellation,
            to=(S.ACTIVE, S.COMPLETED), by=Role.OPERATOR, rules="M-13 M-16",
            guard="completed if M-16 was met meanwhile"),
        *on(S.ACTIVE, MarkInvoicingComplete, invoicing_complete, to=(S.ACTIVE, S.COMPLETED),
            by=Role.SYSTEM, rules="M-16", guard="completed if the service period ended"),
        *on(S.CANCELLATION_REQUESTED, MarkInvoicingComplete, invoicing_complete,
            by=Role.SYSTEM, rules="M-16"),
        *on(S.REJECTED, DuplicateOrder, duplicate, by=Role.MEMBER, rules="M-15",
            guard="the copy is a new draft"),
        *on(S.OPERATOR_REVIEW, ReturnOrder, return_to_member, to=S.DRAFT, by=Role.OPERATOR,
            rules="M-18", guard="with a question or comment"),
        *on(S.OPERATOR_REVIEW, WithdrawOrder, withdraw, to=S.DRAFT, by=Role.MEMBER,
            rules="M-19"),
        *on(S.DRAFT, DiscardDraft, discard, to=S.DISCARDED, by=Role.MEMBER, rules="M-19"),
        *after(S.OPERATOR_REVIEW, DeadlineKind.REVIEW_OVERDUE, review_overdue, rules="M-04"),
        *after((S.OPERATOR_REVIEW, S.CLIENT_CONFIRMATION), DeadlineKind.OFFER_EXPIRY,
               offer_expired, to=S.REJECTED, rules="M-09"),
        *after(S.ACTIVE, DeadlineKind.SERVICE_END, service_period_ended,
               to=(S.ACTIVE, S.COMPLETED), rules="M-16",
               guard="completed if every invoice is issued"),
        *after(S.CANCELLATION_REQUESTED, DeadlineKind.SERVICE_END, service_period_ended,
               rules="M-16"),
    ),
)
# fmt: on
