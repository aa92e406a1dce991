"""Messages of the notifier: what became of each email it was asked to send (X-06).

    NotificationEvent (Event)   on notifications.events; tolerant; keyed by `order_id`
    ├── EmailSent               the SMTP server accepted the email
    └── EmailFailed             it will not be sent: an `EmailFailureReason` and a message

One email is one *delivery*, keyed by (the id of the event it is about, its recipient, its
template); `delivery_id` is derived from that key, so a redelivered event names the same
delivery and never sends it twice. Neither event carries an email address or a name:
`recipient_role` and `recipient_id` (the party id, when the event named a party) say who
it was for. `email_message_id` is the `Message-ID` header the email carried.
"""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AwareDatetime

from contracts.envelope import Event, MessageUnion, Role
from contracts.reasons import published_codes


class EmailFailureReason(StrEnum):
    """The stable, machine-readable codes of `EmailFailed.reason`."""

    #: The event named no address for the recipient, and none was learned for the order.
    NO_RECIPIENT_ADDRESS = "no_recipient_address"
    #: The SMTP server refused for good (a 5xx reply): retrying cannot help.
    REFUSED = "refused"
    #: Temporary failures (4xx, lost connections) until the retry bound was reached.
    RETRIES_EXHAUSTED = "retries_exhausted"
    #: The template could not be rendered with the event's data.
    RENDER_FAILED = "render_failed"
    #: Its senders kept dying mid-delivery; given up so that a crash loop ends.
    ABANDONED = "abandoned"


#: What each `EmailFailureReason` means (published with the code in docs/asyncapi).
EMAIL_FAILURE_REASON_MEANINGS: dict[str, str] = {
    EmailFailureReason.NO_RECIPIENT_ADDRESS: (
        "The event named no address for the recipient, and none was learned for the order."
    ),
    EmailFailureReason.REFUSED: "The SMTP server refused for good (a 5xx reply).",
    EmailFailureReason.RETRIES_EXHAUSTED: (
        "Temporary failures (4xx, lost connections) until the retry bound was reached."
    ),
    EmailFailureReason.RENDER_FAILED: "The template could not be rendered with the event's data.",
    EmailFailureReason.ABANDONED: "Its senders kept dying mid-delivery; given up.",
}
EmailFailureCode = Annotated[
    str, published_codes(EmailFailureReason, EMAIL_FAILURE_REASON_MEANINGS)
]


class DeliveryStatus(StrEnum):
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


class NotificationEvent(Event):
    #: The order the email is about; None for an account's bill-cycle invoice.
    order_id: uuid.UUID | None = None
    #: The account, for an email about an account's invoice (A-11).
    account_id: str | None = None
    delivery_id: uuid.UUID
    #: The event the email is about, and its type.
    cause_id: uuid.UUID
    cause_type: str
    template: str
    recipient_role: Role
    recipient_id: str | None = None
    #: The rules of `seed-rules.md` the email serves, e.g. ["M-05", "M-08"].
    rules: list[str]
    attempts: int
    status: DeliveryStatus

    def kafka_key(self) -> bytes:
        return str(self.order_id or self.account_id).encode()


class EmailSent(NotificationEvent):
    type: Literal["EmailSent"] = "EmailSent"
    status: DeliveryStatus = DeliveryStatus.SENT
    email_message_id: str
    sent_at: AwareDatetime


class EmailFailed(NotificationEvent):
    """The email was not sent and will not be: `reason` is an `EmailFailureReason` value."""

    type: Literal["EmailFailed"] = "EmailFailed"
    status: DeliveryStatus = DeliveryStatus.FAILED
    reason: EmailFailureCode
    message: str
    #: The SMTP server's last reply code, when it gave one.
    smtp_code: int | None = None
    failed_at: AwareDatetime


NOTIFICATION_EVENTS: MessageUnion[NotificationEvent] = MessageUnion(EmailSent, EmailFailed)

__all__ = [
    "NOTIFICATION_EVENTS",
    "DeliveryStatus",
    "EmailFailed",
    "EmailFailureReason",
    "EmailSent",
    "NotificationEvent",
]
