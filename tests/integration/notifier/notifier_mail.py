"""Reading the SMTP catcher's Maildir quickly: the shared local catcher holds every run's
mail, so match the envelope recipient on the raw bytes before parsing anything."""

from __future__ import annotations

import asyncio
import email
import email.policy
import time
import uuid
from email.message import EmailMessage
from pathlib import Path

from devstack.smtp import ENVELOPE_TO_HEADER


def mails_to(maildir: Path, needle: str) -> list[EmailMessage]:
    """Every stored mail with an envelope recipient containing `needle`, oldest first."""
    marker = f"{ENVELOPE_TO_HEADER}:".encode()
    found: list[tuple[float, EmailMessage]] = []
    for folder in ("new", "cur"):
        directory = maildir / folder
        if not directory.is_dir():
            continue
        for path in directory.iterdir():
            try:
                raw = path.read_bytes()
            except FileNotFoundError:
                continue
            head = raw[:2048]
            start = head.find(marker)
            line = head[start : head.find(b"\n", start)] if start >= 0 else b""
            if needle.encode() in line:
                parsed = email.message_from_bytes(raw, policy=email.policy.default)
                assert isinstance(parsed, EmailMessage)
                found.append((path.stat().st_mtime, parsed))
    return [m for _, m in sorted(found, key=lambda item: item[0])]


async def wait_for_mails(
    maildir: Path, needle: str, count: int = 1, timeout: float = 30.0
) -> list[EmailMessage]:
    deadline = time.monotonic() + timeout
    while True:
        found = mails_to(maildir, needle)
        if len(found) >= count:
            return found
        if time.monotonic() > deadline:
            raise TimeoutError(f"{len(found)} of {count} mails to {needle} in {timeout}s")
        await asyncio.sleep(0.1)


async def wait_for_template(
    maildir: Path, needle: str, template: str, timeout: float = 30.0
) -> list[EmailMessage]:
    """The mails to `needle` made from `template`, once there is at least one."""
    deadline = time.monotonic() + timeout
    while True:
        found = [m for m in mails_to(maildir, needle) if m["X-Orderflow-Template"] == template]
        if found:
            return found
        if time.monotonic() > deadline:
            raise TimeoutError(f"no {template} mail to {needle} in {timeout}s")
        await asyncio.sleep(0.1)


def text_of(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def html_of(message: EmailMessage) -> str:
    part = message.get_body(("html",))
    assert part is not None
    return str(part.get_content())


def address(run_id: str, role: str) -> str:
    """A recipient unique to this test and this run (the catcher is shared)."""
    return f"{role}-{uuid.uuid4().hex[:10]}@{run_id}.example.com"
