"""SIGTERM during a burst loses nothing and does nothing twice (issue 3, X-08).

ordering runs as a real process; a burst of commands is published; the service is
stopped with SIGTERM while it works through them, then started again. Every command
must have its effect exactly once: one order, one creation event id, per command.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from contracts import topics
from contracts.orders import CreateOrder
from orderflow import commands as c
from servicekit.config import service_database
from tests.support.kafka import Upstream, read_topic
from tests.support.services import service_env, start

pytestmark = pytest.mark.timeout(300)

BURST = 300


async def test_sigterm_during_a_burst_loses_nothing_and_repeats_no_effect(
    stack: Any, topic_prefix: str, database_name: str, tmp_path: Any
) -> None:
    prefix = f"{topic_prefix}sigterm."
    env = service_env(stack, prefix, database_name + "_sigterm")
    logs = tmp_path / "logs"
    first = await start("ordering", env, logs, name="ordering-1")

    member, client = c.member(), c.client()
    ids = [uuid.uuid4() for _ in range(BURST)]
    creates = [
        c.command(
            CreateOrder, member.party, order_id=i, parties=[member, client], terms=c.managed_terms()
        )
        for i in ids
    ]
    events_topic = prefix + topics.ORDERS_EVENTS
    stopped = asyncio.Event()
    sent_after_stop = 0

    async def burst() -> None:
        # A steady stream that goes on while the service stops: the stop lands mid-burst
        # by construction, and part of the burst is published while nothing consumes it.
        nonlocal sent_after_stop
        async with Upstream(stack.kafka_bootstrap, prefix) as upstream:
            for create in creates:
                await upstream.send(topics.ORDERS_COMMANDS, create)
                sent_after_stop += stopped.is_set()
                await asyncio.sleep(0.03)  # about 10 s in all: longer than a consumer joins

    publishing = asyncio.create_task(burst())
    await read_topic(
        stack.kafka_bootstrap, events_topic, lambda r: len(r) >= BURST // 10, timeout=60
    )
    code = await asyncio.to_thread(first.terminate)
    stopped.set()
    assert code == 0, "a clean exit after draining"
    await publishing
    assert sent_after_stop > 0, "part of the burst came after the stop"

    second = await start("ordering", env, logs, name="ordering-2")
    try:
        records = await read_topic(
            stack.kafka_bootstrap,
            events_topic,
            lambda r: len({x.key for x in r}) >= BURST,
            timeout=120,
        )
    finally:
        await asyncio.to_thread(second.terminate)

    created = [r.json() for r in records if r.json()["type"] == "OrderCreated"]
    by_order: dict[str, set[str]] = {}
    for event in created:
        by_order.setdefault(event["order_id"], set()).add(event["message_id"])
    assert set(by_order) == {str(i) for i in ids}, "every command of the burst took effect"
    assert all(len(m) == 1 for m in by_order.values()), "no order was created twice"

    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(stack.mongodb_uri)
    db = mongo[service_database(database_name + "_sigterm", "ordering")]
    revisions = [d["revision"] async for d in db["orders"].find({}, {"revision": 1})]
    await mongo.close()
    assert len(revisions) == BURST
    assert set(revisions) == {1}, "one commit per order: nothing applied twice"
