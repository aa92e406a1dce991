"""Settings every service shares, read from the environment (pydantic-settings).

Each service subclasses `ServiceSettings` for its own knobs (durations, ports, ...).
The README's configuration table is generated from these classes.
"""

from __future__ import annotations

import dataclasses
import re
from datetime import timedelta
from typing import TYPE_CHECKING, Annotated, Any, Self, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    AliasChoices,
    BeforeValidator,
    Field,
    SecretStr,
    model_validator,
)
from pydantic_settings import SettingsConfigDict

from servicekit.clocks import ClockSource
from servicekit.kafka import KafkaSettings

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

T = TypeVar("T", bound="DataclassInstance")

_NUMBER = re.compile(r"^\s*\d+(\.\d+)?\s*$")
_SHORT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|min|h|d|w)\s*$")
_SECONDS_PER = {"ms": 0.001, "s": 1, "min": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
#: ISO 8601 with years or months before the `T` (`P1M`, `P1Y2D`), or a short form of them.
_CALENDAR = re.compile(
    r"^\s*[+-]?P[^T]*[YM]|^\s*\d+(?:\.\d+)?\s*(mo|mon|months?|y|yrs?|years?|M)\s*$"
)


def parse_duration(value: Any) -> Any:
    """A duration setting's text as a `timedelta`; anything else is left to pydantic.

    `5` or `2.5` are seconds; a number and a unit (`500ms`, `2s`, `15min`, `24h`, `3d`,
    `2w`, the forms the README's configuration table prints); or ISO 8601 (`PT72H`,
    `P5D`). Months and years are refused: they have no fixed length, and reading `P1M` as
    30 days would silently move a deadline by up to three days.
    """
    if not isinstance(value, str):
        return value
    if _NUMBER.match(value):
        return timedelta(seconds=float(value))
    if short := _SHORT.match(value):
        return timedelta(seconds=float(short[1]) * _SECONDS_PER[short[2]])
    if _CALENDAR.match(value):
        raise ValueError(
            f"{value.strip()!r}: months and years have no fixed length; "
            "give days or weeks instead (P30D, P4W, 30d)"
        )
    return value


#: A duration setting: seconds (`5`), a number and a unit (`3d`), or ISO 8601 (`PT72H`);
#: months and years refused. See `parse_duration`.
Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


def _known_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as e:
        raise ValueError(f"unknown timezone {name!r}") from e
    return name


#: A setting that names an IANA time zone (`Europe/Berlin`), checked as it is read.
TimeZoneName = Annotated[str, AfterValidator(_known_zone)]


def token_secret() -> Any:
    """M-08, P-17: the one key that ordering, the notifier and the gateway share."""
    return Field(
        default=SecretStr("dev-only-change-me"),
        description="M-08, P-17: key that signs client confirmation tokens and review "
        "links (the same on ordering, notifier and gateway; set it in production).",
    )


#: `max.message.bytes` of every topic the services create, and of the local broker
#: (devstack, docker-compose): Kafka's own default, stated rather than assumed.
TOPIC_MAX_MESSAGE_BYTES = 1024 * 1024
#: What a dead-letter topic takes beyond its source topic: the `x-dlq-*` headers (the
#: error is cut at 2000 characters) with room to spare.
DLQ_HEADROOM_BYTES = 64 * 1024


def service_database(database: str, service: str) -> str:
    """The database a service owns. One per service: its data is its own, and on FerretDB
    each database is its own SQLite file, so one service's writes never wait for
    another's writer lock (measured: docs/benchmarks.md)."""
    return f"{database}_{service}"


class ServiceSettings(KafkaSettings):
    """Connection, delivery and ops settings common to all five services.

    The Kafka fields (bootstrap servers, security) come from `servicekit.kafka.KafkaSettings`,
    which the CLI, the bench and the tests read too.
    """

    model_config = SettingsConfigDict(
        env_prefix="ORDERFLOW_", extra="ignore", validate_by_name=True
    )

    mongodb_uri: str = Field(
        default="mongodb://127.0.0.1:27017/",
        validation_alias=AliasChoices("MONGODB_URI", "ORDERFLOW_MONGODB_URI"),
        description="MongoDB (or FerretDB) connection string.",
    )
    database: str = Field(
        default="orderflow",
        description="Database name prefix: each service keeps its data in `<database>_<service>`.",
    )
    topic_prefix: str = Field(
        default="", description="Prefix for every topic name (isolates test runs and tenants)."
    )
    http_host: str = Field(
        default="127.0.0.1",
        description="Address of /metrics, /livez and /readyz (in a container: `0.0.0.0`).",
    )
    http_port: int = Field(
        default=0, description="Port of /metrics, /livez and /readyz (0: any free)."
    )
    topic_partitions: int = Field(
        default=6, description="Partitions of topics the service creates."
    )
    max_message_bytes: int = Field(
        default=256 * 1024,
        description="Larger messages are not handled: they go to the dead-letter topic "
        "(reason `oversized`). Up to `ORDERFLOW_TOPIC_MAX_MESSAGE_BYTES`; Kafka refuses "
        "larger ones at publish time.",
    )
    handler_retries: int = Field(
        default=3, description="Retries of a failing handler before the message is dead-lettered."
    )
    retry_backoff_seconds: float = Field(
        default=0.2, description="First retry delay; doubles per retry, with jitter."
    )
    outage_patience_seconds: float = Field(
        default=120.0,
        gt=0,
        description="How long a handler that fails because the store or Kafka cannot be "
        "reached is retried (not counted as a handler retry) before the message is "
        "dead-lettered.",
    )
    max_in_flight: int = Field(
        default=32,
        ge=1,
        description="Messages handled at once per service process (same key: one at a time).",
    )
    commit_interval_seconds: float = Field(
        default=0.2, gt=0, description="How often handled offsets are committed to Kafka."
    )
    connect_timeout_seconds: float = Field(
        default=120.0, description="How long to keep retrying Kafka and MongoDB at startup."
    )
    shutdown_timeout_seconds: float = Field(
        default=15.0, description="How long SIGTERM waits for in-flight messages."
    )
    log_level: str = Field(default="INFO", description="Log level of the service's JSON logs.")
    topic_max_message_bytes: int = Field(
        default=TOPIC_MAX_MESSAGE_BYTES,
        description="`max.message.bytes` of the topics the service creates (their dead-letter "
        "twins take 64 KiB more, for the error headers); the producers' `max_request_size`.",
    )
    clock: ClockSource = Field(
        default="wall",
        description="Where ordering's, payments', invoicing's and the notifier's handlers take "
        "`now` from: "
        "`wall` (when the message is handled) or `record` (the Kafka timestamp of the record "
        "handled, so that a replay gives the same results: tests/determinism).",
    )
    state_cache_size: int = Field(
        default=512,
        ge=0,
        description="How many aggregates a service keeps in memory, per store, to decide "
        "the next message of one without reading it (the least recently handled dropped "
        "first; 0: none). About 8 KB each.",
    )
    consumption_log: str = Field(
        default="",
        description="A file to which the service appends the topic, partition and offset of "
        "every record it has handled, in the order it finished them (`{service}` in the path "
        "becomes the service's name); empty: none. The inputs as consumed, for a replay "
        "(tests/determinism).",
    )

    @model_validator(mode="after")
    def _sizes_fit(self) -> Self:
        if self.max_message_bytes > self.topic_max_message_bytes:
            raise ValueError(
                f"ORDERFLOW_MAX_MESSAGE_BYTES ({self.max_message_bytes}) exceeds "
                f"ORDERFLOW_TOPIC_MAX_MESSAGE_BYTES ({self.topic_max_message_bytes}): a message "
                "between the two could never reach the service to be dead-lettered"
            )
        return self

    def derive(self, cls: type[T], prefix: str = "", **given: Any) -> T:
        """A `cls` (a dataclass the code is handed: a domain's policy, a client's settings)
        whose fields come from `given`, else from the setting `<prefix><field>` or
        `<field>`, else keep their defaults: one way from settings to a policy, rather
        than each field copied by hand."""
        settings = type(self).model_fields
        for field in dataclasses.fields(cls):
            name = next((n for n in (prefix + field.name, field.name) if n in settings), None)
            if field.name not in given and name is not None:
                given[field.name] = getattr(self, name)
        return cls(**given)

    @property
    def dlq_max_message_bytes(self) -> int:
        """A dead letter is the original plus error headers: its topic takes that much more."""
        return self.topic_max_message_bytes + DLQ_HEADROOM_BYTES
