"""The one currency table (ISO 4217 minor units) and its rounding (issue 18)."""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal

import pytest

from contracts.orders import Money
from servicekit.currencies import minor_units, quantum, to_minor_unit


@pytest.mark.parametrize(
    ("currency", "digits"),
    [
        ("EUR", 2),
        ("USD", 2),
        ("JPY", 0),
        ("KRW", 0),
        ("BHD", 3),
        ("KWD", 3),
        ("CLF", 4),
        ("UYW", 4),
    ],
)
def test_X05_each_currency_has_its_iso_4217_minor_unit(currency: str, digits: int) -> None:
    assert minor_units(currency) == digits
    assert quantum(currency) == Decimal(1).scaleb(-digits)


def test_X05_money_is_rounded_half_up_everywhere_unless_the_caller_names_another_rule() -> None:
    assert to_minor_unit(Decimal("10.005"), "EUR") == Decimal("10.01")
    assert to_minor_unit(Decimal("10.015"), "EUR") == Decimal("10.02")
    assert to_minor_unit(Decimal("-10.005"), "EUR") == Decimal("-10.01")
    assert to_minor_unit(Decimal("2.349"), "EUR", ROUND_DOWN) == Decimal("2.34")
    assert to_minor_unit(Decimal("1.5"), "JPY") == Decimal("2")
    assert to_minor_unit(Decimal("0.12345"), "CLF") == Decimal("0.1235")


def test_X05_every_service_reads_the_one_table() -> None:
    """Payments and the notifier agree with invoicing on a 4-digit currency now."""
    from invoicing.domain.money import is_exact as invoice_exact
    from notifier.domain.formatting import money
    from payments.domain.money import is_exact as payment_exact

    amount = Decimal("1.2345")
    assert invoice_exact(amount, "CLF")
    assert payment_exact(Money(amount=amount, currency="CLF"))
    assert money(Money(amount=Decimal("1"), currency="CLF")) == "1.0000 CLF"
