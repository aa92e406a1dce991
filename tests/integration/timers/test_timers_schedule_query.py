"""The schedule as ops see it (`orderflow schedule`): an order's deadlines and their status."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from contracts import topics
from contracts.envelope import Party, Role
from contracts.timers import CancelDeadline, ScheduleDeadline
from devstack.services import ServiceProcess
from orderflow import commands as c
from servicekit.config import service_database
from tests.support.kafka import Upstream, eventually
from tests.support.services import service_env, start
from timers.queries import deadlines_of

pytestmark = pytest.mark.timeout(180)
ORDERING = Party(id="ordering", role=Role.SYSTEM)


@pytest.fixture
async def timers(
    stack: Any, topic_prefix: str, database_name: str, tmp_path: Any
) -> AsyncIterator[ServiceProcess]:
    env = service_env(stack, topic_prefix + "schedq.", database_name + "_schedq")
    process = await start("timers", env, tmp_path)
    yield process
    process.terminate()


async def test_X02_an_orders_deadlines_are_listed_with_their_status_by_due_time(
    timers: ServiceProcess, stack: Any, topic_prefix: str, database_name: str
) -> None:
    order_id = str(uuid.uuid4())
    due = datetime.now(UTC) + timedelta(hours=1)
    later = c.command(
        ScheduleDeadline, ORDERING, deadline_id=f"{order_id}:auto_confirm:1", kind="auto_confirm",
        due_at=due + timedelta(hours=1), order_id=order_id, owner="ordering",
    )  # fmt: skip
    sooner = c.command(
        ScheduleDeadline, ORDERING, deadline_id=f"{order_id}:confirmation_window:1",
        kind="confirmation_window", due_at=due, order_id=order_id, owner="ordering",
    )  # fmt: skip
    cancel = c.command(
        CancelDeadline, ORDERING, deadline_id=f"{order_id}:auto_confirm:1", order_id=order_id
    )
    async with Upstream(stack.kafka_bootstrap, topic_prefix + "schedq.") as upstream:
        await upstream.send(topics.TIMERS_COMMANDS, later, sooner, cancel)

    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(stack.mongodb_uri, tz_aware=True)
    db = client[service_database(database_name + "_schedq", "timers")]

    async def listed() -> list[tuple[str, str]] | None:
        found = [(d.kind, d.status.value) for d in await deadlines_of(db, order_id)]  # type: ignore[arg-type]
        return found if ("auto_confirm", "cancelled") in found else None

    try:
        deadlines = await eventually(listed, timeout=60)
    finally:
        await client.close()
    assert deadlines == [("confirmation_window", "scheduled"), ("auto_confirm", "cancelled")]
