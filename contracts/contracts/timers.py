"""Messages of the timer service: deadlines to keep, and the news that one fell due (X-02).

    TimerCommand (Command)        on timers.commands; strict; keyed by `order_id`
    ├── ScheduleDeadline          schedule a deadline, or update the one with that id
    ├── RescheduleDeadline        move a pending deadline to a new due time
    └── CancelDeadline            drop a deadline; unknown, fired or cancelled: a no-op
    TimerEvent (Event)            on timers.events; tolerant; keyed by `order_id`
    ├── DeadlineExpired           a deadline fell due (at least once: dedupe by deadline id
    │                             and generation; `late` marks one fired after downtime, X-03)
    └── TimerCommandRejected      the answer to a refused command, with a `TimerRejectionReason`

`order_id` is the Kafka key. For an owner whose aggregate is not an order (an invoice, a
payout), it is that aggregate's id: the owner then sees its own deadlines in order. A
deadline keeps the key it was first scheduled with; commands about it must repeat it.

`generation` counts the schedules of one deadline id: it grows with every schedule or
reschedule, so an owner can tell the expiry of the current schedule from that of one it
replaced while it was already firing.
"""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BeforeValidator, Field, JsonValue

from contracts.envelope import Command, Event, FieldError, MessageUnion
from contracts.reasons import published_codes


def _key_as_text(value: Any) -> Any:
    """Accept an order's UUID as it is; the key on the wire is its text form."""
    return str(value) if isinstance(value, uuid.UUID) else value


#: The id the owner gives a deadline: any printable text without `|` or whitespace.
DeadlineId = Annotated[str, Field(pattern=r"^[^|\s]{1,200}$")]
#: The aggregate the deadline belongs to (the order id, or the owner's own aggregate id).
AggregateKey = Annotated[str, BeforeValidator(_key_as_text), Field(min_length=1, max_length=100)]
#: The service that owns the deadline, e.g. "ordering", "payments".
Owner = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]{0,49}$")]
#: What the deadline means to its owner, e.g. "confirmation_window" or "P-02".
Kind = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$")]


class TimerRejectionReason(StrEnum):
    """The stable, machine-readable codes of `TimerCommandRejected.reason`."""

    UNKNOWN_DEADLINE = "unknown_deadline"
    DEADLINE_NOT_PENDING = "deadline_not_pending"
    KEY_MISMATCH = "key_mismatch"
    DUE_TOO_FAR = "due_too_far"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    INVALID = "invalid"


#: What each `TimerRejectionReason` means (published with the code in docs/asyncapi).
TIMER_REJECTION_REASON_MEANINGS: dict[str, str] = {
    TimerRejectionReason.UNKNOWN_DEADLINE: "No deadline of this `deadline_id` was scheduled.",
    TimerRejectionReason.DEADLINE_NOT_PENDING: (
        "The deadline has fired or was cancelled already: schedule it again instead."
    ),
    TimerRejectionReason.KEY_MISMATCH: (
        "The deadline id belongs to another `order_id` or `owner` than the command names."
    ),
    TimerRejectionReason.DUE_TOO_FAR: (
        "`due_at` is further ahead than the configured horizon (ORDERFLOW_MAX_HORIZON_DAYS)."
    ),
    TimerRejectionReason.PAYLOAD_TOO_LARGE: (
        "The payload is larger than ORDERFLOW_MAX_PAYLOAD_BYTES."
    ),
    # the content of a command whose envelope reads is invalid; `errors` lists why.
    "invalid": "X-13: the command's content does not match its schema; `errors` says where.",
}
TimerReasonCode = Annotated[
    str, published_codes(TimerRejectionReason, TIMER_REJECTION_REASON_MEANINGS)
]


class TimerCommand(Command):
    deadline_id: DeadlineId
    order_id: AggregateKey


class ScheduleDeadline(TimerCommand):
    """Keep a deadline until `due_at`, then publish `DeadlineExpired` echoing `payload`.

    An id that exists is updated: its due time, kind and payload are replaced and it is
    pending again, whatever it was.
    """

    type: Literal["ScheduleDeadline"] = "ScheduleDeadline"
    owner: Owner
    kind: Kind
    due_at: AwareDatetime
    payload: dict[str, JsonValue] = Field(default_factory=dict)


class RescheduleDeadline(TimerCommand):
    """Move a pending deadline; a fired or cancelled one is refused (`deadline_not_pending`)."""

    type: Literal["RescheduleDeadline"] = "RescheduleDeadline"
    due_at: AwareDatetime


class CancelDeadline(TimerCommand):
    """Drop a pending deadline. Unknown, fired or already cancelled: nothing happens."""

    type: Literal["CancelDeadline"] = "CancelDeadline"


class TimerEvent(Event):
    deadline_id: str
    order_id: str


class DeadlineExpired(TimerEvent):
    """X-02: a deadline fell due. `late` is set when it fired later than the tolerance (X-03)."""

    type: Literal["DeadlineExpired"] = "DeadlineExpired"
    owner: str
    kind: str
    generation: int
    payload: dict[str, JsonValue] = Field(default_factory=dict)
    due_at: AwareDatetime
    fired_at: AwareDatetime
    lateness_ms: int
    late: bool


class TimerCommandRejected(TimerEvent):
    """X-07: a command was refused; `reason` is a `TimerRejectionReason` value."""

    type: Literal["TimerCommandRejected"] = "TimerCommandRejected"
    command_type: str
    command_id: uuid.UUID
    reason: TimerReasonCode
    message: str
    #: X-13: reason `invalid`: what is wrong with the command, field by field.
    errors: list[FieldError] = []


TIMER_COMMANDS: MessageUnion[TimerCommand] = MessageUnion(
    ScheduleDeadline, RescheduleDeadline, CancelDeadline
)
TIMER_EVENTS: MessageUnion[TimerEvent] = MessageUnion(DeadlineExpired, TimerCommandRejected)

__all__ = [
    "TIMER_COMMANDS",
    "TIMER_EVENTS",
    "AggregateKey",
    "CancelDeadline",
    "DeadlineExpired",
    "DeadlineId",
    "Kind",
    "Owner",
    "RescheduleDeadline",
    "ScheduleDeadline",
    "TimerCommand",
    "TimerCommandRejected",
    "TimerEvent",
    "TimerRejectionReason",
]
