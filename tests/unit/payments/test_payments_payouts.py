"""Payouts (P-18): for every provided service, a payout to the supplier, released 14
days after the service and credited within 5 business days more; `scheduled`,
`processing`, `paid`; amounts after the platform's fee exact to the cent."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from contracts.orders import Money
from contracts.payments import (
    ConfirmPayoutSent,
    PaymentRejectionReason,
    PayoutOverdue,
    PayoutPaid,
    PayoutRequested,
    PayoutScheduled,
    PayoutStatus,
)
from payments.domain import DeadlineKind, Policy, ScheduleDeadline
from payments.domain.money import split
from tests.unit.payments.payments_kit import (
    END,
    GATEWAY,
    SUPPLIER,
    Scenario,
    awaiting_payment,
    eur,
    overdue,
)

R = PaymentRejectionReason
S = PayoutStatus


def scheduled(sc: Scenario) -> PayoutScheduled:
    event = next(e for e in sc.events if isinstance(e, PayoutScheduled))
    return event


def test_P18_a_paid_order_schedules_a_payout_14_days_after_the_service() -> None:
    sc = awaiting_payment()
    sc.pay("60.00")
    event = scheduled(sc)
    assert (event.status, event.supplier) == (S.SCHEDULED, SUPPLIER)
    assert event.service_at == END
    # END is Thursday 2025-03-06 10:00 UTC; 14 days later is Thursday 2025-03-20.
    assert event.scheduled_for == END + timedelta(days=14)
    # 5 business days after Thursday: Friday, Monday, Tuesday, Wednesday, Thursday.
    assert event.expected_by == datetime(2025, 3, 27, 10, 0, tzinfo=UTC)
    timer = next(d for d in sc.deadlines if isinstance(d, ScheduleDeadline) and "payout" in d.kind)
    assert (timer.kind, timer.due_at) == ("payout_release", event.scheduled_for)


def test_P18_the_platform_fee_is_rounded_half_up_and_the_net_is_the_rest() -> None:
    sc = awaiting_payment(Policy(platform_fee_percent=Decimal("12.5")))
    sc.pay("60.00")
    event = scheduled(sc)
    assert (event.gross, event.fee, event.net) == (eur("60.00"), eur("7.50"), eur("52.50"))
    assert event.fee_percent == Decimal("12.5")


@given(
    cents=st.integers(min_value=0, max_value=10**9),
    percent=st.decimals(min_value=0, max_value=100, places=2),
)
def test_P18_fee_and_net_always_add_up_to_the_gross_to_the_cent(
    cents: int, percent: Decimal
) -> None:
    gross = Money(amount=Decimal(cents).scaleb(-2), currency="EUR")
    fee, net = split(gross, percent)
    assert fee.amount + net.amount == gross.amount
    assert fee.amount.as_tuple().exponent == -2 and net.amount.as_tuple().exponent == -2
    exact = gross.amount * percent / 100
    assert abs(fee.amount - exact) <= Decimal("0.005")


def test_P18_money_collected_after_the_payout_date_is_paid_out_at_once() -> None:
    sc = overdue()
    late = END + timedelta(days=20)
    sc.at(late).pay("60.00")
    assert scheduled(sc).scheduled_for == late


def test_P18_the_release_date_makes_the_payout_processing_and_asks_the_gateway() -> None:
    sc = awaiting_payment()
    sc.pay("60.00")
    (event,) = sc.fire(DeadlineKind.PAYOUT_RELEASE).events
    assert isinstance(event, PayoutRequested)
    assert (event.status, event.net, event.supplier) == (S.PROCESSING, eur("54.00"), SUPPLIER)
    payout = sc.current.payout
    assert payout is not None and payout.status is S.PROCESSING
    assert sc.current.open_deadline(DeadlineKind.PAYOUT_OVERDUE) is not None


def test_P18_the_gateways_confirmation_makes_the_payout_paid() -> None:
    sc = awaiting_payment()
    sc.pay("60.00")
    sc.fire(DeadlineKind.PAYOUT_RELEASE)
    payout = sc.current.payout
    assert payout is not None
    (event,) = sc.decide(
        ConfirmPayoutSent, GATEWAY, payout_id=payout.payout_id, reference="tr-1"
    ).events
    assert isinstance(event, PayoutPaid) and event.status is S.PAID and event.reference == "tr-1"
    assert sc.current.open_deadline(DeadlineKind.PAYOUT_OVERDUE) is None
    again = sc.decide(ConfirmPayoutSent, GATEWAY, payout_id=payout.payout_id, reference="tr-1")
    assert again.rejection is not None and again.rejection.reason is R.NOT_ALLOWED_IN_STATUS


def test_P18_a_payout_is_not_confirmed_before_it_is_released() -> None:
    sc = awaiting_payment()
    sc.pay("60.00")
    payout = sc.current.payout
    assert payout is not None
    early = sc.decide(ConfirmPayoutSent, GATEWAY, payout_id=payout.payout_id, reference="x")
    assert early.rejection is not None and early.rejection.reason is R.NOT_ALLOWED_IN_STATUS
    none = awaiting_payment().decide(ConfirmPayoutSent, GATEWAY, payout_id="p", reference="x")
    assert none.rejection is not None and none.rejection.reason is R.UNKNOWN_PAYOUT


def test_P18_processing_longer_than_5_business_days_is_signalled_once() -> None:
    sc = awaiting_payment()
    sc.pay("60.00")
    sc.fire(DeadlineKind.PAYOUT_RELEASE)
    (event,) = sc.fire(DeadlineKind.PAYOUT_OVERDUE).events
    assert isinstance(event, PayoutOverdue) and event.status is S.PROCESSING
    assert sc.current.open_deadline(DeadlineKind.PAYOUT_OVERDUE) is None


def test_P18_the_same_release_firing_twice_releases_once() -> None:
    sc = awaiting_payment()
    sc.pay("60.00")
    deadline = sc.current.open_deadline(DeadlineKind.PAYOUT_RELEASE)
    assert deadline is not None
    deadline_id = deadline.id(sc.current.order_id)
    assert sc.fire_id(deadline_id, "payout_release", deadline.due_at).events
    assert sc.fire_id(deadline_id, "payout_release", deadline.due_at).events == []
    assert sc.types().count("PayoutRequested") == 1


def test_P18_business_days_skip_weekends_and_holidays_in_the_business_timezone() -> None:
    brussels = ZoneInfo("Europe/Brussels")
    policy = Policy(business_tz=brussels, holidays=frozenset({date(2025, 3, 24)}))
    sc = awaiting_payment(policy)
    sc.pay("60.00")
    event = scheduled(sc)
    # Released Thursday 2025-03-20 11:00 in Brussels; Fri, (weekend), Mon is a holiday,
    # Tue, Wed, Thu, Fri: credited by Friday 2025-03-28.
    assert event.expected_by == datetime(2025, 3, 28, 11, 0, tzinfo=brussels)
