"""Weekday and business-day arithmetic (M-04, P-18)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from servicekit.businessdays import (
    DaysOff,
    NaiveDatetimeError,
    add_business_days,
    add_weekday_hours,
    add_weekday_time,
    is_weekday,
    weekday_time_between,
)

BRUSSELS = ZoneInfo("Europe/Brussels")


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        (utc(2025, 3, 3, 9), utc(2025, 3, 4, 9)),  # Monday: next day
        (utc(2025, 3, 7, 15), utc(2025, 3, 10, 15)),  # Friday: over the weekend
        (utc(2025, 3, 8, 11), utc(2025, 3, 11, 0)),  # Saturday: counts from Monday 00:00
        (utc(2025, 3, 9, 23), utc(2025, 3, 11, 0)),  # Sunday night
        (utc(2025, 3, 7, 0), utc(2025, 3, 8, 0)),  # Friday 00:00: ends at Friday's midnight
    ],
)
def test_M04_24_hours_counted_on_weekdays_only(start: datetime, expected: datetime) -> None:
    assert add_weekday_hours(start, 24) == expected


def test_M04_a_long_span_skips_every_weekend() -> None:
    # 10 weekdays of 24 h from a Monday morning: two weeks later.
    assert add_weekday_time(utc(2025, 3, 3, 9), timedelta(days=10)) == utc(2025, 3, 17, 9)


def test_M04_weekends_are_those_of_the_timezone_given() -> None:
    # Friday 23:30 in Brussels is Friday 22:30 UTC: one weekday hour left there, two in UTC.
    local = datetime(2025, 3, 7, 23, 30, tzinfo=BRUSSELS)
    assert add_weekday_hours(local, 1) == datetime(2025, 3, 10, 0, 30, tzinfo=BRUSSELS)
    assert add_weekday_hours(local.astimezone(UTC), 1) == utc(2025, 3, 7, 23, 30)


def test_M04_a_dst_change_on_a_weekday_counts_real_hours() -> None:
    # Israel moves its clocks on Friday 2025-03-28 at 02:00: that Friday lasts 23 hours.
    jerusalem = ZoneInfo("Asia/Jerusalem")
    friday = datetime(2025, 3, 28, 0, 0, tzinfo=jerusalem)
    assert add_weekday_hours(friday, 23) == datetime(2025, 3, 29, 0, 0, tzinfo=jerusalem)
    assert add_weekday_hours(friday, 24) == datetime(2025, 3, 31, 1, 0, tzinfo=jerusalem)


def test_zero_time_is_the_start_itself_even_on_a_weekend() -> None:
    saturday = utc(2025, 3, 8, 11)
    assert add_weekday_time(saturday, timedelta(0)) == saturday


def test_negative_durations_and_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        add_weekday_time(utc(2025, 3, 3), timedelta(hours=-1))
    with pytest.raises(NaiveDatetimeError):
        add_weekday_hours(datetime(2025, 3, 3, 9), 1)  # noqa: DTZ001 - the point of the test
    with pytest.raises(NaiveDatetimeError):
        add_business_days(datetime(2025, 3, 3, 9), 1)  # noqa: DTZ001 - the point of the test


@given(
    start=st.datetimes(
        min_value=datetime(2020, 1, 1),  # noqa: DTZ001 - hypothesis bounds are naive
        max_value=datetime(2030, 1, 1),  # noqa: DTZ001
        timezones=st.sampled_from([UTC, timezone(timedelta(hours=-5)), BRUSSELS]),
    ),
    minutes=st.integers(0, 60 * 24 * 30),
)
def test_M04_weekday_time_between_undoes_add_weekday_time(start: datetime, minutes: int) -> None:
    span = timedelta(minutes=minutes)
    end = add_weekday_time(start, span)
    assert end >= start
    assert weekday_time_between(start, end) == span


@pytest.mark.parametrize(
    ("start", "days", "expected"),
    [
        (date(2025, 3, 3), 5, date(2025, 3, 10)),  # Monday + 5: next Monday
        (date(2025, 3, 7), 1, date(2025, 3, 10)),  # Friday + 1: Monday
        (date(2025, 3, 8), 1, date(2025, 3, 10)),  # Saturday + 1: Monday
        (date(2025, 3, 10), -1, date(2025, 3, 7)),  # Monday - 1: Friday
        (date(2025, 3, 8), 0, date(2025, 3, 8)),
    ],
)
def test_P18_business_days(start: date, days: int, expected: date) -> None:
    assert add_business_days(start, days) == expected


def test_P18_holidays_are_not_business_days() -> None:
    easter_monday = date(2025, 4, 21)
    assert add_business_days(date(2025, 4, 18), 1, {easter_monday}) == date(2025, 4, 22)


def test_P18_a_datetime_keeps_its_time_of_day_and_zone() -> None:
    start = datetime(2025, 3, 7, 16, 45, tzinfo=BRUSSELS)
    assert add_business_days(start, 5) == datetime(2025, 3, 14, 16, 45, tzinfo=BRUSSELS)


@given(start=st.dates(date(2020, 1, 1), date(2030, 1, 1)), days=st.integers(0, 400))
def test_P18_adding_business_days_lands_on_a_business_day(start: date, days: int) -> None:
    end = add_business_days(start, days)
    assert days == 0 or is_weekday(end)
    weekdays = sum(is_weekday(start + timedelta(d)) for d in range(1, (end - start).days + 1))
    assert weekdays == days


def test_M04_days_off_count_like_weekends_in_weekday_time() -> None:
    christmas = DaysOff(extra=frozenset({date(2026, 12, 25)}))
    thursday = datetime(2026, 12, 24, 15, tzinfo=UTC)
    monday = datetime(2026, 12, 28, 15, tzinfo=UTC)
    assert add_weekday_time(thursday, timedelta(hours=24), christmas) == monday
    assert weekday_time_between(thursday, monday, christmas) == timedelta(hours=24)


def test_P18_public_and_extra_days_off_are_both_skipped() -> None:
    days_off = DaysOff(
        public=frozenset({date(2026, 12, 25)}), extra=frozenset({date(2026, 12, 28)})
    )
    assert add_business_days(date(2026, 12, 24), 1, days_off) == date(2026, 12, 29)
    assert "2026-12-25" not in days_off
