"""Keeping the wheel turning: read slots ahead, cascade far slots, sweep and drop ended ones.

    maintain(now)
    ├── read the registries of slots in use (`timers.ring`: the only reads over the schedule)
    ├── cascade  every far slot within the near horizon: copy into near slots, delete it
    │            (in a task of its own: a far slot may hold hours of deadlines)
    ├── read     every near slot starting within the lookahead: into the local view
    └── sweep    every near slot that ended (plus grace) and is drained here: read it again;
                 entries nobody claimed (added by another replica) and leases that lapsed
                 (a replica died mid-fire) go back into the view; a slot whose entries are
                 all fired or withdrawn leaves a summary of its firings (one document, in
                 `timers_fired` of the directory's database) and is deleted

Every step is safe to run on several replicas at once: copies and records are inserts
that skip existing `_id`s, and deletes are idempotent. No collection is created or dropped.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Mapping

from pymongo.asynchronous.database import AsyncDatabase

from timers.config import TimersSettings
from timers.documents import (
    SWEEP_FIELDS,
    Document,
    aware,
    entry_from,
    fired_summary,
    insert_new,
)
from timers.domain import Entry
from timers.ring import Ring
from timers.wheel import FAR, NEAR, LocalView, epoch_ms, parse

log = logging.getLogger("timers.maintenance")

#: Swept slots' firings, in the directory's database (see `timers.store`).
SUMMARIES = "timers_fired"


class WheelKeeper:
    """The maintenance half of `MongoScheduleStore`; shares its local view."""

    def __init__(
        self,
        ring: Ring,
        directory: AsyncDatabase[Document],
        view: LocalView,
        settings: TimersSettings,
    ) -> None:
        self.ring = ring
        self.directory = directory
        self.view = view
        self.settings = settings
        self.wheel = settings.wheel()
        self._lease_ms = round(settings.lease_seconds * 1000)
        self._grace_ms = round(settings.sweep_grace_seconds * 1000)
        self._lookahead_ms = round(settings.lookahead_seconds * 1000)
        self._cascading: asyncio.Task[None] | None = None
        self._census_ms = 0
        self._census_interval_ms = min(60_000, self.wheel.far_margin_ms // 2)
        self._far_known: set[int] = set()

    async def maintain(self, now_ms: int) -> None:
        slots = [parse(n) for n in await self._slot_names(now_ms)]
        backlog = sorted(
            m for kind, m in slots if kind == "far" and self.wheel.cascade_due(m, now_ms)
        )
        urgent = [m for m in backlog if self.wheel.far_start(m) <= now_ms + self._lookahead_ms]
        if urgent:
            # Due now (after downtime) or within the lookahead: cascade before reading the
            # near slots, so that their deadlines fire in due order with the rest.
            if self._cascading is not None:
                await asyncio.gather(self._cascading, return_exceptions=True)
            await self._cascade_all(urgent)
        elif backlog and (self._cascading is None or self._cascading.done()):
            # A far slot can hold hours of deadlines: copying it must not hold up firing.
            self._cascading = asyncio.create_task(self._cascade_all(backlog))
        near = sorted(n for kind, n in slots if kind == "near")
        present = set(near)
        for n in list(self.view.slots):
            if n not in present and self.view.drained(n):
                self.view.forget(n)  # swept and dropped by another replica
        for n in near:
            view = self.view.slots.get(n)
            if view is None or not view.loaded:
                if self.wheel.near_start(n) > now_ms + self._lookahead_ms:
                    break  # slots are in due order: the rest start later still
                if len(self.view) >= self.settings.cache_limit:
                    break  # catching up beyond memory: later slots when these are done
                await self._reconcile(n, now_ms, may_drop=False)
            elif (
                self.view.drained(n)
                and now_ms >= self.wheel.near_end(n) + self._grace_ms
                and (view.recheck_ms is None or now_ms >= view.recheck_ms)
            ):
                # A slot still to be cascaded may hold deadlines of this one: keep it.
                covered = any(self.wheel.far_start(m) < self.wheel.near_end(n) for m in backlog)
                await self._reconcile(n, now_ms, may_drop=not covered)

    async def _slot_names(self, now_ms: int) -> list[str]:
        """The slots in use: the near ones, and the far ones whose cascade is due or near.

        The far registry is read whole at the first round and once every census interval
        (shorter than the far margin, so no far slot opened since can fall due unseen);
        between, only the far slots at the cascade's edge, and those left over from the
        last census, are looked up by `_id`.
        """
        if now_ms >= self._census_ms:
            names = await self.ring.names()
            self._census_ms = now_ms + self._census_interval_ms
            self._far_known = {parse(n)[1] for n in names if n.startswith(FAR)}
            return names
        edge = self.wheel.far_slot(now_ms + self.wheel.near_horizon_ms)
        due = {m for m in self._far_known if self.wheel.cascade_due(m, now_ms)}
        return await self.ring.names(far=[f"{FAR}{m}" for m in sorted(due | {edge - 1, edge})])

    async def _cascade_all(self, backlog: list[int]) -> None:
        for m in backlog:
            try:
                await self._cascade(m)
            except Exception:
                log.exception("cascade failed; retried next round", extra={"far_slot": m})
                return

    async def close(self) -> None:
        """Stop a cascade in progress (it is resumed, idempotently, by the next replica)."""
        if self._cascading is not None:
            self._cascading.cancel()
            await asyncio.gather(self._cascading, return_exceptions=True)

    async def _reconcile(self, n: int, now_ms: int, may_drop: bool) -> None:
        """Read slot n into the view; drop it if it ended and nothing is left to fire.

        A slot read before is read again without its entries' payloads (the sweep only
        needs ids, leases and firings); entries this replica has never seen, added by
        another one, cost a second, whole read.
        """
        name = f"{NEAR}{n}"
        view = self.view.slot(n)
        light = view.loaded
        docs = await self.ring.read(name, SWEEP_FIELDS if light else None)
        entries: dict[str, Entry | None] = {}
        last_claim: dict[str, tuple[int, int]] = {}  # key -> (attempt, lease until)
        done: dict[str, Document] = {}
        withdrawn: set[str] = set()
        for doc in docs:
            kind, _, rest = str(doc["_id"]).partition("|")
            if kind == "e":
                known = self.view.get(rest)
                entries[rest] = known.entry if known else None if light else entry_from(doc)
            elif kind == "d":
                done[rest] = doc
            elif kind == "c":
                key, _, attempt = rest.rpartition("|")
                if doc.get("t") == "tomb":
                    withdrawn.add(key)
                elif int(attempt) >= last_claim.get(key, (-1, 0))[0]:
                    last_claim[key] = (int(attempt), epoch_ms(aware(doc["lease_until"])))
        if any(entry is None for entry in entries.values()):
            for doc in await self.ring.read(name):
                if str(doc["_id"]).startswith("e|"):
                    entries[str(doc["_id"])[2:]] = entry_from(doc)
        view.loaded = True
        recheck: int | None = None
        for key, found in entries.items():
            assert found is not None
            if key in done or key in withdrawn:
                self.view.settle(n, found)
            elif key not in last_claim:
                self.view.offer(n, found)
            elif (lease := last_claim[key])[1] > now_ms:
                self.view.hold(n, found, lease[0])
                recheck = lease[1] if recheck is None else min(recheck, lease[1])
            else:
                self.view.offer(n, found, attempt=lease[0] + 1)  # take over a lapsed lease
        if now_ms < self.wheel.near_end(n) + self._grace_ms:
            return
        if may_drop and all(key in done or key in withdrawn for key in entries):
            await self._archive(n, done, now_ms)
            return
        view.recheck_ms = recheck if recheck is not None else now_ms + self._lease_ms

    async def _archive(self, n: int, done: Mapping[str, Document], now_ms: int) -> None:
        """Keep slot n's firings (one summary per slot), then delete the slot."""
        name = f"{NEAR}{n}"
        summary = fired_summary(name, done, self.wheel.near_start(n), now_ms)
        await insert_new(self.directory[SUMMARIES], summary)
        await self.ring.remove(name)
        self.view.forget(n)
        log.debug("slot swept away", extra={"slot": n, "fired": len(done)})

    async def _cascade(self, m: int) -> None:
        """Copy far slot m into the near slots of its entries' due times, then delete it."""
        buffers: dict[int, list[Document]] = defaultdict(list)
        moved = 0

        async def flush(n: int) -> None:
            docs = buffers.pop(n, [])
            await self.ring.write(f"{NEAR}{n}", docs)
            view = self.view.slots.get(n)
            if view is None or not view.loaded:
                return
            # A slot read already would not see these before its sweep.
            for doc in docs:
                doc_id = str(doc["_id"])
                if doc_id.startswith("e|"):
                    self.view.offer(n, entry_from(doc))
                else:
                    self.view.resolve(doc_id[2:].rpartition("|")[0])

        far = f"{FAR}{m}"
        async for doc in self.ring.of(far).find({"s": far}, batch_size=2000):
            n = self.wheel.near_slot(epoch_ms(aware(doc["due"])))
            buffers[n].append(doc)
            moved += 1
            if len(buffers[n]) >= 1000:
                await flush(n)
        for n in list(buffers):
            await flush(n)
        await self.ring.remove(far)
        log.info("far slot cascaded", extra={"far_slot": m, "documents": moved})
