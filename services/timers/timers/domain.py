"""The deadline: its states, the rules for scheduling, rescheduling and cancelling, lateness.

Pure: no I/O, no clock. `now` comes in as an argument; the store and the scheduler apply
what these functions decide. `TRANSITIONS` is the only definition of the statuses;
`state_diagram()` draws it (Mermaid) for the docs.

Every schedule or reschedule starts a new *generation* of the deadline; the generation it
replaces is withdrawn and, if it is already firing, its expiry carries the old number.
A claim is a lease: when it lapses, another replica claims the deadline again, which is
why firing is at least once and an expiry's message id is the same for every attempt.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Final

from contracts.timers import (
    CancelDeadline,
    RescheduleDeadline,
    ScheduleDeadline,
    TimerRejectionReason,
)
from servicekit.decisions import Rejection, refuse


class DeadlineStatus(StrEnum):
    SCHEDULED = "scheduled"
    FIRING = "firing"
    FIRED = "fired"
    CANCELLED = "cancelled"


class Action(StrEnum):
    SCHEDULE = "schedule"
    RESCHEDULE = "reschedule"
    CANCEL = "cancel"
    CLAIM = "claim"
    LEASE_LAPSE = "lease_lapse"
    FIRE = "fire"


S = DeadlineStatus
A = Action

#: The single source of truth for statuses: (status before, action) -> status after.
#: `None` is "no such deadline". A pair that is missing is refused (or, for cancel, a no-op).
TRANSITIONS: Final[Mapping[tuple[DeadlineStatus | None, Action], DeadlineStatus]] = {
    (None, A.SCHEDULE): S.SCHEDULED,
    (S.SCHEDULED, A.SCHEDULE): S.SCHEDULED,
    (S.FIRING, A.SCHEDULE): S.SCHEDULED,
    (S.FIRED, A.SCHEDULE): S.SCHEDULED,
    (S.CANCELLED, A.SCHEDULE): S.SCHEDULED,
    (S.SCHEDULED, A.RESCHEDULE): S.SCHEDULED,
    (S.FIRING, A.RESCHEDULE): S.SCHEDULED,
    (S.SCHEDULED, A.CANCEL): S.CANCELLED,
    (S.SCHEDULED, A.CLAIM): S.FIRING,
    (S.FIRING, A.LEASE_LAPSE): S.SCHEDULED,
    (S.FIRING, A.FIRE): S.FIRED,
}

#: Statuses in which the deadline still has a generation waiting to fire or firing.
PENDING: Final = frozenset({S.SCHEDULED, S.FIRING})


def state_diagram() -> str:
    """`TRANSITIONS` as a Mermaid state diagram: generated, never drawn by hand."""
    lines = ["stateDiagram-v2"]
    for (before, action), after in TRANSITIONS.items():
        source = "[*]" if before is None else before.value
        lines.append(f"    {source} --> {after.value} : {action.value}")
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Limits:
    """What a schedule may ask for. Configuration, never literals in the rules."""

    max_horizon: timedelta
    max_payload_bytes: int


@dataclass(frozen=True)
class Generation:
    """One schedule of a deadline id: its number, due time and where the store keeps it."""

    number: int
    due_at: datetime
    placement: str | None = None


@dataclass(frozen=True)
class Deadline:
    """One deadline id as the owner sees it: its current generation and where that is."""

    deadline_id: str
    order_id: str
    owner: str
    kind: str
    due_at: datetime
    payload: Mapping[str, Any]
    generation: int
    status: DeadlineStatus
    scheduled_at: datetime
    updated_at: datetime
    #: The command that scheduled this generation; its ids are echoed on the expiry.
    correlation_id: uuid.UUID
    causation_id: uuid.UUID
    #: The last command applied, so that a redelivered command changes nothing more.
    last_command_id: uuid.UUID
    fired_at: datetime | None = None
    lateness_ms: int | None = None
    cancelled_at: datetime | None = None
    #: Where the store keeps the current generation; opaque to these rules.
    placement: str | None = None
    #: The generation the current one replaced, withdrawn when this state is saved.
    replaced: Generation | None = None

    @property
    def current(self) -> Generation:
        return Generation(self.generation, self.due_at, self.placement)

    def as_fired(self, fired_at: datetime, lateness: int) -> Deadline:
        """Its current generation fired at `fired_at`, `lateness` ms late."""
        return replace(self, status=S.FIRED, fired_at=fired_at, lateness_ms=lateness)


@dataclass(frozen=True)
class Decision:
    """What a command comes to: a deadline to save, a rejection, or nothing at all.

    `deadline` is the state to save; `withdraw` is the pending generation it supersedes,
    whose schedule entry must stop firing. `repeat` marks a
    redelivered command: saving again only completes what the first delivery started.
    """

    deadline: Deadline | None = None
    withdraw: Generation | None = None
    rejection: Rejection | None = None
    repeat: bool = False


NOTHING: Final = Decision()


def refused(reason: TimerRejectionReason, message: str) -> Decision:
    return Decision(rejection=refuse(reason, message))


def payload_size(payload: Mapping[str, Any]) -> int:
    """Bytes of the payload as compact JSON: what the expiry event will carry."""
    return len(json.dumps(payload, separators=(",", ":"), default=str).encode())


def _limits_refusal(due_at: datetime, now: datetime, limits: Limits) -> Decision | None:
    if due_at - now > limits.max_horizon:
        return refused(
            TimerRejectionReason.DUE_TOO_FAR,
            f"due_at is more than {limits.max_horizon.days} days ahead",
        )
    return None


def _repeated(current: Deadline | None, command_id: uuid.UUID) -> Decision | None:
    if current is None or current.last_command_id != command_id:
        return None
    withdraw = current.current if current.status is S.CANCELLED else current.replaced
    return Decision(deadline=current, withdraw=withdraw, repeat=True)


def _withdrawable(current: Deadline) -> Generation | None:
    return current.current if current.status in PENDING else None


def decide_schedule(
    current: Deadline | None, command: ScheduleDeadline, now: datetime, limits: Limits
) -> Decision:
    """Schedule a deadline, or update the one with that id: pending again, next generation.

    A deadline keeps the key (order id) and owner it was first scheduled with; a schedule
    that names another is refused, so one owner cannot move another's deadline.
    """
    if repeat := _repeated(current, command.message_id):
        return repeat
    if current is not None and (current.order_id, current.owner) != (
        command.order_id,
        command.owner,
    ):
        return refused(
            TimerRejectionReason.KEY_MISMATCH, "this deadline id belongs to another owner or order"
        )
    if refusal := _limits_refusal(command.due_at, now, limits):
        return refusal
    if payload_size(command.payload) > limits.max_payload_bytes:
        return refused(
            TimerRejectionReason.PAYLOAD_TOO_LARGE,
            f"payload is larger than {limits.max_payload_bytes} bytes",
        )
    withdraw = _withdrawable(current) if current is not None else None
    deadline = Deadline(
        deadline_id=command.deadline_id,
        order_id=command.order_id,
        owner=command.owner,
        kind=command.kind,
        due_at=command.due_at,
        payload=dict(command.payload),
        generation=current.generation + 1 if current is not None else 1,
        status=TRANSITIONS[(current.status if current else None, A.SCHEDULE)],
        scheduled_at=now,
        updated_at=now,
        correlation_id=command.correlation_id,
        causation_id=command.message_id,
        last_command_id=command.message_id,
        replaced=withdraw,
    )
    return Decision(deadline=deadline, withdraw=withdraw)


def decide_reschedule(
    current: Deadline | None, command: RescheduleDeadline, now: datetime, limits: Limits
) -> Decision:
    """Move a pending deadline to `due_at` (next generation); anything else is refused."""
    if repeat := _repeated(current, command.message_id):
        return repeat
    if current is None:
        return refused(TimerRejectionReason.UNKNOWN_DEADLINE, "no such deadline")
    if current.order_id != command.order_id:
        return refused(
            TimerRejectionReason.KEY_MISMATCH, "this deadline id belongs to another order"
        )
    if (current.status, A.RESCHEDULE) not in TRANSITIONS:
        return refused(
            TimerRejectionReason.DEADLINE_NOT_PENDING,
            f"the deadline is {current.status}; schedule it again instead",
        )
    if refusal := _limits_refusal(command.due_at, now, limits):
        return refusal
    withdraw = _withdrawable(current)
    deadline = replace(
        current,
        due_at=command.due_at,
        generation=current.generation + 1,
        status=TRANSITIONS[(current.status, A.RESCHEDULE)],
        scheduled_at=now,
        updated_at=now,
        causation_id=command.message_id,
        last_command_id=command.message_id,
        fired_at=None,
        lateness_ms=None,
        placement=None,
        replaced=withdraw,
    )
    return Decision(deadline=deadline, withdraw=withdraw)


def decide_cancel(current: Deadline | None, command: CancelDeadline, now: datetime) -> Decision:
    """Cancel a scheduled deadline. Unknown, firing, fired or cancelled: nothing happens.

    The store still has the last word: a deadline it finds already claimed stays as it is.
    """
    if repeat := _repeated(current, command.message_id):
        return repeat
    if current is None or current.order_id != command.order_id:
        return NOTHING
    if (current.status, A.CANCEL) not in TRANSITIONS:
        return NOTHING
    deadline = replace(
        current,
        status=TRANSITIONS[(current.status, A.CANCEL)],
        updated_at=now,
        cancelled_at=now,
        last_command_id=command.message_id,
        replaced=None,
    )
    return Decision(deadline=deadline, withdraw=current.current)


def lateness_ms(due_at: datetime, fired_at: datetime) -> int:
    """How late a deadline fired, in whole milliseconds; never negative."""
    return max(0, (fired_at - due_at) // timedelta(milliseconds=1))


def is_late(lateness: int, tolerance_ms: int) -> bool:
    """X-03: an expiry later than the tolerance is marked late (fired after downtime)."""
    return lateness > tolerance_ms


def expiry_message_id(deadline_id: str, generation: int) -> uuid.UUID:
    """The expiry's message id: the same for every publish of one generation.

    A replica that re-fires a deadline whose lease lapsed publishes the same id, so a
    consumer that dedupes by message id (or by deadline id and generation) sees one expiry.
    """
    return uuid.uuid5(_EXPIRY_NAMESPACE, f"{deadline_id}|{generation}")


_EXPIRY_NAMESPACE: Final = uuid.UUID("6f1d7c5e-4a8b-5e0b-9f62-3c1a2b7d9e10")


@dataclass(frozen=True)
class Entry:
    """A generation waiting in the schedule, with everything its expiry will say."""

    deadline_id: str
    generation: int
    order_id: str
    owner: str
    kind: str
    due_at: datetime
    payload: Mapping[str, Any]
    correlation_id: uuid.UUID
    causation_id: uuid.UUID

    @property
    def key(self) -> str:
        """`<deadline id>|<generation>`: ids never contain `|`."""
        return f"{self.deadline_id}|{self.generation}"


ENTRY_FIELDS: Final = fields(Entry)


def entry_of(deadline: Deadline) -> Entry:
    """The schedule entry of a deadline's current generation: its fields of the same names."""
    return Entry(**{f.name: getattr(deadline, f.name) for f in ENTRY_FIELDS})


@dataclass(frozen=True)
class Claim:
    """A replica's lease on firing one entry; attempt n > 0 took over a lapsed lease."""

    entry: Entry
    attempt: int
    replica: str
    lease_until: datetime


@dataclass(frozen=True)
class Firing:
    """A claimed entry, fired: when, and how late."""

    claim: Claim
    fired_at: datetime
    lateness_ms: int
    late: bool


def fire(claim: Claim, now: datetime, tolerance_ms: int) -> Firing:
    """Fire a claimed entry at `now`: lateness, and whether that counts as late (X-03)."""
    late_by = lateness_ms(claim.entry.due_at, now)
    return Firing(claim, now, late_by, is_late(late_by, tolerance_ms))
