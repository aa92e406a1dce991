"""Deadlines as a domain sees them: pure values, shared by ordering, payments and invoicing.

    DeadlineFired      a deadline of this order fell due (the timer service's event)
    ScheduleDeadline   ask the timer service for a deadline  } what a decision returns;
    CancelDeadline     withdraw one                          } the handler sends commands
    timer_command      the command a request becomes
    Window             the latest deadline of one kind an aggregate keeps
    reconcile          an aggregate's windows after a change: keep, restart, open, close
    fired_window       the open window a fired deadline closes, if it still applies

Pure (no I/O, no clock): the domains may import it (tests/unit/test_domain_purity.py).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar, Generic, TypeVar

from contracts.envelope import Message, Party, derived_id
from contracts.timers import CancelDeadline as CancelTimer
from contracts.timers import DeadlineExpired, TimerCommand
from contracts.timers import ScheduleDeadline as ScheduleTimer

#: The timer service's key of a deadline: an order's id, or another aggregate's (invoicing's
#: account ledgers); its deadlines of one key are kept in order.
Key = uuid.UUID | str


@dataclass(frozen=True)
class DeadlineFired:
    """The domain's view of the timer service's deadline-expired event (X-02, X-03)."""

    deadline_id: str
    kind: str
    order_id: Key
    due_at: datetime
    message_id: uuid.UUID
    correlation_id: uuid.UUID | None = None
    #: What the owner asked to get back with it (invoicing: the ledger and the invoice).
    payload: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ScheduleDeadline:
    deadline_id: str
    order_id: Key
    kind: str
    due_at: datetime
    payload: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CancelDeadline:
    deadline_id: str
    order_id: Key


DeadlineRequest = ScheduleDeadline | CancelDeadline


K = TypeVar("K", bound=StrEnum)


@dataclass(frozen=True)
class Window(Generic[K]):
    """The latest deadline of one kind an aggregate keeps: open while it still waits for
    it; its n-th window of the kind (a restart takes n + 1). A domain subclasses it with its
    own kinds, and `prefix` sets its ids apart from another service's (X-02)."""

    prefix: ClassVar[str] = ""

    kind: K
    n: int
    due_at: datetime
    open: bool = True

    def id(self, order_id: uuid.UUID) -> str:
        """Deterministic: `{prefix}{order_id}:{kind}:{n}`."""
        return f"{self.prefix}{order_id}:{self.kind.value}:{self.n}"


W = TypeVar("W", bound=Window[Any])


def reconcile(
    window: type[W], kinds: Iterable[K], current: Sequence[W], wanted: Mapping[K, datetime]
) -> tuple[W, ...]:
    """The `window`s after a change, in the order of `kinds`: keep one whose due time
    holds, restart one whose due time moved or that opens again (n + 1), open a new kind,
    close one no longer `wanted`."""
    latest: dict[StrEnum, W] = {d.kind: d for d in current}
    result: list[W] = []
    for kind in kinds:
        before = latest.get(kind)
        due = wanted.get(kind)
        if due is None:
            if before is not None:
                result.append(replace(before, open=False))
        elif before is not None and before.open and before.due_at == due:
            result.append(before)
        else:
            result.append(window(kind, 0 if before is None else before.n + 1, due))
    return tuple(result)


def fired_window(windows: Sequence[W], key: uuid.UUID, fired: DeadlineFired) -> W | None:
    """The open window of `key` that `fired` closes; None when it no longer applies
    (X-02: another key's, a stale id, a window closed since)."""
    if fired.order_id != key:
        return None
    return next((d for d in windows if d.open and d.id(key) == fired.deadline_id), None)


def requests(
    order_id: uuid.UUID, before: Sequence[Window[Any]], after: Sequence[Window[Any]]
) -> list[DeadlineRequest]:
    """What the timer service must be told for the windows to go from `before` to `after`."""
    old = {d.id(order_id): d for d in before if d.open}
    new = {d.id(order_id): d for d in after if d.open}
    cancels: list[DeadlineRequest] = [
        CancelDeadline(deadline_id, order_id) for deadline_id in old if deadline_id not in new
    ]
    schedules: list[DeadlineRequest] = [
        ScheduleDeadline(deadline_id, order_id, d.kind.value, d.due_at)
        for deadline_id, d in new.items()
        if deadline_id not in old
    ]
    return cancels + schedules


def timer_command(
    request: DeadlineRequest, cause: Message, index: int, now: datetime, actor: Party
) -> TimerCommand:
    """The timer service's command for a request; its id derived from the cause's, so a
    redelivered cause asks for the same deadline again. `actor` owns the deadline."""
    return timer_command_of(request, cause.message_id, cause.correlation_id, index, now, actor)


def timer_command_of(
    request: DeadlineRequest,
    cause: uuid.UUID,
    correlation: uuid.UUID,
    index: int,
    now: datetime,
    actor: Party,
) -> TimerCommand:
    """`timer_command` for a cause known by its ids only (invoicing's numbering)."""
    envelope: dict[str, Any] = {
        "message_id": derived_id(cause, index, "timer"),
        "occurred_at": now,
        "correlation_id": correlation,
        "causation_id": cause,
        "actor": actor,
        "deadline_id": request.deadline_id,
        "order_id": str(request.order_id),
    }
    if isinstance(request, CancelDeadline):
        return CancelTimer(**envelope)
    return ScheduleTimer(
        **envelope,
        owner=actor.id,
        kind=request.kind,
        due_at=request.due_at,
        payload=dict(request.payload),
    )


def handled_as(cause: Message) -> str:
    """The id a message is handled once under (`handle_once`): its own message id, or for
    a fired deadline the deadline's, since the timer service may fire a deadline twice."""
    if isinstance(cause, DeadlineExpired):
        return f"deadline:{cause.deadline_id}"
    return str(cause.message_id)
