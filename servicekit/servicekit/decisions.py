"""What every aggregate's decisions share: the refusal, its answer, the evolve registry.

    refuse(reason, message) -> Rejection      a stable code and a message for people (X-07)
    rejection_fields(command, ...)            the envelope of a command's rejection event
    Evolution[State]()                        `@evolution.on(EventType)` registers how an
                                              event changes the state; `.apply(state, e)`

Ordering, payments and invoicing keep only their rules; these shapes are written once
(issue 18). Pure.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Generic, TypeVar

from contracts.envelope import Message, Party

S = TypeVar("S")
E = TypeVar("E")


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
