"""How values read in an email: money exact to the cent, moments in the business's zone.

Pure: the timezone comes in as an argument. Every function returns plain text, which the
HTML templates escape.
"""

from __future__ import annotations

import re
from datetime import date, datetime, tzinfo
from typing import Any

from contracts.orders import Money
from servicekit.currencies import quantum

_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\s]+")


def money(value: Money) -> str:
    """`40.00 EUR`: padded to the currency's minor unit, never rounded. An amount finer
    than the minor unit (which no service should send) is shown exactly as it is."""
    exponent = quantum(value.currency)
    amount = value.amount
    padded = amount.quantize(exponent)
    shown = padded if padded == amount else amount
    return f"{shown:,f} {value.currency}"


def moment(value: datetime, tz: tzinfo) -> str:
    """`Mon 3 Mar 2025, 09:00 UTC`, in the business's timezone."""
    local = value.astimezone(tz)
    return f"{local:%a} {local.day} {local:%b %Y, %H:%M} {local.tzname() or ''}".rstrip()


def day(value: date) -> str:
    """`Mon 3 Mar 2025`."""
    return f"{value:%a} {value.day} {value:%b %Y}"


def shown(source: object, tz: tzinfo, *fields: str) -> dict[str, Any]:
    """The `fields` of `source` as an email shows them: money to the cent, moments in `tz`,
    days; any other value as it is."""
    return {name: _shown(getattr(source, name), tz) for name in fields}


def _shown(value: object, tz: tzinfo) -> object:
    if isinstance(value, Money):
        return money(value)
    if isinstance(value, datetime):  # before `date`: a datetime is a date too
        return moment(value, tz)
    return day(value) if isinstance(value, date) else value


def one_line(text: str, limit: int = 200) -> str:
    """Text fit for a greeting or a subject: control characters and line breaks become
    single spaces (no header or line can be injected through it), at most `limit` long."""
    return _CONTROL.sub(" ", text).strip()[:limit]
