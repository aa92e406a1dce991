"""Payouts: the supplier's share of what was collected for an order (Rule P-18). The
TABLE at the bottom is a payout's lifecycle.

    scheduled   when the request is paid: released 14 days after the service (or at once
                if the money came later), net = gross - the platform's fee
    processing  released (`PayoutRequested` asks the gateway to send it); it should be
                credited within 5 business days, else `PayoutOverdue` tells ops
    paid        the gateway confirmed the transfer
"""

from __future__ import annotations

from collections.abc import Container
from datetime import date, datetime
from typing import Any

from contracts.envelope import Role
from contracts.payments import (
    ConfirmPayoutSent,
    PaymentRejectionReason,
    PayoutOverdue,
    PayoutPaid,
    PayoutRequested,
    PayoutScheduled,
    PayoutStatus,
    Purpose,
    RecordPayment,
)
from payments.domain.context import STAFF, DeadlineFired, Outcome, Step, refuse
from payments.domain.model import DeadlineKind, Entity, Ledger, PaymentRequest, Payout
from payments.domain.money import split
from payments.domain.policy import Policy
from servicekit.businessdays import add_business_days
from servicekit.tables import Table, Via, after, follows, on

S = PayoutStatus
R = PaymentRejectionReason


def payout_id(ledger: Ledger) -> str:
    return f"{ledger.order_id}:payout"


def processed_by(released: datetime, policy: Policy, days_off: Container[date]) -> datetime:
    """When a payout released at `released` should be credited: N business days later,
    reckoned in the business's timezone, skipping weekends and `days_off` (Rule P-18)."""
    local = released.astimezone(policy.business_tz)
    return add_business_days(local, policy.payout_processing_days, days_off)


def schedule(ledger: Ledger, request: PaymentRequest, step: Step) -> PayoutScheduled:
    """The money is in: the payout is scheduled `payout_delay` after the service was
    provided (the appointment's end; for a cancellation fee, the cancellation), or now
    if that is past. The fee is rounded half up and the net is the rest (Rule P-18)."""
    policy = step.ctx.policy
    if request.purpose is Purpose.ORDER_PRICE:
        service_at = ledger.facts.terms.appointment_end
    else:
        service_at = request.opened_at
    scheduled_for = max(service_at + policy.payout_delay, step.now)
    fee, net = split(request.amount, policy.platform_fee_percent)
    return PayoutScheduled(
        **step.stamp(payout_id=payout_id(ledger), status=S.SCHEDULED),
        supplier=ledger.facts.supplier,
        gross=request.amount,
        fee=fee,
        fee_percent=policy.platform_fee_percent,
        net=net,
        service_at=service_at,
        scheduled_for=scheduled_for,
        expected_by=processed_by(scheduled_for, policy, step.ctx.holidays),
    )


def release(ledger: Ledger, fired: DeadlineFired, step: Step) -> Outcome:
    """The payout date came: ask the gateway to send it; it is processing (Rule P-18)."""
    return [
        PayoutRequested(
            **_about(ledger, S.PROCESSING, step),
            net=_payout(ledger).net,
            expected_by=processed_by(step.now, step.ctx.policy, step.ctx.holidays),
        )
    ]


def overdue(ledger: Ledger, fired: DeadlineFired, step: Step) -> Outcome:
    """Processing took longer than allowed: a signal for ops; it stays processing."""
    expected_by = _payout(ledger).expected_by
    return [PayoutOverdue(**_about(ledger, S.PROCESSING, step), expected_by=expected_by)]


def confirm_sent(ledger: Ledger, cmd: ConfirmPayoutSent, step: Step) -> Outcome:
    """The gateway credited the supplier: the payout is paid (Rule P-18)."""
    payout = _payout(ledger)
    if cmd.payout_id != payout.payout_id:
        return refuse(R.UNKNOWN_PAYOUT, f"the order's payout is {payout.payout_id}")
    return [PayoutPaid(**_about(ledger, S.PAID, step), net=payout.net, reference=cmd.reference)]


def _about(ledger: Ledger, status: S, step: Step) -> dict[str, Any]:
    """What every event of a payout's says first: the payout, its new status, the supplier."""
    payout_id = _payout(ledger).payout_id
    return step.stamp(payout_id=payout_id, status=status, supplier=ledger.facts.supplier)


def _payout(ledger: Ledger) -> Payout:
    # The table only routes here when the payout exists.
    assert ledger.payout is not None, "no payout"
    return ledger.payout


# fmt: off
TABLE: Table[S] = Table(
    name=Entity.PAYOUT,
    statuses=(S.SCHEDULED, S.PROCESSING, S.PAID),
    ends=frozenset({S.PAID}),
    staff=STAFF,
    missing=R.UNKNOWN_PAYOUT,
    rows=(
        *follows(None, RecordPayment, via=Via.COMMAND, by=Role.SYSTEM, to=S.SCHEDULED,
                 rules="P-18", guard="when the payment request is paid"),
        *after(S.SCHEDULED, DeadlineKind.PAYOUT_RELEASE, release, to=S.PROCESSING,
               rules="P-18", guard="14 days after the service"),
        *on(S.PROCESSING, ConfirmPayoutSent, confirm_sent, by=Role.SYSTEM, to=S.PAID,
            rules="P-18"),
        *after(S.PROCESSING, DeadlineKind.PAYOUT_OVERDUE, overdue, rules="P-18",
               guard="5 business days passed: a signal for ops"),
    ),
)
# fmt: on
