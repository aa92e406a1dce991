"""Money arithmetic: exact to the currency's minor unit, rounded half up where a
percentage makes fractions of a cent. Pure."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, InvalidOperation

from contracts.orders import Money
from servicekit.currencies import quantum as quantum
from servicekit.currencies import to_minor_unit

HUNDRED = Decimal(100)
#: Payments' one rounding rule (docs/payments.md), published to the customer with each
#: fee's computation (`FeeComputation.rounding`).
ROUNDING = ROUND_HALF_UP


def is_exact(money: Money) -> bool:
    """Whether `money` has no fraction of its currency's minor unit (and is not so large
    that it has no exact form at all)."""
    try:
        return money.amount == to_minor_unit(money.amount, money.currency, ROUND_DOWN)
    except InvalidOperation:
        return False


def normalized(money: Money) -> Money:
    """`money` written with exactly its currency's decimals (40 EUR -> 40.00 EUR); a
    fraction of the minor unit, which an exact amount never has, is rounded half up."""
    return Money(
        amount=to_minor_unit(money.amount, money.currency, ROUNDING), currency=money.currency
    )


def zero(currency: str) -> Money:
    return Money(amount=Decimal(0).quantize(quantum(currency)), currency=currency)


def plus(a: Money, b: Money) -> Money:
    _same(a, b)
    return normalized(Money(amount=a.amount + b.amount, currency=a.currency))


def minus(a: Money, b: Money) -> Money:
    """`a` - `b`, never below zero (a Money is not negative)."""
    _same(a, b)
    return normalized(Money(amount=max(a.amount - b.amount, Decimal(0)), currency=a.currency))


def smaller(a: Money, b: Money) -> Money:
    _same(a, b)
    return a if a.amount <= b.amount else b


def total(amounts: Iterable[Money], currency: str) -> Money:
    result = zero(currency)
    for amount in amounts:
        result = plus(result, amount)
    return result


def percent_of(money: Money, percent: Decimal) -> Money:
    """`percent` of `money`, rounded half up to the minor unit (2.345 EUR -> 2.35 EUR)."""
    amount = to_minor_unit(money.amount * percent / HUNDRED, money.currency, ROUNDING)
    return Money(amount=amount, currency=money.currency)


def split(gross: Money, percent: Decimal) -> tuple[Money, Money]:
    """`(fee, net)`: the fee is `percent` of `gross` rounded half up, and the net is the
    rest, so that fee + net == gross to the cent."""
    fee = percent_of(gross, percent)
    return fee, minus(gross, fee)


def _same(a: Money, b: Money) -> None:
    if a.currency != b.currency:
        raise ValueError(f"cannot mix {a.currency} and {b.currency}")
