"""Commands in, answers out: what the handler stores, publishes and wakes (X-02, X-07)."""

from __future__ import annotations

from datetime import datetime, timedelta

from contracts.timers import TimerCommandRejected, TimerRejectionReason
from tests.unit.timers.timers_kit import T0, FakeClock, cancel, reschedule, schedule, settings
from timers.domain import DeadlineStatus
from timers.handlers import Deps, handle_command
from timers.memory import InMemoryScheduleStore
from timers.store import Outcome


class Rig:
    def __init__(self) -> None:
        self.clock = FakeClock()
        self.store = InMemoryScheduleStore()
        self.rejections: list[TimerCommandRejected] = []
        self.woken: list[datetime] = []
        self.deps = Deps(
            self.store,
            settings().limits(),
            self.clock,
            self.woken.append,
            self.reject,
        )

    async def reject(self, event: TimerCommandRejected) -> None:
        self.rejections.append(event)


async def test_X02_a_schedule_is_stored_and_wakes_the_scheduler_with_its_due_time() -> None:
    rig = Rig()
    due = T0 + timedelta(hours=24)
    assert await handle_command(schedule("d-1", due), rig.deps) is Outcome.SAVED
    stored = await rig.store.get("d-1", T0)
    assert stored is not None and stored.status is DeadlineStatus.SCHEDULED
    assert rig.woken == [due]


async def test_X07_a_refused_command_is_answered_with_a_rejection_and_its_reason() -> None:
    rig = Rig()
    command = reschedule("nobody", T0 + timedelta(hours=1))
    assert await handle_command(command, rig.deps) is Outcome.NOTHING
    [rejection] = rig.rejections
    assert rejection.reason == TimerRejectionReason.UNKNOWN_DEADLINE
    assert (rejection.command_id, rejection.causation_id) == (command.message_id,) * 2
    assert rejection.correlation_id == command.correlation_id
    assert rejection.kafka_key() == b"order-1"


async def test_X02_cancelling_an_unknown_deadline_is_a_no_op_not_an_error() -> None:
    rig = Rig()
    assert await handle_command(cancel("nobody"), rig.deps) is Outcome.NOTHING
    assert rig.rejections == []


async def test_X02_cancelling_a_deadline_that_already_fired_is_a_no_op() -> None:
    rig = Rig()
    await handle_command(schedule("d-1", T0 + timedelta(seconds=1)), rig.deps)
    rig.clock.advance(seconds=1)
    [claim] = await rig.store.claim_due(
        10, rig.clock.now, rig.clock.now + timedelta(seconds=5), "a"
    )
    assert await handle_command(cancel("d-1"), rig.deps) is Outcome.NOTHING  # firing: too late
    assert rig.rejections == []
    assert claim.entry.deadline_id == "d-1"


async def test_X02_a_redelivered_schedule_creates_no_second_generation() -> None:
    rig = Rig()
    command = schedule("d-1", T0 + timedelta(hours=1))
    await handle_command(command, rig.deps)
    await handle_command(command, rig.deps)
    stored = await rig.store.get("d-1", T0)
    assert stored is not None and stored.generation == 1
    assert len(rig.store.entries) == 1


async def test_X09_a_schedule_refused_as_too_far_is_refused_again_once_it_no_longer_is() -> None:
    rig = Rig()
    command = schedule("d-1", T0 + rig.deps.limits.max_horizon + timedelta(hours=1))
    await handle_command(command, rig.deps)
    rig.clock.advance(hours=2)  # deciding it now would accept it
    assert await handle_command(command, rig.deps) is Outcome.NOTHING
    first, again = rig.rejections
    assert first.reason == TimerRejectionReason.DUE_TOO_FAR
    assert again == first, "the same rejection: same message id, reason and time"
    assert await rig.store.get("d-1", rig.clock.now) is None


async def test_X09_a_reschedule_of_an_unknown_deadline_stays_refused_once_it_is_scheduled() -> None:
    rig = Rig()
    early = reschedule("d-1", T0 + timedelta(hours=2))
    await handle_command(early, rig.deps)
    await handle_command(schedule("d-1", T0 + timedelta(hours=1)), rig.deps)
    assert await handle_command(early, rig.deps) is Outcome.NOTHING
    first, again = rig.rejections
    assert first.reason == TimerRejectionReason.UNKNOWN_DEADLINE
    assert again.message_id == first.message_id and again == first
    stored = await rig.store.get("d-1", T0)
    assert stored is not None and stored.due_at == T0 + timedelta(hours=1)


async def test_X09_an_accepted_schedule_delivered_again_is_answered_by_no_rejection() -> None:
    rig = Rig()
    command = schedule("d-1", T0 + timedelta(hours=1))
    assert await handle_command(command, rig.deps) is Outcome.SAVED
    await handle_command(command, rig.deps)
    assert rig.rejections == []
    stored = await rig.store.get("d-1", T0)
    assert stored is not None and stored.generation == 1
