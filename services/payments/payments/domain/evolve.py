"""`evolve` folds one payment event into a ledger; `track` folds one ordering event into
what payments knows of the order. Pure and deterministic.

After every event the timers the new state needs are derived from it (see `deadlines`).
An event type this module does not know still counts (version, time): a newer
producer's event never breaks the fold.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

from contracts import payments as pay
from contracts.envelope import Role
from contracts.orders import (
    Flow,
    OrderConfirmed,
    OrderCreated,
    OrderEdited,
    OrderEvent,
    PostpaidTerms,
    ProposalAccepted,
    TermsChange,
)
from payments.domain.deadlines import required
from payments.domain.model import (
    Claim,
    Deadline,
    DeadlineKind,
    Ledger,
    OrderFacts,
    PaymentRequest,
    Payout,
    Receipt,
    Refund,
)
from servicekit.deadlines import reconcile
from servicekit.decisions import EventMismatchError, Evolution, carry

_APPLY: Evolution[Ledger] = Evolution()
_on = _APPLY.on


def evolve(ledger: Ledger, event: pay.PaymentEvent) -> Ledger:
    """The ledger after `event`."""
    if event.order_id != ledger.order_id:
        raise EventMismatchError(f"{event.type} is about another order")
    apply = _APPLY.of(event)
    changed = apply(ledger, event) if apply else ledger
    changed = changed.model_copy(
        update={"version": ledger.version + 1, "updated_at": event.occurred_at}
    )
    return changed.model_copy(
        update={
            "deadlines": reconcile(Deadline, DeadlineKind, changed.deadlines, required(changed))
        }
    )


def fold(events: Iterable[pay.PaymentEvent], ledger: Ledger) -> Ledger:
    """`evolve` over events, in order."""
    for event in events:
        ledger = evolve(ledger, event)
    return ledger


def track(ledger: Ledger | None, event: OrderEvent) -> Ledger | None:
    """What payments knows of a post-paid order after ordering's `event`: its parties
    (with the contacts the notifier needs), its current terms and status. None for an
    order payments does not follow (another flow, or one it never saw created)."""
    if event.flow is not Flow.POSTPAID:
        return None
    if isinstance(event, OrderCreated):
        return ledger if ledger is not None else _created(event)
    if ledger is None:
        return None
    facts = ledger.facts
    terms = facts.terms
    if isinstance(event, OrderConfirmed):
        terms = event.terms
    elif isinstance(event, OrderEdited | ProposalAccepted):
        terms = _apply_change(terms, event.changes)
    facts = facts.model_copy(update={"terms": terms, "order_status": event.status})
    return ledger.model_copy(update={"facts": facts})


def _created(event: OrderCreated) -> Ledger | None:
    terms = event.terms
    supplier = next((p for p in event.parties if p.role is Role.SUPPLIER), None)
    customer = next((p for p in event.parties if p.role is Role.CUSTOMER), None)
    if not isinstance(terms, PostpaidTerms) or supplier is None or customer is None:
        return None
    facts = OrderFacts(supplier=supplier, customer=customer, terms=terms, order_status=event.status)
    return Ledger(order_id=event.order_id, facts=facts, updated_at=event.occurred_at)


def _apply_change(terms: PostpaidTerms, change: TermsChange) -> PostpaidTerms:
    """The terms after an edit or an accepted proposal: absent fields stay as they are."""
    given = change.model_dump(exclude_none=True)
    return terms.model_copy(update={k: getattr(change, k) for k in given})


def _request(ledger: Ledger) -> PaymentRequest:
    if ledger.request is None:
        raise EventMismatchError(f"order {ledger.order_id} has no payment request")
    return ledger.request


def _with(ledger: Ledger, part: Literal["request", "payout"], **changes: Any) -> Ledger:
    """The ledger with its payment request or payout changed: one it lacks means the
    events disagree."""
    current: PaymentRequest | Payout | None = getattr(ledger, part)
    if current is None:
        raise EventMismatchError(f"order {ledger.order_id} has no {part}")
    return ledger.model_copy(update={part: current.model_copy(update=changes)})


def _with_claim(ledger: Ledger, claim_id: str, **changes: Any) -> Ledger:
    claim = ledger.claim
    if claim is None or claim.claim_id != claim_id:
        raise EventMismatchError(f"{claim_id} is not the current claim")
    claims = (*ledger.claims[:-1], claim.model_copy(update=changes))
    return ledger.model_copy(update={"claims": claims})


# --- the payment request ----------------------------------------------------------------


@_on(pay.PaymentRequested)
def _payment_requested(ledger: Ledger, event: pay.PaymentRequested) -> Ledger:
    return _opened(ledger, event, automatic=False)


@_on(pay.ChargeRequested)
def _charge_requested(ledger: Ledger, event: pay.ChargeRequested) -> Ledger:
    return _opened(ledger, event, automatic=True)


def _opened(
    ledger: Ledger, event: pay.PaymentRequested | pay.ChargeRequested, automatic: bool
) -> Ledger:
    if ledger.request is not None:
        raise EventMismatchError(f"order {ledger.order_id} has a payment request already")
    request = PaymentRequest(
        **carry(event, "request_id purpose amount status due_at"),
        automatic=automatic,
        opened_at=event.occurred_at,
    )
    return ledger.model_copy(update={"request": request})


@_on(pay.ChargeFailed)
def _charge_failed(ledger: Ledger, event: pay.ChargeFailed) -> Ledger:
    return _with(ledger, "request", charge_failures=_request(ledger).charge_failures + 1)


@_on(pay.CancellationFeeAssessed)
def _fee_assessed(ledger: Ledger, event: pay.CancellationFeeAssessed) -> Ledger:
    return ledger.model_copy(update={"cancellation_fee": event.computation})


@_on(pay.PaymentReceived)
def _received(ledger: Ledger, event: pay.PaymentReceived) -> Ledger:
    fields = carry(event, "payment_id amount applied excess")
    receipt = Receipt(**fields, received_at=event.occurred_at)
    receipts = (*_request(ledger).receipts, receipt)
    return _with(ledger, "request", receipts=receipts, status=event.status)


@_on(pay.PaymentSettled)
def _settled(ledger: Ledger, event: pay.PaymentSettled) -> Ledger:
    return _with(ledger, "request", status=pay.RequestStatus.PAID, settled_at=event.occurred_at)


@_on(pay.PaymentOverdue)
def _overdue(ledger: Ledger, event: pay.PaymentOverdue) -> Ledger:
    return _with(ledger, "request", status=pay.RequestStatus.OVERDUE)


@_on(pay.RefundRequested)
def _refund(ledger: Ledger, event: pay.RefundRequested) -> Ledger:
    refund = Refund(payment_id=event.payment_id, amount=event.amount, cause=event.cause)
    return ledger.model_copy(update={"refunds": (*ledger.refunds, refund)})


# --- claims -----------------------------------------------------------------------------


@_on(pay.ClaimOpened)
def _claim_opened(ledger: Ledger, event: pay.ClaimOpened) -> Ledger:
    fields = carry(event, "claim_id number amount reason")
    claim = Claim(**fields, status=pay.ClaimStatus.OPENED, opened_at=event.occurred_at)
    return ledger.model_copy(update={"claims": (*ledger.claims, claim)})


@_on(pay.ClaimWithdrawn)
def _claim_withdrawn(ledger: Ledger, event: pay.ClaimWithdrawn) -> Ledger:
    return _with_claim(
        ledger,
        event.claim_id,
        status=pay.ClaimStatus.WITHDRAWN,
        closed_at=event.occurred_at,
        reopen_until=event.reopen_until,
    )


@_on(pay.ClaimPaid)
def _claim_paid(ledger: Ledger, event: pay.ClaimPaid) -> Ledger:
    return _with_claim(
        ledger, event.claim_id, status=pay.ClaimStatus.PAID, closed_at=event.occurred_at
    )


@_on(pay.ClaimWrittenOff)
def _claim_written_off(ledger: Ledger, event: pay.ClaimWrittenOff) -> Ledger:
    ledger = _with_claim(
        ledger, event.claim_id, status=pay.ClaimStatus.WRITTEN_OFF, closed_at=event.occurred_at
    )
    return _with(ledger, "request", status=pay.RequestStatus.WRITTEN_OFF)


@_on(pay.ClaimLapsed)
def _claim_lapsed(ledger: Ledger, event: pay.ClaimLapsed) -> Ledger:
    ledger = _with_claim(ledger, event.claim_id, status=pay.ClaimStatus.LAPSED)
    return _with(ledger, "request", status=pay.RequestStatus.WRITTEN_OFF)


# --- the payout -------------------------------------------------------------------------


@_on(pay.PayoutScheduled)
def _payout_scheduled(ledger: Ledger, event: pay.PayoutScheduled) -> Ledger:
    if ledger.payout is not None:
        raise EventMismatchError(f"order {ledger.order_id} has a payout already")
    fields = carry(
        event, "payout_id gross fee fee_percent net service_at scheduled_for expected_by"
    )
    payout = Payout(**fields, status=pay.PayoutStatus.SCHEDULED)
    return ledger.model_copy(update={"payout": payout})


@_on(pay.PayoutRequested)
def _payout_requested(ledger: Ledger, event: pay.PayoutRequested) -> Ledger:
    return _with(
        ledger,
        "payout",
        status=pay.PayoutStatus.PROCESSING,
        requested_at=event.occurred_at,
        expected_by=event.expected_by,
    )


@_on(pay.PayoutOverdue)
def _payout_overdue(ledger: Ledger, event: pay.PayoutOverdue) -> Ledger:
    return _with(ledger, "payout", overdue=True)


@_on(pay.PayoutPaid)
def _payout_paid(ledger: Ledger, event: pay.PayoutPaid) -> Ledger:
    return _with(
        ledger,
        "payout",
        status=pay.PayoutStatus.PAID,
        paid_at=event.occurred_at,
        reference=event.reference,
    )
