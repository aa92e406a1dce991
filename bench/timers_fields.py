"""What the shape of claim and firing documents costs a claim round. Prints figures; not a test.

    python -m bench.timers_fields [--mongodb-uri URI] [--reps 6]

A paired A/B in one process, for a loaded machine where runs minutes apart do not compare:
each repetition schedules three slots of 2,000 deadlines due together, then claims (batches
of 500) and marks fired each slot with another document shape, in turns (the order flips
every repetition). Shapes:

    untagged, old fields   the store before the ring: no slot tag `s`; a claim
                           {_id, t, replica, lease_until, at}, a firing
                           {_id, fired_at, lateness_ms, late, replica, attempt}
    ring, old fields       the same fields plus the ring's `s` (timers.ring)
    ring, trimmed          this store: a claim {_id, lease_until, s}, a firing
                           {_id, fired_at, lateness_ms, replica, s}

Only the claim round and the marking are timed (the sweep does not run), so the untagged
shape's documents, which a sweep would not find, do not matter here. The database is
named `bench_timers_fields_*` and dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from pymongo import AsyncMongoClient

import timers.ring as ring_module
import timers.store as store_module
from bench.timers_bench import RUN, deadline, now
from timers.config import TimersSettings
from timers.documents import Document, claim_doc, done_doc, insert_new
from timers.domain import Entry, Firing, fire
from timers.ring import Ring
from timers.store import MongoScheduleStore
from timers.wheel import claim_id, done_id


def old_claim(entry: Entry, attempt: int, lease_until: datetime) -> Document:
    return {
        "_id": claim_id(entry.key, attempt),
        "t": "claim",
        "replica": "bench",
        "lease_until": lease_until,
        "at": now(),
    }


def old_done(firing: Firing) -> Document:
    return {
        "_id": done_id(firing.claim.entry.key),
        "fired_at": firing.fired_at,
        "lateness_ms": firing.lateness_ms,
        "late": firing.late,
        "replica": firing.claim.replica,
        "attempt": firing.claim.attempt,
    }


async def write_untagged(self: Ring, name: str, docs: Sequence[Mapping[str, Any]]) -> set[int]:
    return await insert_new(self.of(name), [dict(d) for d in docs]) if docs else set()


Shape = tuple[Callable[..., Document], Callable[[Firing], Document], Callable[..., Any]]
SHAPES: dict[str, Shape] = {
    "untagged, old fields": (old_claim, old_done, write_untagged),
    "ring, old fields": (old_claim, old_done, Ring.write),
    "ring, trimmed": (claim_doc, done_doc, Ring.write),
}


def use(shape: Shape) -> None:
    """Make the store write claims, firings and slots this way (module globals it calls)."""
    setattr(store_module, "claim_doc", shape[0])  # noqa: B010
    setattr(store_module, "done_doc", shape[1])  # noqa: B010
    setattr(ring_module.Ring, "write", shape[2])  # noqa: B010


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument(
        "--mongodb-uri", default=os.environ.get("MONGODB_URI", "mongodb://127.0.0.1:27099/")
    )
    parser.add_argument("--reps", type=int, default=6)
    args = parser.parse_args()
    settings = TimersSettings(
        database=f"bench_timers_fields_{RUN}", mongodb_uri=args.mongodb_uri, batch_size=500
    )
    client: AsyncMongoClient[Document] = AsyncMongoClient(args.mongodb_uri, tz_aware=True)
    store = MongoScheduleStore(
        client[settings.database], client[settings.wheel_database_name], settings
    )
    await store.prepare()
    current = SHAPES["ring, trimmed"]
    claims: dict[str, list[float]] = {name: [] for name in SHAPES}
    marks: dict[str, list[float]] = {name: [] for name in SHAPES}
    loads: list[float] = []
    try:
        for rep in range(args.reps):
            order = list(SHAPES) if rep % 2 == 0 else list(SHAPES)[::-1]
            at = now()
            due = at + timedelta(seconds=4)
            for k in range(len(order)):
                batch = [
                    deadline(i, due + timedelta(seconds=10 * k), at, prefix=f"f{rep}s{k}")
                    for i in range(2000)
                ]
                await store.insert_new_deadlines(batch, at)
            await store.maintain(now())
            await asyncio.sleep(max(0.0, (due + timedelta(seconds=20) - now()).total_seconds()))
            for k, name in enumerate(order):
                use(SHAPES[name])
                while True:
                    t0 = time.perf_counter()
                    got = await store.claim_due(
                        500, due + timedelta(seconds=10 * k + 9), now() + timedelta(minutes=1), "b"
                    )
                    if not got:
                        break
                    claims[name].append(time.perf_counter() - t0)
                    t0 = time.perf_counter()
                    await store.mark_fired([fire(c, now(), 1000) for c in got])
                    marks[name].append(time.perf_counter() - t0)
            use(current)
            loads.append(os.getloadavg()[0])
    finally:
        use(current)
        await client.drop_database(settings.database)
        await client.drop_database(settings.wheel_database_name)
        await client.close()
    base_claim = statistics.median(claims["untagged, old fields"])
    base_mark = statistics.median(marks["untagged, old fields"])
    print(f"load average (1 min) during the run: {min(loads):.1f} to {max(loads):.1f}")
    for name in SHAPES:
        claim, mark = statistics.median(claims[name]), statistics.median(marks[name])
        print(
            f"  {name:<22} claim 500: {claim * 1000:6.1f} ms ({claim / base_claim:.2f}x)"
            f"   mark fired: {mark * 1000:6.1f} ms ({mark / base_mark:.2f}x)"
            f"   rounds {len(claims[name])}"
        )


if __name__ == "__main__":
    asyncio.run(main())
