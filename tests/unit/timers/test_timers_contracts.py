"""The timer messages on the wire: strict commands, tolerant events, the key."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
from pydantic import ValidationError

from contracts.timers import (
    TIMER_COMMANDS,
    TIMER_EVENTS,
    CancelDeadline,
    DeadlineExpired,
    ScheduleDeadline,
)
from tests.unit.timers.timers_kit import T0, envelope, schedule


def wire(message: ScheduleDeadline | CancelDeadline) -> dict[str, object]:
    data: dict[str, object] = json.loads(message.model_dump_json())
    return data


def test_X02_a_schedule_round_trips_through_the_topic_union() -> None:
    command = schedule("order-9:confirmation_window:1", T0, payload={"a": [1, {"b": None}]})
    parsed = TIMER_COMMANDS.parse(command.model_dump_json())
    assert parsed == command
    assert parsed.kafka_key() == b"order-1"


def test_an_order_uuid_is_accepted_as_the_key_and_travels_as_text() -> None:
    order_id = uuid.uuid4()
    command = CancelDeadline(**envelope(), deadline_id="d-1", order_id=order_id)  # type: ignore[arg-type]
    assert command.order_id == str(order_id)
    assert command.kafka_key() == str(order_id).encode()


def test_commands_are_strict_an_unknown_field_is_refused() -> None:
    data = {**wire(schedule("d-1", T0)), "priority": "high"}
    with pytest.raises(ValidationError):
        TIMER_COMMANDS.parse(json.dumps(data))


@pytest.mark.parametrize("deadline_id", ["", "a|b", "has space", "x" * 201])
def test_a_deadline_id_with_a_bar_or_whitespace_or_out_of_length_is_refused(
    deadline_id: str,
) -> None:
    with pytest.raises(ValidationError):
        schedule(deadline_id, T0)


def test_a_due_time_without_a_time_zone_is_refused() -> None:
    data = {**wire(schedule("d-1", T0)), "due_at": "2026-03-02T09:00:00"}
    with pytest.raises(ValidationError):
        TIMER_COMMANDS.parse(json.dumps(data))


def test_events_are_tolerant_a_field_added_later_is_ignored() -> None:
    event = DeadlineExpired(
        **envelope(),
        deadline_id="d-1",
        order_id="order-1",
        owner="ordering",
        kind="k",
        generation=1,
        due_at=T0,
        fired_at=T0 + timedelta(seconds=2),
        lateness_ms=2000,
        late=True,
    )
    data = {**json.loads(event.model_dump_json()), "shard": 3}
    parsed = TIMER_EVENTS.parse(json.dumps(data))
    assert isinstance(parsed, DeadlineExpired) and parsed.late and parsed.lateness_ms == 2000
