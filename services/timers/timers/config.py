"""The timer service's settings (environment variables `ORDERFLOW_<FIELD>`)."""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field

from servicekit.config import ServiceSettings
from timers.domain import Limits
from timers.wheel import Wheel


class TimersSettings(ServiceSettings):
    """Firing, leases, the schedule's layout and retention. Durations in seconds."""

    http_port: int = Field(default=8105, description="Port of /metrics, /livez and /readyz.")

    wheel_database: str = Field(
        default="",
        description="Database of the schedule's slots (default: `<database>_wheel`). A "
        "separate database is a separate SQLite file on FerretDB, so firing never waits "
        "for the directory's writer lock.",
    )
    lease_seconds: float = Field(
        default=30.0,
        gt=0,
        description="How long a claim holds a deadline; a replica that dies mid-fire loses "
        "it after this and another fires the deadline.",
    )
    batch_size: int = Field(default=1000, ge=1, description="Deadlines claimed per round.")
    max_idle_seconds: float = Field(
        default=1.0, gt=0, description="Longest sleep of the firing loop when nothing is due."
    )
    slot_seconds: float = Field(
        default=10.0, gt=0, description="Width of a near slot (read into memory at once)."
    )
    far_slot_seconds: float = Field(
        default=1800.0, gt=0, description="Width of a far slot, for deadlines far ahead."
    )
    near_horizon_seconds: float = Field(
        default=600.0,
        gt=0,
        description="A far slot is cascaded into near slots this long before it starts.",
    )
    far_margin_seconds: float = Field(
        default=120.0,
        gt=0,
        description="A far slot stops taking new deadlines this long before its cascade.",
    )
    near_ring: int = Field(
        default=128,
        ge=1,
        description="Collections the near slots share (slot n in n mod this). Keep it above "
        "(near horizon + far margin + far slot) / slot, so a read scans one slot's documents.",
    )
    far_ring: int = Field(
        default=32, ge=1, description="Collections the far slots share (slot m in m mod this)."
    )
    lookahead_seconds: float = Field(
        default=30.0,
        gt=0,
        description="A near slot is read into memory this long before it starts.",
    )
    maintenance_seconds: float = Field(
        default=1.0,
        gt=0,
        description="How often the slots in use are read, read ahead, cascaded and swept.",
    )
    sweep_grace_seconds: float = Field(
        default=5.0,
        ge=0,
        description="After a slot ends, wait this long before reading it again for deadlines "
        "other replicas added or left behind.",
    )
    retention_seconds: float = Field(
        default=7 * 24 * 3600.0,
        ge=0,
        description="Fired and cancelled deadlines stay queryable this long.",
    )
    cleanup_seconds: float = Field(default=60.0, gt=0, description="How often the cleanup runs.")
    cleanup_partitions: int = Field(
        default=1, ge=1, description="Directory partitions the cleanup reads per run."
    )
    directory_partitions: int = Field(
        default=64,
        ge=1,
        description="Collections the directory of deadline ids is hashed over. Never change "
        "it for an existing store, except to lower it with `python -m timers.migrate` "
        "(which moves a store kept in 2,048 onto 64).",
    )
    late_tolerance_ms: int = Field(
        default=1000, ge=0, description="An expiry later than this is marked `late`."
    )
    max_horizon_days: float = Field(
        default=3660.0, gt=0, description="A deadline further ahead is refused (due_too_far)."
    )
    max_payload_bytes: int = Field(
        default=16 * 1024, ge=0, description="A larger payload is refused (payload_too_large)."
    )
    cache_limit: int = Field(
        default=200_000,
        ge=1,
        description="Entries held in memory at most; later slots are read when room frees up.",
    )
    replica_id: str = Field(
        default="", description="This replica's name in claims (default: host and pid)."
    )

    @property
    def wheel_database_name(self) -> str:
        return self.wheel_database or f"{self.database}_wheel"

    def wheel(self) -> Wheel:
        return Wheel(
            slot_ms=round(self.slot_seconds * 1000),
            far_slot_ms=round(self.far_slot_seconds * 1000),
            near_horizon_ms=round(self.near_horizon_seconds * 1000),
            far_margin_ms=round(self.far_margin_seconds * 1000),
            near_ring=self.near_ring,
            far_ring=self.far_ring,
        )

    def limits(self) -> Limits:
        return self.derive(Limits, max_horizon=timedelta(days=self.max_horizon_days))
