"""Builders shared by the timers unit tests: commands, deadlines, a clock that skips."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from contracts.envelope import SYSTEM
from contracts.timers import CancelDeadline, DeadlineExpired, RescheduleDeadline, ScheduleDeadline
from timers.config import TimersSettings
from timers.domain import Limits

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LIMITS = Limits(max_horizon=timedelta(days=365), max_payload_bytes=1024)


@dataclass
class FakeClock:
    """Time that moves only when a test says so."""

    now: datetime = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@dataclass
class Sink:
    """Collects published expiries; can be told to fail the next n publishes."""

    events: list[DeadlineExpired] = field(default_factory=list)
    failures: int = 0

    async def __call__(self, event: DeadlineExpired) -> None:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("broker down")
        self.events.append(event)

    async def enqueue(self, event: DeadlineExpired) -> Awaitable[None]:
        """As a producer's `send`: a refused send raises, an accepted one is delivered."""
        await self(event)
        return asyncio.sleep(0)

    def ids(self) -> list[str]:
        return [e.deadline_id for e in self.events]


def settings(**changes: Any) -> TimersSettings:
    values: dict[str, Any] = {
        "lease_seconds": 5.0,
        "batch_size": 100,
        "max_idle_seconds": 0.05,
        "late_tolerance_ms": 1000,
        **changes,
    }
    return TimersSettings(**values)


def request(
    deadline_id: str = "d-1",
    due_at: datetime = T0 + timedelta(hours=1),
    order_id: str = "order-1",
    payload: dict[str, Any] | None = None,
) -> ScheduleDeadline:
    """A schedule as the domain tests ask for it."""
    return schedule(
        deadline_id, due_at, order_id, payload={"step": 1} if payload is None else payload
    )


def envelope(at: datetime = T0) -> dict[str, Any]:
    return {
        "message_id": uuid.uuid4(),
        "occurred_at": at,
        "correlation_id": uuid.uuid4(),
        "actor": SYSTEM,
    }


def schedule(
    deadline_id: str, due_at: datetime, order_id: str = "order-1", **changes: Any
) -> ScheduleDeadline:
    return ScheduleDeadline(
        **envelope(),
        deadline_id=deadline_id,
        order_id=order_id,
        owner="ordering",
        kind=changes.pop("kind", "confirmation_window"),
        due_at=due_at,
        payload=changes.pop("payload", {"n": 1}),
        **changes,
    )


def reschedule(deadline_id: str, due_at: datetime, order_id: str = "order-1") -> RescheduleDeadline:
    return RescheduleDeadline(
        **envelope(), deadline_id=deadline_id, order_id=order_id, due_at=due_at
    )


def cancel(deadline_id: str, order_id: str = "order-1") -> CancelDeadline:
    return CancelDeadline(**envelope(), deadline_id=deadline_id, order_id=order_id)
