"""The timer service as OS processes, driven through Kafka like the other services drive it.

Commands go to `timers.commands` from a plain producer; expiries are read back from
`timers.events`. Durations are a few seconds (see `timers_rig.FAST`).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from contracts import topics
from devstack.services import ServiceProcess, metric_value
from tests.integration.timers.timers_rig import (
    Names,
    counts,
    create_topics,
    drop,
    fast_env,
    names_for,
    now,
    read_expiries,
)
from tests.support.kafka import Upstream
from tests.support.services import service_env, start
from tests.unit.timers.timers_kit import schedule

pytestmark = pytest.mark.timeout(240)


@pytest.fixture
async def names(stack: Any, database_name: str, topic_prefix: str) -> AsyncIterator[Names]:
    names = names_for(database_name, topic_prefix)
    await create_topics(stack.kafka_bootstrap, names)
    yield names
    await drop(stack.mongodb_uri, names)


def env(stack: Any, names: Names) -> dict[str, str]:
    return service_env(stack, names.prefix, names.database, **fast_env())


async def wait_for_metric(
    process: ServiceProcess, name: str, value: float, timeout: float = 20
) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while metric_value(await asyncio.to_thread(process.metrics), name) < value:
        if loop.time() > deadline:
            raise TimeoutError(f"{name} stayed below {value}")
        await asyncio.sleep(0.2)


async def test_X02_two_timer_processes_side_by_side_fire_each_deadline_once(
    stack: Any, names: Names, tmp_path: Path
) -> None:
    first = await start("timers", env(stack, names), tmp_path, "timers-1")
    second = await start("timers", env(stack, names), tmp_path, "timers-2")
    try:
        run = uuid.uuid4().hex[:6]
        due = now() + timedelta(seconds=6)
        commands = [
            schedule(f"{run}-{i}", due + timedelta(milliseconds=5 * i), order_id=f"o-{i % 30}")
            for i in range(300)
        ]
        async with Upstream(stack.kafka_bootstrap, names.prefix) as upstream:
            await upstream.send(topics.TIMERS_COMMANDS, *commands)
        ids = {c.deadline_id for c in commands}
        events = await read_expiries(stack, names, ids, timeout=60)
        await asyncio.sleep(4)  # past the slots' sweeps: a lapsed lease would fire again now
        events = await read_expiries(stack, names, ids)
        texts = [await asyncio.to_thread(p.metrics) for p in (first, second)]
        fired = [metric_value(t, "timers_deadlines_fired_total") for t in texts]
        lost = [metric_value(t, "timers_claim_conflicts_total") for t in texts]
        print(f"fired by each process: {fired}; claims lost to the other: {lost}")
    finally:
        first.terminate()
        second.terminate()
    assert counts(events) == {deadline_id: 1 for deadline_id in ids}
    assert sum(fired) == 300  # published once in all: no duplicate reached Kafka
    assert max(e["lateness_ms"] for e in events) < 2000


async def test_X03_deadline_that_fell_due_while_down_fires_late_on_restart_in_due_order(
    stack: Any, names: Names, tmp_path: Path
) -> None:
    process = await start("timers", env(stack, names), tmp_path, "timers-before")
    run = uuid.uuid4().hex[:6]
    due = now() + timedelta(seconds=4)
    commands = [
        schedule(f"{run}-{i}", due + timedelta(milliseconds=100 * (19 - i)), order_id="o-1")
        for i in range(20)
    ]
    try:
        async with Upstream(stack.kafka_bootstrap, names.prefix) as upstream:
            await upstream.send(topics.TIMERS_COMMANDS, *commands)
        await wait_for_metric(process, "timers_deadlines_scheduled_total", 20)
    finally:
        assert process.terminate() == 0  # stopped before anything fell due
    await asyncio.sleep((due - now()).total_seconds() + 4)  # everything falls due while down
    restarted = await start("timers", env(stack, names), tmp_path, "timers-after")
    try:
        ids = {c.deadline_id for c in commands}
        events = await read_expiries(stack, names, ids, timeout=30)
        # what the OrderflowDeadlinesFiredLate alert reads (deploy/prometheus).
        await wait_for_metric(restarted, "timers_deadlines_fired_late_total", 20)
    finally:
        restarted.terminate()
    assert counts(events) == {deadline_id: 1 for deadline_id in ids}
    assert all(e["late"] for e in events)
    assert min(e["lateness_ms"] for e in events) >= 2000
    expected = sorted(commands, key=lambda c: c.due_at)
    assert [e["deadline_id"] for e in events] == [c.deadline_id for c in expected]  # due order
