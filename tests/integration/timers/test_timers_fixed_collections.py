"""The schedule lives on a fixed set of collections: none is created or dropped while the
service runs (issue 18; on MongoDB each create or drop is a catalog change replicated to
every member).

The service runs on the real store; the collections of both its databases are listed every
fifth of a second while it idles, fires, sweeps, refuses a command and cleans up.
`ORDERFLOW_TEST_TIMERS_IDLE_SECONDS` sets how long it idles (default 10 s; the closing note
of issue 18 used 60).
"""

from __future__ import annotations

import asyncio
import os
import uuid
import zlib
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from tests.integration.timers.timers_rig import (
    Document,
    Names,
    create_topics,
    drop,
    names_for,
    now,
    read_expiries,
    replica,
    wheel_is_empty,
)
from tests.unit.timers.timers_kit import request, reschedule, schedule
from timers.config import TimersSettings
from timers.documents import DAY_MS, deadline_doc, entry_doc
from timers.domain import DeadlineStatus, decide_schedule, entry_of
from timers.handlers import handle_command
from timers.maintenance import SUMMARIES
from timers.migrate import migrate
from timers.store import REFUSALS, MongoScheduleStore, directory_name
from timers.wheel import epoch_ms

LIMITS = TimersSettings().limits()
IDLE_SECONDS = float(os.environ.get("ORDERFLOW_TEST_TIMERS_IDLE_SECONDS", "10"))

pytestmark = pytest.mark.timeout(120 + 2 * IDLE_SECONDS)


@pytest.fixture
async def names(stack: Any, database_name: str, topic_prefix: str) -> AsyncIterator[Names]:
    names = names_for(database_name, topic_prefix)
    await create_topics(stack.kafka_bootstrap, names)
    yield names
    await drop(stack.mongodb_uri, names)


async def listed(client: AsyncMongoClient[Document], names: Names) -> frozenset[str]:
    found: set[str] = set()
    for database in (names.database, names.wheel_database):
        found |= {f"{database}.{n}" for n in await client[database].list_collection_names()}
    return frozenset(found)


async def test_X02_the_schedule_creates_and_drops_no_collection_while_it_idles_and_fires(
    stack: Any, names: Names
) -> None:
    run = uuid.uuid4().hex[:6]
    first, second = f"{run}-first", f"{run}-second"
    async with replica(stack, names) as a:
        a.start()
        deps = a.deps()
        await handle_command(schedule(first, now() + timedelta(seconds=1)), deps)
        await read_expiries(stack, names, {first})
        assert await wheel_is_empty(a.client, names, timeout=20)
        before = await listed(a.client, names)
        seen: list[frozenset[str]] = []

        async def watch() -> None:
            while True:
                seen.append(await listed(a.client, names))
                await asyncio.sleep(0.2)

        watcher = asyncio.create_task(watch())
        try:
            # Idle until the second deadline falls due: its expiry is the marker.
            await handle_command(schedule(second, now() + timedelta(seconds=IDLE_SECONDS)), deps)
            await read_expiries(stack, names, {second}, timeout=IDLE_SECONDS + 30)
            assert await wheel_is_empty(a.client, names, timeout=20)
            await handle_command(reschedule(f"{run}-unknown", now()), deps)  # refused
            await a.make_scheduler().cleanup_once()
            seen.append(await listed(a.client, names))
        finally:
            watcher.cancel()
    assert len(a.rejections) == 1
    created = frozenset().union(*seen) - before
    dropped = before - frozenset.intersection(*seen)
    assert (created, dropped) == (frozenset(), frozenset())
    settings = a.settings
    fixed = {
        *(f"{names.database}.{directory_name(p)}" for p in range(settings.directory_partitions)),
        f"{names.database}.{SUMMARIES}",
        f"{names.database}.{REFUSALS}",
        *(f"{names.wheel_database}.{n}" for n in a.store.ring.collections()),
    }
    assert before == fixed


async def only_slots_left(store: MongoScheduleStore, slots: set[str], timeout: float) -> bool:
    """Wait until the registry holds just `slots` (every other slot swept and deleted)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        if set(await store.ring.names()) == slots:
            return True
        await asyncio.sleep(0.2)
    return False


async def test_X02_a_schedule_in_the_old_layout_is_moved_onto_the_fixed_set_and_fires(
    stack: Any, names: Names
) -> None:
    run = uuid.uuid4().hex[:6]
    at = now()
    decision = decide_schedule(None, request(f"{run}-old", at + timedelta(seconds=4)), at, LIMITS)
    assert decision.deadline is not None
    old = replace(decision.deadline, placement=f"near_{epoch_ms(decision.deadline.due_at) // 1000}")
    refused = uuid.uuid4()
    far_ahead = decide_schedule(None, request(f"{run}-far", at + timedelta(hours=3)), at, LIMITS)
    assert far_ahead.deadline is not None
    hour = epoch_ms(far_ahead.deadline.due_at) // 3_600_000
    far = replace(far_ahead.deadline, placement=f"far_{hour}")
    client: AsyncMongoClient[Document] = AsyncMongoClient(stack.mongodb_uri, tz_aware=True)
    try:  # what the layout before issue 18 kept: a collection per slot, day and partition
        partition = zlib.crc32(old.deadline_id.encode()) % 2048
        await client[names.database][f"timers_deadlines_{partition:04d}"].insert_one(
            deadline_doc(old)
        )
        await client[names.wheel_database][str(old.placement)].insert_one(entry_doc(entry_of(old)))
        await client[names.wheel_database][f"far_{hour}"].insert_one(entry_doc(entry_of(far)))
        day = epoch_ms(at) // DAY_MS
        await client[names.database][f"timers_refusals_{day}"].insert_one(
            {"_id": str(refused), "answer": "the first answer"}
        )
    finally:
        await client.close()
    async with replica(stack, names) as a:
        moved, collections = await migrate(a.store.directory, a.store.wheel_db, a.settings)
        assert (moved, collections) == (4, 4)
        half_hour = epoch_ms(far.due_at) // round(a.settings.far_slot_seconds * 1000)
        assert f"far_{half_hour}" in await a.store.ring.names()  # placed again by its due time
        assert await a.store.refusal_of(refused, at) == "the first answer"
        a.start()
        await read_expiries(stack, names, {old.deadline_id})
        assert await only_slots_left(a.store, {f"far_{half_hour}"}, timeout=20)
        fired = await a.store.get(old.deadline_id, now())
        assert fired is not None and fired.status is DeadlineStatus.FIRED
