"""Store bytes per order: N orders through the real ordering service, then the store's size.

    .venv/bin/python -m bench.store_bytes 10000 [--edits 1]

Each order is one `CreateOrder` and `--edits` `EditDraft`s of it (a commit each), sent
through a fresh ordering process on the local stack's Kafka and FerretDB, in a database
of its own (dropped at the end). Reported per order: the size of every collection of
ordering's database (`collStats`: data and storage), `dbStats`, and FerretDB's SQLite
file of the database when the stack is the local one. Issue 18's goal: at most 3 KB.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

import devstack
from bench import ordering_bench as ob
from bench.growth import store_size_mb
from bench.rig import Reader, Run, Services, producer
from contracts import topics
from servicekit.config import service_database


async def measure(run: Run, n: int, edits: int) -> dict[str, Any]:
    services = Services(run, "bytes")
    await services.start({"ordering": 1})
    mongo = run.mongo()
    database = service_database(services.database, "ordering")
    db = mongo[database]
    try:
        bootstrap = run.stack.kafka_bootstrap
        async with Reader(bootstrap, services.topic(topics.ORDERS_EVENTS), ob.answer_key) as reader:
            out = producer(bootstrap)
            await out.start()
            try:
                source = services.topic(topics.ORDERS_COMMANDS)
                created = ob.new_orders(n)
                ob.check(await ob.drive(reader, out, source, created, timeout=3600), "create")
                ids = [command.order_id for command in created]
                for _ in range(edits):
                    ob.check(
                        await ob.drive(reader, out, source, ob.edits(ids), timeout=3600), "edit"
                    )
            finally:
                await out.stop()
        await asyncio.sleep(2)  # the last snapshots are written after the events
        collections: dict[str, dict[str, float]] = {}
        for name in sorted(await db.list_collection_names()):
            stats = await db.command("collStats", name)
            collections[name] = {
                "count": float(stats.get("count", 0)),
                "size": float(stats.get("size", 0)),
                "storageSize": float(stats.get("storageSize", 0)),
            }
        db_stats = await db.command("dbStats")
        return {
            "collections": collections,
            "dbStats": {k: db_stats.get(k) for k in ("dataSize", "storageSize", "totalSize")},
            "sqlite": store_size_mb(run.ferretdb_data, database),
        }
    finally:
        await services.stop()
        await mongo.close()


def report(n: int, edits: int, found: dict[str, Any]) -> str:
    lines = [f"{n:,} orders, {1 + edits} commit(s) each"]
    total = 0.0
    for name, stats in found["collections"].items():
        total += stats["size"]
        lines.append(
            f"  {name:<24} {stats['count']:>10,.0f} docs  {stats['size'] / n:>8,.0f} B/order "
            f"(storage {stats['storageSize'] / n:,.0f} B/order)"
        )
    lines.append(f"  collections' data: {total / n:,.0f} B/order")
    stats = found["dbStats"]
    for key in ("dataSize", "storageSize", "totalSize"):
        if isinstance(stats.get(key), int | float):
            lines.append(f"  dbStats {key}: {stats[key] / n:,.0f} B/order")
    lines.append(f"  SQLite file: {found['sqlite']}")
    return "\n".join(lines)


async def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("orders", type=int)
    parser.add_argument("--edits", type=int, default=1, help="EditDraft commits per order")
    args = parser.parse_args(argv)
    config = devstack.StackConfig.from_env()
    run = Run(devstack.endpoints(config), config.ferretdb_dir / "data")
    try:
        found = await measure(run, args.orders, args.edits)
        print(report(args.orders, args.edits, found), flush=True)
    finally:
        await run.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
