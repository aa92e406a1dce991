"""The schedule's layout (which collection a deadline goes to) and the local due-ordered view."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from tests.unit.timers.timers_kit import T0
from timers.domain import Entry
from timers.wheel import LocalView, Wheel, epoch_ms, from_ms, is_wheel, parse

WHEEL = Wheel(
    slot_ms=10_000, far_slot_ms=3_600_000, near_horizon_ms=1_800_000, far_margin_ms=300_000
)
NOW = epoch_ms(T0)


def entry(deadline_id: str, seconds: float, generation: int = 1) -> Entry:
    return Entry(
        deadline_id=deadline_id,
        generation=generation,
        order_id="order-1",
        owner="ordering",
        kind="k",
        due_at=T0 + timedelta(seconds=seconds),
        payload={},
        correlation_id=uuid.uuid4(),
        causation_id=uuid.uuid4(),
    )


def test_a_deadline_due_soon_goes_to_the_near_slot_of_its_due_time() -> None:
    due = NOW + 65_000
    assert WHEEL.placement(due, NOW) == f"near_{due // 10_000}"


def test_a_deadline_beyond_the_near_horizon_goes_to_its_far_slot() -> None:
    due = NOW + 3 * 3_600_000
    assert WHEEL.placement(due, NOW) == f"far_{due // 3_600_000}"


def test_X03_an_overdue_deadline_goes_to_the_current_slot_never_to_a_past_one() -> None:
    assert WHEEL.placement(NOW - 3_600_000, NOW) == f"near_{NOW // 10_000}"


def test_a_far_slot_closes_to_new_deadlines_a_margin_before_it_is_cascaded() -> None:
    m = (NOW + 3_600_000 * 2) // 3_600_000
    start = WHEEL.far_start(m)
    closes_at = start - 1_800_000 - 300_000
    assert WHEEL.far_open(m, closes_at - 1)
    assert not WHEEL.far_open(m, closes_at)
    assert not WHEEL.cascade_due(m, closes_at)
    assert WHEEL.cascade_due(m, start - 1_800_000)


def test_a_withdrawal_follows_its_entry_from_a_closed_far_slot_into_the_near_wheel() -> None:
    due = NOW + 3 * 3_600_000
    placement = WHEEL.placement(due, NOW)
    assert WHEEL.withdrawal(placement, due, NOW) == placement
    later = due - 1_800_000  # its far slot has been cascaded by now
    assert WHEEL.withdrawal(placement, due, later) == f"near_{due // 10_000}"


def test_wheel_collection_names_parse_and_others_do_not() -> None:
    assert parse("near_42") == ("near", 42)
    assert parse("far_7") == ("far", 7)
    assert not is_wheel("deadlines_0001")
    with pytest.raises(ValueError):
        parse("near_x")


def test_epoch_milliseconds_round_trip_at_bson_precision() -> None:
    at = T0 + timedelta(microseconds=1999)
    assert from_ms(epoch_ms(at)) == T0 + timedelta(milliseconds=1)


def test_the_view_hands_out_due_entries_in_due_order_up_to_the_batch() -> None:
    view = LocalView()
    for name, seconds in [("c", 3), ("a", 1), ("b", 2), ("later", 60)]:
        view.offer(0, entry(name, seconds))
    taken = view.take_due(NOW + 3_000, limit=2)
    assert [c.entry.deadline_id for c in taken] == ["a", "b"]
    assert [c.entry.deadline_id for c in view.take_due(NOW + 3_000, 10)] == ["c"]
    assert view.next_ready_ms() == NOW + 60_000


def test_a_withdrawn_entry_is_never_handed_out() -> None:
    view = LocalView()
    e = entry("a", 1)
    view.offer(0, e)
    view.resolve(e.key)
    assert view.take_due(NOW + 5_000, 10) == []
    assert view.next_ready_ms() is None


def test_an_entry_already_known_is_not_offered_twice_but_a_takeover_attempt_is() -> None:
    view = LocalView()
    e = entry("a", 1)
    assert view.offer(0, e)
    assert not view.offer(0, e)
    [taken] = view.take_due(NOW + 1_000, 10)
    view.claimed(e.key)
    assert view.drained(0) is False  # not read from the store yet
    view.slot(0).loaded = True
    assert view.drained(0)
    assert view.offer(0, e, attempt=1)  # its lease lapsed: claim it again
    [again] = view.take_due(NOW + 1_000, 10)
    assert (taken.attempt, again.attempt) == (0, 1)


def test_a_released_claim_waits_again_until_its_retry_time() -> None:
    view = LocalView()
    e = entry("a", 1)
    view.offer(0, e)
    view.take_due(NOW + 1_000, 10)
    view.claimed(e.key)
    view.retry(e.key, NOW + 5_000)
    assert view.take_due(NOW + 4_000, 10) == []
    assert [c.entry.key for c in view.take_due(NOW + 5_000, 10)] == [e.key]


def test_forgetting_a_slot_drops_its_entries() -> None:
    view = LocalView()
    view.offer(7, entry("a", 1))
    view.slot(7).loaded = True
    view.forget(7)
    assert len(view) == 0 and view.take_due(NOW + 10_000, 10) == []


def test_slots_share_a_fixed_ring_of_collections_by_their_number() -> None:
    ring = Wheel(10_000, 3_600_000, 1_800_000, 300_000, near_ring=4, far_ring=3)
    assert [ring.collection(f"near_{n}") for n in (0, 5, 8)] == [
        "near_ring_0",
        "near_ring_1",
        "near_ring_0",
    ]
    assert ring.collection("far_7") == "far_ring_1"
