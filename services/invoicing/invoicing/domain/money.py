"""Exact money: minor units per ISO 4217 currency, line amounts and totals.

    minor_units("EUR") == 2, ("JPY") == 0, ("BHD") == 3
    to_minor_unit(Decimal("10.005"), "EUR") == Decimal("10.01")   half up (the one rule)
    line_amount(3, Decimal("19.999"), "EUR") == Decimal("60.00")
    lines_problem(lines, currency)  why lines are not exact, if they are not

Never a float: every amount is a `Decimal`, and an invoice's total is the exact sum of its
line amounts.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from contracts.invoicing import InvoiceLine
from contracts.orders import Money
from servicekit.currencies import minor_units, to_minor_unit

__all__ = [
    "is_exact",
    "line_amount",
    "lines_problem",
    "minor_units",
    "to_minor_unit",
    "total_of",
    "zero",
]


def is_exact(amount: Decimal, currency: str) -> bool:
    """Whether `amount` has no digits below the currency's minor unit."""
    return amount == to_minor_unit(amount, currency)


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
