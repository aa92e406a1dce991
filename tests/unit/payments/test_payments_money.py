"""Money is Decimal and an ISO 4217 code, exact to the currency's minor unit."""

from __future__ import annotations

from decimal import Decimal

import pytest

from contracts.orders import Money
from payments.domain.money import is_exact, minus, normalized, percent_of, plus, quantum, split


def m(amount: str, currency: str = "EUR") -> Money:
    return Money(amount=Decimal(amount), currency=currency)


@pytest.mark.parametrize(
    ("currency", "step"), [("EUR", "0.01"), ("USD", "0.01"), ("JPY", "1"), ("KWD", "0.001")]
)
def test_X05_each_currency_has_its_own_minor_unit(currency: str, step: str) -> None:
    assert quantum(currency) == Decimal(step)


def test_X05_amounts_are_exact_to_the_minor_unit_or_refused() -> None:
    assert is_exact(m("10.50")) and is_exact(m("10.500")) and is_exact(m("10"))
    assert not is_exact(m("10.505"))
    assert not is_exact(m("1.5", "JPY"))
    assert not is_exact(m("1e40"))


def test_X05_sums_and_differences_keep_the_cents_and_never_go_negative() -> None:
    assert plus(m("0.10"), m("0.20")) == m("0.30")
    assert str(plus(m("0.1"), m("0.2")).amount) == "0.30"
    assert minus(m("1.00"), m("2.50")) == m("0.00")
    assert str(normalized(m("40")).amount) == "40.00"
    with pytest.raises(ValueError):
        plus(m("1"), m("1", "USD"))


def test_X05_percentages_round_half_up() -> None:
    assert percent_of(m("0.05"), Decimal(50)) == m("0.03")
    assert percent_of(m("0.15"), Decimal(10)) == m("0.02")  # 0.015 -> 0.02, not 0.01
    assert split(m("99.99"), Decimal(10)) == (m("10.00"), m("89.99"))
