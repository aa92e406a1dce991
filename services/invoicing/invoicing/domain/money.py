"""Exact money: minor units per ISO 4217 currency, line amounts and totals.

    minor_units("EUR") == 2, ("JPY") == 0, ("BHD") == 3
    to_minor_unit(Decimal("10.005"), "EUR") == Decimal("10.00")   half to even
    line_amount(3, Decimal("19.999"), "EUR") == Decimal("60.00")
    lines_problem(lines, currency)  why lines are not exact, if they are not

Never a float: every amount is a `Decimal`, and an invoice's total is the exact sum of its
line amounts.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_HALF_EVEN, Decimal

from contracts.invoicing import InvoiceLine
from contracts.orders import Money

#: Currencies whose minor unit is not the cent (ISO 4217); every other code has 2 digits.
_MINOR_UNITS = {
    **dict.fromkeys(("BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG"), 0),
    **dict.fromkeys(("RWF", "UGX", "UYI", "VND", "VUV", "XAF", "XOF", "XPF"), 0),
    **dict.fromkeys(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"), 3),
    "CLF": 4,
    "UYW": 4,
}


def minor_units(currency: str) -> int:
    """How many decimal digits an amount in `currency` has."""
    return _MINOR_UNITS.get(currency, 2)


def _quantum(currency: str) -> Decimal:
    return Decimal(1).scaleb(-minor_units(currency))


def is_exact(amount: Decimal, currency: str) -> bool:
    """Whether `amount` has no digits below the currency's minor unit."""
    return amount == amount.quantize(_quantum(currency), rounding=ROUND_HALF_EVEN)


def to_minor_unit(amount: Decimal, currency: str) -> Decimal:
    """`amount` rounded half to even to the currency's minor unit."""
    return amount.quantize(_quantum(currency), rounding=ROUND_HALF_EVEN)


def line_amount(quantity: int, unit_price: Decimal, currency: str) -> Decimal:
    """A line's amount: quantity times unit price, to the minor unit."""
    return to_minor_unit(unit_price * quantity, currency)


def total_of(lines: Iterable[InvoiceLine], currency: str) -> Money:
    """The exact sum of the lines' amounts."""
    amount = sum((line.amount for line in lines), Decimal(0))
    return Money(amount=to_minor_unit(amount, currency), currency=currency)


def lines_problem(lines: Iterable[InvoiceLine], currency: str) -> str | None:
    """Why `lines` cannot be an invoice's lines in `currency`, if they cannot."""
    for n, line in enumerate(lines, start=1):
        if not is_exact(line.amount, currency):
            return f"line {n}: {line.amount} has more decimals than {currency} allows"
        if line.amount != line_amount(line.quantity, line.unit_price, currency):
            return f"line {n}: {line.amount} is not {line.quantity} x {line.unit_price}"
    return None


def zero(currency: str) -> Money:
    return Money(amount=to_minor_unit(Decimal(0), currency), currency=currency)
