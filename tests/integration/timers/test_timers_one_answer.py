"""X-09 on the real broker and store: a refused timer command keeps its answer.

The timer service is killed (SIGKILL) after it refused a reschedule of a deadline it did
not know but before it committed the command's offset (the commit interval is an hour,
and a killed process commits nothing); the schedule arrives before the crash, so deciding
the reschedule again would accept it. After the restart the reschedule is delivered
again: it must get the same rejection (the same message id) and move nothing.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from contracts import topics
from contracts.envelope import Party, Role
from contracts.timers import RescheduleDeadline, ScheduleDeadline
from orderflow import commands as c
from servicekit.config import service_database
from tests.integration.timers.timers_rig import Names, drop, replica
from tests.support.kafka import Record, Upstream, eventually, read_topic
from tests.support.services import service_env, start
from timers.queries import deadlines_of

pytestmark = pytest.mark.timeout(240)
ORDERING = Party(id="ordering", role=Role.SYSTEM)


def rejections_of(records: Sequence[Record], command_id: uuid.UUID) -> list[dict[str, Any]]:
    found = [r.json() for r in records]
    return [
        e
        for e in found
        if e["type"] == "TimerCommandRejected" and e["command_id"] == str(command_id)
    ]


async def test_X09_a_refused_reschedule_redelivered_after_a_crash_is_refused_the_same_way(
    stack: Any, topic_prefix: str, database_name: str, tmp_path: Path
) -> None:
    prefix, database = f"{topic_prefix}x09t.", f"{database_name}_x09t"
    env = service_env(stack, prefix, database, ORDERFLOW_COMMIT_INTERVAL_SECONDS="3600")
    order_id = str(uuid.uuid4())
    deadline_id = f"{order_id}:auto_confirm:1"
    due = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)  # as stored (ms)
    early = c.command(
        RescheduleDeadline, ORDERING, deadline_id=deadline_id, order_id=order_id,
        due_at=due + timedelta(hours=5),
    )  # fmt: skip
    schedule = c.command(
        ScheduleDeadline, ORDERING, deadline_id=deadline_id, order_id=order_id,
        owner="ordering", kind="auto_confirm", due_at=due,
    )  # fmt: skip
    events = prefix + topics.TIMERS_EVENTS
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(stack.mongodb_uri, tz_aware=True)
    db = client[service_database(database, "timers")]

    async def scheduled() -> bool:
        return [d.due_at for d in await deadlines_of(db, order_id)] == [due]  # type: ignore[arg-type]

    first = await start("timers", env, tmp_path, name="timers-1")
    try:
        async with Upstream(stack.kafka_bootstrap, prefix) as upstream:
            await upstream.send(topics.TIMERS_COMMANDS, early)
            records = await read_topic(
                stack.kafka_bootstrap, events, lambda rs: bool(rejections_of(rs, early.message_id))
            )
            [refusal] = rejections_of(records, early.message_id)
            assert refusal["reason"] == "unknown_deadline"
            await upstream.send(topics.TIMERS_COMMANDS, schedule)
        await eventually(scheduled)  # the reschedule would now be accepted
    finally:
        first.kill()

    second = await start("timers", env, tmp_path, name="timers-2")
    try:
        # Behind the redelivered commands in the order's partition: once it is answered,
        # every command before it has been handled again.
        marker = c.command(
            RescheduleDeadline, ORDERING, deadline_id=f"{order_id}:nothing:1", order_id=order_id,
            due_at=due,
        )  # fmt: skip
        async with Upstream(stack.kafka_bootstrap, prefix) as upstream:
            await upstream.send(topics.TIMERS_COMMANDS, marker)
        records = await read_topic(
            stack.kafka_bootstrap, events, lambda rs: bool(rejections_of(rs, marker.message_id))
        )
    finally:
        second.terminate()

    assert await scheduled(), "the redelivered reschedule moved nothing"
    again = rejections_of(records, early.message_id)
    assert len(again) == 2, "the reschedule was delivered again after the crash"
    assert {(e["message_id"], e["reason"]) for e in again} == {
        (refusal["message_id"], "unknown_deadline")
    }
    await client.close()


async def test_X09_of_two_replicas_refusing_one_command_the_first_answer_stays(
    stack: Any, database_name: str
) -> None:
    names = Names(database=f"{database_name}_x09r", prefix="unused.")
    command_id, sent_at = uuid.uuid4(), datetime.now(UTC)
    try:
        async with replica(stack, names, name="a") as a, replica(stack, names, name="b") as b:
            answers = await asyncio.gather(
                *(
                    r.store.record_refusal(command_id, sent_at, f"answer {i}")
                    for i, r in enumerate([a, b, a, b])
                )
            )
            [kept] = set(answers)
            assert await b.store.refusal_of(command_id, sent_at) == kept
            assert await a.store.refusal_of(uuid.uuid4(), sent_at) is None
    finally:
        await drop(stack.mongodb_uri, names)
