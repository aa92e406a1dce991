"""A timer schedule on the real store and broker, one per test: names, publishing, reading."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pymongo import AsyncMongoClient

from contracts import topics
from contracts.timers import DeadlineExpired, TimerCommandRejected
from orderflow import kafka
from tests.support.kafka import Record, read_topic
from timers.config import TimersSettings
from timers.handlers import Deps
from timers.ring import FAR_REGISTRY, REGISTRY
from timers.scheduler import Scheduler, pipelined
from timers.store import MongoScheduleStore

Document = dict[str, Any]

#: Durations in seconds, so that a test waits a few seconds, never minutes.
FAST: dict[str, Any] = {
    "slot_seconds": 1.0,
    "lease_seconds": 3.0,
    "sweep_grace_seconds": 0.5,
    "maintenance_seconds": 0.2,
    "lookahead_seconds": 5.0,
    "max_idle_seconds": 0.5,
    "directory_partitions": 8,
    "cleanup_partitions": 8,
    "near_ring": 8,
    "far_ring": 2,
}


def fast_env() -> dict[str, str]:
    """`FAST` as the environment of a service process."""
    return {f"ORDERFLOW_{k.upper()}": str(v) for k, v in FAST.items()}


def now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Names:
    """This test's database and topic prefix (inside the run's, so the run cleans up too)."""

    database: str
    prefix: str

    @property
    def events_topic(self) -> str:
        return self.prefix + topics.TIMERS_EVENTS

    @property
    def wheel_database(self) -> str:
        return self.database + "_wheel"


def names_for(database_name: str, topic_prefix: str) -> Names:
    tag = uuid.uuid4().hex[:6]
    return Names(f"{database_name}_tm{tag}", f"{topic_prefix}tm{tag}.")


async def create_topics(bootstrap: str, names: Names, partitions: int = 3) -> None:
    wanted = [names.events_topic, names.prefix + topics.TIMERS_COMMANDS]
    await kafka.create_topics(bootstrap, wanted, partitions)


async def drop(mongodb_uri: str, names: Names) -> None:
    client: AsyncMongoClient[Document] = AsyncMongoClient(mongodb_uri)
    with contextlib.suppress(Exception):
        await client.drop_database(names.database)
        await client.drop_database(names.wheel_database)
    await client.close()


@dataclass
class Replica:
    """One store and scheduler, with its own Mongo client, publishing to the real topic."""

    client: AsyncMongoClient[Document]
    settings: TimersSettings
    store: MongoScheduleStore
    producer: kafka.Producer
    topic: str
    name: str
    rejections: list[TimerCommandRejected] = field(default_factory=list)
    _task: asyncio.Task[None] | None = None
    scheduler: Scheduler | None = None

    async def enqueue(self, event: DeadlineExpired) -> Awaitable[Any]:
        delivery: Awaitable[Any] = await self.producer.send(
            self.topic, event.model_dump_json().encode(), key=event.kafka_key()
        )
        return delivery

    async def reject(self, event: TimerCommandRejected) -> None:
        self.rejections.append(event)

    def make_scheduler(self) -> Scheduler:
        if self.scheduler is None:
            self.scheduler = Scheduler(
                self.store, pipelined(self.enqueue), self.settings, replica=self.name
            )
        return self.scheduler

    def deps(self) -> Deps:
        scheduler = self.make_scheduler()
        return Deps(self.store, self.settings.limits(), now, scheduler.notify, self.reject)

    def start(self) -> None:
        self._task = asyncio.create_task(self.make_scheduler().run())

    async def stop(self) -> None:
        if self.scheduler is not None and self._task is not None:
            self.scheduler.stop()
            await self._task
            self._task = None


@contextlib.asynccontextmanager
async def replica(
    stack: Any, names: Names, *, name: str = "a", **changes: Any
) -> AsyncIterator[Replica]:
    settings = TimersSettings(database=names.database, **{**FAST, **changes})
    client: AsyncMongoClient[Document] = AsyncMongoClient(stack.mongodb_uri, tz_aware=True)
    producer = kafka.producer(stack.kafka_bootstrap)
    await producer.start()
    store = MongoScheduleStore(
        client[settings.database], client[settings.wheel_database_name], settings
    )
    r = Replica(client, settings, store, producer, names.events_topic, name)
    await store.prepare()  # as a deployed service has, before the commands of a test
    try:
        yield r
    finally:
        await r.stop()
        await producer.stop()
        await client.close()


def expiries(records: Sequence[Record], ids: set[str] | None = None) -> list[dict[str, Any]]:
    found = [r.json() for r in records]
    return [
        e
        for e in found
        if e["type"] == "DeadlineExpired" and (ids is None or e["deadline_id"] in ids)
    ]


async def read_expiries(
    stack: Any, names: Names, ids: set[str], timeout: float = 30.0
) -> list[dict[str, Any]]:
    """Read the events topic until every id in `ids` fired at least once (or the timeout)."""

    def all_fired(records: Sequence[Record]) -> bool:
        return {e["deadline_id"] for e in expiries(records, ids)} >= ids

    records = await read_topic(stack.kafka_bootstrap, names.events_topic, all_fired, timeout)
    return expiries(records, ids)


def counts(events: Sequence[dict[str, Any]]) -> Counter[str]:
    return Counter(str(e["deadline_id"]) for e in events)


async def wheel_is_empty(client: AsyncMongoClient[Document], names: Names, timeout: float) -> bool:
    """Wait until every slot was swept away (all fired or withdrawn, recorded, deleted)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        wheel = client[names.wheel_database]
        if all([await wheel[r].find_one({}) is None for r in (REGISTRY, FAR_REGISTRY)]):
            return True
        await asyncio.sleep(0.2)
    return False
