"""P-11: what a customer's cancellation during `in_progress` costs, and how it was worked
out. Pure: the moment of the cancellation comes in as an argument."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import ROUND_DOWN, Decimal
from typing import Literal

from contracts.orders import Money
from contracts.payments import CancellationPolicy, FeeComputation, FeeTier
from payments.domain.money import normalized, percent_of
from payments.domain.policy import Policy

Source = Literal["supplier", "default"]


def policy_for(
    supplier_id: str, policy: Policy, booked: CancellationPolicy | None = None
) -> tuple[CancellationPolicy, Source]:
    """The supplier's cancellation policy stamped on the order when it was booked (the
    terms the customer agreed to, `PostpaidTerms.cancellation_policy`), else the supplier's
    own from the configured file, else the default one (Rule P-11)."""
    if booked is not None:
        return booked, "supplier"
    own = policy.supplier_policies.get(supplier_id)
    return (own, "supplier") if own is not None else (policy.default_cancellation, "default")


def applicable_tier(policy: CancellationPolicy, before: timedelta) -> FeeTier | None:
    """The tier whose window holds a cancellation `before` the appointment: of the tiers
    with more than `before` hours, the one with the fewest. Exactly N hours before a tier
    of N hours is still outside it ("free until N hours before")."""
    inside = [t for t in policy.tiers if before < timedelta(hours=t.within_hours)]
    return min(inside, key=lambda t: t.within_hours, default=None)


def cancellation_fee(
    price: Money,
    appointment_start: datetime,
    cancelled_at: datetime,
    policy: CancellationPolicy,
    source: Source,
) -> FeeComputation:
    """Rule P-11: the fee, as a computation the customer can follow."""
    before = max(appointment_start - cancelled_at, timedelta(0))
    tier = applicable_tier(policy, before)
    percent = tier.percent if tier is not None else Decimal(0)
    hours = (Decimal(before.total_seconds()) / Decimal(3600)).quantize(
        Decimal("0.01"), rounding=ROUND_DOWN
    )
    return FeeComputation(
        price=normalized(price),
        appointment_start=appointment_start,
        cancelled_at=cancelled_at,
        hours_before=hours,
        policy_source=source,
        policy=policy,
        applied_tier=tier,
        percent=percent,
        amount=percent_of(price, percent),
    )
