"""Where deadlines live: the `ScheduleStore` protocol and its MongoDB (FerretDB) implementation.

    ScheduleStore (Protocol)
    ├── get / save            the directory: one record per deadline id (commands)
    ├── refusal_of / record_refusal
    │                         X-09: a refused command's answer, by its message id, for good
    ├── claim_due / mark_fired / release / next_due
    │                         firing: a claim is an insert with a unique `_id` and a lease
    ├── maintain / close      read slots ahead, cascade far slots, sweep ended slots
    ├── cleanup               forget fired and cancelled deadlines after the retention
    └── pending               how many deadlines wait (approximate)

`MongoScheduleStore` keeps two databases, the directory and the wheel (`timers.documents`
draws them), on a fixed set of collections made once by `prepare` on a new store and never
created or dropped after. Commands touch the directory and one slot; firing touches only slots.
Lookups are by `_id` (indexed); the only other reads are of one slot's ring collection, of
the registry of slots, or of one directory partition per cleanup, so a claim costs the
same at ten thousand pending deadlines as at a million. On MongoDB proper the same layout
works unchanged.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
import zlib
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Final, Protocol

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from timers import metrics
from timers.config import TimersSettings
from timers.documents import (
    DAY_MS,
    Document,
    aware,
    claim_doc,
    deadline_doc,
    deadline_from,
    done_doc,
    entry_doc,
    insert_new,
    summary_chunk,
)
from timers.domain import (
    Claim,
    Deadline,
    DeadlineStatus,
    Decision,
    Entry,
    Firing,
    Generation,
    entry_of,
)
from timers.maintenance import SUMMARIES, WheelKeeper
from timers.ring import Ring, create_missing
from timers.wheel import NEAR, Cached, LocalView, claim_id, done_id, epoch_ms, from_ms, parse

log = logging.getLogger("timers.store")


class Outcome(StrEnum):
    SAVED = "saved"
    CANCELLED = "cancelled"
    TOO_LATE = "too_late"
    NOTHING = "nothing"


class ScheduleStore(Protocol):
    async def prepare(self) -> None: ...

    async def get(self, deadline_id: str, now: datetime) -> Deadline | None: ...

    async def save(self, decision: Decision, now: datetime) -> Outcome: ...

    async def refusal_of(self, command_id: uuid.UUID, sent_at: datetime) -> str | None: ...

    async def record_refusal(
        self, command_id: uuid.UUID, sent_at: datetime, answer: str
    ) -> str: ...

    async def claim_due(
        self, batch: int, now: datetime, lease_until: datetime, replica: str
    ) -> list[Claim]: ...

    async def mark_fired(self, firings: Sequence[Firing]) -> None: ...

    async def release(self, claims: Sequence[Claim], retry_at: datetime) -> None: ...

    async def next_due(self, now: datetime) -> datetime | None: ...

    async def maintain(self, now: datetime) -> None: ...

    async def cleanup(self, older_than: datetime) -> int: ...

    async def pending(self) -> int: ...

    async def close(self) -> None: ...


class MongoScheduleStore:
    """The schedule on MongoDB or FerretDB; see the module docstring and `timers.wheel`."""

    def __init__(
        self,
        directory: AsyncDatabase[Document],
        wheel_db: AsyncDatabase[Document],
        settings: TimersSettings,
    ) -> None:
        self.directory = directory
        self.wheel_db = wheel_db
        self.settings = settings
        self.wheel = settings.wheel()
        self.view = LocalView()
        self.ring = Ring(wheel_db, self.wheel)
        self.keeper = WheelKeeper(self.ring, directory, self.view, settings)
        self._lookahead_ms = round(settings.lookahead_seconds * 1000)
        self._cleanup_cursor = 0
        self._pending_counts: dict[int, int] = {}
        self._retention = timedelta(seconds=settings.retention_seconds)
        self._cleaned_day = -1

    def _partition(self, deadline_id: str) -> AsyncCollection[Document]:
        return self.directory[partition_of(deadline_id, self.settings.directory_partitions)]

    async def prepare(self) -> None:
        """Create the fixed set of collections where missing (a new store); nothing after."""
        directory = [directory_name(p) for p in range(self.settings.directory_partitions)]
        created = await create_missing(self.directory, [*directory, SUMMARIES, REFUSALS])
        created += await create_missing(self.wheel_db, self.ring.collections())
        if created:
            log.info("schedule collections created", extra={"collections": created})

    # -- the directory (commands) ----------------------------------------------------------

    async def get(self, deadline_id: str, now: datetime) -> Deadline | None:
        """The deadline with its status as of now; firing and fired are read from the wheel."""
        doc = await self._partition(deadline_id).find_one({"_id": deadline_id})
        if doc is None:
            return None
        deadline = deadline_from(doc)
        # A deadline due later than this cannot have been claimed, even by a skewed clock.
        if deadline.status is not DeadlineStatus.SCHEDULED or deadline.due_at > now + timedelta(
            minutes=1
        ):
            return deadline
        # The slot first, its summary second: a sweep writes the summary before it drops
        # the slot, so a firing cannot slip between the two reads.
        key = entry_of(deadline).key
        home = self._claims_home(deadline.current, epoch_ms(now))
        slot = self.ring.of(home)
        done = await slot.find_one({"_id": done_id(key)})
        if done is not None:
            return deadline.as_fired(aware(done["fired_at"]), int(done["lateness_ms"]))
        first = await slot.find_one({"_id": claim_id(key, 0)})
        if first is not None and first.get("t") == "tomb":  # a cancel stopped half-way
            return replace(deadline, status=DeadlineStatus.CANCELLED)
        summary = await self._fired_summary(home, key)
        if summary is not None:
            return deadline.as_fired(*summary)
        if first is not None:
            return replace(deadline, status=DeadlineStatus.FIRING)
        return deadline

    async def _fired_summary(self, slot: str, key: str) -> tuple[datetime, int] | None:
        """When and how late `key` fired, from the summary its slot left when swept away."""
        kind, _ = parse(slot)
        if kind != "near":
            return None
        summaries = self.directory[SUMMARIES]
        header = await summaries.find_one({"_id": slot})
        if header is None:
            return None
        chunk = await summaries.find_one(
            {"_id": f"{slot}#{summary_chunk(key, int(header['chunks']))}"}
        )
        for fired in (chunk or {}).get("fired", []):
            if fired["k"] == key:
                return aware(fired["at"]), int(fired["ms"])
        return None

    async def save(self, decision: Decision, now: datetime) -> Outcome:
        """Apply a decision. Safe to repeat: every step is an insert that skips or an upsert.

        Order matters for a crash between steps: the new entry is written before the
        directory points at it, and the old one is withdrawn after, so a redelivered
        command (`decision.repeat`) finds the directory and completes the rest.
        """
        deadline = decision.deadline
        if deadline is None:
            return Outcome.NOTHING
        now_ms = epoch_ms(now)
        directory = self._partition(deadline.deadline_id)
        if deadline.status is DeadlineStatus.CANCELLED:
            withdraw = decision.withdraw or deadline.current
            if not await self._withdraw(deadline.deadline_id, withdraw, now_ms, deadline):
                return Outcome.TOO_LATE
            await directory.replace_one(
                {"_id": deadline.deadline_id}, deadline_doc(deadline), upsert=True
            )
            return Outcome.CANCELLED
        placement = deadline.placement or self.wheel.placement(epoch_ms(deadline.due_at), now_ms)
        deadline = replace(deadline, placement=placement)
        entry = entry_of(deadline)
        await self.ring.write(placement, [entry_doc(entry)])
        await directory.replace_one(
            {"_id": deadline.deadline_id}, deadline_doc(deadline), upsert=True
        )
        if decision.withdraw is not None:
            await self._withdraw(deadline.deadline_id, decision.withdraw, now_ms, deadline)
        self._offer_new(placement, entry, now_ms)
        return Outcome.SAVED

    async def refusal_of(self, command_id: uuid.UUID, sent_at: datetime) -> str | None:
        """The rejection (JSON) a command was answered with, if it was refused (X-09)."""
        doc = await self.directory[REFUSALS].find_one({"_id": str(command_id)})
        return None if doc is None else str(doc["answer"])

    async def record_refusal(self, command_id: uuid.UUID, sent_at: datetime, answer: str) -> str:
        """Record `answer` as the command's for good; the first recorded one wins.

        An insert with a unique `_id` (the command's message id) is the one write FerretDB
        makes atomic, so of two replicas answering one command only one answer stays.
        A record carries the day of the command's own `occurred_at` (the same in every copy
        of it): the cleanup deletes whole days, as with the summaries.
        """
        record = {"_id": str(command_id), "answer": answer, "day": epoch_ms(sent_at) // DAY_MS}
        if await insert_new(self.directory[REFUSALS], [record]):
            return await self.refusal_of(command_id, sent_at) or answer
        return answer

    async def insert_new_deadlines(self, deadlines: Sequence[Deadline], now: datetime) -> None:
        """Schedule many deadline ids that do not exist yet, in bulk (imports, benchmarks)."""
        now_ms = epoch_ms(now)
        entries: dict[str, list[Document]] = defaultdict(list)
        records: dict[str, list[Document]] = defaultdict(list)
        offers: list[tuple[str, Entry]] = []
        for d in deadlines:
            placement = self.wheel.placement(epoch_ms(d.due_at), now_ms)
            d = replace(d, placement=placement)
            entry = entry_of(d)
            entries[placement].append(entry_doc(entry))
            offers.append((placement, entry))
            records[self._partition(d.deadline_id).name].append(deadline_doc(d))
        for name, docs in entries.items():
            for i in range(0, len(docs), 10_000):
                await self.ring.write(name, docs[i : i + 10_000])
        for name, docs in records.items():
            await insert_new(self.directory[name], docs)
        for placement, entry in offers:
            self._offer_new(placement, entry, now_ms)

    async def _withdraw(self, deadline_id: str, old: Generation, now_ms: int, by: Deadline) -> bool:
        """Tombstone one generation's entry; False if a replica claimed it first."""
        key = f"{deadline_id}|{old.number}"
        home = self._claims_home(old, now_ms)
        tomb: Document = {
            "_id": claim_id(key, 0),
            "t": "tomb",
            "due": old.due_at,
            "by": str(by.last_command_id),
        }
        if await self.ring.write(home, [tomb]):
            existing = await self.ring.of(home).find_one({"_id": claim_id(key, 0)})
            if existing is None or existing.get("t") != "tomb":
                return False
        self.view.resolve(key)
        return True

    def _claims_home(self, generation: Generation, now_ms: int) -> str:
        """The collection of a generation's claims and tombstone (see `Wheel.withdrawal`)."""
        due_ms = epoch_ms(generation.due_at)
        if generation.placement is None:
            return f"{NEAR}{self.wheel.near_slot(due_ms)}"
        return self.wheel.withdrawal(generation.placement, due_ms, now_ms)

    def _offer_new(self, placement: str, entry: Entry, now_ms: int) -> None:
        """Put an entry just written into the local view if its slot is read or close."""
        kind, n = parse(placement)
        if kind != "near":
            return
        view = self.view.slots.get(n)
        soon = self.wheel.near_start(n) <= now_ms + self._lookahead_ms
        if (view is not None and view.loaded) or soon:
            self.view.offer(n, entry)

    # -- firing ----------------------------------------------------------------------------

    async def next_due(self, now: datetime) -> datetime | None:
        ready = self.view.next_ready_ms()
        return None if ready is None else from_ms(ready)

    async def claim_due(
        self, batch: int, now: datetime, lease_until: datetime, replica: str
    ) -> list[Claim]:
        """Claim up to `batch` due entries: one insert per claim, a slot's in one call.

        A duplicate `_id` means another replica claimed the entry first, or it was withdrawn.
        """
        by_slot: dict[int, list[Cached]] = defaultdict(list)
        for cached in self.view.take_due(epoch_ms(now), batch):
            by_slot[cached.slot].append(cached)
        claims: list[Claim] = []

        async def claim_slot(n: int, taken: list[Cached]) -> None:
            docs = [claim_doc(c.entry, c.attempt, lease_until) for c in taken]
            try:
                lost = await self.ring.write(f"{NEAR}{n}", docs)
            except Exception:
                metrics.CLAIM_ERRORS.inc()
                log.exception("claim failed", extra={"slot": n, "entries": len(taken)})
                for c in taken:
                    self.view.retry(c.entry.key, epoch_ms(now) + 1000)
                return
            for i, c in enumerate(taken):
                self.view.claimed(c.entry.key)
                if i in lost:
                    metrics.CLAIM_CONFLICTS.inc()
                else:
                    claims.append(Claim(c.entry, c.attempt, replica, lease_until))

        await asyncio.gather(*(claim_slot(n, taken) for n, taken in by_slot.items()))
        claims.sort(key=lambda c: (c.entry.due_at, c.entry.key))
        return claims

    def _slot_of(self, entry: Entry) -> str:
        cached = self.view.get(entry.key)
        n = cached.slot if cached else self.wheel.near_slot(epoch_ms(entry.due_at))
        return f"{NEAR}{n}"

    async def mark_fired(self, firings: Sequence[Firing]) -> None:
        """Record each firing (`d|…`), so that no sweep takes its lease over."""
        by_slot: dict[str, list[Document]] = defaultdict(list)
        for f in firings:
            by_slot[self._slot_of(f.claim.entry)].append(done_doc(f))
        await asyncio.gather(*(self.ring.write(n, docs) for n, docs in by_slot.items()))
        for f in firings:
            self.view.resolve(f.claim.entry.key)

    async def release(self, claims: Sequence[Claim], retry_at: datetime) -> None:
        """Give claims back (publishing failed), to claim them again from `retry_at`."""
        by_slot: dict[str, list[str]] = defaultdict(list)
        for c in claims:
            by_slot[self._slot_of(c.entry)].append(claim_id(c.entry.key, c.attempt))
        for name, ids in by_slot.items():
            await self.ring.of(name).delete_many({"_id": {"$in": ids}})
        for c in claims:
            self.view.retry(c.entry.key, epoch_ms(retry_at))

    async def maintain(self, now: datetime) -> None:
        await self.keeper.maintain(epoch_ms(now))

    async def close(self) -> None:
        await self.keeper.close()

    # -- retention and census --------------------------------------------------------------

    async def cleanup(self, older_than: datetime) -> int:
        """Forget fired and cancelled deadlines that finished before `older_than`.

        FerretDB has no TTL indexes, and reading a partition is a scan: a few partitions
        are read per run, in turn (the same reads count the pending deadlines). The
        summaries of swept slots and the refusals go a day at a time, by deletes (no
        collection is dropped): once a day per replica, when a day passes the retention.
        """
        removed = 0
        cutoff_day = epoch_ms(older_than) // DAY_MS
        if cutoff_day > self._cleaned_day:
            for name in (SUMMARIES, REFUSALS):
                await self.directory[name].delete_many({"day": {"$lt": cutoff_day}})
            self._cleaned_day = cutoff_day
        partitions = self.settings.directory_partitions
        for _ in range(min(self.settings.cleanup_partitions, partitions)):
            p, self._cleanup_cursor = self._cleanup_cursor, (self._cleanup_cursor + 1) % partitions
            collection = self.directory[directory_name(p)]
            docs = await collection.find({}).to_list()
            self._pending_counts[p] = count_pending(docs, older_than + self._retention)
            doomed = list(expired(docs, older_than))
            if doomed:
                removed += (await collection.delete_many({"_id": {"$in": doomed}})).deleted_count
        return removed

    async def pending(self) -> int:
        """About how many deadlines wait, as of the partitions the cleanup has read so far.

        Counting is a scan on FerretDB (and its collection statistics read the whole
        database file), so the count is a by-product of the cleanup's reads, scaled up
        until every partition was read once.
        """
        if not self._pending_counts:
            return 0
        counted = sum(self._pending_counts.values())
        return round(counted * self.settings.directory_partitions / len(self._pending_counts))


#: X-09: refused commands' answers, one collection, by day of the commands' `occurred_at`.
REFUSALS = "timers_refusals"


#: The directory's collections share the service's database: prefixed to stand apart.
DIRECTORY: Final = "timers_deadlines_"


def directory_name(partition: int) -> str:
    return f"{DIRECTORY}{partition:04d}"


def partition_of(deadline_id: str, partitions: int) -> str:
    """The directory collection that keeps `deadline_id`, of `partitions` (by hash)."""
    return directory_name(zlib.crc32(deadline_id.encode()) % partitions)


def count_pending(docs: Iterable[Mapping[str, Any]], now: datetime) -> int:
    """Deadlines in these directory documents still to fire (due later than now)."""
    return sum(1 for d in docs if d.get("status") == "scheduled" and aware(d["due_at"]) > now)


def expired(docs: Iterable[Mapping[str, Any]], older_than: datetime) -> Iterable[str]:
    """Ids of directory documents past the retention: cancelled before it, or due before it.

    A deadline due longer ago than the retention has fired (or its summary is gone too).
    """
    for doc in docs:
        if doc.get("status") == "cancelled":
            finished = doc.get("cancelled_at") or doc["updated_at"]
        else:
            finished = doc["due_at"]
        if aware(finished) < older_than:
            yield str(doc["_id"])


__all__ = ["MongoScheduleStore", "Outcome", "ScheduleStore", "count_pending", "expired"]
