"""ordering with a large store: throughput on new and on existing orders at each size.

A million orders through the service would take hours, so the store is preloaded in
bulk with what the service itself wrote for one order: one `CreateOrder` goes through
the real ordering process, every document it left in the store (whatever the store's
layout is today) is read back as raw BSON, and copied with its ids replaced, as many
times as needed (`insert_many`). The ids that vary per copy are the order id, the
command's message and correlation ids and the event's message id; all are 36-character
UUID strings, so a copy is a byte-for-byte substitution of the raw document (an
aggregate's compressed `body` is opened for it and closed again).
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import bson
from pymongo.asynchronous.database import AsyncDatabase

from bench import ordering_bench as ob
from bench.report import Section
from bench.rig import Document, Reader, Run, Services, producer
from contracts import topics
from orderflow.kafka import Producer
from servicekit.aggregates import readable_form, stored_form
from servicekit.config import service_database

CHUNK = 5000


@dataclass(frozen=True)
class Template:
    """One order as the store holds it, and the ids that make each copy another order."""

    docs: dict[str, list[bytes]]  # collection → raw BSON documents
    ids: list[bytes]  # in the template, each a 36-byte UUID string
    bases: list[int]  # the ids of copy i are UUID(int=base + i)

    def order_id(self, i: int) -> uuid.UUID:
        return uuid.UUID(int=self.bases[0] + i)

    def copy(self, raw: bytes, i: int) -> Document:
        for old, base in zip(self.ids, self.bases, strict=True):
            raw = raw.replace(old, str(uuid.UUID(int=base + i)).encode())
        # The ids inside an aggregate's compressed body were substituted in its opened form.
        return stored_form(bson.decode(raw))

    async def insert(self, db: AsyncDatabase[Document], first: int, end: int) -> None:
        for start in range(first, end, CHUNK):
            for name, raws in self.docs.items():
                collection = db[name]
                copies = [
                    self.copy(raw, i) for i in range(start, min(end, start + CHUNK)) for raw in raws
                ]
                await collection.insert_many(copies, ordered=False)


def _base() -> int:
    """A random version-4 UUID whose low 40 bits are free for the copy number."""
    return uuid.uuid4().int & ~((1 << 40) - 1)


async def template_of(db: AsyncDatabase[Document], ids: Sequence[str]) -> Template:
    """Every document of the store that mentions the order (`ids[0]`), as raw BSON."""
    marker = ids[0].encode()
    docs: dict[str, list[bytes]] = {}
    for name in await db.list_collection_names():
        raws = [bson.encode(readable_form(d)) async for d in db[name].find({})]
        found = [r for r in raws if marker in r]
        if found:
            docs[name] = found
    if not docs:
        raise RuntimeError("the template order left nothing in the store")
    return Template(docs, [i.encode() for i in ids], [_base() for _ in ids])


def store_size_mb(data: Path | None, database: str) -> str:
    if data is None:
        return "n/a (not the local stack)"
    files = list(data.glob(f"{database}.sqlite*"))
    return f"{sum(f.stat().st_size for f in files) / 1e6:,.0f} MB"


async def run_section(
    run: Run, section: Section, sizes: Sequence[int], m: int, warmup: int, replicas: int
) -> None:
    services = Services(run, "growth")
    await services.start({"ordering": replicas})
    bootstrap = run.stack.kafka_bootstrap
    mongo = run.mongo()
    db = mongo[service_database(services.database, "ordering")]
    try:
        async with Reader(bootstrap, services.topic(topics.ORDERS_EVENTS), ob.answer_key) as reader:
            out = producer(bootstrap)
            await out.start()
            try:
                source = services.topic(topics.ORDERS_COMMANDS)
                first = ob.new_orders(1)[0]
                done = await ob.drive(reader, out, source, [first], timeout=60)
                if done.answered != 1 or done.rejected:
                    raise RuntimeError("the template order was not created")
                await asyncio.sleep(1)  # the snapshot is written after the event
                event = reader.seen[str(first.message_id)].body
                ids = [first.order_id, first.message_id, first.correlation_id, event["message_id"]]
                template = await template_of(db, [str(i) for i in ids])
                layout = ", ".join(f"{k} {len(v)}" for k, v in template.docs.items())
                section.add("documents per order (collection and count)", layout)
                loaded = 0
                for size in sizes:
                    started = time.perf_counter()
                    await template.insert(db, loaded, size)
                    took = time.perf_counter() - started
                    loaded = size
                    await _measure(
                        run, section, services, reader, out, template, size, took, m, warmup, db
                    )
            finally:
                await out.stop()
    finally:
        await services.stop()
        await mongo.close()


async def _measure(
    run: Run,
    section: Section,
    services: Services,
    reader: Reader,
    out: Producer,
    template: Template,
    size: int,
    took: float,
    m: int,
    warmup: int,
    db: AsyncDatabase[Document],
) -> None:
    source = services.topic(topics.ORDERS_COMMANDS)
    at = f"{size:,} orders"
    section.add(f"{at}: bulk preload of the new ones", f"{took:,.0f} s")
    counts = {n: await db[n].estimated_document_count() for n in template.docs}
    section.add(
        f"{at}: store size on disk (SQLite file + WAL); documents",
        f"{store_size_mb(run.ferretdb_data, service_database(services.database, 'ordering'))}; "
        + ", ".join(f"{k} {v:,}" for k, v in counts.items()),
    )
    ob.check(await ob.drive(reader, out, source, ob.new_orders(warmup), timeout=120), "warm-up")
    fresh = await ob.drive(reader, out, source, ob.new_orders(m))
    ob.check(fresh, f"new orders at {size:,}")
    section.add(
        f"{at}: commands per second, {m:,} CreateOrder (new orders)",
        f"{fresh.rate:,.0f} /s ({fresh.rejected} rejected)",
    )
    picks = [template.order_id(i) for i in random.sample(range(size), min(m, size))]
    edited = await ob.drive(reader, out, source, ob.edits(picks))
    ob.check(edited, f"existing orders at {size:,}")
    section.add(
        f"{at}: commands per second, {len(picks):,} EditDraft (preloaded orders)",
        f"{edited.rate:,.0f} /s ({edited.rejected} rejected)",
    )
