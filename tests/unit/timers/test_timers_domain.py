"""The deadline's rules: schedule, reschedule, cancel, generations, lateness (X-02, X-03)."""

from __future__ import annotations

import ast
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

import timers.domain
from contracts.timers import TimerRejectionReason
from tests.unit.timers.timers_kit import LIMITS, T0, cancel, request, reschedule
from timers.domain import (
    NOTHING,
    TRANSITIONS,
    Action,
    Claim,
    DeadlineStatus,
    Generation,
    decide_cancel,
    decide_reschedule,
    decide_schedule,
    entry_of,
    expiry_message_id,
    fire,
    is_late,
    lateness_ms,
    state_diagram,
)


def scheduled(deadline_id: str = "d-1", **changes: object) -> timers.domain.Deadline:
    decision = decide_schedule(None, request(deadline_id), T0, LIMITS)
    assert decision.deadline is not None
    return replace(decision.deadline, placement="near_1", **changes)  # type: ignore[arg-type]


def test_X02_a_new_deadline_is_scheduled_as_generation_one() -> None:
    decision = decide_schedule(None, request(), T0, LIMITS)
    assert decision.deadline is not None
    assert decision.deadline.status is DeadlineStatus.SCHEDULED
    assert decision.deadline.generation == 1
    assert decision.withdraw is None
    assert decision.deadline.scheduled_at == T0


def test_X02_scheduling_an_id_that_exists_updates_it_as_the_next_generation() -> None:
    current = scheduled()
    later = T0 + timedelta(hours=5)
    decision = decide_schedule(current, request(due_at=later, payload={"step": 2}), T0, LIMITS)
    assert decision.deadline is not None
    assert decision.deadline.generation == 2
    assert decision.deadline.due_at == later
    assert decision.deadline.payload == {"step": 2}
    assert decision.withdraw == Generation(1, current.due_at, "near_1")


@pytest.mark.parametrize("status", [DeadlineStatus.FIRED, DeadlineStatus.CANCELLED])
def test_X02_scheduling_a_fired_or_cancelled_deadline_again_makes_it_pending(
    status: DeadlineStatus,
) -> None:
    decision = decide_schedule(scheduled(status=status), request(), T0, LIMITS)
    assert decision.deadline is not None
    assert decision.deadline.status is DeadlineStatus.SCHEDULED
    assert decision.deadline.generation == 2
    assert decision.withdraw is None  # nothing is waiting any more


def test_X02_a_deadline_id_cannot_be_taken_over_by_another_order() -> None:
    decision = decide_schedule(scheduled(), request(order_id="order-2"), T0, LIMITS)
    assert decision.rejection is not None
    assert decision.rejection.reason is TimerRejectionReason.KEY_MISMATCH


def test_X02_a_due_time_beyond_the_horizon_is_refused() -> None:
    too_far = T0 + LIMITS.max_horizon + timedelta(seconds=1)
    decision = decide_schedule(None, request(due_at=too_far), T0, LIMITS)
    assert decision.rejection is not None
    assert decision.rejection.reason is TimerRejectionReason.DUE_TOO_FAR


def test_X02_a_payload_larger_than_the_limit_is_refused() -> None:
    decision = decide_schedule(None, request(payload={"x": "y" * 2000}), T0, LIMITS)
    assert decision.rejection is not None
    assert decision.rejection.reason is TimerRejectionReason.PAYLOAD_TOO_LARGE


def test_X03_a_due_time_in_the_past_is_accepted_and_fires_at_once() -> None:
    decision = decide_schedule(None, request(due_at=T0 - timedelta(hours=1)), T0, LIMITS)
    assert decision.deadline is not None and decision.rejection is None


def test_X02_rescheduling_moves_a_pending_deadline_to_the_next_generation() -> None:
    current = scheduled()
    later = T0 + timedelta(days=1)
    decision = decide_reschedule(current, reschedule("d-1", later), T0, LIMITS)
    assert decision.deadline is not None
    assert (decision.deadline.generation, decision.deadline.due_at) == (2, later)
    assert decision.deadline.placement is None  # the store places the new generation
    assert decision.withdraw == current.current


def test_X02_rescheduling_an_unknown_deadline_is_refused() -> None:
    decision = decide_reschedule(None, reschedule("d-1", T0), T0, LIMITS)
    assert decision.rejection is not None
    assert decision.rejection.reason is TimerRejectionReason.UNKNOWN_DEADLINE


@pytest.mark.parametrize("status", [DeadlineStatus.FIRED, DeadlineStatus.CANCELLED])
def test_X02_rescheduling_a_fired_or_cancelled_deadline_is_refused(status: DeadlineStatus) -> None:
    decision = decide_reschedule(scheduled(status=status), reschedule("d-1", T0), T0, LIMITS)
    assert decision.rejection is not None
    assert decision.rejection.reason is TimerRejectionReason.DEADLINE_NOT_PENDING


def test_X02_cancelling_a_scheduled_deadline_withdraws_its_generation() -> None:
    current = scheduled()
    decision = decide_cancel(current, cancel("d-1"), T0)
    assert decision.deadline is not None
    assert decision.deadline.status is DeadlineStatus.CANCELLED
    assert decision.deadline.cancelled_at == T0
    assert decision.withdraw == current.current


@pytest.mark.parametrize(
    "status", [None, DeadlineStatus.FIRING, DeadlineStatus.FIRED, DeadlineStatus.CANCELLED]
)
def test_X02_cancelling_an_unknown_firing_fired_or_cancelled_deadline_changes_nothing(
    status: DeadlineStatus | None,
) -> None:
    current = None if status is None else scheduled(status=status)
    decision = decide_cancel(current, cancel("d-1"), T0)
    assert decision == NOTHING


def test_X02_a_redelivered_command_completes_what_it_started_and_no_more() -> None:
    command = request()
    first = decide_schedule(scheduled(), command, T0, LIMITS)
    assert first.deadline is not None
    again = decide_schedule(first.deadline, command, T0 + timedelta(seconds=5), LIMITS)
    assert again.repeat
    assert again.deadline == first.deadline  # the same generation, not a third
    assert again.withdraw == first.withdraw  # the withdrawal is repeated, in case it was lost


def test_X02_a_redelivered_cancel_repeats_its_withdrawal() -> None:
    command = cancel("d-1")
    first = decide_cancel(scheduled(), command, T0)
    assert first.deadline is not None
    again = decide_cancel(first.deadline, command, T0)
    assert again.repeat and again.withdraw == first.deadline.current


def test_X03_lateness_is_in_whole_milliseconds_and_never_negative() -> None:
    assert lateness_ms(T0, T0 + timedelta(milliseconds=1500, microseconds=900)) == 1500
    assert lateness_ms(T0, T0 - timedelta(seconds=3)) == 0


def test_X03_an_expiry_later_than_the_tolerance_is_marked_late() -> None:
    assert not is_late(1000, tolerance_ms=1000)
    assert is_late(1001, tolerance_ms=1000)


def test_X03_firing_a_claim_records_when_and_how_late() -> None:
    entry = entry_of(scheduled())
    claim = Claim(entry, 0, "replica-a", entry.due_at + timedelta(seconds=30))
    firing = fire(claim, entry.due_at + timedelta(minutes=5), tolerance_ms=1000)
    assert firing.lateness_ms == 300_000 and firing.late


def test_X02_every_publish_of_one_generation_carries_the_same_message_id() -> None:
    assert expiry_message_id("d-1", 1) == expiry_message_id("d-1", 1)
    assert expiry_message_id("d-1", 1) != expiry_message_id("d-1", 2)


def test_the_transition_table_reaches_every_status_from_nothing() -> None:
    reached: set[DeadlineStatus | None] = {None}
    while True:
        more = {after for (before, _), after in TRANSITIONS.items() if before in reached}
        if more <= reached:
            break
        reached |= more
    assert reached == {None, *DeadlineStatus}
    assert (DeadlineStatus.FIRED, Action.CANCEL) not in TRANSITIONS


def test_the_state_diagram_is_drawn_from_the_transition_table() -> None:
    diagram = state_diagram()
    assert diagram.startswith("stateDiagram-v2\n")
    for (before, action), after in TRANSITIONS.items():
        source = "[*]" if before is None else before.value
        assert f"{source} --> {after.value} : {action.value}" in diagram
    assert len(diagram.splitlines()) == len(TRANSITIONS) + 1


def test_the_domain_imports_no_io_and_reads_no_clock() -> None:
    source = Path(timers.domain.__file__).read_text()
    tree = ast.parse(source)
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    } | {
        (node.module or "").split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
    }
    assert not imported & {"faststream", "aiokafka", "pymongo", "os", "time", "asyncio"}
    calls = {
        node.func.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
    }
    assert not calls & {"now", "utcnow", "today"}
