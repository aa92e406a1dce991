"""X-12 and issue 20: the notifier's handlers take `now` from `ORDERFLOW_CLOCK` (wall or
the handled record's Kafka timestamp), like ordering's, payments' and invoicing's; the
dispatcher's clock, which schedules the sends and their retries, stays the wall clock."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from contracts.timers import ScheduleDeadline
from notifier import app, dispatch, handlers
from notifier.config import NotifierSettings
from servicekit import clocks
from servicekit.clocks import ClockSource
from tests.unit.notifier import notifier_kit as k
from tests.unit.notifier.test_notifier_reminders import Rig


def millis(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def wired_clocks(monkeypatch: pytest.MonkeyPatch, clock: ClockSource) -> dict[str, Any]:
    """The clocks `app.build` hands the handlers and the dispatcher."""
    seen: dict[str, Any] = {}
    deps, dispatcher = handlers.Deps, dispatch.Dispatcher

    def spy_deps(**kwargs: Any) -> handlers.Deps:
        seen["handlers"] = kwargs["clock"]
        return deps(**kwargs)

    def spy_dispatcher(**kwargs: Any) -> Any:
        seen["dispatcher"] = kwargs["clock"]
        return dispatcher(**kwargs)

    monkeypatch.setattr(handlers, "Deps", spy_deps)
    monkeypatch.setattr(app, "Dispatcher", spy_dispatcher)
    app.build(NotifierSettings(clock=clock))
    return seen


def test_the_notifier_handlers_take_the_record_clock_and_its_dispatcher_the_wall(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen = wired_clocks(monkeypatch, "record")
    assert seen["handlers"] is clocks.record
    past = datetime(2025, 3, 3, 9, tzinfo=UTC)
    with clocks.handling_record(millis(past)):
        assert seen["handlers"]() == past
        assert seen["dispatcher"]() > past + timedelta(days=365), "sends are scheduled in wall time"


def test_the_notifier_handlers_take_the_wall_clock_unless_told_otherwise(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen = wired_clocks(monkeypatch, "wall")
    assert seen["handlers"] is clocks.wall


async def test_X12_with_the_record_clock_a_window_is_judged_and_stamped_at_the_records_time() -> (
    None
):
    """The wall clock (long after T0) would find the P-02 window closed: the reminder is
    sent because `now` is the handled deadline's timestamp, as a replay would see it."""
    rig = Rig()
    rig.deps = dataclasses.replace(rig.deps, clock=clocks.clock("record"))
    created = k.postpaid_created()
    with clocks.handling_record(millis(k.T0)):
        await handlers.handle_event(created, rig.deps)
    [command] = rig.commands
    assert isinstance(command, ScheduleDeadline)
    assert command.occurred_at == k.T0
    with clocks.handling_record(millis(command.due_at)):
        await rig.fire(command)
    assert [e.template for e in rig.reminded] == ["reminder_respond"]
    rig.submitted.clear()
    await rig.fire(command)  # outside a handling: the wall clock, after the window closed
    assert rig.reminded == []
