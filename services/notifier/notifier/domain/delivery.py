"""A delivery's life: claimed once, sent or failed once; retried within a bound.

    DeliveryStatus   sending ─▶ sent | failed      (the table below is the only way)
    RetryPolicy      attempts, first delay, cap, total time; jitter
    next_try         after a failed attempt: Retry(delay) or GiveUp(reason)
    sent / failed    the EmailSent / EmailFailed events, ids derived from the cause

A delivery is claimed before anything is sent, by inserting its key as a unique `_id`
(the one atomic write FerretDB has). Its sender holds a lease; a sender that dies
leaves the lease to expire, and the next sender takes the delivery over by inserting
the next lease generation, again a unique `_id`. So at most one sender works on a
delivery at a time, and only a crash between the SMTP server's acceptance and the
record of it can send an email twice (with the same Message-ID).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from contracts.envelope import Party, Role, derived_id
from contracts.notifications import DeliveryStatus, EmailFailed, EmailFailureReason, EmailSent
from notifier.domain.model import Email

NOTIFIER = Party(id="notifier", role=Role.SYSTEM)
S = DeliveryStatus
F = EmailFailureReason


@dataclass(frozen=True)
class Step:
    """One row of the delivery table: from `source` (None: nothing yet), on `trigger`."""

    source: DeliveryStatus | None
    trigger: str
    target: DeliveryStatus
    effect: str


# fmt: off
TABLE: tuple[Step, ...] = (
    Step(None, "claimed", S.SENDING, "insert of the key as `_id`; a duplicate claims nothing"),
    Step(S.SENDING, "accepted", S.SENT, "EmailSent"),
    Step(S.SENDING, "temporary failure", S.SENDING,
         "retry after an exponential, jittered delay, within the bound"),
    Step(S.SENDING, "lease expired", S.SENDING,
         "another sender takes over with the next lease generation"),
    Step(S.SENDING, "gave up", S.FAILED,
         "EmailFailed: refused, retries exhausted, no address, render failed, abandoned"),
)
# fmt: on


def step(source: DeliveryStatus | None, trigger: str) -> Step:
    """The row for `trigger` in `source`; a pair the table lacks is a bug."""
    for row in TABLE:
        if row.source is source and row.trigger == trigger:
            return row
    raise LookupError(f"no delivery step {trigger!r} from {source}")


#: The steps the dispatcher takes, by name (looked up, so the table stays the truth).
ACCEPTED = step(S.SENDING, "accepted")
RETRIED = step(S.SENDING, "temporary failure")
TAKEN_OVER = step(S.SENDING, "lease expired")
GAVE_UP = step(S.SENDING, "gave up")


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try. The seeds are silent; these are the defaults of the config."""

    max_attempts: int = 6
    first_delay: timedelta = timedelta(seconds=2)
    max_delay: timedelta = timedelta(seconds=60)
    #: No attempt starts later than this after the first one.
    within: timedelta = timedelta(minutes=3)
    #: Each delay is spread by +/- this fraction, so retries of many emails do not align.
    jitter: float = 0.5

    def __post_init__(self) -> None:
        if self.max_attempts < 1 or not 0 <= self.jitter < 1:
            raise ValueError("max_attempts >= 1 and 0 <= jitter < 1")


@dataclass(frozen=True)
class Failure:
    """An attempt that did not get the email accepted."""

    temporary: bool
    code: int | None
    detail: str


@dataclass(frozen=True)
class Retry:
    delay: timedelta


@dataclass(frozen=True)
class GiveUp:
    reason: EmailFailureReason
    message: str
    code: int | None = None


def backoff(policy: RetryPolicy, attempts: int, rand: float) -> timedelta:
    """The delay after the `attempts`-th failed attempt: doubling from `first_delay`,
    spread by the jitter (`rand` in [0, 1)), never above `max_delay`."""
    base = min(policy.first_delay * (2.0 ** max(attempts - 1, 0)), policy.max_delay)
    spread = 1 - policy.jitter + 2 * policy.jitter * rand
    return min(base * spread, policy.max_delay)


def next_try(
    policy: RetryPolicy, attempts: int, elapsed: timedelta, failure: Failure, rand: float
) -> Retry | GiveUp:
    """After `attempts` failed attempts over `elapsed`: try again later, or give up."""
    if not failure.temporary:
        return GiveUp(F.REFUSED, f"refused for good: {failure.detail}", failure.code)
    if attempts >= policy.max_attempts:
        return GiveUp(
            F.RETRIES_EXHAUSTED, f"{attempts} attempts, the last: {failure.detail}", failure.code
        )
    delay = backoff(policy, attempts, rand)
    if elapsed + delay > policy.within:
        return GiveUp(
            F.RETRIES_EXHAUSTED,
            f"{attempts} attempts in {elapsed.total_seconds():.0f}s, the last: {failure.detail}",
            failure.code,
        )
    return Retry(delay)


def _outcome(email: Email, outcome: str, attempts: int, now: datetime) -> dict[str, Any]:
    """What EmailSent and EmailFailed share: envelope (id derived from the cause's id),
    the delivery, its cause and its recipient."""
    cause, recipient = email.cause, email.recipient
    return {
        "message_id": _outcome_id(email, outcome),
        "occurred_at": now,
        "correlation_id": cause.correlation_id,
        "causation_id": cause.message_id,
        "actor": NOTIFIER,
        "order_id": cause.order_id,
        "account_id": cause.account_id,
        "delivery_id": email.delivery_id,
        "cause_id": cause.message_id,
        "cause_type": cause.type,
        "template": email.template,
        "recipient_role": recipient.role,
        "recipient_id": recipient.party_id,
        "rules": list(email.rules),
        "attempts": attempts,
    }


def sent(email: Email, attempts: int, message_id_header: str, now: datetime) -> EmailSent:
    """The EmailSent event of a delivery."""
    return EmailSent(
        **_outcome(email, "sent", attempts, now),
        email_message_id=message_id_header,
        sent_at=now,
    )


def failed(email: Email, give_up: GiveUp, attempts: int, now: datetime) -> EmailFailed:
    """The EmailFailed event of a delivery."""
    return EmailFailed(
        **_outcome(email, "failed", attempts, now),
        reason=give_up.reason.value,
        message=give_up.message,
        smtp_code=give_up.code,
        failed_at=now,
    )


def _outcome_id(email: Email, outcome: str) -> uuid.UUID:
    token = email.recipient.token
    return derived_id(email.cause.message_id, 0, f"{outcome}|{token}|{email.template}")
