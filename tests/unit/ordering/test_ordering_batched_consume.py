"""Issue 19: records are consumed in batches. The runtime's batch path (decode, validate,
dispatch under the consumer guard) with ordering's real handler on a store in memory:
per-key order, dead letters, redelivery and lost races inside one batch.

Records are built by hand, as `getmany` returns them; no broker is needed."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TypeAlias, cast

from aiokafka.structs import ConsumerRecord

from contracts.envelope import Message
from contracts.orders import (
    ORDER_COMMANDS,
    CreateOrder,
    OrderCommand,
    SubmitOrder,
    WithdrawOrder,
)
from contracts.topics import ORDERS_COMMANDS, ORDERS_EVENTS
from ordering.domain import Policy
from ordering.handlers import Deps, handle_command
from ordering.store import AccountsStore, SupplierSettingsStore, orders_store
from servicekit.aggregates import Document
from servicekit.config import ServiceSettings
from servicekit.deadletters import DLQ_REASON, DLQ_SOURCE
from servicekit.runtime import ServiceRuntime
from tests.support.memory_db import MemoryDatabase
from tests.unit.ordering.ordering_kit import CLIENT, MEMBER, SECRET, T0, catalogue, command
from tests.unit.ordering.ordering_kit import managed_terms as terms

if TYPE_CHECKING:
    CommandBody: TypeAlias = OrderCommand
else:  # the discriminated union, as ordering's app subscribes with it
    CommandBody = ORDER_COMMANDS.annotation
PREFIX = "t."


class BatchRig:
    """ordering's command subscriber on a runtime that is never started: batches go
    straight to `ServiceRuntime.consume`; what is published and dead-lettered is kept."""

    def __init__(self, db: MemoryDatabase | None = None) -> None:
        self.db = db or MemoryDatabase()
        self.published: list[dict[str, Any]] = []
        self.dead: list[dict[str, str]] = []
        self.offset = 0
        self.deps = deps(self.db, self.publish_outbox)
        self.runtime = ServiceRuntime("ordering", ServiceSettings(topic_prefix=PREFIX))
        self.runtime.guard.publish_raw = self.publish_raw

        @self.runtime.subscriber(ORDERS_COMMANDS)
        async def on_command(command: CommandBody) -> None:
            await handle_command(command, self.deps)

    async def publish_outbox(self, entries: Sequence[Document]) -> None:
        self.published += [json.loads(e["value"]) for e in entries if e["topic"] == ORDERS_EVENTS]

    async def publish_raw(
        self, topic: str, value: bytes, key: bytes | None, headers: dict[str, str]
    ) -> None:
        self.dead.append(headers | {"topic": topic})

    def record(self, value: bytes, key: uuid.UUID) -> ConsumerRecord[bytes, bytes]:
        self.offset += 1
        return ConsumerRecord(
            PREFIX + ORDERS_COMMANDS, 0, self.offset, 0, 0, str(key).encode(), value,
            None, 0, len(value), (),
        )  # fmt: skip

    async def consume(self, *batch: Message | bytes) -> None:
        """One batch, as one `getmany` returns it; waits until every record is handled."""
        records = [
            self.record(m, uuid.UUID(int=0))
            if isinstance(m, bytes)
            else self.record(m.model_dump_json().encode(), cast(Any, m).order_id)
            for m in batch
        ]
        await self.consume_records(records)

    async def consume_records(self, records: Sequence[ConsumerRecord[bytes, bytes]]) -> None:
        await self.runtime.consume(records, None)
        dispatcher = self.runtime.dispatcher
        running = [t for tasks in dispatcher._running.values() for t in tasks]
        for task in running:
            await task

    def answers(self, order_id: uuid.UUID) -> list[str]:
        return [m["type"] for m in self.published if m["order_id"] == str(order_id)]


def deps(db: MemoryDatabase, publish: Any) -> Deps:
    return Deps(
        orders=orders_store(cast(Any, db)),
        accounts=AccountsStore(cast(Any, db)),
        policy=Policy(),
        catalogue=catalogue(),
        token_secret=SECRET,
        publish_outbox=publish,
        clock=lambda: T0,
        suppliers=SupplierSettingsStore(cast(Any, db)),
    )


def create(order_id: uuid.UUID) -> CreateOrder:
    return command(
        CreateOrder, MEMBER.party, order_id=order_id, parties=[MEMBER, CLIENT], terms=terms()
    )


def commits_of(db: MemoryDatabase, order_id: uuid.UUID) -> list[Document]:
    docs = db["orders_commits"].docs.values()
    return sorted((d for d in docs if d["aggregate_id"] == str(order_id)), key=lambda d: d["_id"])


async def test_X07_a_batch_with_two_commands_for_one_order_and_one_for_another_keeps_each_orders_order() -> (
    None
):
    rig = BatchRig()
    a, b = uuid.uuid4(), uuid.uuid4()
    await rig.consume(create(a), command(SubmitOrder, MEMBER.party, order_id=a), create(b))
    assert rig.answers(a) == ["OrderCreated", "OrderSubmitted"]
    assert rig.answers(b) == ["OrderCreated"]
    assert [c["revision"] for c in commits_of(rig.db, a)] == [1, 2]
    # The two creations are one store round trip; the submit waits for its order's create.
    assert rig.db.calls["orders_commits.insert_many"] == 2


async def test_an_unreadable_record_in_the_middle_of_a_batch_is_dead_lettered_and_the_rest_handled() -> (
    None
):
    rig = BatchRig()
    a, b = uuid.uuid4(), uuid.uuid4()
    await rig.consume(create(a), b"{not json", create(b))
    assert rig.answers(a) == ["OrderCreated"] and rig.answers(b) == ["OrderCreated"]
    [dead] = rig.dead
    assert dead["topic"] == PREFIX + ORDERS_COMMANDS + ".dlq"
    assert dead[DLQ_REASON] == "malformed"
    assert dead[DLQ_SOURCE] == f"{PREFIX}{ORDERS_COMMANDS}/0/2"


async def test_X09_a_batch_delivered_twice_has_one_effect_and_the_same_answers_again() -> None:
    rig = BatchRig()
    a, b = uuid.uuid4(), uuid.uuid4()
    batch = [create(a), command(SubmitOrder, MEMBER.party, order_id=a), create(b)]
    await rig.consume(*batch)
    first = list(rig.published)
    await rig.consume(*batch)
    assert rig.published == first + first, "each command answered again, the same ids"
    assert len(commits_of(rig.db, a)) == 2 and len(commits_of(rig.db, b)) == 1


async def test_X09_a_lost_race_for_one_order_in_a_batch_redoes_that_order_only() -> None:
    """Another writer (a process that took the partition during a rebalance) moved order
    `b` on after this process kept it in memory: `b`'s insert fails, `b` is read and
    decided again; `a`, in the same batch and store round trip, is decided once."""
    rig = BatchRig()
    a, b = uuid.uuid4(), uuid.uuid4()
    await rig.consume(create(a), create(b))
    other = deps(rig.db, rig.publish_outbox)  # its own store object: its own memory
    await handle_command(command(SubmitOrder, MEMBER.party, order_id=b), other)
    rig.db.calls.clear()

    withdraw = command(WithdrawOrder, MEMBER.party, order_id=b)
    await rig.consume(command(SubmitOrder, MEMBER.party, order_id=a), withdraw)
    assert rig.answers(a) == ["OrderCreated", "OrderSubmitted"]
    assert rig.answers(b) == ["OrderCreated", "OrderSubmitted", "OrderWithdrawn"]
    assert [c["message_id"] for c in commits_of(rig.db, b)][-1] == str(withdraw.message_id)
    assert len(commits_of(rig.db, a)) == 2 and len(commits_of(rig.db, b)) == 3
    # Only `b` was read: its snapshot once, then its commits past it.
    assert rig.db.calls["orders.find_one"] == 1
