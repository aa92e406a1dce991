"""How values read in an email: money exact to the cent, moments in the business's zone.

Pure: the timezone comes in as an argument. Every function returns plain text, which the
HTML templates escape.
"""

from __future__ import annotations

import re
from datetime import date, datetime, tzinfo
from decimal import Decimal

from contracts.orders import Money

#: ISO 4217 minor units that are not 2; every other currency has cents.
MINOR_UNITS = {
    "BHD": 3, "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "IQD": 3, "ISK": 0, "JOD": 3, "JPY": 0,
    "KMF": 0, "KRW": 0, "KWD": 3, "LYD": 3, "OMR": 3, "PYG": 0, "RWF": 0, "TND": 3, "UGX": 0,
    "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
}  # fmt: skip

_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\s]+")


def money(value: Money) -> str:
    """`40.00 EUR`: padded to the currency's minor unit, never rounded. An amount finer
    than the minor unit (which no service should send) is shown exactly as it is."""
    exponent = Decimal(1).scaleb(-MINOR_UNITS.get(value.currency, 2))
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


def one_line(text: str, limit: int = 200) -> str:
    """Text fit for a greeting or a subject: control characters and line breaks become
    single spaces (no header or line can be injected through it), at most `limit` long."""
    return _CONTROL.sub(" ", text).strip()[:limit]
