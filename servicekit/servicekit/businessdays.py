"""Weekday and business-day arithmetic, in one tested place.

    add_weekday_time / add_weekday_hours   M-04: "24 hours counted on weekdays only"
    weekday_time_between                   the inverse, for metrics and tests
    add_business_days                      P-18: "up to 5 business days more"

Weekends are Saturday and Sunday in the timezone of the datetime given: convert to the
business's zone first. Durations are real elapsed time, so a weekday that a DST change
makes 23 or 25 hours long counts as 23 or 25 hours. Pure: no clock, no I/O.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import overload

WEEKEND = frozenset({5, 6})


class NaiveDatetimeError(ValueError):
    """A datetime without a timezone: its weekday boundaries would be a guess."""


def is_weekday(day: date) -> bool:
    """Monday to Friday."""
    return day.weekday() not in WEEKEND


def add_weekday_time(start: datetime, duration: timedelta) -> datetime:
    """`start` plus `duration`, counting only time that falls on Monday to Friday.

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
        if is_weekday(cursor.date()):
            available = _elapsed(cursor, midnight)
            if remaining <= available:
                return _plus(cursor, remaining, tz)
            remaining -= available
        cursor = midnight


def add_weekday_hours(start: datetime, hours: float) -> datetime:
    """`add_weekday_time` in hours (Rule M-04)."""
    return add_weekday_time(start, timedelta(hours=hours))


def weekday_time_between(start: datetime, end: datetime) -> timedelta:
    """How much of [start, end) falls on Monday to Friday, in `start`'s timezone."""
    tz = _zone(start)
    _zone(end)
    total, cursor = timedelta(0), start
    end_here = end.astimezone(tz)
    while cursor < end_here:
        midnight = _next_midnight(cursor, tz)
        stop = min(midnight, end_here)
        if is_weekday(cursor.date()):
            total += _elapsed(cursor, stop)
        cursor = midnight
    return total


@overload
def add_business_days(start: datetime, days: int, holidays: Collection[date] = ...) -> datetime: ...


@overload
def add_business_days(start: date, days: int, holidays: Collection[date] = ...) -> date: ...


def add_business_days(start: date, days: int, holidays: Collection[date] = ()) -> date:
    """The day `days` business days after `start` (before, when negative).

    Rule P-18. Business days are Monday to Friday minus `holidays`. A datetime keeps its
    wall-clock time of day. Zero days gives `start` back, even on a weekend.
    """
    if isinstance(start, datetime):
        _zone(start)
    step = timedelta(days=1 if days >= 0 else -1)
    cursor, left = start, abs(days)
    while left:
        cursor = cursor + step
        day = cursor.date() if isinstance(cursor, datetime) else cursor
        if is_weekday(day) and day not in holidays:
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
