"""Sending over SMTP with aiosmtplib: a small pool of reused connections.

    SmtpPool.send(mail, sender, recipient)      one email on a pooled connection;
                                                raises `SendError` with a `Failure`
    classify(error)                             temporary (4xx, connection) or not (5xx)

A connection is opened on first use (TLS and authentication as configured), kept for
the next email, and dropped when it fails at the connection level or has been idle for
longer than servers usually keep one open. The envelope recipient is the one address
given, never one read from the message's headers.
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Literal

import aiosmtplib

from notifier.domain import Failure
from notifier.mail import Mail

_ADDRESS = re.compile(r"[^\s<>\"']+@[^\s<>\"']+")


class SendError(Exception):
    """The SMTP server did not accept the email."""

    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.detail)
        self.failure = failure


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    #: "smtps": TLS from the first byte; "required": STARTTLS or fail; "auto": STARTTLS
    #: when the server offers it; "off": plain text (the local catcher).
    tls: Literal["smtps", "required", "auto", "off"] = "auto"
    username: str = ""
    password: str = ""
    validate_certs: bool = True
    timeout_seconds: float = 30.0
    pool_size: int = 8
    idle_seconds: float = 30.0


def scrub(text: str, limit: int = 200) -> str:
    """A server's reply without addresses (servers like to quote them) and line breaks."""
    return " ".join(_ADDRESS.sub("[address]", text).split())[:limit]


def classify(error: BaseException) -> Failure:
    """What a failed send means: 4xx replies and connection trouble are temporary,
    5xx replies permanent, except a refused login (credentials can be fixed)."""
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused):
        codes = [e.code for e in error.recipients]
        temporary = any(400 <= c < 500 for c in codes)
        code = codes[0] if codes else None
        detail = "; ".join(f"{e.code} {scrub(e.message)}" for e in error.recipients)
        return Failure(temporary=temporary, code=code, detail=f"recipient refused: {detail}")
    if isinstance(error, aiosmtplib.SMTPAuthenticationError):
        return Failure(True, error.code, f"login refused: {error.code} {scrub(error.message)}")
    if isinstance(error, aiosmtplib.SMTPNotSupported):
        return Failure(False, None, f"not supported by the server: {scrub(str(error))}")
    if isinstance(error, aiosmtplib.SMTPResponseException) and error.code >= 0:
        temporary = not 500 <= error.code < 600
        return Failure(temporary, error.code, f"{error.code} {scrub(error.message)}")
    return Failure(True, None, f"{type(error).__name__}: {scrub(str(error))}")


@dataclass
class _Connection:
    client: aiosmtplib.SMTP
    last_used: float


class SmtpPool:
    """At most `pool_size` connections, each used by one send at a time."""

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings
        self._idle: list[_Connection] = []
        self._slots = asyncio.Semaphore(settings.pool_size)

    async def send(self, message: Mail | EmailMessage, sender: str, recipient: str) -> str:
        """Send one email; returns the server's reply. Raises `SendError`."""
        if isinstance(message, Mail) and message.message is not None:
            message = message.message
        async with self._slots:
            connection = await self._acquire()
            try:
                client = connection.client
                if isinstance(message, Mail):  # its bytes as built: nothing to flatten
                    _, reply = await client.sendmail(sender, [recipient], message.data)
                else:
                    _, reply = await client.send_message(
                        message, sender=sender, recipients=[recipient]
                    )
            except (aiosmtplib.SMTPException, TimeoutError, OSError) as error:
                self._release(connection, keep=_still_usable(error))
                raise SendError(classify(error)) from error
            except BaseException:  # cancelled mid-send, or a bug: the session is unknown
                self._release(connection, keep=False)
                raise
            self._release(connection, keep=True)
            return reply

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for connection in idle:
            await _quit(connection.client)

    async def _acquire(self) -> _Connection:
        now = time.monotonic()
        while self._idle:
            connection = self._idle.pop()
            fresh = now - connection.last_used < self.settings.idle_seconds
            if fresh and connection.client.is_connected:
                return connection
            await _quit(connection.client)
        client = self._client()
        try:
            await client.connect()
        except (TimeoutError, aiosmtplib.SMTPException, OSError) as error:
            client.close()
            raise SendError(classify(error)) from error
        return _Connection(client, now)

    def _release(self, connection: _Connection, *, keep: bool) -> None:
        if keep and connection.client.is_connected:
            connection.last_used = time.monotonic()
            self._idle.append(connection)
        else:
            connection.client.close()

    def _client(self) -> aiosmtplib.SMTP:
        s = self.settings
        start_tls = {"smtps": False, "required": True, "auto": None, "off": False}[s.tls]
        return aiosmtplib.SMTP(
            hostname=s.host,
            port=s.port,
            username=s.username or None,
            password=s.password or None,
            use_tls=s.tls == "smtps",
            start_tls=start_tls,
            validate_certs=s.validate_certs,
            timeout=s.timeout_seconds,
        )


def _still_usable(error: Exception) -> bool:
    # aiosmtplib resets the envelope after a refusal; the connection itself is fine (and
    # after a timeout or a socket error, it is not).
    return isinstance(
        error, aiosmtplib.SMTPResponseException | aiosmtplib.SMTPRecipientsRefused
    ) and not isinstance(error, aiosmtplib.SMTPServerDisconnected)


async def _quit(client: aiosmtplib.SMTP) -> None:
    try:
        await asyncio.wait_for(client.quit(), timeout=2)
    except Exception:  # the server went away meanwhile: nothing to be polite to
        client.close()
