"""Talk to the real broker the way upstream and downstream systems do (`orderflow.kafka`,
which the CLI, the bench and the chaos harness use too), and wait for what follows."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from orderflow.kafka import Record, Upstream, read_topics
from servicekit.kafka import KafkaSettings

__all__ = ["Record", "Upstream", "count", "eventually", "read_topic", "unique_id"]


async def read_topic(
    bootstrap: str,
    topic: str,
    until: Callable[[Sequence[Record]], bool],
    timeout: float = 30.0,
    security: KafkaSettings | None = None,
) -> list[Record]:
    """Read `topic` from the beginning until `until(records)` holds or the timeout passes."""
    return await read_topics(bootstrap, [topic], until=until, timeout=timeout, security=security)


def count(n: int) -> Callable[[Sequence[Record]], bool]:
    """`until` that holds once at least n records arrived."""
    return lambda records: len(records) >= n


def unique_id(prefix: str = "") -> str:
    return f"{prefix}{uuid.uuid4().hex[:12]}"


async def eventually(check: Callable[[], Any], timeout: float = 10.0) -> Any:
    """Poll an async `check` until it returns something truthy (read models trail events)."""
    async with asyncio.timeout(timeout):
        while not (result := await check()):
            await asyncio.sleep(0.05)
        return result
