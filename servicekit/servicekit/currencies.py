"""The one currency table: ISO 4217 minor units, and rounding to them. Pure.

    minor_units("EUR") == 2, ("JPY") == 0, ("BHD") == 3, ("CLF") == 4
    quantum("KWD") == Decimal("0.001")
    to_minor_unit(Decimal("10.005"), "EUR") == Decimal("10.01")     half up: the one rule
    to_minor_unit(Decimal("2.349"), "EUR", ROUND_DOWN) == Decimal("2.34")

Invoicing, payments and the notifier read this table (issue 18: there were three, and
payments' and the notifier's lacked CLF and UYW). There is one rounding rule too: all
money is rounded half up (docs/decisions.md, "Rounding"): invoicing's line amounts and
planned amounts, payments' prices and percentage fees. `rounding` exists for the one
other use, testing whether an amount is exact (ROUND_DOWN).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

#: ISO 4217 currencies whose minor unit is not the cent; every other code has 2 digits.
MINOR_UNITS = {
    **dict.fromkeys(("BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG"), 0),
    **dict.fromkeys(("RWF", "UGX", "UYI", "VND", "VUV", "XAF", "XOF", "XPF"), 0),
    **dict.fromkeys(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"), 3),
    "CLF": 4,
    "UYW": 4,
}


def minor_units(currency: str) -> int:
    """How many decimal digits an amount in `currency` has."""
    return MINOR_UNITS.get(currency, 2)


def quantum(currency: str) -> Decimal:
    """The smallest amount of `currency`: 0.01 for EUR, 1 for JPY, 0.001 for KWD."""
    return Decimal(1).scaleb(-minor_units(currency))


def to_minor_unit(amount: Decimal, currency: str, rounding: str = ROUND_HALF_UP) -> Decimal:
    """`amount` rounded to the currency's minor unit, half up (X-05, docs/decisions.md)."""
    return amount.quantize(quantum(currency), rounding=rounding)
