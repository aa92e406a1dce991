"""A command's answer (X-09): the events it caused, or its rejection.

Every service stamps the events a command causes with `causation_id` = the command's
message id, and a refusal is a `*CommandRejected` event naming `command_id`. So the answer
to a command the gateway sent is every event on its service's event topic whose cause is
that command; the first one settles it (accepted or rejected), later ones are added.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel

from contracts.envelope import Event, Message
from contracts.topics import (
    INVOICING_COMMANDS,
    INVOICING_EVENTS,
    ORDERS_COMMANDS,
    ORDERS_EVENTS,
    PAYMENTS_COMMANDS,
    PAYMENTS_EVENTS,
    SUPPLIERS_COMMANDS,
    SUPPLIERS_EVENTS,
)

#: Where a command goes, and where its answer comes back.
ANSWERED_ON: dict[str, str] = {
    ORDERS_COMMANDS: ORDERS_EVENTS,
    INVOICING_COMMANDS: INVOICING_EVENTS,
    PAYMENTS_COMMANDS: PAYMENTS_EVENTS,
    SUPPLIERS_COMMANDS: SUPPLIERS_EVENTS,
}


class Outcome(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class Answer(BaseModel):
    """What became of one command the gateway sent (the request record, `_id` its id)."""

    command_id: uuid.UUID
    command_type: str
    topic: str
    key: str
    caller: str
    #: A digest of the request that sent it: the same Idempotency-Key with another body
    #: is a client error, not a retry.
    fingerprint: str
    submitted_at: datetime
    outcome: Outcome = Outcome.PENDING
    reason: str | None = None
    message: str | None = None
    events: list[dict[str, Any]] = []


def cause_of(event: Event) -> uuid.UUID | None:
    """The command an event answers: a rejection names it, an effect carries it as cause."""
    command_id = getattr(event, "command_id", None)
    if isinstance(command_id, uuid.UUID):
        return command_id
    return event.causation_id


def record(answer: Answer, event: Event) -> Answer:
    """`answer` with `event` added (once: a redelivered event changes nothing)."""
    if any(e["message_id"] == str(event.message_id) for e in answer.events):
        return answer
    rejected = event.type.endswith("CommandRejected")
    summary = {"message_id": str(event.message_id), "type": event.type}
    if rejected:
        summary |= {
            "reason": getattr(event, "reason", ""),
            "message": getattr(event, "message", ""),
        }
    status = getattr(event, "status", None)
    if status is not None:
        summary["status"] = str(status)
    changes: dict[str, Any] = {"events": [*answer.events, summary]}
    if answer.outcome is Outcome.PENDING:
        changes["outcome"] = Outcome.REJECTED if rejected else Outcome.ACCEPTED
        if rejected:
            changes |= {"reason": summary["reason"], "message": summary["message"]}
    return answer.model_copy(update=changes)


def idempotency_id(caller_id: str, key: str) -> uuid.UUID:
    """The message id an `Idempotency-Key` stands for: the same caller and key, the same id."""
    return uuid.uuid5(_NAMESPACE, f"{caller_id}\n{key}")


def kafka_key(message: Message) -> str:
    return message.kafka_key().decode()


_NAMESPACE = uuid.UUID("6f1c1d0e-8a52-4c1e-9d8e-2a7b9a0e6a11")
