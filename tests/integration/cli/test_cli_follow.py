"""`orderflow follow` on the real broker: an order's past first, then what happens next.

The bug this guards: the bus dropped the first batch it fetched, so following an order
whose events were already on the topics printed nothing.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from contracts import topics
from orderflow.bus import TIMELINE_TOPICS
from orderflow.kafka import create_topics
from tests.support.kafka import Upstream

pytestmark = pytest.mark.timeout(120)


def event(order_id: uuid.UUID, type_: str, status: str, at: datetime) -> bytes:
    return json.dumps(
        {
            "message_id": str(uuid.uuid4()),
            "type": type_,
            "occurred_at": at.isoformat(),
            "correlation_id": str(uuid.uuid4()),
            "actor": {"id": "member-1", "role": "member"},
            "order_id": str(order_id),
            "status": status,
        }
    ).encode()


async def topics_of(stack: Any, prefix: str) -> None:
    await create_topics(stack.kafka_bootstrap, [prefix + t for t in TIMELINE_TOPICS], 3)


async def follow(stack: Any, prefix: str, order: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "orderflow", "follow", order,
        "--bootstrap", stack.kafka_bootstrap, "--prefix", prefix,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip


async def next_line(process: asyncio.subprocess.Process) -> str:
    assert process.stdout is not None
    async with asyncio.timeout(45):
        return (await process.stdout.readline()).decode()


async def test_follow_prints_the_past_of_an_order_given_by_its_short_id_then_live_events(
    stack: Any, topic_prefix: str
) -> None:
    prefix = f"{topic_prefix}follow-{uuid.uuid4().hex[:6]}."
    await topics_of(stack, prefix)
    order, other = uuid.uuid4(), uuid.uuid4()
    start = datetime.now(UTC) - timedelta(minutes=5)
    async with Upstream(stack.kafka_bootstrap, prefix) as upstream:
        key = str(order).encode()
        await upstream.send_raw(
            topics.ORDERS_EVENTS, event(order, "OrderCreated", "draft", start), key
        )
        await upstream.send_raw(
            topics.ORDERS_EVENTS, event(other, "OrderCreated", "draft", start), str(other).encode()
        )
        await upstream.send_raw(
            topics.ORDERS_EVENTS,
            event(order, "OrderSubmitted", "operator_review", start + timedelta(minutes=1)),
            key,
        )

        process = await follow(stack, prefix, str(order)[:8])
        try:
            past = [await next_line(process), await next_line(process)]
            assert "OrderCreated" in past[0] and "OrderSubmitted" in past[1], past
            assert all(str(order)[:8] in line for line in past)

            await upstream.send_raw(
                topics.ORDERS_EVENTS,
                event(order, "OrderConfirmed", "active", datetime.now(UTC)),
                key,
            )
            assert "OrderConfirmed" in await next_line(process)
        finally:
            process.terminate()
            await process.wait()


async def test_follow_refuses_a_short_id_no_order_on_the_topics_has_in_one_line(
    stack: Any, topic_prefix: str
) -> None:
    prefix = f"{topic_prefix}follow-{uuid.uuid4().hex[:6]}."
    await topics_of(stack, prefix)
    process = await follow(stack, prefix, "0badc0de")
    async with asyncio.timeout(60):
        _, stderr = await process.communicate()
    assert process.returncode == 2
    assert stderr.decode().strip() == (
        "orderflow: no order whose id starts with '0badc0de' has events on the topics"
    )
