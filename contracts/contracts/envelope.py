"""The envelope every orderflow message carries.

    Message                  message id, type, schema version, time, correlation, actor
    ├── Command              imperative; from upstream; strict: unknown fields are refused
    └── Event                past tense; read tolerantly: unknown fields are ignored

A topic carries a discriminated union of messages keyed on ``type``; `MessageUnion` builds
the adapter that parses one raw Kafka value into the right class.
"""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Generic, TypeVar, Union

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter


class Role(StrEnum):
    """Who a party is in an order. `system` acts for deadlines and other services."""

    MEMBER = "member"
    CLIENT = "client"
    OPERATOR = "operator"
    SUPPLIER = "supplier"
    CUSTOMER = "customer"
    AGENT = "agent"
    APPROVER = "approver"
    SYSTEM = "system"


#: X-13: a valid e-mail address as WHATWG HTML defines it (ASCII, any domain, reserved ones
#: such as `example.test` or `host.local` included). The pattern is published in the schema
#: beside `format: email` and is all the services check: delivery is the notifier's business.
EMAIL_PATTERN = (
    r"^[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
    r"(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$"
)
Email = Annotated[
    str, Field(max_length=254, pattern=EMAIL_PATTERN, json_schema_extra={"format": "email"})
]


class Contact(BaseModel):
    """How to reach a party. Personal data: never logged."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    email: Email
    name: Annotated[str, Field(max_length=200)] = ""
    #: X-11: the party's IANA time zone (e.g. "Europe/Paris"); emails show its deadlines
    #: there. None: the business's zone (ORDERFLOW_BUSINESS_TIMEZONE).
    timezone: Annotated[
        str | None, Field(max_length=64, pattern=r"^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*$")
    ] = None


class Party(BaseModel):
    """The acting party of a message: an id and the role it acts in."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: Annotated[str, Field(min_length=1, max_length=100)]
    role: Role


SYSTEM = Party(id="system", role=Role.SYSTEM)


class Message(BaseModel):
    """Fields every message has, whatever its topic."""

    model_config = ConfigDict(frozen=True)

    message_id: uuid.UUID
    type: str
    schema_version: int = 1
    occurred_at: AwareDatetime
    correlation_id: uuid.UUID
    causation_id: uuid.UUID | None = None
    actor: Party

    #: The Kafka key: the id of the aggregate the message is about (the order id, mostly).
    key_field: ClassVar[str] = "order_id"

    def kafka_key(self) -> bytes:
        return str(getattr(self, self.key_field)).encode()


class Command(Message):
    """An instruction from upstream. Strict: a field we do not know is an error."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Event(Message):
    """A fact that happened. Tolerant: producers may add fields."""

    model_config = ConfigDict(frozen=True, extra="ignore")


def derived_id(cause: uuid.UUID, index: int = 0, salt: str = "") -> uuid.UUID:
    """A deterministic message id for the index-th message caused by `cause`.

    Re-handling the same cause (a redelivery) yields the same ids, so consumers that
    dedupe by message id see a re-published outcome as the duplicate it is.
    """
    return uuid.uuid5(cause, f"{salt}#{index}")


M = TypeVar("M", bound=Message)


class MessageUnion(Generic[M]):
    """Parses raw Kafka values of one topic into its message classes by `type`."""

    def __init__(self, *classes: type[M]) -> None:
        self.classes = {c.model_fields["type"].default: c for c in classes}
        if None in self.classes:
            raise TypeError("every message class needs a Literal `type` with a default")
        union: Any = (
            classes[0]
            if len(classes) == 1
            else Annotated[Union[tuple(classes)], Field(discriminator="type")]  # noqa: UP007
        )
        #: The runtime type of one message of the topic, for handler signatures (and so
        #: for the AsyncAPI documents FastStream generates from them).
        self.annotation: Any = union
        self._adapter: TypeAdapter[M] = TypeAdapter(union)

    def parse(self, raw: bytes | str) -> M:
        """Parse and validate; raises `pydantic.ValidationError` on anything wrong."""
        return self._adapter.validate_json(raw)

    def validate(self, data: Any) -> M:
        """Validate an already decoded object (a stored event, say)."""
        return self._adapter.validate_python(data)

    def names(self) -> list[str]:
        return sorted(self.classes)


class FieldError(BaseModel):
    """X-13: one reason a command's content is invalid, as a rejection event lists it."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    #: Where in the command, dotted (`items.0.quantity`); empty for the command as a whole.
    field: str
    #: Pydantic's error type, stable and machine-readable: `missing`, `extra_forbidden`,
    #: `string_pattern_mismatch`, `uuid_parsing`, `unknown_type`, ...
    code: str
    message: str


class CommandEnvelope(BaseModel):
    """X-13: what must be readable in a command to answer it at all (ids, type, actor).

    A command whose envelope reads but whose content does not is answered with a
    rejection (reason `invalid`, its `FieldError`s); one whose envelope does not read
    goes to the dead-letter topic alone.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    message_id: uuid.UUID
    type: Annotated[str, Field(min_length=1, max_length=100)]
    correlation_id: uuid.UUID | None = None
    actor: Party
