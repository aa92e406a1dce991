"""The emails ordering's events send (orders.events): rules M-05 to M-18, P-02 to P-21,
A-10, A-13. Each context function turns one event into what its template shows."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from contracts.envelope import Role
from contracts.orders import (
    ApprovalRefused,
    CancellationRefused,
    ChangeProposed,
    ExecutionConfirmed,
    Flow,
    OrderActivated,
    OrderCancelled,
    OrderClosedUnpaid,
    OrderCompleted,
    OrderConfirmed,
    OrderCreated,
    OrderEdited,
    OrderPaid,
    OrderRejected,
    OrderReturned,
    OrderSentToClient,
    OrderStatus,
    PostpaidTerms,
    ProposalAccepted,
    ProposalLapsed,
    ProposalRejected,
    ReceiptResent,
    ServiceMarkedDone,
    TermsChange,
)
from contracts.topics import ORDERS_EVENTS
from notifier.domain.formatting import day, moment, money, one_line, shown
from notifier.domain.model import EmailPolicy, OrderFacts
from notifier.domain.notices import (
    AwaitingParty,
    ContactOf,
    OtherParty,
    PartyOf,
    Rows,
    StoredParty,
    notice,
    reason,
)

Facts = OrderFacts | None
S = OrderStatus

REJECTION_CAUSES = {
    "operator": "the member support team rejected it",
    "client": "the client declined it",
    "offer_expired": "the offer's validity passed without the client's answer",
    # M-09 fired while the order was still in operator_review: the client was never asked.
    "offer_expired_in_review": (
        "the offer's validity passed before the member support team finished reviewing it, "
        "so it was never sent to the client"
    ),
    # Neither the event nor what the notifier saw tells where the order stood.
    "offer_expired_unknown": "the offer's validity passed before the order was confirmed",
}


def _member_name(facts: Facts) -> str:
    member = facts.party(Role.MEMBER) if facts else None
    return one_line(member.contact.name) if member and member.contact else ""


def confirmation_request(
    event: OrderSentToClient, facts: Facts, policy: EmailPolicy
) -> Mapping[str, Any]:
    """M-05, M-08: the link to the client's confirmation page, and until when it works."""
    return {
        "confirmation_url": policy.confirmation_link(event.order_id, event.confirmation_token),
        "offer_valid_until": moment(event.offer_valid_until, policy.timezone),
        "member_name": _member_name(facts),
    }


def rejection_cause(event: OrderRejected, facts: Facts) -> str:
    """M-09: an expired offer reads differently when the client was never asked. Where the
    order stood comes from the event (`previous_status`), else from what the notifier saw
    (OrderSentToClient, `OrderFacts.client_asked`)."""
    if event.cause != "offer_expired":
        return event.cause
    before = event.previous_status
    if before is None and facts is not None:
        before = S.CLIENT_CONFIRMATION if facts.client_asked else S.OPERATOR_REVIEW
    if before is S.CLIENT_CONFIRMATION:
        return "offer_expired"
    if before is S.OPERATOR_REVIEW:
        return "offer_expired_in_review"
    return "offer_expired_unknown"


def rejected(event: OrderRejected, facts: Facts, policy: EmailPolicy) -> Mapping[str, Any]:
    """M-05, M-08, M-09; M-15: a rejected order can be duplicated and submitted again.
    An expired offer's reason is the system's; the cause text says it, knowing where the
    order stood (an older producer's "without an answer" would blame a client never asked)."""
    cause = rejection_cause(event, facts)
    return {
        "cause": cause,
        "cause_text": REJECTION_CAUSES.get(cause, cause),
        "reason": "" if event.cause == "offer_expired" else event.reason,
    }


def activated(event: OrderActivated, facts: Facts, policy: EmailPolicy) -> Mapping[str, Any]:
    """M-05, M-06, M-08: who confirmed, the guarantee flag, the service period and the
    planned invoices (M-10: a draft of each comes seven days before its date)."""
    return {
        "confirmed_by": event.confirmed_by.value,
        **shown(event, policy.timezone, "no_payment_guarantee", "service_start", "service_end"),
        "planned_invoices": [
            {"date": day(p.invoice_date), "amount": money(p.amount)} for p in event.planned_invoices
        ],
    }


#: Why an order was cancelled, as its parties read it (X-11), by the status it left.
AUTOMATIC_CANCELLATIONS = {
    S.CONFIRMATION: "nobody confirmed the order within the confirmation window (P-02)",
}


def cancelled(event: OrderCancelled, facts: Facts, policy: EmailPolicy) -> Mapping[str, Any]:
    """X-11, P-02, P-08, P-10, P-11, M-13: who cancelled, why, and whether a fee may follow
    (its computation comes in its own email, P-11)."""
    automatic = event.actor.role is Role.SYSTEM
    by = "automatic" if automatic else event.actor.role.value
    cause = AUTOMATIC_CANCELLATIONS.get(event.previous_status, "") if automatic else ""
    return {
        "cancelled_by": by,
        "automatic": automatic,
        "cause_text": cause,
        "reason": event.reason,
        "fee_may_apply": event.fee_may_apply,
    }


def confirmed(event: OrderConfirmed, facts: Facts, policy: EmailPolicy) -> Mapping[str, Any]:
    """P-03, P-06: the other party confirmed; the order is in progress on these terms."""
    return {**_appointment(event.terms, policy), "confirmed_by": event.actor.role.value}


def proposal_outcome(
    event: ProposalAccepted | ProposalRejected | ProposalLapsed, facts: Facts, policy: EmailPolicy
) -> Mapping[str, Any]:
    """P-09: a pending proposal was accepted (applied), rejected or lapsed (the order goes
    on with its current terms)."""
    return {
        "proposal": event.proposal,
        "outcome": event.type.removeprefix("Proposal").lower(),  # accepted, rejected, lapsed
        "changes": changes(event.changes, policy) if isinstance(event, ProposalAccepted) else [],
        "comment": event.comment if isinstance(event, ProposalRejected) else "",
    }


def _appointment(terms: PostpaidTerms, policy: EmailPolicy) -> dict[str, Any]:
    fields = ("service", "appointment_start", "appointment_end", "price", "payment_method")
    return shown(terms, policy.timezone, *fields)


def new_postpaid(event: OrderCreated, facts: Facts, policy: EmailPolicy) -> Mapping[str, Any]:
    """P-02: the other party has until `respond_by` to confirm or edit."""
    assert isinstance(event.terms, PostpaidTerms)
    respond_by = moment(event.respond_by, policy.timezone) if event.respond_by else ""
    return {
        **_appointment(event.terms, policy),
        "respond_by": respond_by,
        "created_by": event.actor.role.value,
    }


def changes(change: TermsChange, policy: EmailPolicy) -> list[dict[str, str]]:
    """P-03, P-04, P-09: what an edit changes, one labelled line per field."""
    lines = []
    if change.appointment_start is not None:
        lines.append(("Appointment starts", moment(change.appointment_start, policy.timezone)))
    if change.appointment_end is not None:
        lines.append(("Appointment ends", moment(change.appointment_end, policy.timezone)))
    if change.price is not None:
        lines.append(("Price", money(change.price)))
    if change.payment_method is not None:
        lines.append(("Payment method", change.payment_method))
    return [{"label": label, "value": value} for label, value in lines]


def edited(event: OrderEdited, facts: Facts, policy: EmailPolicy) -> Mapping[str, Any]:
    """P-05, P-07: the edit, its comment and the other party's new window."""
    return {
        "changes": changes(event.changes, policy),
        **shown(event, policy.timezone, "comment", "respond_by"),
        "edited_by": event.actor.role.value,
        "price_changed": event.changes.price is not None,
    }


def proposed(event: ChangeProposed, facts: Facts, policy: EmailPolicy) -> Mapping[str, Any]:
    """P-09: a pending proposal the customer accepts or rejects before it lapses."""
    return {
        **shown(event, policy.timezone, "proposal", "comment", "lapses_at"),
        "changes": changes(event.changes, policy),
    }


def execution_done(
    event: ServiceMarkedDone, facts: Facts, policy: EmailPolicy
) -> Mapping[str, Any]:
    """P-12, P-13: the customer confirms the service by `confirm_by`, or it confirms itself."""
    return {"confirm_by": moment(event.confirm_by, policy.timezone), "automatic": event.automatic}


def closed(
    event: ExecutionConfirmed | OrderPaid, facts: Facts, policy: EmailPolicy
) -> Mapping[str, Any]:
    """P-17: the order is closed; the customer may rate and review it, once."""
    return {"review_url": review_link(event, facts, policy), "paid": isinstance(event, OrderPaid)}


def review_link(event: Any, facts: Facts, policy: EmailPolicy) -> str:
    """P-17: the customer's review link, signed for the customer, valid from the close."""
    customer = None if facts is None else facts.party(Role.CUSTOMER)
    return policy.review_link(event.order_id, customer, event.occurred_at)


def receipt(
    event: OrderCompleted | ReceiptResent, facts: Facts, policy: EmailPolicy
) -> Mapping[str, Any]:
    """A-10: the receipt of a completed account order, or its copy (whose total is the
    one the order's terms give, as OrderCreated / DraftEdited told them)."""
    total = event.total if isinstance(event, OrderCompleted) else None
    total = total or (facts.total if facts else None)
    return {"resent": isinstance(event, ReceiptResent), "total": money(total) if total else ""}


def _closes(event: ExecutionConfirmed | OrderPaid) -> bool:
    return event.status is OrderStatus.CLOSED


def _has_receipt_address(event: OrderCompleted) -> bool:
    return event.receipt_to is not None


def _decided_cancellation(event: OrderCancelled) -> bool:
    return (
        event.flow is Flow.MANAGED and event.previous_status is OrderStatus.CANCELLATION_REQUESTED
    )


def _postpaid(event: OrderCreated) -> bool:
    return event.flow is Flow.POSTPAID


def _managed(event: OrderCancelled) -> bool:
    return event.flow is Flow.MANAGED


def _not_by(role: Role) -> Callable[[OrderCancelled | OrderConfirmed], bool]:
    """A post-paid event the party in `role` did not do itself: it hears of it (X-11)."""

    def check(event: OrderCancelled | OrderConfirmed) -> bool:
        return event.flow is Flow.POSTPAID and event.actor.role is not role

    return check


def _client_not_asked(event: OrderActivated) -> bool:
    return event.confirmed_by is not Role.CLIENT


def _expired_awaiting_client(event: OrderRejected) -> bool:
    """M-09: the offer expired while the client had it (known from `previous_status`
    only: a client never asked is not told of an offer it never saw)."""
    return event.cause == "offer_expired" and event.previous_status is S.CLIENT_CONFIRMATION


def returned(event: OrderReturned, facts: Facts, policy: EmailPolicy) -> Mapping[str, Any]:
    """M-18: the operator's question or comment; the member edits and submits again."""
    return {"comment": event.comment}


#: P-21: why the money was finally not collected, as the parties read it.
UNPAID_CAUSES = {
    "claim_written_off": "the claim for the payment was written off, so the debt is given up",
    "claim_withdrawn": (
        "the supplier withdrew its claim for the payment and did not open it again in time, "
        "so the debt is given up"
    ),
}


def closed_unpaid(event: OrderClosedUnpaid, facts: Facts, policy: EmailPolicy) -> Mapping[str, Any]:
    """P-21, P-17: the order ended unpaid, why; the customer may still review it."""
    return {
        "cause": event.cause,
        "cause_text": UNPAID_CAUSES.get(event.cause, event.cause),
        "review_url": review_link(event, facts, policy),
    }


T = ORDERS_EVENTS
R = Role

# fmt: off
NOTICES: tuple[Rows, ...] = (
    notice(OrderSentToClient, T, "client_confirmation_request", to=PartyOf("client", R.CLIENT),
           rules="M-05 M-08", context=confirmation_request),
    notice(OrderRejected, T, "order_rejected", to=StoredParty(R.MEMBER),
           rules="M-05 M-08 M-09 M-15", context=rejected),
    notice(OrderCancelled, T, "cancellation_approved", to=StoredParty(R.MEMBER),
           rules="M-13 M-14", context=reason, when=_decided_cancellation,
           guard="a managed order's cancellation request was approved"),
    notice(CancellationRefused, T, "cancellation_refused", to=StoredParty(R.MEMBER),
           rules="M-13", context=reason),
    notice(OrderCreated, T, "order_awaiting_confirmation", to=OtherParty(R.SUPPLIER),
           rules="P-02", context=new_postpaid, when=_postpaid, guard="post-paid orders",
           uses_facts=False),
    notice(OrderEdited, T, "order_edit_awaiting_confirmation", to=AwaitingParty(),
           rules="P-05 P-07", context=edited),
    notice(ChangeProposed, T, "change_proposed", to=StoredParty(R.CUSTOMER),
           rules="P-09", context=proposed),
    notice(ServiceMarkedDone, T, "execution_to_confirm", to=StoredParty(R.CUSTOMER),
           rules="P-12 P-13", context=execution_done),
    notice(ExecutionConfirmed, T, "review_invitation", to=StoredParty(R.CUSTOMER),
           rules="P-14 P-17", context=closed, when=_closes,
           guard="the order closes (no payment stage)"),
    notice(OrderPaid, T, "review_invitation", to=StoredParty(R.CUSTOMER),
           rules="P-15 P-17", context=closed, when=_closes, guard="the order closes"),
    notice(OrderCompleted, T, "receipt", to=ContactOf("receipt_to", R.CUSTOMER),
           rules="A-10", context=receipt, when=_has_receipt_address,
           guard="an account order (it has `receipt_to`)", uses_facts=False),
    notice(ReceiptResent, T, "receipt", to=ContactOf("receipt_to", R.CUSTOMER),
           rules="A-10", context=receipt),
    # every party hears of what concerns it.
    notice(OrderActivated, T, "order_activated", to=StoredParty(R.MEMBER),
           rules="M-05 M-06 M-08 X-11", context=activated),
    notice(OrderActivated, T, "order_activated", to=StoredParty(R.CLIENT),
           rules="M-05 M-06 X-11", context=activated, when=_client_not_asked,
           guard="the member skipped client confirmation"),
    notice(OrderCancelled, T, "order_cancelled", to=StoredParty(R.CLIENT),
           rules="M-13 M-14 X-11", context=cancelled, when=_managed, guard="a managed order"),
    notice(OrderCancelled, T, "order_cancelled", to=StoredParty(R.SUPPLIER),
           rules="P-02 P-08 P-10 P-11 X-11", context=cancelled, when=_not_by(R.SUPPLIER),
           guard="a post-paid order the supplier did not cancel itself"),
    notice(OrderCancelled, T, "order_cancelled", to=StoredParty(R.CUSTOMER),
           rules="P-02 P-08 P-10 P-11 X-11", context=cancelled, when=_not_by(R.CUSTOMER),
           guard="a post-paid order the customer did not cancel itself"),
    notice(OrderConfirmed, T, "order_confirmed", to=StoredParty(R.CUSTOMER),
           rules="P-03 P-06 X-11", context=confirmed, when=_not_by(R.CUSTOMER),
           guard="the supplier confirmed"),
    notice(OrderConfirmed, T, "order_confirmed", to=StoredParty(R.SUPPLIER),
           rules="P-05 P-06 X-11", context=confirmed, when=_not_by(R.SUPPLIER),
           guard="the customer confirmed"),
    notice(ProposalAccepted, T, "proposal_outcome", to=StoredParty(R.SUPPLIER),
           rules="P-09 X-11", context=proposal_outcome),
    notice(ProposalRejected, T, "proposal_outcome", to=StoredParty(R.SUPPLIER),
           rules="P-09 X-11", context=proposal_outcome),
    notice(ProposalLapsed, T, "proposal_outcome",
           to=(StoredParty(R.SUPPLIER), StoredParty(R.CUSTOMER)), rules="P-09 X-11",
           context=proposal_outcome),
    notice(OrderRejected, T, "offer_expired", to=StoredParty(R.CLIENT),
           rules="M-09 X-11", context=rejected, when=_expired_awaiting_client,
           guard="the offer expired while awaiting the client"),
    notice(OrderReturned, T, "order_returned", to=StoredParty(R.MEMBER),
           rules="M-18 X-11", context=returned),
    notice(ApprovalRefused, T, "approval_refused", to=StoredParty(R.AGENT),
           rules="A-13 X-11", context=reason),
    notice(OrderClosedUnpaid, T, "order_closed_unpaid", to=StoredParty(R.SUPPLIER),
           rules="P-21 X-11", context=closed_unpaid),
    notice(OrderClosedUnpaid, T, "order_closed_unpaid", to=StoredParty(R.CUSTOMER),
           rules="P-17 P-21 X-11", context=closed_unpaid),
)
# fmt: on
