"""Collections the timer service creates and drops while (almost) idle. Prints figures.

    python bench/timers_collections.py [--mongodb-uri URI] [--kafka HOST:PORT]
                                       [--minutes 3] [--every 10]

Runs the service's scheduler (`Scheduler` over a `MongoScheduleStore`, default settings,
a database of its own) on the real stack for `--minutes`, with one deadline scheduled
and fired every `--every` seconds (a quiet service: an order now and then) and a cleanup
run each minute. It lists the collections of both of the service's databases every
half second and counts every name that appears or disappears; the first minute is a
warm-up (collections made on first use) and is not counted. Goal (issue 18): 0 created
and 0 dropped per hour.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import AsyncMongoClient

from contracts.envelope import SYSTEM
from contracts.timers import DeadlineExpired, ScheduleDeadline
from orderflow import kafka
from timers.config import TimersSettings
from timers.handlers import Deps, handle_command
from timers.scheduler import Scheduler, pipelined
from timers.store import MongoScheduleStore

Document = dict[str, Any]


def now() -> datetime:
    return datetime.now(UTC)


async def names(client: AsyncMongoClient[Document], databases: list[str]) -> set[str]:
    found: set[str] = set()
    for database in databases:
        found |= {f"{database}.{n}" for n in await client[database].list_collection_names()}
    return found


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument(
        "--mongodb-uri", default=os.environ.get("MONGODB_URI", "mongodb://127.0.0.1:27017/")
    )
    parser.add_argument(
        "--kafka", default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    )
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--every", type=float, default=10.0)
    parser.add_argument("--warm-up", type=float, default=60.0)
    args = parser.parse_args()
    run = uuid.uuid4().hex[:6]
    settings = TimersSettings(
        database=f"bench_timers_idle_{run}",
        mongodb_uri=args.mongodb_uri,
        kafka_bootstrap_servers=args.kafka,
        cleanup_seconds=60.0,
    )
    databases = [settings.database, settings.wheel_database_name]
    client: AsyncMongoClient[Document] = AsyncMongoClient(args.mongodb_uri, tz_aware=True)
    store = MongoScheduleStore(
        client[settings.database], client[settings.wheel_database_name], settings
    )
    topic = f"bench_timers_idle_{run}.timers.events"
    await kafka.create_topics(args.kafka, [topic], partitions=1)
    producer = kafka.producer(args.kafka)
    await producer.start()

    async def enqueue(event: DeadlineExpired) -> Any:
        return await producer.send(topic, event.model_dump_json().encode(), key=b"k")

    scheduler = Scheduler(store, pipelined(enqueue), settings, replica="idle")
    deps = Deps(store, settings.limits(), now, scheduler.notify, _no_rejection)
    task = asyncio.create_task(scheduler.run())
    created: list[str] = []
    dropped: list[str] = []
    scheduled = 0
    started = time.monotonic()
    counting_from = started + args.warm_up
    try:
        seen = await names(client, databases)
        next_schedule = started
        while time.monotonic() < counting_from + args.minutes * 60:
            if time.monotonic() >= next_schedule:
                scheduled += 1
                await handle_command(schedule(f"idle-{run}-{scheduled}", now()), deps)
                next_schedule += args.every
            await asyncio.sleep(0.5)
            current = await names(client, databases)
            if time.monotonic() >= counting_from:
                created += sorted(current - seen)
                dropped += sorted(seen - current)
            seen = current
    finally:
        scheduler.stop()
        with contextlib.suppress(Exception):
            await task
        await producer.stop()
        for database in databases:
            await client.drop_database(database)
        await client.close()
        await kafka.delete_topics(args.kafka, [topic])
    hours = args.minutes / 60
    print(f"counted {args.minutes:g} min after a {args.warm_up:g} s warm-up; {scheduled} fired")
    print(f"  collections at the end: {len(seen)}")
    print(f"  created: {len(created)} ({len(created) / hours:,.0f} per hour) {created[:4]}")
    print(f"  dropped: {len(dropped)} ({len(dropped) / hours:,.0f} per hour) {dropped[:4]}")


def schedule(deadline_id: str, at: datetime) -> ScheduleDeadline:
    return ScheduleDeadline(
        message_id=uuid.uuid4(),
        occurred_at=at,
        correlation_id=uuid.uuid4(),
        actor=SYSTEM,
        deadline_id=deadline_id,
        order_id="order-idle",
        owner="bench",
        kind="bench",
        due_at=at + timedelta(seconds=2),
    )


async def _no_rejection(_: Any) -> None:
    return None


if __name__ == "__main__":
    asyncio.run(main())
