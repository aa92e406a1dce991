"""notifier's settings: the shared ones plus SMTP, links, retries and delivery knobs.

Durations accept seconds (``ORDERFLOW_EMAIL_RETRY_WITHIN=5``) or ISO 8601 (``PT3M``).
The seeds name no retry policy; the defaults below are ours (docs/notifier.md).
"""

from __future__ import annotations

import os
import socket
import urllib.parse
import uuid
from datetime import timedelta
from email.headerregistry import Address
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator

from notifier.dispatch import DispatchSettings
from notifier.domain import EmailPolicy, RetryPolicy
from notifier.mail import Origin
from notifier.smtp import SmtpSettings
from servicekit.config import Duration, ServiceSettings, TimeZoneName, token_secret

_POLICY = EmailPolicy()
_RETRY = RetryPolicy()
_DISPATCH = DispatchSettings(owner="")


class NotifierSettings(ServiceSettings):
    http_port: int = Field(default=8104, description="Port of /metrics, /livez and /readyz.")
    max_in_flight: int = Field(
        default=256,
        ge=1,
        description="Messages handled at once per service process (same key: one at a time); "
        "the notifier's handlers mostly wait on the store, and the more run at once, the "
        "more of their claims share one write.",
    )
    smtp_url: str = Field(
        default="smtp://127.0.0.1:1025",
        validation_alias=AliasChoices("SMTP_URL", "ORDERFLOW_SMTP_URL"),
        description="SMTP server: smtp://host:port, or smtps://host:port for TLS from the start.",
    )
    smtp_starttls: Literal["auto", "required", "off"] = Field(
        default="auto",
        description="STARTTLS on smtp://: when offered (auto), required, or off.",
    )
    smtp_username: str = Field(default="", description="SMTP login (none: no authentication).")
    smtp_password: SecretStr = Field(default=SecretStr(""), description="SMTP password.")
    smtp_validate_certs: bool = Field(
        default=True, description="Check the server's TLS certificate."
    )
    smtp_timeout_seconds: float = Field(default=30.0, description="Timeout of each SMTP command.")
    smtp_pool_size: int = Field(
        default=8, ge=1, description="SMTP connections kept open and reused (and senders)."
    )
    mail_from: str = Field(
        default="no-reply@orderflow.example", description="Sender address of every email."
    )
    mail_from_name: str = Field(default="orderflow", description="Sender name of every email.")
    business_timezone: TimeZoneName = Field(
        default="UTC", description="M-04/M-16: where weekends and days are reckoned (IANA name)."
    )
    confirmation_url: str = Field(
        default="http://127.0.0.1:8080/confirm?order={order_id}&token={token}",
        description="M-08: the client's confirmation page; {order_id} and {token} are filled "
        "in (default: the gateway's page at the gateway's default address; set it to the "
        "gateway's ORDERFLOW_PUBLIC_URL + /confirm?order={order_id}&token={token}).",
    )
    review_url: str = Field(
        default="http://127.0.0.1:8080/review?order={order_id}&token={token}",
        description="P-17: the review page; {order_id} and {token} (signed for the customer) "
        "are filled in (default: the gateway's page at the gateway's default address).",
    )
    token_secret: SecretStr = token_secret()
    review_link_valid_for: Duration = Field(
        default=_POLICY.review_valid_for,
        description="P-17: how long the emailed review link works after the order closed.",
    )
    email_max_attempts: int = Field(
        default=_RETRY.max_attempts, ge=1, description="X-06: SMTP attempts per email at most."
    )
    email_retry_first_delay: Duration = Field(
        default=_RETRY.first_delay, description="X-06: delay before the first retry; doubles."
    )
    email_retry_max_delay: Duration = Field(
        default=_RETRY.max_delay, description="X-06: longest delay between two attempts."
    )
    email_retry_within: Duration = Field(
        default=_RETRY.within,
        description="X-06: no attempt starts later than this after the first; then EmailFailed.",
    )
    email_lease: Duration = Field(
        default=_DISPATCH.lease,
        description="How long a sender holds a delivery; a dead sender's is taken over after it.",
    )
    email_max_in_flight: int = Field(
        default=_DISPATCH.max_in_flight,
        ge=1,
        description="Deliveries a replica holds at most; beyond, consuming waits (backpressure).",
    )
    email_recovery_interval: Duration = Field(
        default=_DISPATCH.recovery_interval,
        description="How often unfinished deliveries of dead senders are looked for.",
    )
    reminder_lead_p02: Duration = Field(
        default=timedelta(hours=4),
        description="X-12: reminder before P-02's confirmation window closes (0: none).",
    )
    reminder_lead_m09: Duration = Field(
        default=timedelta(days=1),
        description="X-12: reminder to the client before the offer expires, M-09 (0: none).",
    )
    reminder_lead_p13: Duration = Field(
        default=timedelta(days=1),
        description="X-12: reminder before P-13's service confirmation window closes (0: none).",
    )
    reminder_lead_p15: Duration = Field(
        default=timedelta(hours=12),
        description="X-12: reminder before P-15's payment window closes (0: none).",
    )
    replica_id: str = Field(
        default="", description="This replica's name in leases (default: host and pid)."
    )

    @field_validator("smtp_url")
    @classmethod
    def _smtp_url(cls, value: str) -> str:
        url = urllib.parse.urlsplit(value)
        if url.scheme not in ("smtp", "smtps") or not url.hostname:
            raise ValueError("must be smtp://host:port or smtps://host:port")
        if url.username or url.password:
            raise ValueError("put credentials in ORDERFLOW_SMTP_USERNAME / _PASSWORD, not the URL")
        return value

    @field_validator("mail_from")
    @classmethod
    def _address(cls, value: str) -> str:
        Address(addr_spec=value)
        return value

    @model_validator(mode="after")
    def _links(self) -> NotifierSettings:
        self.policy()  # raises on a link template with unknown placeholders
        return self

    def policy(self) -> EmailPolicy:
        return self.derive(
            EmailPolicy,
            timezone=ZoneInfo(self.business_timezone),
            review_secret=self.token_secret.get_secret_value(),
            review_valid_for=self.review_link_valid_for,
            reminder_leads={
                "P-02": self.reminder_lead_p02,
                "M-09": self.reminder_lead_m09,
                "P-13": self.reminder_lead_p13,
                "P-15": self.reminder_lead_p15,
            },
        )

    def retry(self) -> RetryPolicy:
        return self.derive(RetryPolicy, "email_retry_", max_attempts=self.email_max_attempts)

    def smtp(self) -> SmtpSettings:
        url = urllib.parse.urlsplit(self.smtp_url)
        assert url.hostname is not None  # checked by the validator
        tls: Literal["smtps", "required", "auto", "off"] = (
            "smtps" if url.scheme == "smtps" else self.smtp_starttls
        )
        return self.derive(
            SmtpSettings,
            "smtp_",
            host=url.hostname,
            port=url.port or (465 if url.scheme == "smtps" else 25),
            tls=tls,
            password=self.smtp_password.get_secret_value(),
        )

    def origin(self) -> Origin:
        return Origin(address=self.mail_from, name=self.mail_from_name)

    def dispatch(self) -> DispatchSettings:
        # An attempt is a connection and a send, each within the SMTP timeout, plus slack.
        budget = timedelta(seconds=2 * self.smtp_timeout_seconds + 10)
        return self.derive(
            DispatchSettings,
            "email_",
            owner=self.replica_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}",
            lease=max(self.email_lease, 2 * budget),
            attempt_budget=budget,
            workers=self.smtp_pool_size,
        )
