"""Exact money (ISO 4217 minor units) and the invoicing calendar (M-10, M-12, A-11)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from contracts.invoicing import InvoiceLine, invoice_key
from invoicing.domain import Policy, account_ledger_id, ledger_of, order_ledger_id
from invoicing.domain.money import is_exact, line_amount, lines_problem, minor_units, to_minor_unit
from tests.unit.invoicing.invoicing_kit import ORDER_ID


@pytest.mark.parametrize(("currency", "digits"), [("EUR", 2), ("JPY", 0), ("BHD", 3), ("USD", 2)])
def test_amounts_are_exact_to_the_currencys_minor_unit(currency: str, digits: int) -> None:
    assert minor_units(currency) == digits
    assert is_exact(Decimal(1).scaleb(-digits), currency)
    assert not is_exact(Decimal(1).scaleb(-digits - 1), currency)


def test_rounding_is_half_up_as_in_payments_and_never_through_a_float() -> None:
    assert to_minor_unit(Decimal("0.125"), "EUR") == Decimal("0.13")
    assert to_minor_unit(Decimal("0.135"), "EUR") == Decimal("0.14")
    assert to_minor_unit(Decimal("0.124"), "EUR") == Decimal("0.12")
    assert line_amount(3, Decimal("0.1"), "EUR") == Decimal("0.30")


def test_a_line_must_be_quantity_times_unit_price() -> None:
    good = InvoiceLine(
        description="x", quantity=3, unit_price=Decimal("0.10"), amount=Decimal("0.30")
    )
    bad = good.model_copy(update={"amount": Decimal("0.31")})
    assert lines_problem([good], "EUR") is None
    assert lines_problem([bad], "EUR") is not None


def test_M12_an_invoice_date_starts_at_midnight_in_the_business_time_zone() -> None:
    berlin = Policy(business_tz=ZoneInfo("Europe/Berlin"))
    assert berlin.start_of(date(2025, 3, 31)) == datetime(2025, 3, 30, 22, 0, tzinfo=UTC)
    assert Policy().draft_at(date(2025, 3, 31)) == datetime(2025, 3, 24, tzinfo=UTC)


def test_M10_a_compressed_calendar_makes_days_seconds_for_demos_and_tests() -> None:
    origin = datetime(2025, 3, 3, 12, 0, 7, tzinfo=UTC)
    policy = Policy(
        calendar_origin=origin, calendar_day=timedelta(seconds=4), draft_lead=timedelta(seconds=2)
    )
    assert policy.start_of(date(2025, 3, 3)) == origin
    assert policy.start_of(date(2025, 3, 5)) == origin + timedelta(seconds=8)
    assert policy.draft_at(date(2025, 3, 5)) == origin + timedelta(seconds=6)
    assert policy.day_of(origin + timedelta(seconds=9)) == date(2025, 3, 5)
    assert policy.day_of(origin - timedelta(seconds=1)) == date(2025, 3, 2)


def test_A11_the_next_monthly_run_rolls_over_the_year() -> None:
    policy = Policy()
    at = datetime(2025, 12, 20, tzinfo=UTC)
    assert policy.next_cycle_run(at, 5) == datetime(2026, 1, 5, tzinfo=UTC)
    assert policy.next_cycle_run(at, None) is None


def test_ids_name_their_ledger_and_their_kafka_key() -> None:
    managed = f"{order_ledger_id(ORDER_ID)}/2"
    assert ledger_of(managed) == order_ledger_id(ORDER_ID)
    assert invoice_key(managed) == str(ORDER_ID)
    odd = account_ledger_id("acme/eu 1")
    assert odd == "account/acme%2Feu%201"
    assert ledger_of(f"{odd}/3-EUR") == odd
    assert invoice_key(f"{odd}/3-EUR") == "acme/eu 1"
