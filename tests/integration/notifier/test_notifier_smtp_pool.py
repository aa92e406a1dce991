"""The SMTP pool on the real SMTP server: connections are reused, refusals classified."""

from __future__ import annotations

import asyncio
import urllib.parse
from email.message import EmailMessage
from typing import Any

import aiosmtplib
import pytest

from devstack import smtp
from notifier.smtp import SendError, SmtpPool, SmtpSettings
from tests.integration.notifier.notifier_mail import address, mails_to, wait_for_mails

pytestmark = pytest.mark.timeout(120)


def settings(stack: Any, pool_size: int) -> SmtpSettings:
    url = urllib.parse.urlsplit(stack.smtp_url)
    assert url.hostname and url.port
    return SmtpSettings(host=url.hostname, port=url.port, tls="auto", pool_size=pool_size)


def message(to: str, n: int) -> EmailMessage:
    m = EmailMessage()
    m["From"] = "no-reply@orderflow.example"
    m["To"] = to
    m["Subject"] = f"pool test {n}"
    m.set_content(f"message {n}")
    return m


class CountingPool(SmtpPool):
    opened = 0

    def _client(self) -> aiosmtplib.SMTP:
        self.opened += 1
        return super()._client()


async def test_X06_many_emails_share_a_few_reused_connections(stack: Any, run_id: str) -> None:
    to = address(run_id, "pool")
    pool = CountingPool(settings(stack, pool_size=2))
    try:
        await asyncio.gather(
            *(pool.send(message(to, n), "no-reply@orderflow.example", to) for n in range(20))
        )
    finally:
        await pool.close()
    assert len(await wait_for_mails(stack.maildir, to, count=20)) == 20
    assert pool.opened <= 2


async def test_X06_a_temporary_refusal_is_reported_and_the_connection_stays_usable(
    stack: Any, run_id: str
) -> None:
    to = address(run_id, "refused")
    smtp.refuse_next(1, stack.maildir, rcpt_contains=to)
    pool = CountingPool(settings(stack, pool_size=1))
    try:
        with pytest.raises(SendError) as refused:
            await pool.send(message(to, 1), "no-reply@orderflow.example", to)
        assert (refused.value.failure.temporary, refused.value.failure.code) == (True, 451)
        await pool.send(message(to, 2), "no-reply@orderflow.example", to)
    finally:
        await pool.close()
    [arrived] = mails_to(stack.maildir, to)
    assert arrived["Subject"] == "pool test 2"
    assert pool.opened == 1


async def test_X06_an_unreachable_server_is_a_temporary_failure(stack: Any) -> None:
    pool = SmtpPool(SmtpSettings(host="127.0.0.1", port=smtp.free_port(), timeout_seconds=2))
    with pytest.raises(SendError) as failed:
        await pool.send(message("x@example.com", 1), "no-reply@orderflow.example", "x@example.com")
    assert failed.value.failure.temporary
