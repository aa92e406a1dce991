"""The schedule on the real store, firing to the real broker (X-02, X-03).

Stores and schedulers run in this process, each with its own Mongo client; what fired is
read back from the `timers.events` topic, as an owner would read it.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from tests.integration.timers.timers_rig import (
    Names,
    counts,
    create_topics,
    drop,
    names_for,
    now,
    read_expiries,
    replica,
    wheel_is_empty,
)
from tests.unit.timers.timers_kit import cancel, reschedule, schedule
from timers.domain import DeadlineStatus
from timers.handlers import handle_command

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
async def names(stack: Any, database_name: str, topic_prefix: str) -> AsyncIterator[Names]:
    names = names_for(database_name, topic_prefix)
    await create_topics(stack.kafka_bootstrap, names)
    yield names
    await drop(stack.mongodb_uri, names)


async def test_X02_many_deadlines_due_within_seconds_each_fire_exactly_once_on_time(
    stack: Any, names: Names
) -> None:
    run = uuid.uuid4().hex[:6]
    async with replica(stack, names) as a:
        a.start()
        deps = a.deps()
        start = now()
        due = {f"{run}-{i}": start + timedelta(seconds=3 + random.random() * 2) for i in range(400)}
        for i, (deadline_id, due_at) in enumerate(due.items()):
            await handle_command(schedule(deadline_id, due_at, order_id=f"o-{i % 40}"), deps)
        assert now() < min(due.values()), "scheduling took longer than the lead time"
        events = await read_expiries(stack, names, set(due))
        assert await wheel_is_empty(a.client, names, timeout=20)  # all swept: no late re-fire
        events = await read_expiries(stack, names, set(due))  # read again, after the sweeps
    assert counts(events) == {deadline_id: 1 for deadline_id in due}
    lateness = sorted(e["lateness_ms"] for e in events)
    assert lateness[int(len(lateness) * 0.99)] < 1000, lateness[-10:]
    assert not any(e["late"] for e in events)
    by_key: dict[str, list[dict[str, Any]]] = {}
    for e in events:
        by_key.setdefault(e["order_id"], []).append(e)
    for key_events in by_key.values():  # each owner sees its own deadlines in due order
        assert [e["due_at"] for e in key_events] == sorted(e["due_at"] for e in key_events)


async def test_X02_a_deadline_cancelled_before_due_never_fires_and_a_rescheduled_one_fires_once_at_its_new_time(
    stack: Any, names: Names
) -> None:
    run = uuid.uuid4().hex[:6]
    gone, later, sooner, kept = (f"{run}-{n}" for n in ("gone", "later", "sooner", "kept"))
    async with replica(stack, names, max_idle_seconds=10) as a:
        a.start()
        deps = a.deps()
        start = now()
        for deadline_id, seconds in [(gone, 2), (later, 2), (sooner, 8), (kept, 2)]:
            await handle_command(schedule(deadline_id, start + timedelta(seconds=seconds)), deps)
        await handle_command(cancel(gone), deps)
        await handle_command(reschedule(later, start + timedelta(seconds=4)), deps)
        await handle_command(reschedule(sooner, start + timedelta(seconds=1)), deps)
        events = await read_expiries(stack, names, {later, sooner, kept})
        assert await wheel_is_empty(a.client, names, timeout=20)
        events = await read_expiries(stack, names, {later, sooner, kept, gone}, timeout=3)
        statuses = {d: await a.store.get(d, now()) for d in (gone, later, sooner, kept)}
    assert counts(events) == {later: 1, sooner: 1, kept: 1}
    fired = {e["deadline_id"]: e for e in events}
    assert fired[later]["generation"] == 2
    assert fired[later]["fired_at"] >= (start + timedelta(seconds=4)).isoformat()[:19]
    assert fired[sooner]["lateness_ms"] < 500  # woken for it, not at the next due time (+2 s)
    assert {d: s.status if s else None for d, s in statuses.items()} == {
        gone: DeadlineStatus.CANCELLED,
        later: DeadlineStatus.FIRED,
        sooner: DeadlineStatus.FIRED,
        kept: DeadlineStatus.FIRED,
    }


async def test_X02_two_schedulers_side_by_side_fire_each_deadline_once(
    stack: Any, names: Names
) -> None:
    run = uuid.uuid4().hex[:6]
    async with replica(stack, names, name="a") as a, replica(stack, names, name="b") as b:
        start = now()
        due = {f"{run}-{i}": start + timedelta(seconds=2 + i % 10 / 10) for i in range(300)}
        deps_a, deps_b = a.deps(), b.deps()
        for i, (deadline_id, due_at) in enumerate(due.items()):
            await handle_command(schedule(deadline_id, due_at), deps_a if i % 2 else deps_b)
        a.start()
        b.start()
        events = await read_expiries(stack, names, set(due))
        assert await wheel_is_empty(a.client, names, timeout=20)
        events = await read_expiries(stack, names, set(due))
    assert counts(events) == {deadline_id: 1 for deadline_id in due}
    by_replica = {e["deadline_id"] for e in events}
    assert len(by_replica) == 300


async def test_X02_a_deadline_whose_replica_died_mid_fire_is_fired_by_another_after_its_lease(
    stack: Any, names: Names
) -> None:
    run = uuid.uuid4().hex[:6]
    ids = {f"{run}-{i}" for i in range(20)}
    async with replica(stack, names, name="dead", lease_seconds=2) as dead:
        deps = dead.deps()
        due = now() + timedelta(seconds=1)
        for deadline_id in ids:
            await handle_command(schedule(deadline_id, due), deps)
        await dead.store.maintain(now())
        await asyncio.sleep((due - now()).total_seconds())
        claimed = await dead.store.claim_due(100, now(), now() + timedelta(seconds=2), "dead")
        assert {c.entry.deadline_id for c in claimed} == ids
        # ...and "dies" here: it never publishes, never marks anything fired.
    async with replica(stack, names, name="heir", lease_seconds=2) as heir:
        heir.start()
        events = await read_expiries(stack, names, ids, timeout=30)
        assert await wheel_is_empty(heir.client, names, timeout=20)
        events = await read_expiries(stack, names, ids)
    assert counts(events) == {deadline_id: 1 for deadline_id in ids}
    assert all(e["lateness_ms"] >= 1500 for e in events)  # after the 2 s lease, not before


async def test_X02_a_deadline_far_ahead_waits_in_a_far_slot_and_is_cascaded_in_time_to_fire(
    stack: Any, names: Names
) -> None:
    run = uuid.uuid4().hex[:6]
    far, withdrawn = f"{run}-far", f"{run}-withdrawn"
    async with replica(
        stack, names, far_slot_seconds=4.0, near_horizon_seconds=2.0, far_margin_seconds=1.0
    ) as a:
        deps = a.deps()
        due = now() + timedelta(seconds=9)
        await handle_command(schedule(far, due), deps)
        await handle_command(schedule(withdrawn, due), deps)
        stored = await a.store.get(far, now())
        assert stored is not None and (stored.placement or "").startswith("far_")
        await handle_command(cancel(withdrawn), deps)
        a.start()
        events = await read_expiries(stack, names, {far}, timeout=30)
        assert await wheel_is_empty(a.client, names, timeout=20)
        events = await read_expiries(stack, names, {far, withdrawn}, timeout=3)
    assert counts(events) == {far: 1}
    assert events[0]["lateness_ms"] < 1000


async def test_X02_fired_and_cancelled_deadlines_stay_queryable_until_the_retention_then_go(
    stack: Any, names: Names
) -> None:
    run = uuid.uuid4().hex[:6]
    fired, cancelled = f"{run}-fired", f"{run}-cancelled"
    async with replica(stack, names) as a:
        a.start()
        deps = a.deps()
        await handle_command(schedule(fired, now() + timedelta(seconds=1)), deps)
        await handle_command(schedule(cancelled, now() + timedelta(seconds=3)), deps)
        await handle_command(cancel(cancelled), deps)
        await read_expiries(stack, names, {fired})
        assert await wheel_is_empty(a.client, names, timeout=20)
        kept = await a.store.cleanup(older_than=now() - timedelta(hours=1))
        after_fire = await a.store.get(fired, now())
        assert kept == 0
        assert after_fire is not None and after_fire.status is DeadlineStatus.FIRED
        assert after_fire.lateness_ms is not None and after_fire.fired_at is not None
        removed = await a.store.cleanup(older_than=now() + timedelta(seconds=1))
        assert removed == 2  # the fired deadline and the cancelled one
        assert await a.store.get(fired, now()) is None
        assert await a.store.get(cancelled, now()) is None
