"""The SMTP catcher's fault mode, which the chaos run uses (docs/chaos.md): an in-process
catcher on a free port with its own Maildir, so no other test's catcher is touched."""

from __future__ import annotations

import smtplib
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest

from devstack import smtp


@pytest.fixture
def catcher(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    port, maildir = smtp.free_port(), tmp_path / "mail"
    controller = smtp.start_catcher("127.0.0.1", port, maildir)
    try:
        yield port, maildir
    finally:
        controller.stop()


def _send(port: int, subject: str) -> None:
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = "a@example.test", "b@example.test", subject
    mail.set_content("body")
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.send_message(mail)


def _code(port: int, subject: str) -> int:
    with pytest.raises(smtplib.SMTPDataError) as refused:
        _send(port, subject)
    return refused.value.smtp_code


def test_X06_the_catcher_refuses_every_mail_while_faulted_then_stores_again(
    catcher: tuple[int, Path],
) -> None:
    port, maildir = catcher
    smtp.set_fault(maildir, reply="451 4.3.0 chaos: try later")
    temporary = _code(port, "during 4xx")
    smtp.set_fault(maildir, reply="554 5.7.1 chaos: refused")
    permanent = _code(port, "during 5xx")
    smtp.clear_fault(maildir)
    _send(port, "after")

    assert (temporary, permanent) == (451, 554)
    assert [m["Subject"] for m in smtp.messages(maildir)] == ["after"]


def test_X06_a_slow_catcher_answers_after_its_delay_and_still_stores(
    catcher: tuple[int, Path],
) -> None:
    port, maildir = catcher
    smtp.set_fault(maildir, delay=0.5)
    started = time.monotonic()
    _send(port, "slow")
    took = time.monotonic() - started
    smtp.clear_fault(maildir)

    assert took >= 0.5
    assert [m["Subject"] for m in smtp.messages(maildir)] == ["slow"]


def test_set_fault_takes_only_smtp_refusals() -> None:
    with pytest.raises(ValueError, match="4xx or 5xx"):
        smtp.set_fault(Path("/nonexistent"), reply="250 fine")
