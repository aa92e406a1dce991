"""The emails payments' events send (payments.events): rules P-15, P-16 and P-18.
Each of these events carries the party it concerns with its contact."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from contracts.envelope import Role
from contracts.payments import (
    ClaimOpened,
    PaymentOverdue,
    PaymentRequested,
    PayoutPaid,
    Purpose,
)
from contracts.topics import PAYMENTS_EVENTS
from notifier.domain.formatting import moment, money
from notifier.domain.model import EmailPolicy, OrderFacts
from notifier.domain.notices import Notice, PartyOf, notice

Facts = OrderFacts | None


def payment_due(event: PaymentRequested, facts: Facts, policy: EmailPolicy) -> Mapping[str, Any]:
    """P-15: what to pay, how, and by when (72 hours by default)."""
    return {
        "amount": money(event.amount),
        "due_at": moment(event.due_at, policy.timezone),
        "payment_method": event.payment_method,
        "for_cancellation_fee": event.purpose is Purpose.CANCELLATION_FEE,
    }


def overdue(event: PaymentOverdue, facts: Facts, policy: EmailPolicy) -> Mapping[str, Any]:
    """P-16: the window passed unpaid; the supplier may now open a claim."""
    return {
        "outstanding": money(event.outstanding),
        "due_at": moment(event.due_at, policy.timezone),
    }


def claim_opened(event: ClaimOpened, facts: Facts, policy: EmailPolicy) -> Mapping[str, Any]:
    """P-16: the supplier demands the overdue payment."""
    return {"amount": money(event.amount), "reason": event.reason, "claim_number": event.number}


def payout_sent(event: PayoutPaid, facts: Facts, policy: EmailPolicy) -> Mapping[str, Any]:
    """P-18: the supplier's payout was credited."""
    return {"net": money(event.net), "reference": event.reference}


T = PAYMENTS_EVENTS
R = Role

# fmt: off
NOTICES: tuple[Notice[Any], ...] = (
    notice(PaymentRequested, T, "payment_due", to=PartyOf("customer", R.CUSTOMER),
           rules="P-15", context=payment_due, uses_facts=True),
    notice(PaymentOverdue, T, "payment_overdue", to=PartyOf("customer", R.CUSTOMER),
           rules="P-16", context=overdue, uses_facts=True),
    notice(PaymentOverdue, T, "payment_overdue_supplier", to=PartyOf("supplier", R.SUPPLIER),
           rules="P-16", context=overdue, uses_facts=True),
    notice(ClaimOpened, T, "claim_opened", to=PartyOf("customer", R.CUSTOMER),
           rules="P-16", context=claim_opened, uses_facts=True),
    notice(PayoutPaid, T, "payout_sent", to=PartyOf("supplier", R.SUPPLIER),
           rules="P-18", context=payout_sent, uses_facts=True),
)
# fmt: on
