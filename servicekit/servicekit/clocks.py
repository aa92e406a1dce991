"""Where a handler's `now` comes from: the wall clock, or the time of the record it handles.

    clock(source)           the clock a service's handlers call: "wall" (the default) or
                            "record" (`ORDERFLOW_CLOCK`)
    handling_record(ms)     the consumer guard says which record is being handled (its
                            Kafka timestamp), for the "record" clock of that handling

With "wall", `now` is when the service handles a message, so handling the same messages
again later (a replay into an empty store) stamps other times and may decide otherwise
(a window that was open is closed by then). With "record", `now` is the Kafka timestamp
of the record being handled (when it was produced, which a replay keeps), so the same
inputs give the same states and events (tests/determinism). Outside a handling, or for
a record without a timestamp, "record" falls back to the wall clock (background tasks).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Literal

ClockSource = Literal["wall", "record"]

_record_time: ContextVar[datetime | None] = ContextVar("record_time", default=None)


def wall() -> datetime:
    return datetime.now(UTC)


def record() -> datetime:
    """The timestamp of the record being handled (the wall clock outside a handling)."""
    return _record_time.get() or datetime.now(UTC)


def clock(source: ClockSource) -> Callable[[], datetime]:
    """The clock handlers take `now` from, by the `ORDERFLOW_CLOCK` setting."""
    return record if source == "record" else wall


@contextmanager
def handling_record(timestamp_ms: int | None) -> Iterator[None]:
    """Within this block, the "record" clock reads `timestamp_ms` (None or <= 0: unknown)."""
    at = (
        datetime.fromtimestamp(timestamp_ms / 1000, UTC)
        if timestamp_ms and timestamp_ms > 0
        else None
    )
    token = _record_time.set(at)
    try:
        yield
    finally:
        _record_time.reset(token)
