"""X-13: a command whose envelope reads but whose content does not is answered, not dropped.

    command fails its schema ─ envelope reads? ──no──▶ <topic>.dlq (the guard's usual way)
                                    │ yes (message id, type, actor; the key, by the answer)
                                    ▼
               field errors ─▶ the service's `…CommandRejected` (reason `invalid`, the
               errors, the command's id) ─▶ the service's event topic, keyed as the command

Each service's composition root says how it answers (`InvalidCommands`: its event topic,
its command union, a function that builds its rejection event); the consumer guard
(servicekit/deadletters.py) does the rest, the same way for every service. An answer
that cannot be built (the key is missing or malformed) means the envelope does not read:
the command goes to the dead-letter topic. The answer's id is derived from the command's,
so a redelivered command gets the same answer (X-09).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from contracts.envelope import CommandEnvelope, FieldError, Message, MessageUnion, Party, derived_id

#: Field errors an answer lists at most; the message says how many there were.
MAX_FIELD_ERRORS = 50
_FIELD_CHARS, _CODE_CHARS, _MESSAGE_CHARS = 200, 100, 300


@dataclass(frozen=True)
class InvalidCommand:
    """A command that failed its schema but whose envelope reads."""

    envelope: CommandEnvelope
    body: dict[str, Any]
    errors: tuple[FieldError, ...]
    total: int
    now: datetime

    def answer_fields(self, actor: Party) -> dict[str, Any]:
        """The fields every `…CommandRejected` shares, for reason `invalid`."""
        command = self.envelope
        return {
            "message_id": derived_id(command.message_id, 0, "invalid"),
            "occurred_at": self.now,
            "correlation_id": command.correlation_id or command.message_id,
            "causation_id": command.message_id,
            "actor": actor,
            "command_type": command.type,
            "command_id": command.message_id,
            "reason": "invalid",
            "message": self.summary(),
            "errors": list(self.errors),
        }

    def summary(self) -> str:
        fields = ", ".join(e.field or "(command)" for e in self.errors[:10])
        more = f" and {self.total - min(self.total, 10)} more" if self.total > 10 else ""
        return f"{self.total} invalid field(s): {fields}{more}"


@dataclass(frozen=True)
class InvalidCommands:
    """How a service answers invalid commands of one command topic (see the module doc)."""

    #: The contracts name of the event topic the answer goes to (a declared output).
    answer_topic: str
    #: The topic's command union: the field errors come from validating against it.
    commands: MessageUnion[Any]
    #: Builds the service's rejection event, e.g. `OrderCommandRejected(**c.answer_fields(..),
    #: order_id=c.body.get("order_id"))`; raising `ValidationError` means "no envelope".
    answer: Callable[[InvalidCommand], Message]


def field_errors(commands: MessageUnion[Any], body: dict[str, Any]) -> list[FieldError]:
    """What is wrong with `body` as one of the topic's commands; empty when it is valid."""
    try:
        commands.validate(body)
    except ValidationError as e:
        found = []
        for error in e.errors(include_input=False, include_url=False, include_context=False):
            loc = list(error["loc"])
            if loc and loc[0] == body.get("type"):  # the union's tag, not a field
                loc = loc[1:]
            code, text = error["type"], error["msg"]
            if code == "union_tag_invalid":
                loc, code, text = ["type"], "unknown_type", f"no command {body.get('type')!r} here"
            found.append(
                FieldError(
                    field=".".join(str(p) for p in loc)[:_FIELD_CHARS],
                    code=code[:_CODE_CHARS],
                    message=text[:_MESSAGE_CHARS],
                )
            )
        return found
    return []


def answer_invalid(
    policy: InvalidCommands, body: Any, now: datetime, max_bytes: int
) -> Message | None:
    """The answer to an invalid command, or None when its envelope does not read.

    The answer is never larger than `max_bytes` (the limit every consumer applies): field
    errors are dropped from its list until it fits; its message still counts them all.
    """
    if not isinstance(body, dict):
        return None
    errors = field_errors(policy.commands, body)
    if not errors:
        return None  # valid as a command: what failed was the handler, not the content
    try:
        invalid = InvalidCommand(
            envelope=CommandEnvelope.model_validate(body),
            body=body,
            errors=tuple(errors[:MAX_FIELD_ERRORS]),
            total=len(errors),
            now=now,
        )
        answer = policy.answer(invalid)
        answer.kafka_key()  # a key that cannot be made is an envelope that does not read
        while len(answer.model_dump_json()) > max_bytes and invalid.errors:
            invalid = replace(invalid, errors=invalid.errors[: len(invalid.errors) // 2])
            answer = policy.answer(invalid)
    except (ValidationError, ValueError, TypeError):
        return None
    return answer if len(answer.model_dump_json()) <= max_bytes else None
