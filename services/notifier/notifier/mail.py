"""An email as it goes over SMTP: stdlib `EmailMessage`, headers no event text can bend.

Addresses go through `email.headerregistry.Address` and every header value through the
`email` policy, both of which refuse CR and LF; names and subjects are flattened to one
line before that (`one_line`), so a party named "Bob\\r\\nBcc: evil@example.com" gets
its email, addressed to "Bob Bcc: evil@example.com" <bob@...>, and nobody else does.
The envelope's recipients are given explicitly when sending, never read from headers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

from notifier.domain import Email
from notifier.domain.formatting import one_line
from notifier.rendering import Rendered


@dataclass(frozen=True)
class Origin:
    """Who emails come from, and the domain of their Message-IDs."""

    address: str
    name: str = "orderflow"
    message_id_domain: str = ""

    @property
    def domain(self) -> str:
        return self.message_id_domain or self.address.rpartition("@")[2] or "orderflow.invalid"


def message_id(email: Email, origin: Origin) -> str:
    """The Message-ID: derived from the delivery key, so a re-sent email (after a crash
    between the server's acceptance and its record) carries the same one."""
    return f"<{email.delivery_id}@{origin.domain}>"


def build(email: Email, rendered: Rendered, origin: Origin, now: datetime) -> EmailMessage:
    """The message for `email`; raises ValueError when an address cannot be a header."""
    recipient = email.recipient
    if recipient.address is None:
        raise ValueError("the email has no recipient address")
    message = EmailMessage()
    message["From"] = Address(display_name=one_line(origin.name), addr_spec=origin.address)
    message["To"] = Address(display_name=one_line(recipient.name), addr_spec=recipient.address)
    message["Subject"] = one_line(rendered.subject, 250)
    message["Date"] = format_datetime(now)
    message["Message-ID"] = message_id(email, origin)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies, please
    message["X-Orderflow-Template"] = email.template
    message["X-Orderflow-Rules"] = " ".join(email.rules)
    message["X-Orderflow-Delivery"] = str(email.delivery_id)
    message.set_content(rendered.text)
    message.add_alternative(rendered.html, subtype="html")
    return message
