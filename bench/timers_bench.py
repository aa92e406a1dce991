"""Benchmark of the timer service on the real store and broker. Prints figures; not a test.

    python bench/timers_bench.py [--mongodb-uri URI] [--kafka HOST:PORT]
                                 [--burst 100000] [--rate 1000 --seconds 60]
                                 [--pending 10000,1000000] [--pairs 6]
                                 [--only burst,steady,claims,paired,naive]

What it measures (goals from the issue in brackets):

    burst    N deadlines fall due at the same instant: expiries published per second
             [>= 5,000/s]
    steady   deadlines fall due at a steady rate: lateness p50/p99/max, from due time to the
             expiry acknowledged by Kafka [p99 < 1 s]
    claims   the cost of claiming a batch with 10k vs 1M deadlines pending (due weeks
             ahead), and of the commands (schedule, cancel) at those sizes [flat]
    paired   the same claim cost, the two sizes in two stores measured in turns, so that
             both see the same load: their ratio [flat: within 10%]
    naive    for contrast: "next due" on one collection indexed on (status, due_at), the
             layout that works on MongoDB, on this FerretDB

Deadlines are loaded in bulk (`insert_new_deadlines`) so that setting up a million takes
minutes, not hours; firing then runs exactly as in the service: `Scheduler` rounds over a
`MongoScheduleStore`, publishing `DeadlineExpired` to Kafka with an idempotent producer.
Every database and topic it creates is named `bench_timers_*` and dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import statistics
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import AsyncMongoClient

from contracts.envelope import SYSTEM
from contracts.timers import CancelDeadline, DeadlineExpired, ScheduleDeadline
from orderflow import kafka
from timers.config import TimersSettings
from timers.domain import Deadline, DeadlineStatus, fire
from timers.handlers import Deps, handle_command
from timers.scheduler import Publish, Scheduler, pipelined
from timers.store import MongoScheduleStore

Document = dict[str, Any]
#: Figures as numbers, for a caller that judges them against goals (bench/run.py).
Figures = dict[str, float]
RUN = uuid.uuid4().hex[:6]


def now() -> datetime:
    return datetime.now(UTC)


def percentile(values: Sequence[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))
    return ordered[index]


def deadline(i: int, due_at: datetime, at: datetime, prefix: str = "b") -> Deadline:
    command = uuid.uuid4()
    return Deadline(
        deadline_id=f"{prefix}-{RUN}-{i}",
        order_id=f"order-{i % 1000}",
        owner="bench",
        kind="bench",
        due_at=due_at,
        payload={"i": i},
        generation=1,
        status=DeadlineStatus.SCHEDULED,
        scheduled_at=at,
        updated_at=at,
        correlation_id=command,
        causation_id=command,
        last_command_id=command,
    )


@dataclass
class Rig:
    """One fresh schedule (two databases) and one fresh topic."""

    client: AsyncMongoClient[Document]
    settings: TimersSettings
    store: MongoScheduleStore
    topic: str
    producer: kafka.Producer
    published: list[tuple[DeadlineExpired, datetime]]
    expected: int = 0
    all_out: asyncio.Event = field(default_factory=asyncio.Event)

    async def enqueue(self, event: DeadlineExpired) -> Awaitable[Any]:
        delivery = await self.producer.send(
            self.topic, event.model_dump_json().encode(), key=event.kafka_key()
        )

        async def acknowledged() -> None:
            await delivery
            self.published.append((event, now()))
            if self.expected and len(self.published) >= self.expected:
                self.all_out.set()

        return acknowledged()

    def publisher(self) -> Publish:
        return pipelined(self.enqueue)

    async def run_until_all_out(self, expected: int, timeout: float) -> float:
        """Run a scheduler until `expected` expiries were acknowledged; returns its run time."""
        self.expected = expected
        scheduler = Scheduler(self.store, self.publisher(), self.settings, replica="bench")
        started = time.perf_counter()
        task = asyncio.create_task(scheduler.run())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.all_out.wait(), timeout)
        scheduler.stop()
        await task
        return time.perf_counter() - started


@contextlib.asynccontextmanager
async def rig(args: argparse.Namespace, name: str, **overrides: Any) -> AsyncIterator[Rig]:
    database = f"bench_timers_{RUN}_{name}"
    settings = TimersSettings(
        database=database,
        mongodb_uri=args.mongodb_uri,
        kafka_bootstrap_servers=args.kafka,
        **overrides,
    )
    client: AsyncMongoClient[Document] = AsyncMongoClient(
        args.mongodb_uri, tz_aware=True, maxPoolSize=50
    )
    topic = f"bench_timers_{RUN}_{name}.timers.events"
    await kafka.create_topics(args.kafka, [topic], partitions=6)
    producer = kafka.producer(args.kafka, linger_ms=5)
    await producer.start()
    store = MongoScheduleStore(
        client[settings.database], client[settings.wheel_database_name], settings
    )
    await store.prepare()  # the fixed set of collections, once for a new store
    try:
        yield Rig(client, settings, store, topic, producer, [])
    finally:
        await producer.stop()
        await client.drop_database(settings.database)
        await client.drop_database(settings.wheel_database_name)
        await client.close()
        await kafka.delete_topics(args.kafka, [topic])


async def bulk(rig: Rig, deadlines: Sequence[Deadline], chunk: int = 50_000) -> float:
    started = time.perf_counter()
    for i in range(0, len(deadlines), chunk):
        await rig.store.insert_new_deadlines(deadlines[i : i + chunk], now())
    return time.perf_counter() - started


async def load_until(rig: Rig, moment: datetime) -> None:
    """Run maintenance (reading slots ahead) until `moment`."""
    while now() < moment:
        await rig.store.maintain(now())
        await asyncio.sleep(min(0.2, max(0.0, (moment - now()).total_seconds())))


# -- burst ---------------------------------------------------------------------------------


async def burst(
    args: argparse.Namespace, table: list[tuple[str, str]], figures: Figures | None = None
) -> None:
    n = args.burst
    async with rig(args, "burst", batch_size=args.batch, lookahead_seconds=600) as r:
        at = now()
        due = at + timedelta(seconds=args.burst_lead)  # all in one near slot
        deadlines = [deadline(i, due, at) for i in range(n)]
        setup = await bulk(r, deadlines)
        await load_until(r, due)
        loaded = len(r.store.view)
        await asyncio.sleep(max(0.0, (due - now()).total_seconds()))
        await r.run_until_all_out(n, timeout=600)
        last = max(t for _, t in r.published)
        span = (last - due).total_seconds()
        ids = {e.deadline_id for e, _ in r.published}
        if figures is not None:
            figures["burst_per_s"] = n / span
            figures["burst_published"] = len(ids)
        table += [
            (f"burst: {n:,} due at once, set-up (bulk insert)", f"{setup:.1f} s"),
            ("burst: entries read ahead into memory", f"{loaded:,}"),
            ("burst: published (unique deadline ids)", f"{len(r.published):,} ({len(ids):,})"),
            ("burst: due time to last expiry acknowledged", f"{span:.2f} s"),
            ("burst: FIRED PER SECOND", f"{n / span:,.0f} /s"),
            ("burst: batch size", f"{args.batch}"),
        ]


# -- steady --------------------------------------------------------------------------------


async def steady(
    args: argparse.Namespace, table: list[tuple[str, str]], figures: Figures | None = None
) -> None:
    rate, seconds = args.rate, args.seconds
    n = rate * seconds
    async with rig(args, "steady", lookahead_seconds=30) as r:
        at = now()
        start = at + timedelta(seconds=args.steady_lead)
        step = timedelta(seconds=1 / rate)
        deadlines = [deadline(i, start + i * step, at) for i in range(n)]
        setup = await bulk(r, deadlines)
        if now() > start:
            raise SystemExit(f"set-up took {setup:.0f} s: raise --steady-lead")
        await r.run_until_all_out(n, timeout=(start - now()).total_seconds() + seconds + 30)
        acked = [(t - e.due_at).total_seconds() for e, t in r.published]
        fired = [e.lateness_ms / 1000 for e, _ in r.published]
        ids = {e.deadline_id for e, _ in r.published}
        if figures is not None:
            figures["steady_p99_ms"] = percentile(acked, 99) * 1000
            figures["steady_published"] = len(ids)
        table += [
            (f"steady: {rate:,}/s for {seconds} s, set-up", f"{setup:.1f} s"),
            ("steady: published (unique deadline ids)", f"{len(r.published):,} ({len(ids):,})"),
            (
                "steady: LATENESS to Kafka ack p50 / p99 / max",
                f"{percentile(acked, 50) * 1000:.0f} / {percentile(acked, 99) * 1000:.0f} / "
                f"{max(acked) * 1000:.0f} ms",
            ),
            (
                "steady: lateness at claim (lateness_ms) p50 / p99 / max",
                f"{percentile(fired, 50) * 1000:.0f} / {percentile(fired, 99) * 1000:.0f} / "
                f"{max(fired) * 1000:.0f} ms",
            ),
        ]


# -- claims at 10k vs 1M pending ------------------------------------------------------------


async def claims(
    args: argparse.Namespace, table: list[tuple[str, str]], figures: Figures | None = None
) -> None:
    sizes = sorted(int(s) for s in args.pending.split(","))
    async with rig(args, "claims", batch_size=args.claim_batch, lookahead_seconds=600) as r:
        pending = 0
        for size in sizes:
            setup = await preload(r, pending, size)
            pending = size
            row = await measure_claims(r, args, size, figures)
            table.append(
                (f"claims: {size:,} pending, bulk insert of the new ones", f"{setup:.0f} s")
            )
            table += row


async def preload(r: Rig, first: int, size: int) -> float:
    """Deadlines `first`..`size` pending, due 2 h to 30 days ahead; returns the seconds taken."""
    at = now()
    horizon = timedelta(days=30).total_seconds()
    started = time.perf_counter()
    for start in range(first, size, 50_000):
        chunk = [
            deadline(
                i,
                at + timedelta(hours=2, seconds=(i * 7919 % 1_000_003) / 1_000_003 * horizon),
                at,
                prefix="p",
            )
            for i in range(start, min(size, start + 50_000))
        ]
        await bulk(r, chunk)
    return time.perf_counter() - started


async def claims_paired(args: argparse.Namespace, table: list[tuple[str, str]]) -> None:
    """Claim cost at the smallest vs the largest `--pending`, two stores measured in turns.

    On a shared machine the load moves more between two runs minutes apart than the figure
    could; measured in alternation (order flipped each round), both sizes see the same load,
    so their ratio is the figure that says whether a claim stays flat as deadlines pile up.
    """
    sizes = sorted(int(s) for s in args.pending.split(","))
    small, large = sizes[0], sizes[-1]
    overrides: dict[str, Any] = {"batch_size": args.claim_batch, "lookahead_seconds": 600}
    async with (
        rig(args, "paired_small", **overrides) as r_small,
        rig(args, "paired_large", **overrides) as r_large,
    ):
        setup = {small: await preload(r_small, 0, small), large: await preload(r_large, 0, large)}
        claim: dict[int, list[float]] = {small: [], large: []}
        mark: dict[int, list[float]] = {small: [], large: []}
        for turn in range(args.pairs):
            pair = [(small, r_small), (large, r_large)]
            for size, r in pair if turn % 2 == 0 else reversed(pair):
                got: Figures = {}
                await measure_claims(r, args, size, got, tag=f"t{turn}")
                claim[size].append(got[f"claim_ms_{size}"])
                mark[size].append(got[f"mark_ms_{size}"])
    for size in (small, large):
        table.append((f"paired: {size:,} pending, bulk insert", f"{setup[size]:.0f} s"))
        table.append(
            (
                f"paired: {size:,} pending: claim / mark fired a batch of {args.claim_batch} "
                f"(median of {args.pairs} turns)",
                f"{statistics.median(claim[size]):.1f} / {statistics.median(mark[size]):.1f} ms",
            )
        )
    ratios = [b / a for a, b in zip(claim[small], claim[large], strict=True)]
    table.append(
        (
            f"paired: CLAIM AT {large:,} / AT {small:,} (median of per-turn ratios; range)",
            f"{statistics.median(ratios):.2f}x ({min(ratios):.2f} to {max(ratios):.2f})",
        )
    )


async def measure_claims(
    r: Rig,
    args: argparse.Namespace,
    pending: int,
    figures: Figures | None = None,
    tag: str = "",
) -> list[tuple[str, str]]:
    """Claim (and mark fired) slots of due deadlines, three times; then a few commands."""
    await asyncio.sleep(args.settle)  # let the store finish writing the bulk load
    rounds: list[float] = []
    marks: list[float] = []
    reads: list[float] = []
    for repeat in range(3):
        at = now()
        due = at + timedelta(seconds=3)
        prefix = f"c{pending}x{repeat}{tag}"
        await bulk(r, [deadline(i, due, at, prefix=prefix) for i in range(args.claim_count)])
        slot = f"near_{r.store.wheel.near_slot(int(due.timestamp() * 1000))}"
        t0 = time.perf_counter()
        await r.store.ring.read(slot)  # what reading it ahead costs
        reads.append(time.perf_counter() - t0)
        await r.store.maintain(now())
        await asyncio.sleep(max(0.0, (due - now()).total_seconds()) + 0.01)
        while True:
            t0 = time.perf_counter()
            got = await r.store.claim_due(
                args.claim_batch, now(), now() + timedelta(seconds=30), "b"
            )
            if not got:
                break
            rounds.append(time.perf_counter() - t0)
            t1 = time.perf_counter()
            await r.store.mark_fired([fire(c, now(), 1000) for c in got])
            marks.append(time.perf_counter() - t1)
    t0 = time.perf_counter()
    listed = await r.store.ring.names()
    list_s = time.perf_counter() - t0
    deps = Deps(r.store, r.settings.limits(), now, lambda _: None, _no_rejection)
    schedule_s: list[float] = []
    cancel_s: list[float] = []
    for i in range(20):
        cmd = ScheduleDeadline(
            message_id=uuid.uuid4(),
            occurred_at=now(),
            correlation_id=uuid.uuid4(),
            actor=SYSTEM,
            deadline_id=f"cmd-{RUN}-{pending}-{i}",
            order_id="order-x",
            owner="bench",
            kind="bench",
            due_at=now() + timedelta(days=3),
        )
        t0 = time.perf_counter()
        await handle_command(cmd, deps)
        schedule_s.append(time.perf_counter() - t0)
        k = random.randrange(pending)
        cancel = CancelDeadline(
            message_id=uuid.uuid4(),
            occurred_at=now(),
            correlation_id=uuid.uuid4(),
            actor=SYSTEM,
            deadline_id=f"p-{RUN}-{k}",
            order_id=f"order-{k % 1000}",
        )
        t0 = time.perf_counter()
        await handle_command(cancel, deps)
        cancel_s.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    for _ in range(1000):
        await r.store.next_due(now())
    next_due_us = (time.perf_counter() - t0) / 1000 * 1e6
    name = f"claims: {pending:,} pending"
    per_claim = statistics.median(rounds) / args.claim_batch * 1e6
    if figures is not None:
        figures[f"claim_ms_{pending}"] = statistics.median(rounds) * 1000
        figures[f"mark_ms_{pending}"] = statistics.median(marks) * 1000
    return [
        (
            f"{name}: CLAIM a batch of {args.claim_batch} (median / p90 of {len(rounds)})",
            f"{statistics.median(rounds) * 1000:.1f} / {percentile(rounds, 90) * 1000:.1f} ms "
            f"= {per_claim:.0f} us per claim",
        ),
        (f"{name}: mark a batch fired (median)", f"{statistics.median(marks) * 1000:.1f} ms"),
        (f"{name}: next due (in memory)", f"{next_due_us:.1f} us"),
        (
            f"{name}: read a slot of {args.claim_count:,} whole (median)",
            f"{statistics.median(reads) * 1000:.0f} ms",
        ),
        (f"{name}: census of the registries ({len(listed)} slots)", f"{list_s * 1000:.0f} ms"),
        (
            f"{name}: schedule a new id / cancel a pending one (median)",
            f"{statistics.median(schedule_s) * 1000:.1f} / "
            f"{statistics.median(cancel_s) * 1000:.1f} ms",
        ),
    ]


async def _no_rejection(_: Any) -> None:
    return None


# -- naive ---------------------------------------------------------------------------------


async def naive(args: argparse.Namespace, table: list[tuple[str, str]]) -> None:
    """Next-due on one collection with a (status, due_at) index: the MongoDB layout."""
    client: AsyncMongoClient[Document] = AsyncMongoClient(args.mongodb_uri, tz_aware=True)
    name = f"bench_timers_{RUN}_naive"
    collection = client[name]["deadlines"]
    await collection.create_index([("status", 1), ("due_at", 1)])
    at = now()
    inserted = 0
    try:
        for size in (10_000, 100_000):
            docs = [
                {
                    "_id": f"n{i}",
                    "status": "scheduled",
                    "due_at": at + timedelta(seconds=3600 + i),
                    "payload": {"i": i},
                }
                for i in range(inserted, size)
            ]
            for i in range(0, len(docs), 10_000):
                await collection.insert_many(docs[i : i + 10_000])
            inserted = size
            t0 = time.perf_counter()
            await (
                collection.find({"status": "scheduled", "due_at": {"$lte": at}})
                .sort("due_at", 1)
                .limit(100)
                .to_list()
            )
            next_due = time.perf_counter() - t0
            t0 = time.perf_counter()
            await collection.find_one_and_update(
                {"_id": f"n{size - 1}", "status": "scheduled"}, {"$set": {"status": "firing"}}
            )
            claim = time.perf_counter() - t0
            table.append(
                (
                    f"naive: one collection, {size:,} pending: next due / one claim",
                    f"{next_due * 1000:.0f} / {claim * 1000:.0f} ms",
                )
            )
    finally:
        await client.drop_database(name)
        await client.close()


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument(
        "--mongodb-uri", default=os.environ.get("MONGODB_URI", "mongodb://127.0.0.1:27099/")
    )
    parser.add_argument(
        "--kafka", default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:19092")
    )
    parser.add_argument("--only", default="naive,burst,steady,claims")
    parser.add_argument("--burst", type=int, default=100_000)
    parser.add_argument("--burst-lead", type=float, default=60.0)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--rate", type=int, default=1000)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--steady-lead", type=float, default=30.0)
    parser.add_argument("--pending", default="10000,1000000")
    parser.add_argument("--claim-count", type=int, default=5000)
    parser.add_argument("--claim-batch", type=int, default=500)
    parser.add_argument("--settle", type=float, default=15.0)
    parser.add_argument("--pairs", type=int, default=6, help="turns of the paired claims")
    args = parser.parse_args()
    table: list[tuple[str, str]] = []
    parts: dict[str, Callable[[argparse.Namespace, list[tuple[str, str]]], Awaitable[None]]] = {
        "burst": burst,
        "steady": steady,
        "claims": claims,
        "naive": naive,
        "paired": claims_paired,
    }
    for part in args.only.split(","):
        started = time.perf_counter()
        await parts[part](args, table)
        print(f"[{part} done in {time.perf_counter() - started:.0f} s]", flush=True)
        width = max(len(k) for k, _ in table)
        for k, v in table:
            print(f"  {k:<{width}}  {v}")
        print(flush=True)


if __name__ == "__main__":
    asyncio.run(main())
