"""Cancellation fees (P-11): a customer who cancels during `in_progress` pays what the
supplier's policy says, shown with how it was computed."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from types import MappingProxyType

import pytest

from contracts.orders import Money, OrderCancelled, ProposalAccepted, TermsChange
from contracts.payments import (
    CancellationFeeAssessed,
    CancellationPolicy,
    ChargeRequested,
    FeeTier,
    Purpose,
    RecordPayment,
)
from payments.domain import DeadlineKind, Policy, cancellation_fee, policy_for
from tests.unit.payments.payments_kit import (
    CUSTOMER,
    GATEWAY,
    START,
    SUPPLIER,
    S,
    cancelled_by_customer,
    eur,
    in_progress,
    order_event,
    payment,
)

TIERED = CancellationPolicy(
    tiers=[
        FeeTier(within_hours=48, percent=Decimal(25)),
        FeeTier(within_hours=24, percent=Decimal(50)),
        FeeTier(within_hours=2, percent=Decimal(100)),
    ]
)


def fee(before: timedelta, policy: CancellationPolicy = TIERED, price: str = "60.00") -> Money:
    return cancellation_fee(eur(price), START, START - before, policy, "supplier").amount


@pytest.mark.parametrize(
    ("before", "expected"),
    [
        (timedelta(days=3), "0.00"),
        (timedelta(hours=48), "0.00"),  # "free until 48 hours before": exactly 48 is free
        (timedelta(hours=47, minutes=59), "15.00"),
        (timedelta(hours=24), "15.00"),
        (timedelta(hours=23), "30.00"),
        (timedelta(hours=1), "60.00"),
        (timedelta(0), "60.00"),
    ],
)
def test_P11_the_tier_closest_to_the_appointment_that_holds_the_cancellation_applies(
    before: timedelta, expected: str
) -> None:
    assert fee(before) == eur(expected)


def test_P11_the_fee_is_rounded_half_up_to_the_cent() -> None:
    third = CancellationPolicy(tiers=[FeeTier(within_hours=24, percent=Decimal("33.33"))])
    # 33.33% of 10.05 is 3.349665 -> 3.35
    assert fee(timedelta(hours=1), third, "10.05") == eur("3.35")
    half = CancellationPolicy(tiers=[FeeTier(within_hours=24, percent=Decimal(50))])
    assert fee(timedelta(hours=1), half, "0.05") == eur("0.03")


def test_P11_a_currency_without_cents_is_rounded_to_the_unit() -> None:
    half = CancellationPolicy(tiers=[FeeTier(within_hours=24, percent=Decimal(50))])
    computed = cancellation_fee(
        Money(amount=Decimal(1005), currency="JPY"), START, START, half, "default"
    )
    assert computed.amount == Money(amount=Decimal(503), currency="JPY")


def test_P11_the_computation_shows_the_policy_the_time_left_and_the_tier() -> None:
    computed = cancellation_fee(
        eur("60.00"), START, START - timedelta(hours=5, minutes=30), TIERED, "supplier"
    )
    assert computed.hours_before == Decimal("5.50")
    assert computed.applied_tier == FeeTier(within_hours=24, percent=Decimal(50))
    assert (computed.percent, computed.amount, computed.rounding) == (
        Decimal(50),
        eur("30.00"),
        "ROUND_HALF_UP",
    )
    assert computed.policy == TIERED and computed.policy_source == "supplier"


def test_P11_a_supplier_without_a_policy_of_its_own_gets_the_default() -> None:
    policy = Policy(supplier_policies=MappingProxyType({"supplier-9": TIERED}))
    assert policy_for("supplier-9", policy) == (TIERED, "supplier")
    assert policy_for("supplier-1", policy) == (policy.default_cancellation, "default")


def test_P11_the_default_policy_is_free_until_24h_then_half_the_price() -> None:
    sc = in_progress()
    sc.order(cancelled_by_customer(START - timedelta(hours=10)))
    assessed, charge = sc.events
    assert isinstance(assessed, CancellationFeeAssessed)
    assert assessed.computation.amount == eur("30.00")
    assert assessed.computation.policy_source == "default"
    assert assessed.customer == CUSTOMER and assessed.supplier == SUPPLIER
    assert isinstance(charge, ChargeRequested)
    assert (charge.amount, charge.purpose) == (eur("30.00"), Purpose.CANCELLATION_FEE)
    assert assessed.request_id == charge.request_id


def test_P11_a_cancellation_early_enough_is_assessed_free_and_nothing_is_charged() -> None:
    sc = in_progress()
    sc.order(cancelled_by_customer(START - timedelta(days=2)))
    (assessed,) = sc.events
    assert isinstance(assessed, CancellationFeeAssessed)
    assert assessed.computation.amount == eur("0.00") and assessed.request_id is None
    assert sc.current.request is None and sc.deadlines == []


def test_P11_the_suppliers_own_policy_is_used() -> None:
    policy = Policy(supplier_policies=MappingProxyType({SUPPLIER.id: TIERED}))
    sc = in_progress(policy)
    sc.order(cancelled_by_customer(START - timedelta(hours=30)))
    assessed = sc.events[0]
    assert isinstance(assessed, CancellationFeeAssessed)
    assert assessed.computation.amount == eur("15.00")
    assert assessed.computation.policy_source == "supplier"


def test_P11_cancellations_that_ordering_says_are_free_cost_nothing() -> None:
    sc = in_progress()
    by_supplier = order_event(
        OrderCancelled,
        S.CANCELLED,
        START - timedelta(hours=1),
        actor=SUPPLIER.party,
        reason="Ill",
        previous_status=S.IN_PROGRESS,
        fee_may_apply=False,
    )
    sc.order(by_supplier)
    assert sc.events == [] and sc.current.request is None


def test_P11_the_fee_follows_the_appointment_as_ordering_last_moved_it() -> None:
    sc = in_progress()
    moved = TermsChange(
        appointment_start=START + timedelta(days=2),
        appointment_end=START + timedelta(days=2, hours=1),
    )
    sc.order(
        order_event(
            ProposalAccepted,
            S.IN_PROGRESS,
            START - timedelta(days=1),
            actor=CUSTOMER.party,
            proposal=1,
            changes=moved,
            auto_done_at=START + timedelta(days=5),
        )
    )
    sc.order(cancelled_by_customer(START))  # 48 hours before the moved appointment
    assessed = sc.events[0]
    assert isinstance(assessed, CancellationFeeAssessed)
    assert assessed.computation.appointment_start == START + timedelta(days=2)
    assert assessed.computation.amount == eur("0.00")


def test_P11_the_fee_is_charged_and_recorded_like_any_payment_then_paid_out() -> None:
    sc = in_progress()
    sc.order(cancelled_by_customer(START - timedelta(hours=3)))
    assert sc.current.open_deadline(DeadlineKind.PAYMENT_WINDOW) is not None
    decision = sc.decide(RecordPayment, GATEWAY, **payment("30.00"))
    assert [e.type for e in decision.events] == [
        "PaymentReceived",
        "PaymentSettled",
        "PayoutScheduled",
    ]
    assert decision.commands == [], "a cancelled order is not marked paid"
    payout = sc.current.payout
    assert payout is not None and payout.gross == eur("30.00")


def test_P11_the_fee_follows_the_policy_booked_on_the_order() -> None:
    # The order carries the policy in force at its booking (ordering's supplier settings);
    # it comes before the configured file, which says otherwise here.
    strict = CancellationPolicy(tiers=[FeeTier(within_hours=72, percent=Decimal(100))])
    policy = Policy(supplier_policies=MappingProxyType({SUPPLIER.id: TIERED}))
    sc = in_progress(policy, cancellation_policy=strict)
    sc.order(cancelled_by_customer(START - timedelta(hours=30)))
    assessed = sc.events[0]
    assert isinstance(assessed, CancellationFeeAssessed)
    assert assessed.computation.policy == strict
    assert assessed.computation.amount == eur("60.00")
    assert assessed.computation.policy_source == "supplier"


def test_P11_an_order_booked_without_a_policy_keeps_the_configured_one() -> None:
    policy = Policy(supplier_policies=MappingProxyType({SUPPLIER.id: TIERED}))
    assert policy_for(SUPPLIER.id, policy, None) == (TIERED, "supplier")
    assert policy_for("supplier-unknown", policy, None) == (policy.default_cancellation, "default")
