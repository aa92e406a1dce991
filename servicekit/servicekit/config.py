"""Settings every service shares, read from the environment (pydantic-settings).

Each service subclasses `ServiceSettings` for its own knobs (durations, ports, ...).
The README's configuration table is generated from these classes.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any

from pydantic import AliasChoices, BeforeValidator, Field
from pydantic_settings import SettingsConfigDict

from servicekit.kafka import KafkaSettings

_NUMBER = re.compile(r"^\s*\d+(\.\d+)?\s*$")


def _seconds_or_iso(value: Any) -> Any:
    """'5' or '2.5' from the environment means seconds; 'PT24H' and 'P5D' are ISO 8601."""
    if isinstance(value, str) and _NUMBER.match(value):
        return timedelta(seconds=float(value))
    return value


#: A duration setting: seconds (``ORDERFLOW_PAYMENT_WINDOW=5``) or ISO 8601 (``PT72H``).
Duration = Annotated[timedelta, BeforeValidator(_seconds_or_iso)]


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
        default=256 * 1024, description="Larger messages go to the dead-letter topic."
    )
    handler_retries: int = Field(
        default=3, description="Retries of a failing handler before the message is dead-lettered."
    )
    retry_backoff_seconds: float = Field(
        default=0.2, description="First retry delay; doubles per retry, with jitter."
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
