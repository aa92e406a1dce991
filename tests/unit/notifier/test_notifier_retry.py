"""Failures retry with exponential backoff and jitter, within a bound (X-06); SMTP replies
are classified as temporary or permanent; money reads exactly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import aiosmtplib
import pytest

from contracts.notifications import EmailFailureReason
from contracts.orders import Money
from notifier.domain import Failure, GiveUp, Retry, RetryPolicy, backoff, next_try
from notifier.domain.formatting import moment, money
from notifier.smtp import classify, scrub

POLICY = RetryPolicy(
    max_attempts=5,
    first_delay=timedelta(seconds=1),
    max_delay=timedelta(seconds=10),
    within=timedelta(seconds=60),
    jitter=0.5,
)
TEMPORARY = Failure(temporary=True, code=451, detail="451 try later")
PERMANENT = Failure(temporary=False, code=550, detail="550 no such user")


def test_X06_delays_double_from_the_first_and_stop_at_the_cap() -> None:
    middle = [backoff(POLICY, n, 0.5).total_seconds() for n in range(1, 7)]
    assert middle == [1, 2, 4, 8, 10, 10]


@pytest.mark.parametrize("attempts", [1, 2, 3])
def test_X06_jitter_spreads_each_delay_by_half_either_way(attempts: int) -> None:
    base = 2 ** (attempts - 1)
    assert backoff(POLICY, attempts, 0.0).total_seconds() == pytest.approx(base * 0.5)
    assert backoff(POLICY, attempts, 0.999999).total_seconds() == pytest.approx(
        base * 1.5, rel=1e-5
    )


def test_X06_a_temporary_failure_is_retried_after_the_backoff() -> None:
    decision = next_try(POLICY, 1, timedelta(0), TEMPORARY, 0.5)
    assert decision == Retry(timedelta(seconds=1))


def test_X06_a_permanent_refusal_is_not_retried() -> None:
    decision = next_try(POLICY, 1, timedelta(0), PERMANENT, 0.5)
    assert isinstance(decision, GiveUp)
    assert (decision.reason, decision.code) == (EmailFailureReason.REFUSED, 550)


def test_X06_the_attempts_are_bounded() -> None:
    decision = next_try(POLICY, 5, timedelta(seconds=3), TEMPORARY, 0.5)
    assert isinstance(decision, GiveUp)
    assert decision.reason is EmailFailureReason.RETRIES_EXHAUSTED
    assert "5 attempts" in decision.message


def test_X06_no_retry_starts_after_the_total_time_bound() -> None:
    decision = next_try(POLICY, 2, timedelta(seconds=59), TEMPORARY, 0.5)
    assert isinstance(decision, GiveUp)
    assert decision.reason is EmailFailureReason.RETRIES_EXHAUSTED


def test_X06_a_4xx_reply_or_a_lost_connection_is_temporary_a_5xx_permanent() -> None:
    assert classify(aiosmtplib.SMTPDataError(451, "try later")).temporary
    assert classify(aiosmtplib.SMTPServerDisconnected("gone")).temporary
    assert classify(ConnectionRefusedError("refused")).temporary
    assert classify(aiosmtplib.SMTPAuthenticationError(535, "bad login")).temporary
    assert not classify(aiosmtplib.SMTPDataError(554, "rejected")).temporary
    refused = aiosmtplib.SMTPRecipientsRefused(
        [aiosmtplib.SMTPRecipientRefused(550, "no such user", "bob@example.com")]
    )
    failure = classify(refused)
    assert (failure.temporary, failure.code) == (False, 550)


def test_X06_server_replies_lose_the_addresses_they_quote() -> None:
    refused = aiosmtplib.SMTPRecipientsRefused(
        [aiosmtplib.SMTPRecipientRefused(550, "<bob@example.com>: unknown", "bob@example.com")]
    )
    assert "bob@example.com" not in classify(refused).detail
    assert scrub("550 5.1.1 <bob@example.com>\r\nunknown") == "550 5.1.1 <[address]> unknown"


def test_X06_money_is_shown_to_the_cent_never_rounded() -> None:
    assert money(Money(amount=Decimal("40"), currency="EUR")) == "40.00 EUR"
    assert money(Money(amount=Decimal("1234.5"), currency="USD")) == "1,234.50 USD"
    assert money(Money(amount=Decimal("500"), currency="JPY")) == "500 JPY"
    assert money(Money(amount=Decimal("1.234"), currency="KWD")) == "1.234 KWD"
    assert money(Money(amount=Decimal("0.005"), currency="EUR")) == "0.005 EUR"


def test_M04_moments_are_shown_in_the_business_timezone() -> None:
    from zoneinfo import ZoneInfo

    at = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
    assert moment(at, ZoneInfo("Europe/Brussels")) == "Mon 3 Mar 2025, 10:00 CET"
