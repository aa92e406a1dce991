"""Fuzzed input kept as plain tests: the edges the generators reach only by luck, and
every failing example a fuzz run finds (add it here, with the date and what broke).

Each runs one batch through the same check as the fuzz test (`check_batch`): answered or
dead-lettered, never a handler failure, a valid command never dead-lettered, a sentinel
answered after it on every command topic, no service down.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest

from contracts import topics
from contracts.envelope import SYSTEM
from contracts.timers import ScheduleDeadline
from orderflow import commands as c
from tests.fuzz.conftest import TIMEOUT, FuzzSystem, known_order
from tests.fuzz.messages import Recipe
from tests.fuzz.schemas import KNOWN_ORDERS
from tests.fuzz.test_fuzz_commands import check_batch

pytestmark = [pytest.mark.e2e, pytest.mark.fuzz, pytest.mark.timeout(TIMEOUT or 300)]

#: The last instant of the calendar, behind UTC: in UTC it is in year 10000.
END_OF_TIME = datetime.max.replace(tzinfo=timezone(-timedelta(hours=23, minutes=59)))
#: The first, ahead of UTC: in UTC it is in year 0.
START_OF_TIME = datetime.min.replace(tzinfo=timezone(timedelta(hours=23, minutes=59)))


def recipe(topic: str, body: dict[str, object], mutation: str = "none", at: int = 0) -> Recipe:
    return Recipe(topic, str(body["type"]), body, mutation, at)


def order_at_the_edge_of_time(instant: datetime) -> dict[str, object]:
    """A managed order whose offer and envelope are at `instant`."""
    order = known_order(uuid.uuid4())
    body = order.model_dump(mode="json")
    body["occurred_at"] = instant.isoformat()
    body["terms"]["offer_valid_until"] = instant.isoformat()
    return body


def deadline_at(instant: datetime) -> dict[str, object]:
    command = c.command(
        ScheduleDeadline,
        SYSTEM,
        deadline_id=f"edge-{uuid.uuid4()}",
        order_id=str(KNOWN_ORDERS[0]),
        owner="ordering",
        kind="fuzz",
        due_at=datetime.now(UTC) + timedelta(hours=1),
    )
    body = command.model_dump(mode="json")
    body["due_at"] = instant.isoformat()
    return body


@pytest.mark.parametrize("instant", [END_OF_TIME, START_OF_TIME], ids=["end", "start"])
async def test_X07_instants_at_the_ends_of_the_calendar_are_answered(
    fuzz_system: FuzzSystem, instant: datetime
) -> None:
    """Year 9999 behind UTC and year 1 ahead of it cannot be converted to UTC."""
    await check_batch(
        fuzz_system,
        [
            recipe(topics.ORDERS_COMMANDS, order_at_the_edge_of_time(instant)),
            recipe(topics.TIMERS_COMMANDS, deadline_at(instant)),
        ],
    )


async def test_X07_the_same_record_mangled_every_way_is_answered_or_dead_lettered(
    fuzz_system: FuzzSystem,
) -> None:
    body = known_order(uuid.uuid4()).model_dump(mode="json")
    mangled = ["truncate", "flip", "drop_field", "huge", "not_utf8", "other_key"]
    await check_batch(
        fuzz_system,
        [recipe(topics.ORDERS_COMMANDS, body, m, at=37) for m in mangled],
    )
