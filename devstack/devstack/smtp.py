"""An SMTP catcher: accepts every mail and stores it in a Maildir on disk.

Tests and the demo read sent mail back with :func:`messages` / :func:`wait_for_mail`.
A mail is on disk by the time the sender gets its ``250``, so no polling is needed right
after a synchronous send.

To test retry paths the catcher can refuse on purpose: :func:`refuse_next` adds a rule to
a small JSON control file inside the Maildir (``devstack-refusals.json``), and the server
answers ``451 4.3.0`` at the end of DATA (a temporary failure: the client should retry)
for the next *n* messages that match the rule, then accepts again. A rule can be limited
to mails with a recipient containing some text (say the test run id), so concurrent test
runs sharing one catcher don't eat each other's refusals.

For fault tests the catcher can also misbehave for a while, for every message:
:func:`set_fault` writes ``devstack-fault.json`` into the Maildir, and until
:func:`clear_fault` removes it the server waits ``delay`` seconds before answering the end
of DATA (a slow server) and/or answers ``reply`` instead of storing (say ``451 ...``, a
temporary refusal, or ``554 ...``, a permanent one). Without the file (the normal case)
nothing changes.
"""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import fcntl
import json
import mailbox
import os
import signal
import smtplib
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from email.message import EmailMessage
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

from aiosmtpd.controller import Controller

from devstack.config import StackConfig, say
from devstack.process import NotReadyError, accepts_connections

NAME = "smtp"
READY_TIMEOUT = 20.0
STOP_TIMEOUT = 10.0

CONTROL_FILE = "devstack-refusals.json"
FAULT_FILE = "devstack-fault.json"
REFUSAL_REPLY = "451 4.3.0 devstack: refusing this message on purpose (refuse_next), try later"
# Headers the catcher prepends, because the envelope (who the mail was really sent to,
# Bcc included) is otherwise lost once the message sits in a file.
ENVELOPE_FROM_HEADER = "X-Envelope-From"
ENVELOPE_TO_HEADER = "X-Envelope-To"


def ports(config: StackConfig) -> dict[str, int]:
    """The port the catcher binds."""
    return {"port": config.smtp_port}


def _default_maildir(maildir: Path | None) -> Path:
    return StackConfig.from_env().maildir if maildir is None else maildir


def ensure_maildir(maildir: Path) -> mailbox.Maildir:
    """Open the Maildir at ``maildir``, creating it (with tmp/, new/, cur/) if needed."""
    # mailbox.Maildir(create=True) makes the subfolders only when the folder itself is
    # new; the control file may have created the folder already.
    for sub in ("tmp", "new", "cur"):
        (maildir / sub).mkdir(parents=True, exist_ok=True)
    return mailbox.Maildir(maildir, create=False)


# --- refusal rules ----------------------------------------------------------------------


@contextlib.contextmanager
def _rules(maildir: Path) -> Iterator[list[dict[str, Any]]]:
    """Lock the control file and yield its rules; changes to the list are written back."""
    maildir.mkdir(parents=True, exist_ok=True)
    fd = os.open(maildir / CONTROL_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    with os.fdopen(fd, "r+", encoding="utf-8") as handle:
        # flock because the test process writes rules while the server process consumes them.
        fcntl.flock(handle, fcntl.LOCK_EX)
        rules = _read_rules(handle)
        before = json.dumps(rules)
        yield rules
        if json.dumps(rules) != before:
            handle.seek(0)
            handle.truncate()
            json.dump(rules, handle)
            handle.flush()


def _read_rules(handle: TextIO) -> list[dict[str, Any]]:
    handle.seek(0)
    raw = handle.read()
    try:
        loaded = json.loads(raw) if raw.strip() else []
    except ValueError:
        return []
    return [r for r in loaded if isinstance(r, dict)] if isinstance(loaded, list) else []


def refuse_next(n: int, maildir: Path | None = None, *, rcpt_contains: str | None = None) -> None:
    """Make the catcher answer 451 (temporary failure) to the next ``n`` messages.

    ``maildir`` is the catcher's Maildir (``StackEndpoints.maildir``; default: the local
    stack's). With ``rcpt_contains``, only messages with a recipient containing that text
    are refused (and counted), others go through. Rules add up: two calls refuse twice
    as many. The refusal is decided when the message's DATA ends.
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    if n == 0:
        return
    with _rules(_default_maildir(maildir)) as rules:
        rules.append({"remaining": n, "rcpt_contains": rcpt_contains})


def pending_refusals(maildir: Path | None = None, *, rcpt_contains: str | None = None) -> int:
    """How many refusals are still to come (of rules with that ``rcpt_contains``, if given)."""
    with _rules(_default_maildir(maildir)) as rules:
        return sum(
            int(r.get("remaining", 0))
            for r in rules
            if rcpt_contains is None or r.get("rcpt_contains") == rcpt_contains
        )


def clear_refusals(maildir: Path | None = None) -> None:
    """Drop every refusal rule: the catcher accepts everything again."""
    with _rules(_default_maildir(maildir)) as rules:
        rules.clear()


def _take_refusal(maildir: Path, recipients: Sequence[str]) -> bool:
    """Consume one refusal that applies to a message for ``recipients``, if any."""
    with _rules(maildir) as rules:
        for rule in rules:
            needle = rule.get("rcpt_contains")
            if int(rule.get("remaining", 0)) <= 0:
                continue
            if needle is None or any(str(needle) in rcpt for rcpt in recipients):
                rule["remaining"] = int(rule["remaining"]) - 1
                rules[:] = [r for r in rules if int(r.get("remaining", 0)) > 0]
                return True
    return False


# --- fault mode (every message, until cleared) ---------------------------------------------


def set_fault(maildir: Path, *, reply: str | None = None, delay: float = 0.0) -> None:
    """Until :func:`clear_fault`: wait ``delay`` s before answering each message's DATA,
    and answer ``reply`` (a full SMTP reply line, 4xx or 5xx) instead of storing it."""
    if reply is not None and not (reply[:1] in "45" and reply[:3].isdigit()):
        raise ValueError(f"reply must be a 4xx or 5xx SMTP reply, got {reply!r}")
    if delay < 0:
        raise ValueError(f"delay must be >= 0, got {delay}")
    maildir.mkdir(parents=True, exist_ok=True)
    staged = maildir / f".{FAULT_FILE}.tmp"
    staged.write_text(json.dumps({"reply": reply, "delay": delay}), encoding="utf-8")
    staged.replace(maildir / FAULT_FILE)  # atomic: the server never reads half a file


def clear_fault(maildir: Path) -> None:
    """The catcher behaves normally again."""
    with contextlib.suppress(FileNotFoundError):
        (maildir / FAULT_FILE).unlink()


def _fault(maildir: Path) -> tuple[str | None, float]:
    """The fault mode in force: (reply instead of storing, delay before answering)."""
    try:
        loaded = json.loads((maildir / FAULT_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None, 0.0
    if not isinstance(loaded, dict):
        return None, 0.0
    reply = loaded.get("reply")
    return (str(reply) if reply else None), float(loaded.get("delay") or 0.0)


# --- the server -------------------------------------------------------------------------


class MaildirHandler:
    """aiosmtpd handler: store each message in a Maildir, or refuse it per the rules."""

    def __init__(self, maildir: Path) -> None:
        self.maildir = maildir
        self._box = ensure_maildir(maildir)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's hook name)
        """Called by aiosmtpd once a message's DATA is complete; returns the SMTP reply."""
        recipients = [str(r) for r in envelope.rcpt_tos]
        reply, delay = _fault(self.maildir)
        if delay:
            await asyncio.sleep(delay)
        if reply is not None:
            return reply
        if _take_refusal(self.maildir, recipients):
            return REFUSAL_REPLY
        content: bytes = envelope.original_content or b""
        header = (
            f"{ENVELOPE_FROM_HEADER}: {envelope.mail_from}\n"
            f"{ENVELOPE_TO_HEADER}: {', '.join(recipients)}\n"
        ).encode()
        # Unix line ends in the file, like any local delivery agent writes them.
        self._box.add(header + content.replace(b"\r\n", b"\n"))
        return "250 2.0.0 OK: stored by devstack"


def start_catcher(host: str, port: int, maildir: Path) -> Controller:
    """Start a catcher in this process (a thread with its own loop); returns the Controller.

    Call ``.stop()`` on the result to shut it down. The test suite uses this when it
    runs against containers and has no devstack SMTP process.
    """
    controller = Controller(
        MaildirHandler(maildir),
        hostname=host,
        port=port,
        server_hostname="devstack-smtp",
        ready_timeout=10.0,
    )
    controller.start()
    return controller


def serve(host: str, port: int, maildir: Path) -> None:
    """Run a catcher in the foreground until SIGTERM or SIGINT (``devstack smtp-serve``)."""
    controller = start_catcher(host, port, maildir)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    say(f"smtp catcher listening on {host}:{port}, storing mail in {maildir}")
    # A timed wait so the signal handler gets to run promptly on every platform.
    while not stop.wait(0.5):
        pass
    controller.stop()
    say("smtp catcher stopped")


def probe(config: StackConfig) -> None:
    """Raise NotReadyError unless the catcher answers EHLO and NOOP."""
    if not accepts_connections(config.host, config.smtp_port):
        raise NotReadyError("port closed")
    try:
        with smtplib.SMTP(config.host, config.smtp_port, timeout=3) as client:
            code, _ = client.ehlo()
            if code != 250:
                raise NotReadyError(f"EHLO answered {code}")
            code, _ = client.noop()
            if code != 250:
                raise NotReadyError(f"NOOP answered {code}")
    except (OSError, smtplib.SMTPException) as exc:
        raise NotReadyError(str(exc)) from exc


def argv(config: StackConfig, python: str) -> list[str]:
    """The catcher's command line (a Python process running ``devstack smtp-serve``)."""
    return [
        python,
        "-m",
        "devstack",
        "smtp-serve",
        "--host",
        config.host,
        "--port",
        str(config.smtp_port),
        "--maildir",
        str(config.maildir),
    ]


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now (for an in-process catcher)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


# --- reading mail back ------------------------------------------------------------------


def messages(maildir: Path | None = None) -> list[EmailMessage]:
    """Every stored message, oldest first, parsed with the modern ``email`` API.

    Each has the ``X-Envelope-From`` and ``X-Envelope-To`` headers the catcher added.
    """
    path = _default_maildir(maildir)
    if not (path / "new").is_dir():
        return []
    box = mailbox.Maildir(path, create=False)
    found: list[tuple[float, str, EmailMessage]] = []
    for key in box.iterkeys():
        try:
            raw = box.get_bytes(key)
        except KeyError:  # removed between keys() and now
            continue
        # Maildir keys start with the delivery time (seconds.micro...), a fine sort key.
        found.append((_delivery_time(key), key, _parse(raw)))
    found.sort(key=lambda item: (item[0], item[1]))
    return [message for _, _, message in found]


def _delivery_time(key: str) -> float:
    try:
        return float(key.split(".", 1)[0])
    except ValueError:
        return 0.0


def _parse(raw: bytes) -> EmailMessage:
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)  # policy.default always builds EmailMessage
    return parsed


def sent_to(message: EmailMessage, text: str) -> bool:
    """True if one of the message's envelope recipients contains ``text``."""
    return text in str(message.get(ENVELOPE_TO_HEADER, ""))


async def wait_for_mail(
    match: Callable[[EmailMessage], bool],
    *,
    count: int = 1,
    timeout: float = 30.0,
    maildir: Path | None = None,
) -> list[EmailMessage]:
    """Wait until at least ``count`` stored messages satisfy ``match``; return them all.

    Raises TimeoutError (listing how many matched) when they don't arrive in time.
    """
    deadline = time.monotonic() + timeout
    while True:
        matched = [m for m in messages(maildir) if match(m)]
        if len(matched) >= count:
            return matched
        if time.monotonic() >= deadline:
            raise TimeoutError(
                f"{len(matched)} of {count} expected mails arrived within {timeout} s"
            )
        await asyncio.sleep(0.1)
