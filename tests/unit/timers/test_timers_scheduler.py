"""The firing loop over the in-memory store: what fires, when, in which order, how often."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from contracts.timers import DeadlineExpired
from tests.unit.timers.timers_kit import (
    T0,
    FakeClock,
    Sink,
    cancel,
    reschedule,
    schedule,
    settings,
)
from timers.domain import Claim, fire
from timers.handlers import Deps, handle_command
from timers.memory import InMemoryScheduleStore
from timers.scheduler import Scheduler, expiry, pipelined


async def no_rejections(event: object) -> None:
    raise AssertionError(f"unexpected rejection: {event}")


class Rig:
    """A scheduler on an in-memory store, a clock that skips, and a sink for expiries."""

    def __init__(self, **changes: float) -> None:
        self.clock = FakeClock()
        self.store = InMemoryScheduleStore()
        self.sink = Sink()
        self.settings = settings(**changes)
        self.scheduler = Scheduler(
            self.store, pipelined(self.sink.enqueue), self.settings, self.clock, replica="a"
        )
        self.deps = Deps(
            self.store, self.settings.limits(), self.clock, self.scheduler.notify, no_rejections
        )

    async def schedule(self, deadline_id: str, due_in: timedelta, order_id: str = "o-1") -> None:
        command = schedule(deadline_id, self.clock.now + due_in, order_id=order_id)
        await handle_command(command, self.deps)


async def test_X02_a_deadline_fires_once_when_due_and_echoes_its_payload() -> None:
    rig = Rig()
    await rig.schedule("d-1", timedelta(minutes=10))
    assert await rig.scheduler.fire_once() == 0  # not due yet
    rig.clock.advance(minutes=10)
    assert await rig.scheduler.fire_once() == 1
    assert await rig.scheduler.fire_once() == 0
    [event] = rig.sink.events
    assert (event.deadline_id, event.order_id, event.owner) == ("d-1", "o-1", "ordering")
    assert event.payload == {"n": 1}
    assert event.due_at == event.fired_at == T0 + timedelta(minutes=10)
    assert (event.lateness_ms, event.late, event.generation) == (0, False, 1)
    assert event.kafka_key() == b"o-1"


async def test_X03_deadlines_that_fell_due_while_down_fire_at_once_in_due_order_marked_late() -> (
    None
):
    rig = Rig()
    for i, minutes in enumerate([30, 10, 20]):
        await rig.schedule(f"d-{i}", timedelta(minutes=minutes))
    rig.clock.advance(hours=2)  # the service was down meanwhile
    assert await rig.scheduler.fire_once() == 3
    assert rig.sink.ids() == ["d-1", "d-2", "d-0"]
    assert all(e.late for e in rig.sink.events)
    assert [e.lateness_ms for e in rig.sink.events] == [6_600_000, 6_000_000, 5_400_000]


async def test_X02_a_cancelled_deadline_never_fires_and_a_rescheduled_one_fires_at_its_new_time() -> (
    None
):
    rig = Rig()
    await rig.schedule("gone", timedelta(minutes=1))
    await rig.schedule("moved", timedelta(minutes=1))
    await handle_command(cancel("gone", "o-1"), rig.deps)
    await handle_command(reschedule("moved", T0 + timedelta(minutes=5), "o-1"), rig.deps)
    rig.clock.advance(minutes=2)
    assert await rig.scheduler.fire_once() == 0
    rig.clock.advance(minutes=3)
    assert await rig.scheduler.fire_once() == 1
    [event] = rig.sink.events
    assert (event.deadline_id, event.generation) == ("moved", 2)


async def test_X02_a_publish_that_failed_gives_the_deadline_back_to_fire_on_a_later_round() -> None:
    rig = Rig()
    await rig.schedule("d-1", timedelta(seconds=1))
    rig.sink.failures = 1
    rig.clock.advance(seconds=1)
    assert await rig.scheduler.fire_once() == 1  # claimed, but Kafka refused it
    assert rig.sink.events == []
    assert await rig.scheduler.fire_once() == 0  # held back for a second
    rig.clock.advance(seconds=1)
    assert await rig.scheduler.fire_once() == 1
    assert rig.sink.ids() == ["d-1"]


async def test_X02_a_deadline_whose_replica_died_mid_fire_is_fired_by_another_after_the_lease() -> (
    None
):
    rig = Rig(lease_seconds=30)
    await rig.schedule("d-1", timedelta(seconds=1))
    rig.clock.advance(seconds=1)
    # Replica "dead" claims it and never publishes.
    [lost] = await rig.store.claim_due(
        10, rig.clock.now, rig.clock.now + timedelta(seconds=30), "dead"
    )
    assert await rig.scheduler.fire_once() == 0  # the lease still holds
    rig.clock.advance(seconds=30)
    assert await rig.scheduler.fire_once() == 1
    assert rig.sink.ids() == ["d-1"]
    fired = rig.store.fired[lost.entry.key]
    assert (fired.claim.replica, fired.claim.attempt) == ("a", 1)


async def test_X02_a_replica_stalled_past_its_lease_does_not_publish_what_another_may_fire() -> (
    None
):
    rig = Rig(lease_seconds=5)
    await rig.schedule("d-1", timedelta(seconds=1))
    rig.clock.advance(seconds=1)
    claim_due = rig.store.claim_due

    async def stalled(
        batch: int, now: datetime, lease_until: datetime, replica: str
    ) -> list[Claim]:
        claims = await claim_due(batch, now, lease_until, replica)
        rig.clock.advance(seconds=6)  # a long pause between claiming and publishing
        return claims

    rig.store.claim_due = stalled  # type: ignore[method-assign]
    await rig.scheduler.fire_once()
    assert rig.sink.events == []


async def test_X02_one_key_s_expiries_are_published_in_due_order_within_a_batch() -> None:
    rig = Rig()
    for i in range(5):
        await rig.schedule(f"d-{i}", timedelta(seconds=10 - i), order_id="same-order")
    rig.clock.advance(seconds=10)
    await rig.scheduler.fire_once()
    assert rig.sink.ids() == ["d-4", "d-3", "d-2", "d-1", "d-0"]


async def test_a_pipelined_publisher_stops_a_batch_at_the_first_refused_send() -> None:
    sent: list[str] = []

    async def enqueue(event: DeadlineExpired) -> asyncio.Future[None]:
        if event.deadline_id == "d-1":
            raise ConnectionError("queue full")
        sent.append(event.deadline_id)
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done

    rig = Rig()
    for i in range(3):
        await rig.schedule(f"d-{i}", timedelta(seconds=i))
    rig.clock.advance(seconds=5)
    claims = await rig.store.claim_due(10, rig.clock.now, rig.clock.now + timedelta(seconds=9), "a")
    results = await pipelined(enqueue)([expiry(fire(c, rig.clock.now, 1000)) for c in claims])
    assert sent == ["d-0"]
    assert results[0] is None
    assert all(isinstance(r, ConnectionError) for r in results[1:])


async def test_precision_the_loop_sleeps_until_the_next_due_time_not_a_fixed_poll() -> None:
    store = InMemoryScheduleStore()
    sink = Sink()
    config = settings(max_idle_seconds=30, maintenance_seconds=30, cleanup_seconds=30)
    scheduler = Scheduler(store, pipelined(sink.enqueue), config)
    deps = Deps(store, config.limits(), lambda: datetime.now(UTC), scheduler.notify, no_rejections)
    await handle_command(schedule("soon", datetime.now(UTC) + timedelta(milliseconds=200)), deps)
    task = asyncio.create_task(scheduler.run())
    try:
        await asyncio.sleep(0.05)  # the loop is asleep now, until the deadline
        await handle_command(
            schedule("sooner", datetime.now(UTC) + timedelta(milliseconds=50)), deps
        )  # notify wakes it for the sooner one
        async with asyncio.timeout(2):
            while len(sink.events) < 2:
                await asyncio.sleep(0.01)
    finally:
        scheduler.stop()
        await task
    assert sink.ids() == ["sooner", "soon"]
    assert all(e.lateness_ms < 100 for e in sink.events), [e.lateness_ms for e in sink.events]
