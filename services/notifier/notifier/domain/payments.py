"""The emails payments' events send (payments.events): rules P-15, P-16, P-18 and P-21.
Each of these events carries the party it concerns with its contact."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from contracts.envelope import Role
from contracts.payments import (
    CancellationFeeAssessed,
    ChargeFailed,
    ChargeRequested,
    ClaimLapsed,
    ClaimOpened,
    ClaimPaid,
    ClaimWithdrawn,
    ClaimWrittenOff,
    PaymentOverdue,
    PaymentReceived,
    PaymentRequested,
    PaymentSettled,
    PayoutPaid,
    PayoutScheduled,
    Purpose,
    RefundRequested,
)
from contracts.topics import PAYMENTS_EVENTS
from notifier.domain.formatting import money, shown
from notifier.domain.model import EmailPolicy, OrderFacts
from notifier.domain.notices import PartyOf, Rows, StoredParty, notice

Facts = OrderFacts | None


def payment_due(event: PaymentRequested, facts: Facts, policy: EmailPolicy) -> Mapping[str, Any]:
    """P-15: what to pay, how, and by when (72 hours by default)."""
    return {
        **shown(event, policy.timezone, "amount", "due_at", "payment_method"),
        "for_cancellation_fee": event.purpose is Purpose.CANCELLATION_FEE,
    }


def overdue(event: PaymentOverdue, facts: Facts, policy: EmailPolicy) -> Mapping[str, Any]:
    """P-16: the window passed unpaid; the supplier may now open a claim."""
    return shown(event, policy.timezone, "outstanding", "due_at")


def claim_opened(event: ClaimOpened, facts: Facts, policy: EmailPolicy) -> Mapping[str, Any]:
    """P-16: the supplier demands the overdue payment."""
    return {"amount": money(event.amount), "reason": event.reason, "claim_number": event.number}


def payout_sent(event: PayoutPaid, facts: Facts, policy: EmailPolicy) -> Mapping[str, Any]:
    """P-18: the supplier's payout was credited."""
    return {"net": money(event.net), "reference": event.reference}


def charge(event: ChargeRequested, facts: Facts, policy: EmailPolicy) -> Mapping[str, Any]:
    """P-14 (seed 004), P-11: the amount is taken with the order's payment method."""
    return {
        **shown(event, policy.timezone, "amount", "payment_method"),
        "for_cancellation_fee": event.purpose is Purpose.CANCELLATION_FEE,
    }


#: X-11: a gateway's failure code as the customer reads it; others are shown as they are.
FAILURE_TEXTS = {
    "card_declined": "the card was declined",
    "insufficient_funds": "the account had insufficient funds",
    "expired_card": "the card has expired",
}


def charge_failed(event: ChargeFailed, facts: Facts, policy: EmailPolicy) -> Mapping[str, Any]:
    """X-11: the charge failed, why, what is still owed and by when it must be paid."""
    return {
        "failure_text": FAILURE_TEXTS.get(event.failure_code, event.failure_code),
        **shown(event, policy.timezone, "outstanding", "due_at"),
        "for_cancellation_fee": event.purpose is Purpose.CANCELLATION_FEE,
    }


def fee(event: CancellationFeeAssessed, facts: Facts, policy: EmailPolicy) -> Mapping[str, Any]:
    """P-11: the fee and every step of its computation, so either party can check it."""
    c = event.computation
    tiers = sorted(c.policy.tiers, key=lambda t: t.within_hours)
    return {
        **shown(c, policy.timezone, "amount", "price", "appointment_start", "cancelled_at"),
        "percent": f"{c.percent.normalize():f}",
        "hours_before": f"{c.hours_before:f}",
        "policy_source": c.policy_source,
        "tiers": [
            {"within_hours": t.within_hours, "percent": f"{t.percent.normalize():f}"} for t in tiers
        ],
        "applied_within_hours": c.applied_tier.within_hours if c.applied_tier else None,
        "charged": event.request_id is not None,
    }


def settled(event: PaymentSettled, facts: Facts, policy: EmailPolicy) -> Mapping[str, Any]:
    """P-15: the payment is complete; the supplier's payout follows (P-18)."""
    return {
        "amount": money(event.amount),
        "for_cancellation_fee": event.purpose is Purpose.CANCELLATION_FEE,
    }


def partial(event: PaymentReceived, facts: Facts, policy: EmailPolicy) -> Mapping[str, Any]:
    """P-15: part of the amount came in; the rest is still owed."""
    return {
        "amount": money(event.applied),
        **shown(event, policy.timezone, "paid_total", "outstanding"),
    }


def _partial(event: PaymentReceived) -> bool:
    return event.outstanding.amount > 0


def refund(event: RefundRequested, facts: Facts, policy: EmailPolicy) -> Mapping[str, Any]:
    """X-11: money not owed goes back to the customer."""
    return {"amount": money(event.amount), "cause": event.cause.value}


def claim_closed(
    event: ClaimWithdrawn | ClaimPaid | ClaimWrittenOff, facts: Facts, policy: EmailPolicy
) -> Mapping[str, Any]:
    """P-16: the claim ended: withdrawn, paid or written off."""
    amount = "" if isinstance(event, ClaimWithdrawn) else money(event.amount)
    return {"outcome": event.status.value, "amount": amount, "reason": getattr(event, "reason", "")}


def payout_scheduled(
    event: PayoutScheduled, facts: Facts, policy: EmailPolicy
) -> Mapping[str, Any]:
    """P-18: gross, fee and net, when the payout is released and when it should arrive."""
    return {
        **shown(event, policy.timezone, "gross", "fee", "net", "scheduled_for", "expected_by"),
        "fee_percent": f"{event.fee_percent.normalize():f}",
    }


def claim_lapsed(event: ClaimLapsed, facts: Facts, policy: EmailPolicy) -> Mapping[str, Any]:
    """P-21: the withdrawn claim was not opened again by `reopen_until`: the debt is given
    up. The customer hears that the order closed unpaid (OrderClosedUnpaid follows)."""
    return shown(event, policy.timezone, "amount", "reopen_until")


T = PAYMENTS_EVENTS
R = Role
CUSTOMER = PartyOf("customer", R.CUSTOMER)
SUPPLIER = PartyOf("supplier", R.SUPPLIER)

# fmt: off
NOTICES: tuple[Rows, ...] = (
    notice(PaymentRequested, T, "payment_due", to=CUSTOMER,
           rules="P-15", context=payment_due),
    notice(PaymentOverdue, T, "payment_overdue", to=CUSTOMER,
           rules="P-16", context=overdue),
    notice(PaymentOverdue, T, "payment_overdue_supplier", to=SUPPLIER,
           rules="P-16", context=overdue),
    notice(ClaimOpened, T, "claim_opened", to=CUSTOMER,
           rules="P-16", context=claim_opened),
    notice(PayoutPaid, T, "payout_sent", to=SUPPLIER,
           rules="P-18", context=payout_sent),
    # every party hears of what it will pay or receive.
    notice(ChargeRequested, T, "charge_requested", to=CUSTOMER,
           rules="P-11 P-14 X-11", context=charge),
    notice(ChargeFailed, T, "charge_failed", to=CUSTOMER,
           rules="P-11 P-14 X-11", context=charge_failed),
    notice(CancellationFeeAssessed, T, "cancellation_fee", to=(CUSTOMER, SUPPLIER),
           rules="P-11 X-11", context=fee),
    notice(PaymentSettled, T, "payment_settled", to=CUSTOMER,
           rules="P-15 X-11", context=settled),
    notice(PaymentSettled, T, "payment_settled", to=SUPPLIER,
           rules="P-15 P-18 X-11", context=settled),
    notice(PaymentReceived, T, "payment_partial", to=StoredParty(R.CUSTOMER),
           rules="P-15 X-11", context=partial, when=_partial,
           guard="part of the amount is still owed"),
    notice(RefundRequested, T, "refund_requested", to=CUSTOMER,
           rules="X-11", context=refund),
    notice(ClaimPaid, T, "claim_closed", to=(StoredParty(R.CUSTOMER), SUPPLIER),
           rules="P-16 X-11", context=claim_closed),
    notice(ClaimWithdrawn, T, "claim_closed", to=StoredParty(R.CUSTOMER),
           rules="P-16 X-11", context=claim_closed),
    notice(ClaimWrittenOff, T, "claim_closed", to=(StoredParty(R.CUSTOMER), SUPPLIER),
           rules="P-16 X-11", context=claim_closed),
    notice(PayoutScheduled, T, "payout_scheduled", to=SUPPLIER,
           rules="P-18 X-11", context=payout_scheduled),
    notice(ClaimLapsed, T, "claim_lapsed", to=SUPPLIER,
           rules="P-21 X-11", context=claim_lapsed),
)
# fmt: on
