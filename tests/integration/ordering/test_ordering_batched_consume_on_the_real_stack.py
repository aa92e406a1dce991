"""Issue 19: ordering consumes its commands in batches, on the real broker and store.

The records of each case are handed to the producer at once and acknowledged together,
so they reach the broker in one request and the service's `getmany` most likely takes
them as one batch; what each case asserts holds however the records were split.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from contracts import topics
from contracts.envelope import Message
from contracts.orders import SubmitOrder, WithdrawOrder
from devstack.services import ServiceProcess
from orderflow import commands as c
from ordering.config import OrderingSettings
from ordering.handlers import Deps, handle_command
from ordering.store import AccountsStore, SupplierSettingsStore, orders_store
from servicekit.aggregates import Document
from servicekit.config import service_database
from servicekit.deadletters import DLQ_REASON
from tests.integration.ordering.test_ordering_on_the_real_stack import create_managed, for_order
from tests.support.kafka import Record, Upstream, eventually, read_topic

pytestmark = pytest.mark.timeout(240)


@pytest.fixture
async def db(stack: Any, database_name: str) -> AsyncIterator[Any]:
    mongo: AsyncMongoClient[Document] = AsyncMongoClient(stack.mongodb_uri, tz_aware=True)
    yield mongo[service_database(database_name, "ordering")]
    await mongo.close()


async def send_together(stack: Any, prefix: str, *items: Message | tuple[bytes, bytes]) -> None:
    """Hand every record to the producer first, then wait for all acknowledgements."""
    async with Upstream(stack.kafka_bootstrap, prefix) as upstream:
        sent = []
        for item in items:
            value, key = (
                item if isinstance(item, tuple) else (item.model_dump_json().encode(), item.kafka_key())
            )  # fmt: skip
            sent.append(
                await upstream.producer.send(prefix + topics.ORDERS_COMMANDS, value, key=key)
            )
        await asyncio.gather(*sent)


async def answers(
    stack: Any, prefix: str, expected: dict[uuid.UUID, int]
) -> dict[uuid.UUID, list[dict[str, Any]]]:
    """Each order's messages on orders.events, once there are at least as many as expected."""

    def enough(records: Sequence[Record]) -> bool:
        return all(len(for_order(records, o)) >= n for o, n in expected.items())

    records = await read_topic(stack.kafka_bootstrap, prefix + topics.ORDERS_EVENTS, enough)
    return {o: for_order(records, o) for o in expected}


async def commits(db: Any, order_id: uuid.UUID, n: int) -> list[Document]:
    """The order's commits once there are `n` (written before the events are published)."""

    async def check() -> list[Document] | None:
        found = await db["orders_commits"].find({"aggregate_id": str(order_id)}).to_list()
        return sorted(found, key=lambda d: d["revision"]) if len(found) >= n else None

    found: list[Document] = await eventually(check)
    return found


def submit(order_id: uuid.UUID) -> SubmitOrder:
    return c.command(SubmitOrder, c.member().party, order_id=order_id)


async def test_X07_a_batch_with_two_commands_for_one_order_and_one_for_another_answers_each_in_order(
    ordering: ServiceProcess, stack: Any, topic_prefix: str, db: Any
) -> None:
    a, b = uuid.uuid4(), uuid.uuid4()
    await send_together(stack, topic_prefix, create_managed(a), submit(a), create_managed(b))
    got = await answers(stack, topic_prefix, {a: 2, b: 1})
    assert [m["type"] for m in got[a]] == ["OrderCreated", "OrderSubmitted"]
    assert [m["type"] for m in got[b]] == ["OrderCreated"]
    assert [d["revision"] for d in await commits(db, a, 2)] == [1, 2]


async def test_an_unreadable_record_in_the_middle_of_a_batch_is_dead_lettered_and_the_rest_handled(
    ordering: ServiceProcess, stack: Any, topic_prefix: str
) -> None:
    a, b = uuid.uuid4(), uuid.uuid4()
    garbage = (b"{not json " + str(a).encode(), str(a).encode())
    await send_together(stack, topic_prefix, create_managed(a), garbage, create_managed(b))
    got = await answers(stack, topic_prefix, {a: 1, b: 1})
    assert got[a][0]["type"] == "OrderCreated" and got[b][0]["type"] == "OrderCreated"
    dlq = topic_prefix + topics.ORDERS_COMMANDS + ".dlq"
    dead = await read_topic(
        stack.kafka_bootstrap, dlq, lambda rs: any(r.value == garbage[0] for r in rs)
    )
    [letter] = [r for r in dead if r.value == garbage[0]]
    assert letter.headers[DLQ_REASON] == "malformed"


async def test_X09_a_batch_delivered_twice_has_one_effect_and_answers_the_same_again(
    ordering: ServiceProcess, stack: Any, topic_prefix: str, db: Any
) -> None:
    a, b = uuid.uuid4(), uuid.uuid4()
    batch = [create_managed(a), submit(a), create_managed(b)]
    await send_together(stack, topic_prefix, *batch)
    await answers(stack, topic_prefix, {a: 2, b: 1})
    await send_together(stack, topic_prefix, *batch)
    got = await answers(stack, topic_prefix, {a: 4, b: 2})
    ids = {o: [m["message_id"] for m in got[o]] for o in (a, b)}
    assert ids[a][2:] == ids[a][:2] and ids[b][1:] == ids[b][:1], "the same answers again"
    assert len(await commits(db, a, 2)) == 2 and len(await commits(db, b, 1)) == 1


async def test_X09_a_lost_race_for_one_order_in_a_batch_redoes_that_order_only(
    ordering: ServiceProcess, stack: Any, topic_prefix: str, db: Any
) -> None:
    """Another writer (as a process that took the partition during a rebalance would)
    moves order `b` on after the service kept it in memory: in the next batch `b`'s
    insert fails and `b` is read and decided again; `a` is decided and answered once."""
    a, b = uuid.uuid4(), uuid.uuid4()
    await send_together(stack, topic_prefix, create_managed(a), create_managed(b))
    await answers(stack, topic_prefix, {a: 1, b: 1})
    await commits(db, b, 1)
    await handle_command(submit(b), other_writer(db))
    await send_together(
        stack, topic_prefix, submit(a), c.command(WithdrawOrder, c.member().party, order_id=b)
    )
    got = await answers(stack, topic_prefix, {a: 2, b: 2})
    assert [m["type"] for m in got[a]] == ["OrderCreated", "OrderSubmitted"]
    assert got[b][-1]["type"] == "OrderWithdrawn", "decided again on the newer state"
    assert [d["revision"] for d in await commits(db, b, 3)] == [1, 2, 3]
    assert len(await commits(db, a, 2)) == 2


def other_writer(db: Any) -> Deps:
    """ordering's handler dependencies in this process, on the service's database."""
    settings = OrderingSettings()

    async def publish(_: Sequence[Document]) -> None:
        return None

    return Deps(
        orders=orders_store(db),
        accounts=AccountsStore(db),
        policy=settings.policy(),
        catalogue=settings.catalogue(),
        token_secret=settings.token_secret.get_secret_value().encode(),
        publish_outbox=publish,
        clock=lambda: datetime.now(UTC),
        suppliers=SupplierSettingsStore(db),
    )
