"""The baseline: a bare aiokafka consume → produce loop, in its own process like a service.

    python -m bench.baseline BOOTSTRAP IN_TOPIC OUT_TOPIC GROUP MODE OUT_BYTES

It reads IN_TOPIC in a consumer group, writes each value (padded with spaces to
OUT_BYTES, the size of the event the service would write) to OUT_TOPIC under the same
key, and commits the offsets after the batch is acknowledged: the service's delivery
guarantee with no parsing, no store and no logic. MODE `acked` waits for each send's
acknowledgement before the next, as a handler that publishes and returns does;
`pipelined` sends a whole fetched batch and then waits once.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import time
from collections.abc import Sequence

from aiokafka import AIOKafkaConsumer

from bench import ordering_bench
from bench.report import Section
from bench.rig import CpuMeter, Reader, Run, create_topics, encoded, producer, send_all
from orderflow import kafka
from servicekit.kafka import client_kwargs


async def loop(bootstrap: str, source: str, target: str, group: str, mode: str, size: int) -> None:
    consumer = AIOKafkaConsumer(
        source,
        **client_kwargs(bootstrap),
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    out = kafka.producer(bootstrap)
    await consumer.start()
    await out.start()
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    ready = False
    try:
        while not stop.is_set():
            batches = await consumer.getmany(timeout_ms=100, max_records=500)
            if not ready and consumer.assignment():
                ready = True
                print("ready", flush=True)
            futures = []
            for records in batches.values():
                for r in records:
                    value = (r.value or b"").ljust(size)
                    if mode == "acked":
                        await out.send_and_wait(target, value, key=r.key)
                    else:
                        futures.append(await out.send(target, value, key=r.key))
            await asyncio.gather(*futures)
            if batches:
                await consumer.commit()
    finally:
        await out.stop()
        await consumer.stop()


async def measure(run: Run, section: Section, n: int, warmup: int) -> dict[str, float]:
    """The loop's end-to-end rate in each mode, on the same broker and message sizes."""
    commands = ordering_bench.new_orders(n + warmup)
    out_size = ordering_bench.created_event_size(commands[0])
    items = encoded(commands)
    rates: dict[str, float] = {}
    for mode in ("acked", "pipelined"):
        prefix = f"{run.prefix}baseline-{mode}."
        source, target = prefix + "in", prefix + "out"
        await create_topics(run.stack.kafka_bootstrap, [source, target])
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.baseline",
            run.stack.kafka_bootstrap,
            source,
            target,
            prefix + "loop",
            mode,
            str(out_size),
            stdout=asyncio.subprocess.PIPE,
        )
        try:
            assert process.stdout is not None
            line = await asyncio.wait_for(process.stdout.readline(), 60)
            if line.strip() != b"ready":
                raise RuntimeError(f"the baseline loop did not start: {line!r}")
            rate, cpu = await _one(run, source, target, items, warmup, process.pid)
        finally:
            with contextlib.suppress(ProcessLookupError):
                process.terminate()
            await process.wait()
        rates[mode] = rate
        section.add(
            f"baseline ({mode}): messages per second, first sent to last read back",
            f"{rate:,.0f} /s",
        )
        section.add(f"baseline ({mode}): CPU of the loop per message", f"{cpu * 1e6:.0f} us")
    section.add(
        "message sizes (in → out)", f"{len(items[0][1])} → {out_size} bytes, {n:,} messages"
    )
    return rates


async def _one(
    run: Run,
    source: str,
    target: str,
    items: Sequence[tuple[str, bytes, bytes]],
    warmup: int,
    pid: int,
) -> tuple[float, float]:
    bootstrap = run.stack.kafka_bootstrap
    async with Reader(bootstrap, target, lambda b: b.get("message_id")) as reader:
        out = producer(bootstrap)
        await out.start()
        try:
            ids = [i for i, _, _ in items]
            reader.expect(ids)
            await send_all(out, source, items[:warmup])
            if not await reader.wait_all(ids[:warmup], 60):
                raise RuntimeError("the baseline loop did not answer the warm-up")
            meter = CpuMeter({"loop": [pid]})
            meter.start()
            started = time.perf_counter()
            await send_all(out, source, items[warmup:])
            done = await reader.wait_all(ids[warmup:], 300)
            meter.stop()
        finally:
            await out.stop()
    if not done:
        raise RuntimeError("the baseline loop lost messages")
    last = max(reader.seen[i].at for i in ids[warmup:])
    n = len(items) - warmup
    return n / (last - started), meter.used["loop"] / n


if __name__ == "__main__":
    bootstrap, source, target, group, mode, size = sys.argv[1:]
    asyncio.run(loop(bootstrap, source, target, group, mode, int(size)))
