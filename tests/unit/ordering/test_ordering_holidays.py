"""M-04 with public holidays: the 24 weekday hours of the operator review target skip
the configured country's public holidays."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from contracts.orders import CreateOrder, SubmitOrder
from ordering.config import OrderingSettings
from ordering.domain import DeadlineKind, Policy
from servicekit.calendars import days_off
from tests.unit.ordering.ordering_kit import CLIENT, MEMBER, Scenario, context, managed_terms

#: Christmas Eve, a Thursday: a business day in Germany; Friday 25 is a public holiday.
THURSDAY_24_DEC = datetime(2026, 12, 24, 15, 0, tzinfo=UTC)


def review_due(policy: Policy) -> datetime:
    sc = Scenario(ctx=context(policy=policy), now=THURSDAY_24_DEC)
    sc.do(
        CreateOrder,
        MEMBER.party,
        parties=[MEMBER, CLIENT],
        terms=managed_terms(offer_valid_until=THURSDAY_24_DEC + timedelta(days=20)),
    )
    sc.do(SubmitOrder, MEMBER.party)
    deadline = sc.current.open_deadline(DeadlineKind.REVIEW_OVERDUE)
    assert deadline is not None
    return deadline.due_at


def test_M04_a_public_holiday_does_not_count_towards_the_review_target() -> None:
    # Thursday 15:00 + 9 h to midnight, Christmas Day and the weekend skipped, + 15 h.
    assert review_due(Policy(days_off=days_off("DE"))) == datetime(2026, 12, 28, 15, 0, tzinfo=UTC)
    assert review_due(Policy()) == datetime(2026, 12, 25, 15, 0, tzinfo=UTC)


def test_M04_the_holiday_country_is_a_setting_of_ordering() -> None:
    german = OrderingSettings(holiday_country="DE").policy()
    assert date(2026, 12, 25) in german.days_off
    assert date(2026, 12, 25) not in OrderingSettings().policy().days_off
