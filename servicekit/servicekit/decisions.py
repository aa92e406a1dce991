"""What every aggregate's decisions share: the refusal, its answer, the evolve registry.

    refuse(reason, message) -> Rejection      a stable code and a message for people (X-07)
    rejection_fields(command, ...)            the envelope of a command's rejection event
    Evolution[State]()                        `@evolution.on(EventType)` registers how an
                                              event changes the state; `.apply(state, e)`
    Envelopes / Step                          stamp each message a decision makes
    Decision[State, Event]                    what one message did to one aggregate
    step_for(cause, ...) -> Step              the step of deciding `cause`
    rejected(Answer, command, rejection, ...) a refused command's Decision (X-07)
    carry(source, "a b c")                    fields a new value takes over by name
    OrderCore                                 an order's id, flow, status and parties
    EventMismatchError                        an event that cannot follow the state

Ordering, payments and invoicing keep only their rules; these shapes are written once
(issue 18). Pure.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Generic, Protocol, TypeVar

from contracts.envelope import Message, Party, Role, derived_id
from contracts.orders import Flow, OrderParty, OrderStatus
from servicekit.deadlines import DeadlineRequest

S = TypeVar("S")
E = TypeVar("E")
C = TypeVar("C")


@dataclass(frozen=True)
class Rejection:
    """Why a command was refused: a stable code and a message for people."""

    reason: StrEnum
    message: str


def refuse(reason: StrEnum, message: str) -> Rejection:
    return Rejection(reason, message)


def rejection_fields(
    command: Message, rejection: Rejection, *, message_id: uuid.UUID, now: datetime, actor: Party
) -> dict[str, Any]:
    """The fields every `<Service>CommandRejected` has (X-07): the service adds its keys."""
    return {
        "message_id": message_id,
        "occurred_at": now,
        "correlation_id": command.correlation_id,
        "causation_id": command.message_id,
        "actor": actor,
        "command_type": command.type,
        "command_id": command.message_id,
        "reason": rejection.reason.value,
        "message": rejection.message,
    }


class Evolution(Generic[S]):
    """How each event type changes a state: one registry per aggregate."""

    def __init__(self) -> None:
        self._apply: dict[type, Callable[[S, Any], S]] = {}

    def on(self, event_type: type[E]) -> Callable[[Callable[[S, E], S]], Callable[[S, E], S]]:
        """Register the decorated function as what `event_type` does to the state."""

        def register(apply: Callable[[S, E], S]) -> Callable[[S, E], S]:
            self._apply[event_type] = apply
            return apply

        return register

    def of(self, event: object) -> Callable[[S, Any], S] | None:
        """What `event` does to the state, if its type is registered."""
        return self._apply.get(type(event))


class Envelopes:
    """Stamps each message one decision makes with its envelope. Ids come from `new_id`
    (derived from the cause's id), so deciding a redelivered message again makes the
    same ids, and a consumer that dedupes by id sees the duplicate it is."""

    def __init__(
        self,
        *,
        now: datetime,
        actor: Party,
        cause: uuid.UUID,
        correlation: uuid.UUID,
        new_id: Callable[[int], uuid.UUID],
    ) -> None:
        self.now = now
        self.actor = actor
        self.cause = cause
        self.correlation = correlation
        self._new_id = new_id
        self._count = 0

    def next_id(self) -> uuid.UUID:
        index, self._count = self._count, self._count + 1
        return self._new_id(index)

    def envelope(self, actor: Party | None = None) -> dict[str, Any]:
        """Envelope fields of the next message."""
        return {
            "message_id": self.next_id(),
            "occurred_at": self.now,
            "correlation_id": self.correlation,
            "causation_id": self.cause,
            "actor": actor or self.actor,
        }


class Step(Envelopes, Generic[C]):
    """One decision in the making, the same in every service: the time, the cause, the
    actor, the service's decision context `ctx`, and `subject`, the fields that name the
    aggregate on every message it makes (`order_id`, `ledger_id`...)."""

    def __init__(
        self,
        *,
        now: datetime,
        actor: Party,
        cause: uuid.UUID,
        correlation: uuid.UUID,
        new_id: Callable[[int], uuid.UUID],
        ctx: C,
        subject: dict[str, Any],
    ) -> None:
        super().__init__(now=now, actor=actor, cause=cause, correlation=correlation, new_id=new_id)
        self.ctx = ctx
        self.subject = subject

    def stamp(self, actor: Party | None = None, **fields: Any) -> dict[str, Any]:
        """Envelope and subject fields of the next message, with `fields` added."""
        return {**self.envelope(actor), **self.subject, **fields}


@dataclass
class Decision(Generic[S, E]):
    """What one message did to one aggregate: one shape in every service.

    Accepted: `events` to fold, store and publish, `after` the state they lead to (from
    `before`), `commands` for other services, `deadlines` to schedule or cancel.
    Refused: `rejection` and `rejection_event`, ready to publish (X-07); nothing changes.
    Empty: a message that changes nothing (a stale deadline, X-02; a fact not needed).
    """

    events: list[E] = field(default_factory=list)
    commands: list[Message] = field(default_factory=list)
    deadlines: list[DeadlineRequest] = field(default_factory=list)
    rejection: Rejection | None = None
    rejection_event: Message | None = None
    before: S | None = None
    after: S | None = None

    @property
    def accepted(self) -> bool:
        return self.rejection is None

    @property
    def changed(self) -> bool:
        """Whether there is anything to store."""
        return bool(self.events) or (self.after is not None and self.after != self.before)

    def messages(self) -> list[E | Message]:
        """What to publish on the service's events topic: the events, or the rejection."""
        answer: list[E | Message] = list(self.events)
        if self.rejection_event is not None:
            answer.append(self.rejection_event)
        return answer

    def extend(self, other: Decision[S, E]) -> None:
        """Add what `other` decided to this decision (one message, several aggregates'
        parts: invoicing's several invoices)."""
        self.events += other.events
        self.commands += other.commands
        self.deadlines += other.deadlines


class EventMismatchError(Exception):
    """An event that cannot follow the given state: a bug upstream of the fold."""


class Cause(Protocol):
    """What a decision is about: a message, or a fired deadline."""

    @property
    def message_id(self) -> uuid.UUID: ...
    @property
    def correlation_id(self) -> uuid.UUID | None: ...


def new_ids(
    cause: uuid.UUID, pinned: Callable[[int], uuid.UUID] | None = None
) -> Callable[[int], uuid.UUID]:
    """The ids of the messages one decision makes: `pinned` (tests), else derived from the
    cause's id, so re-deciding a redelivered message makes the same ids."""
    return pinned or (lambda index: derived_id(cause, index))


def step_for(
    cause: Cause,
    *,
    now: datetime,
    actor: Party,
    ctx: C,
    subject: dict[str, Any],
    new_id: Callable[[int], uuid.UUID] | None = None,
) -> Step[C]:
    """The step of deciding `cause` (its correlation, or its own id when it has none)."""
    return Step(
        now=now,
        actor=actor,
        cause=cause.message_id,
        correlation=cause.correlation_id or cause.message_id,
        new_id=new_ids(cause.message_id, new_id),
        ctx=ctx,
        subject=subject,
    )


def rejected(
    answer: Callable[..., Message],
    command: Message,
    rejection: Rejection,
    *,
    now: datetime,
    actor: Party,
    new_id: Callable[[int], uuid.UUID] | None = None,
    **keys: Any,
) -> Decision[Any, Any]:
    """A refused command's decision (X-07): the service's `<Service>CommandRejected`
    `answer` with the rejection's fields and the service's `keys`, its id the first the
    command causes."""
    fields = rejection_fields(
        command, rejection, message_id=new_ids(command.message_id, new_id)(0), now=now, actor=actor
    )
    return Decision(rejection=rejection, rejection_event=answer(**fields, **keys))


def carry(source: object, names: str) -> dict[str, Any]:
    """The fields `names` (space-separated) of `source`, under the same names: what a new
    event or state takes over unchanged from the one it is made of, said once
    (`Receipt(**carry(event, "payment_id amount"), received_at=...)`)."""
    return {name: getattr(source, name) for name in names.split()}


@dataclass(frozen=True)
class OrderCore:
    """What a domain that decides on an order keeps of it first: its id, flow, status and
    parties (ordering's `Order` and invoicing's `OrderFacts` go on from here)."""

    order_id: uuid.UUID
    flow: Flow
    status: OrderStatus
    parties: tuple[OrderParty, ...]

    def party(self, role: Role) -> OrderParty | None:
        """The order's party in `role`, if it has one."""
        return next((p for p in self.parties if p.role is role), None)
