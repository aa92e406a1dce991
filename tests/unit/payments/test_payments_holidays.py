"""P-18 with public holidays: the five business days of payout processing skip the
configured country's public holidays (the `holidays` package) and the extra days."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from pydantic import ValidationError

from contracts.payments import PayoutRequested
from payments.config import PaymentsSettings
from payments.domain import DeadlineKind, DecisionContext, Policy
from servicekit.calendars import days_off
from tests.unit.payments.payments_kit import Scenario, awaiting_payment

#: Wednesday before Christmas: Thursday 24 is a business day in Germany, Friday 25 and
#: Saturday 26 are public holidays.
WEDNESDAY_23_DEC = datetime(2026, 12, 23, 10, 0, tzinfo=UTC)


def released_on_23_december(ctx: DecisionContext) -> PayoutRequested:
    sc: Scenario = awaiting_payment()
    sc.ctx = ctx
    sc.pay("60.00")
    (event,) = sc.fire(DeadlineKind.PAYOUT_RELEASE, at=WEDNESDAY_23_DEC).events
    assert isinstance(event, PayoutRequested)
    return event


def test_P18_a_public_holiday_of_the_configured_country_is_not_a_business_day() -> None:
    german = released_on_23_december(DecisionContext(days_off=days_off("DE")))
    # Thu 24, (Fri 25 Christmas, weekend), Mon 28, Tue 29, Wed 30, Thu 31.
    assert german.expected_by == datetime(2026, 12, 31, 10, 0, tzinfo=UTC)
    weekends_only = released_on_23_december(DecisionContext())
    assert weekends_only.expected_by == datetime(2026, 12, 30, 10, 0, tzinfo=UTC)


def test_P18_the_extra_days_add_to_the_public_holidays() -> None:
    ctx = DecisionContext(
        policy=Policy(holidays=frozenset({date(2026, 12, 31)})), days_off=days_off("DE")
    )
    assert released_on_23_december(ctx).expected_by == datetime(2027, 1, 4, 10, 0, tzinfo=UTC)


def test_P18_the_settings_build_the_calendar_of_country_and_extra_days() -> None:
    settings = PaymentsSettings(
        holiday_country="DE", holiday_subdivision="BY", payout_holidays=[date(2026, 12, 31)]
    )
    holidays = settings.context().holidays
    assert date(2026, 12, 25) in holidays and date(2026, 12, 31) in holidays
    assert date(2026, 1, 6) in holidays  # Epiphany: Bavaria's, not all of Germany's
    assert date(2026, 12, 23) not in holidays
    assert date(2026, 12, 25) not in PaymentsSettings().context().holidays


def test_P18_an_unknown_holiday_country_is_refused_at_startup() -> None:
    with pytest.raises(ValidationError):
        PaymentsSettings(holiday_country="XX")
    with pytest.raises(ValidationError):
        PaymentsSettings(holiday_subdivision="BY")
