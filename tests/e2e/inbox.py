"""The emails the SMTP catcher received, read back by recipient (X-06).

The catcher is shared by every run and every test, so each scenario's parties have
addresses of their own (`timeline.person`) and mail is matched on the envelope recipient,
looked up in the raw bytes before anything is parsed. The notifier marks each email with
its template (`X-Orderflow-Template`), its rules and its delivery id.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import re
import time
import uuid
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from devstack.smtp import ENVELOPE_TO_HEADER

TEMPLATE = "X-Orderflow-Template"
DELIVERY = "X-Orderflow-Delivery"
RULES = "X-Orderflow-Rules"


def mails_to(maildir: Path, address: str) -> list[EmailMessage]:
    """Every stored email with `address` among its envelope recipients, oldest first."""
    marker, wanted = f"{ENVELOPE_TO_HEADER}:".encode(), address.lower().encode()
    found: list[tuple[float, str, EmailMessage]] = []
    for folder in ("new", "cur"):
        directory = maildir / folder
        if not directory.is_dir():
            continue
        for path in directory.iterdir():
            try:
                raw = path.read_bytes()
            except FileNotFoundError:  # moved from new/ to cur/ meanwhile
                continue
            start = raw.find(marker, 0, 4096)
            line = raw[start : raw.find(b"\n", start)] if start >= 0 else b""
            if wanted in line.lower():
                parsed = email.message_from_bytes(raw, policy=email.policy.default)
                assert isinstance(parsed, EmailMessage)
                found.append((path.stat().st_mtime, path.name, parsed))
    return [m for *_, m in sorted(found, key=lambda item: (item[0], item[1]))]


def templates(maildir: Path, address: str) -> list[str]:
    """The templates of the emails `address` received, sorted."""
    return sorted(str(m[TEMPLATE]) for m in mails_to(maildir, address))


async def wait_for_mail(
    maildir: Path, address: str, template: str, count: int = 1, timeout: float = 30.0
) -> list[EmailMessage]:
    """The emails from `template` to `address`, once there are at least `count`."""
    deadline = time.monotonic() + timeout
    while True:
        found = [m for m in mails_to(maildir, address) if m[TEMPLATE] == template]
        if len(found) >= count:
            return found
        if time.monotonic() > deadline:
            have = templates(maildir, address)
            raise TimeoutError(
                f"{len(found)} of {count} {template} emails to {address} in {timeout}s; "
                f"it has {have}"
            )
        await asyncio.sleep(0.25)


async def expect_templates(
    maildir: Path, address: str, expected: list[str], timeout: float = 30.0
) -> list[EmailMessage]:
    """Wait until `address` has received exactly the emails of `expected` (templates, in
    any order); fail showing what it has if it does not within `timeout`."""
    deadline = time.monotonic() + timeout
    while (have := templates(maildir, address)) != sorted(expected):
        if time.monotonic() > deadline or len(have) > len(expected):
            raise AssertionError(f"{address} received {have}, expected {sorted(expected)}")
        await asyncio.sleep(0.25)
    return mails_to(maildir, address)


def text_of(message: EmailMessage) -> str:
    """The plain-text part."""
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def token_in(mail_text: str, order_id: uuid.UUID) -> str:
    """M-08: the token of the confirmation link in the client's email (for that order)."""
    [link] = re.findall(r"https://orders\.example\.test/confirm\S+", mail_text)
    query = parse_qs(urlsplit(link).query)
    assert query["order"] == [str(order_id)]
    return str(query["token"][0])
