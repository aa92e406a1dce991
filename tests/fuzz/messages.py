"""Fuzzed Kafka records: valid envelopes with adversarial values, and mutated bytes.

Recipe            one record to send: topic, a body from the schema, a mutation
recipes()         any command of any command topic, mutated or not
MUTATIONS         what is done to the bytes: none, truncated, a bit flipped, a field
                  of the wrong type, a field removed, huge, not an object, not UTF-8
Recipe.record()   the key and value as sent (a fresh message id each time: a repeat
                  would be dropped as a duplicate, which is a different test)
expected_id(v)    the message id a service can read in `v`, if any (its answer's
                  `command_id` / `causation_id` / `event_id`)
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st
from pydantic import ValidationError

from contracts.channels import BY_TOPIC
from contracts.envelope import CommandEnvelope, Message
from tests.fuzz.schemas import KNOWN_ORDERS, body_of, commands

#: A service's ORDERFLOW_MAX_MESSAGE_BYTES (the default): larger records are dead-lettered.
MAX_MESSAGE_BYTES = 256 * 1024
#: Larger than that, under the topic's limit.
HUGE_BYTES = 300 * 1024

MUTATIONS = (
    "none",
    "truncate",
    "flip",
    "wrong_type",
    "drop_field",
    "huge",
    "not_object",
    "not_utf8",
    "other_key",
)


@dataclass(frozen=True)
class Recipe:
    """How one fuzzed record is made; `at` and `junk` steer the mutation."""

    topic: str
    type: str
    body: dict[str, Any]
    mutation: str = "none"
    at: int = 0
    junk: Any = None
    fresh_id: uuid.UUID = field(default_factory=uuid.uuid4, compare=False, repr=False)

    def record(self) -> tuple[bytes | None, bytes]:
        """(key, value) as sent to the topic."""
        body = {**self.body, "message_id": str(self.fresh_id)}
        value = json.dumps(body, ensure_ascii=False).encode()
        key = _key_of(self.topic, self.type, body)
        names = sorted(k for k in body if k != "message_id")
        name = names[self.at % len(names)] if names else "type"
        match self.mutation:
            case "truncate":
                value = value[: self.at % max(len(value), 1)]
            case "flip":
                i = self.at % len(value)
                value = value[:i] + bytes([value[i] ^ (1 << (self.at % 8))]) + value[i + 1 :]
            case "wrong_type":
                value = json.dumps({**body, name: self.junk}).encode()
            case "drop_field":
                value = json.dumps({k: v for k, v in body.items() if k != name}).encode()
            case "huge":
                value = json.dumps({**body, name: "x" * HUGE_BYTES}).encode()
            case "not_object":
                value = json.dumps(self.junk).encode()
            case "not_utf8":
                value = b"\xff\xfe" + value[: self.at % max(len(value), 1)] + b"\xc3"
            case "other_key":
                key = None if self.at % 3 == 0 else str(KNOWN_ORDERS[self.at % 4]).encode()
        return key, value


def _key_of(topic: str, type_: str, body: dict[str, Any]) -> bytes | None:
    """The key a correct producer would use; the body's key field when it does not parse."""
    cls = BY_TOPIC[topic].messages.classes[type_]
    try:
        message: Message = cls.model_validate(body)
        return message.kafka_key()
    except (ValidationError, ValueError, TypeError):
        value = body.get(cls.key_field)
        return str(value).encode() if isinstance(value, str) else None


def expected_id(value: bytes) -> str | None:
    """The message id a service can answer `value` by, if its envelope reads (X-13)."""
    try:
        return str(CommandEnvelope.model_validate_json(value).message_id)
    except ValueError:
        return None


def is_valid(topic: str, value: bytes) -> bool:
    """`value` is a message of `topic` as its consumer parses it, and not oversized."""
    if len(value) > MAX_MESSAGE_BYTES:
        return False
    try:
        BY_TOPIC[topic].messages.parse(value)
    except ValueError:
        return False
    return True


_JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=50),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)


def recipe_of(topic: str, cls: type[Any]) -> st.SearchStrategy[Recipe]:
    """Recipes for one message class: its schema's bodies, then mutated or not."""
    name = cls.model_fields["type"].default
    return st.builds(
        Recipe,
        topic=st.just(topic),
        type=st.just(name),
        body=body_of(topic, cls),
        mutation=st.one_of(st.just("none"), st.sampled_from(MUTATIONS)),
        at=st.integers(min_value=0, max_value=10_000),
        junk=_JUNK,
    )


def recipes() -> st.SearchStrategy[Recipe]:
    """A recipe for any command of any command topic."""
    return st.one_of([recipe_of(topic, cls) for topic, cls in commands()])
