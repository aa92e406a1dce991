"""One-off: move a schedule kept in the old layout onto the fixed set of collections.

    python -m timers.migrate        (with every timer replica stopped; same environment)

The layout before issue 18 made a collection per slot (`near_<n>`, `far_<m>`), per day
(`timers_fired_<day>`, `timers_refusals_<day>`) and hashed the directory over 2,048
partitions. This copies each of those into its place in the fixed set (`timers.ring`,
`timers_fired`, `timers_refusals`, `directory_partitions` partitions), then drops it.
Every copy is an insert that skips existing `_id`s, so a run that stopped half-way is
simply run again. It logs how many documents it moved from how many collections.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from datetime import UTC, datetime

from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from timers.config import TimersSettings
from timers.documents import Document, aware, insert_new
from timers.maintenance import SUMMARIES
from timers.ring import Ring
from timers.store import DIRECTORY, REFUSALS, directory_name, partition_of
from timers.wheel import epoch_ms, is_wheel, parse

log = logging.getLogger("timers.migrate")


async def migrate(
    directory: AsyncDatabase[Document], wheel_db: AsyncDatabase[Document], settings: TimersSettings
) -> tuple[int, int]:
    """Move the old layout's collections into the fixed set; returns (documents, collections)."""
    moved = collections = 0
    wheel = settings.wheel()
    ring = Ring(wheel_db, wheel)
    now_ms = epoch_ms(datetime.now(UTC))
    for name in await wheel_db.list_collection_names():
        if not is_wheel(name):
            continue
        # A near slot keeps its name; a far slot's entries and tombstones are placed again
        # by their due time, since far slots are 30 minutes wide now, not an hour.
        slots: dict[str, list[Document]] = defaultdict(list)
        near = parse(name)[0] == "near"
        async for doc in wheel_db[name].find({}):
            due_ms = epoch_ms(aware(doc["due"])) if "due" in doc else 0
            slots[name if near else wheel.placement(due_ms, now_ms)].append(doc)
        for target, part in slots.items():
            for i in range(0, len(part), 5000):
                await ring.write(target, part[i : i + 5000])
        await wheel_db.drop_collection(name)
        moved, collections = moved + sum(map(len, slots.values())), collections + 1
    fixed = {directory_name(p) for p in range(settings.directory_partitions)}
    for name in await directory.list_collection_names():
        docs: list[Document] = []
        if name.startswith(DIRECTORY) and name not in fixed:
            docs = await directory[name].find({}).to_list()
            by_partition: dict[str, list[Document]] = defaultdict(list)
            for doc in docs:
                partition = partition_of(str(doc["_id"]), settings.directory_partitions)
                by_partition[partition].append(doc)
            for target, part in by_partition.items():
                await insert_new(directory[target], part)
        elif name.startswith((f"{SUMMARIES}_", f"{REFUSALS}_")):
            day = int(name.rpartition("_")[2])
            docs = await directory[name].find({}).to_list()
            target = SUMMARIES if name.startswith(SUMMARIES) else REFUSALS
            await insert_new(directory[target], [{**doc, "day": day} for doc in docs])
        else:
            continue
        await directory.drop_collection(name)
        moved, collections = moved + len(docs), collections + 1
    return moved, collections


async def run(settings: TimersSettings) -> tuple[int, int]:
    client: AsyncMongoClient[Document] = AsyncMongoClient(settings.mongodb_uri, tz_aware=True)
    try:
        return await migrate(
            client[settings.database], client[settings.wheel_database_name], settings
        )
    finally:
        await client.close()


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    moved, collections = asyncio.run(run(TimersSettings()))
    log.info("moved %d documents out of %d collections of the old layout", moved, collections)


if __name__ == "__main__":
    main()

__all__ = ["migrate"]
