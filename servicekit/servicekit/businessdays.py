"""Weekday and business-day arithmetic, in one tested place.

    add_weekday_time / add_weekday_hours   M-04: "24 hours counted on weekdays only"
    weekday_time_between                   the inverse, for metrics and tests
    add_business_days                      P-18: "up to 5 business days more"
    DaysOff                                public holidays and a hand-kept list of days

Weekends are Saturday and Sunday in the timezone of the datetime given: convert to the
business's zone first. Days off (`days_off`, any container of dates: a `DaysOff`, built
at a composition root from the `holidays` package, see `servicekit.calendars`) count
like weekends. Durations are real elapsed time, so a weekday that a DST change
makes 23 or 25 hours long counts as 23 or 25 hours. Pure: no clock, no I/O.
"""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import overload

WEEKEND = frozenset({5, 6})
NO_DAYS_OFF: frozenset[date] = frozenset()


@dataclass(frozen=True)
class DaysOff:
    """Days that are not business days besides weekends: a country's public holidays
    (any container of dates) and a hand-kept list of extra days."""

    public: Container[date] = NO_DAYS_OFF
    extra: frozenset[date] = NO_DAYS_OFF

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and (day in self.extra or day in self.public)


class NaiveDatetimeError(ValueError):
    """A datetime without a timezone: its weekday boundaries would be a guess."""


def is_weekday(day: date) -> bool:
    """Monday to Friday."""
    return day.weekday() not in WEEKEND


def is_business_day(day: date, days_off: Container[date] = NO_DAYS_OFF) -> bool:
    """Monday to Friday, and not a day off."""
    return is_weekday(day) and day not in days_off


def add_weekday_time(
    start: datetime, duration: timedelta, days_off: Container[date] = NO_DAYS_OFF
) -> datetime:
    """`start` plus `duration`, counting only time that falls on Monday to Friday and
    not on a day off.

    Rule M-04. A start on a weekend counts from the following Monday, 00:00. The result
    is in `start`'s timezone; a result exactly at a weekday's end is that midnight.
    """
    tz = _zone(start)
    if duration < timedelta(0):
        raise ValueError("duration must not be negative")
    if not duration:
        return start
    remaining, cursor = duration, start
    while True:
        midnight = _next_midnight(cursor, tz)
        if is_business_day(cursor.date(), days_off):
            available = _elapsed(cursor, midnight)
            if remaining <= available:
                return _plus(cursor, remaining, tz)
            remaining -= available
        cursor = midnight


def add_weekday_hours(start: datetime, hours: float) -> datetime:
    """`add_weekday_time` in hours (Rule M-04)."""
    return add_weekday_time(start, timedelta(hours=hours))


def weekday_time_between(
    start: datetime, end: datetime, days_off: Container[date] = NO_DAYS_OFF
) -> timedelta:
    """How much of [start, end) falls on business days, in `start`'s timezone."""
    tz = _zone(start)
    _zone(end)
    total, cursor = timedelta(0), start
    end_here = end.astimezone(tz)
    while cursor < end_here:
        midnight = _next_midnight(cursor, tz)
        stop = min(midnight, end_here)
        if is_business_day(cursor.date(), days_off):
            total += _elapsed(cursor, stop)
        cursor = midnight
    return total


@overload
def add_business_days(start: datetime, days: int, holidays: Container[date] = ...) -> datetime: ...


@overload
def add_business_days(start: date, days: int, holidays: Container[date] = ...) -> date: ...


def add_business_days(start: date, days: int, holidays: Container[date] = NO_DAYS_OFF) -> date:
    """The day `days` business days after `start` (before, when negative).

    Rule P-18. Business days are Monday to Friday minus `holidays` (the days off). A
    datetime keeps its wall-clock time of day. Zero days gives `start` back, even on a
    weekend.
    """
    if isinstance(start, datetime):
        _zone(start)
    step = timedelta(days=1 if days >= 0 else -1)
    cursor, left = start, abs(days)
    while left:
        cursor = cursor + step
        day = cursor.date() if isinstance(cursor, datetime) else cursor
        if is_business_day(day, holidays):
            left -= 1
    return cursor


def _zone(moment: datetime) -> tzinfo:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise NaiveDatetimeError(f"{moment!r} has no timezone")
    return moment.tzinfo


def _next_midnight(moment: datetime, tz: tzinfo) -> datetime:
    return datetime.combine(moment.date() + timedelta(days=1), time(0), tzinfo=tz)


def _elapsed(start: datetime, end: datetime) -> timedelta:
    # Aware datetimes sharing a tzinfo subtract as wall-clock times; UTC gives real time.
    return end.astimezone(UTC) - start.astimezone(UTC)


def _plus(moment: datetime, duration: timedelta, tz: tzinfo) -> datetime:
    return (moment.astimezone(UTC) + duration).astimezone(tz)
