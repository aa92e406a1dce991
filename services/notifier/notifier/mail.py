"""An email as it goes over SMTP: MIME bytes from a fixed template, headers no event text can bend.

    build(email, rendered, origin, now) ─▶ Mail: the RFC 5322 bytes, and the headers by name
                                          (an address the template cannot take: the stdlib
                                          `EmailMessage`, sent as before)

The message is one shape only (headers, then a multipart/alternative of a plain-text and
an HTML part, both UTF-8, quoted-printable), so it is written out directly rather than
assembled header by header by the `email` package, which cost most of a send's CPU
(docs/notifier.md). Names and subjects are flattened to one line first (`one_line`), so a
party named "Bob\\r\\nBcc: evil@example.com" gets its email, addressed to
"Bob Bcc: evil@example.com" <bob@...>, and nobody else does; non-ASCII text goes in RFC
2047 encoded words; an address is used as is only if it is a plain ASCII addr-spec. The
envelope's recipients are given explicitly when sending, never read from headers.
"""

from __future__ import annotations

import binascii
import email
import email.policy
import re
from dataclasses import dataclass, field
from datetime import datetime
from email.header import Header
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

from notifier.domain import Email
from notifier.domain.formatting import one_line
from notifier.rendering import Rendered

#: An addr-spec the template takes as it is: ASCII, no space, quote, bracket or control.
_PLAIN_ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9.-]+")
#: A display name that needs no quoting (RFC 5322 atoms and spaces).
_ATOMS = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~ -]*")
#: Lines of a header are folded at spaces to stay within this (RFC 5322 2.1.1).
_LINE = 78


@dataclass(frozen=True)
class Origin:
    """Who emails come from, and the domain of their Message-IDs (the sender's)."""

    address: str
    name: str = "orderflow"

    @property
    def domain(self) -> str:
        return self.address.rpartition("@")[2] or "orderflow.invalid"


@dataclass(frozen=True)
class Mail:
    """An email ready to send: its bytes (CRLF line ends), and its headers as written."""

    data: bytes
    headers: dict[str, str] = field(default_factory=dict)
    #: Set instead of `data` for an address the template does not take (the stdlib sends it,
    #: with SMTPUTF8 where the address needs it).
    message: EmailMessage | None = None

    def __getitem__(self, name: str) -> str | None:
        if self.message is not None:
            value = self.message[name]
            return None if value is None else str(value)
        return self.headers.get(name)

    def __bytes__(self) -> bytes:
        return self.data if self.message is None else bytes(self.message)

    def parsed(self) -> EmailMessage:
        """The email as a receiver reads it (tests, tools)."""
        parsed = email.message_from_bytes(bytes(self), policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


def message_id(email: Email, origin: Origin) -> str:
    """The Message-ID: derived from the delivery key, so a re-sent email (after a crash
    between the server's acceptance and its record) carries the same one."""
    return f"<{email.delivery_id}@{origin.domain}>"


def build(email: Email, rendered: Rendered, origin: Origin, now: datetime) -> Mail:
    """The message for `email`; raises ValueError when an address cannot be a header."""
    recipient = email.recipient
    if recipient.address is None:
        raise ValueError("the email has no recipient address")
    if not (_plain(origin.address) and _plain(recipient.address)):
        return Mail(b"", message=build_with_stdlib(email, rendered, origin, now))
    headers = {
        "From": _mailbox(one_line(origin.name), origin.address),
        "To": _mailbox(one_line(recipient.name), recipient.address),
        "Subject": _text(one_line(rendered.subject, 250), "Subject"),
        "Date": format_datetime(now),
        "Message-ID": message_id(email, origin),
        "Auto-Submitted": "auto-generated",  # RFC 3834: no auto-replies, please
        "X-Orderflow-Template": email.template,
        "X-Orderflow-Rules": " ".join(email.rules),
        "X-Orderflow-Delivery": str(email.delivery_id),
    }
    boundary = f"=_{email.delivery_id.hex}"  # "=_" never occurs in quoted-printable text
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    data = b"".join(
        (
            head.encode("ascii"),
            b"MIME-Version: 1.0\r\n",
            f'Content-Type: multipart/alternative; boundary="{boundary}"\r\n\r\n'.encode(),
            _part(boundary, "plain", rendered.text),
            _part(boundary, "html", rendered.html),
            f"--{boundary}--\r\n".encode(),
        )
    )
    return Mail(data, headers)


def build_with_stdlib(
    email: Email, rendered: Rendered, origin: Origin, now: datetime
) -> EmailMessage:
    """The same message by the `email` package, header by header (addresses `build`'s
    template does not take; the reference its tests compare with)."""
    recipient = email.recipient
    assert recipient.address is not None
    message = EmailMessage()
    message["From"] = Address(display_name=one_line(origin.name), addr_spec=origin.address)
    message["To"] = Address(display_name=one_line(recipient.name), addr_spec=recipient.address)
    message["Subject"] = one_line(rendered.subject, 250)
    message["Date"] = format_datetime(now)
    message["Message-ID"] = message_id(email, origin)
    message["Auto-Submitted"] = "auto-generated"
    message["X-Orderflow-Template"] = email.template
    message["X-Orderflow-Rules"] = " ".join(email.rules)
    message["X-Orderflow-Delivery"] = str(email.delivery_id)
    message.set_content(rendered.text)
    message.add_alternative(rendered.html, subtype="html")
    return message


def _plain(address: str) -> bool:
    return _PLAIN_ADDRESS.fullmatch(address) is not None and ".." not in address


def _mailbox(name: str, address: str) -> str:
    """`name <address>`: the name as atoms, a quoted string, or encoded words."""
    if not name:
        return address
    if _ATOMS.fullmatch(name):
        return f"{name} <{address}>"
    if name.isascii():
        quoted = name.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{quoted}" <{address}>'
    return f"{_encoded(name, 'To')} <{address}>"


def _text(value: str, name: str) -> str:
    """An unstructured header value: ASCII folded at spaces, else encoded words."""
    if not value.isascii():
        return _encoded(value, name)
    lines, line, used = [], "", len(name) + 2
    for word in value.split(" "):
        if line and word and used + len(line) + 1 + len(word) > _LINE:
            lines.append(line)
            line, used = word, 1  # a folded line starts with the space
        else:
            line = f"{line} {word}" if line else word
    lines.append(line)
    return "\r\n ".join(lines)


def _encoded(value: str, name: str) -> str:
    """RFC 2047 encoded words (UTF-8), folded."""
    return Header(value, "utf-8", header_name=name).encode(linesep="\r\n")


def _part(boundary: str, subtype: str, text: str) -> bytes:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = (text if text.endswith("\n") else text + "\n").encode("utf-8")  # as set_content
    body = binascii.b2a_qp(lines, istext=True).replace(b"\n", b"\r\n")
    return b"".join(
        (
            f"--{boundary}\r\n".encode(),
            f'Content-Type: text/{subtype}; charset="utf-8"\r\n'.encode(),
            b"Content-Transfer-Encoding: quoted-printable\r\n\r\n",
            body,
            b"\r\n",  # belongs to the next delimiter (RFC 2046 5.1.1), not to the text
        )
    )
