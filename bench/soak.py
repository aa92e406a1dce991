"""The soak (issue 20): mixed whole lifecycles for a long time; nothing may keep growing.

    python -m bench.soak [--minutes 30] [--rate R] [--every 10] [--kinds postpaid,managed,account]
    make soak SOAK_ARGS="--minutes 5"

All five services run on the local stack as in `bench.lifecycles` (the same lifecycles,
the same compressed waits). Without `--rate`, the capacity is measured first (mixed
lifecycles, `--concurrency` in flight, for `--capacity-count` of them) and the soak runs
at half of it: lifecycles are started open loop at that rate, the kinds in turn.

Every `--every` seconds each service process is sampled: resident memory (VmRSS), open
files (/proc/<pid>/fd) and threads (the services expose no asyncio task count; a thread
per blocked call would show here), and the store's bytes per finished lifecycle (dbStats
`dataSize` of every database of the run). The table gives each at the start, the middle
and the end, and the slope over the second half (least squares, per hour). The soak fails
when, from the middle to the end, a service's RSS grows by more than `--rss-growth-mb`,
its open files by more than `--fd-growth`, its threads by more than `--thread-growth`,
the bytes per order by more than `--bytes-growth` (a fraction), when any RSS passes
200 MB, or when lifecycles fail or fall behind. The first half is warm-up (pools,
caches); a leak shows as growth that goes on after it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import sys
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import devstack
from bench.lifecycles import (
    TIMEOUT,
    Calendar,
    Driver,
    closed_loop,
    env,
    forget_mails,
    kinds_of,
)
from bench.report import load_average
from bench.rig import Run, Services, pid_of, process_figures
from devstack.services import SERVICES
from orderflow.bus import Bus

#: What a sample holds of each service process.
METRICS = ("rss_mb", "open_files", "threads")
#: RSS must stay under this (issue 10's goal for every service).
RSS_LIMIT_MB = 200.0


# -- pure: samples, slopes and the table ---------------------------------------------------


@dataclass(frozen=True)
class Sample:
    """One look at the system: seconds since the soak started, each service's figures,
    the store's size and the lifecycles finished so far."""

    at: float
    processes: Mapping[str, Mapping[str, float]]
    stored_bytes: float
    finished: int

    @property
    def bytes_per_order(self) -> float:
        return self.stored_bytes / self.finished if self.finished else 0.0


def marginal_bytes(first: Sample, last: Sample) -> float:
    """Store bytes each lifecycle added between two samples (what the next million cost)."""
    orders = last.finished - first.finished
    return (last.stored_bytes - first.stored_bytes) / orders if orders > 0 else 0.0


def slope(points: Sequence[tuple[float, float]]) -> float:
    """Least-squares slope of (x, y) points (0 for fewer than two distinct x)."""
    n = len(points)
    if n < 2:
        return 0.0
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    var = sum((x - mean_x) ** 2 for x, _ in points)
    if var == 0:
        return 0.0
    return sum((x - mean_x) * (y - mean_y) for x, y in points) / var


@dataclass(frozen=True)
class Bounds:
    """How much each figure may grow from the middle of the soak to its end."""

    rss_mb: float = 10.0
    open_files: float = 5.0
    threads: float = 2.0
    #: bytes per order: a fraction of the middle's value
    bytes_fraction: float = 0.10

    def allowed(self, metric: str, middle: float) -> float:
        if metric == "bytes_per_order":
            return abs(middle) * self.bytes_fraction
        bound: float = getattr(self, metric)
        return bound


@dataclass(frozen=True)
class Line:
    """One row of the soak's table."""

    what: str
    metric: str
    start: float
    middle: float
    end: float
    per_hour: float
    allowed: float

    @property
    def growth(self) -> float:
        return self.end - self.middle

    @property
    def ok(self) -> bool:
        if self.metric == "rss_mb" and max(self.start, self.middle, self.end) >= RSS_LIMIT_MB:
            return False
        return self.growth <= self.allowed


def series(samples: Sequence[Sample]) -> dict[tuple[str, str], list[tuple[float, float]]]:
    """(what, metric) → [(seconds, value)] over the samples."""
    found: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for sample in samples:
        for name, figures in sample.processes.items():
            for metric, value in figures.items():
                found.setdefault((name, metric), []).append((sample.at, value))
        if sample.bytes_per_order > 0:  # none before the first lifecycle ends
            found.setdefault(("store", "bytes_per_order"), []).append(
                (sample.at, sample.bytes_per_order)
            )
    return found


def lines(samples: Sequence[Sample], bounds: Bounds) -> list[Line]:
    """Start, middle and end of every series, its slope per hour over the second half."""
    rows = []
    for (what, metric), points in series(samples).items():
        middle = points[len(points) // 2]
        second_half = points[len(points) // 2 :]
        rows.append(
            Line(
                what,
                metric,
                points[0][1],
                middle[1],
                points[-1][1],
                slope(second_half) * 3600,
                bounds.allowed(metric, middle[1]),
            )
        )
    return rows


def table(rows: Sequence[Line]) -> str:
    """The rows as a markdown table (printed, and pasted in docs/performance.md)."""
    out = [
        "| process | figure | start | middle | end | slope (2nd half) /h | growth allowed | ok? |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        digits = 0 if r.metric == "bytes_per_order" else (1 if r.metric == "rss_mb" else 0)
        f = f"{{:,.{digits}f}}"
        out.append(
            f"| {r.what} | {r.metric} | {f.format(r.start)} | {f.format(r.middle)} | "
            f"{f.format(r.end)} | {r.per_hour:+,.1f} | {f.format(r.allowed)} | "
            f"{'yes' if r.ok else '**no**'} |"
        )
    return "\n".join(out)


# -- the processes and the store -----------------------------------------------------------


async def store_bytes(run: Run, database: str) -> float:
    """`dataSize` of every database of the soak (one per service, and the timers' wheel)."""
    client = run.mongo()
    try:
        total = 0.0
        for name in await client.list_database_names():
            if name.startswith(database):
                stats = await client[name].command("dbStats")
                total += float(stats.get("dataSize", 0))
        return total
    finally:
        await client.close()


# -- the soak ------------------------------------------------------------------------------


@dataclass
class Load:
    """Lifecycles started open loop: how many ended, failed, or could not start in time."""

    done: int = 0
    failed: int = 0
    #: Starts skipped because `max_in_flight` lifecycles were still running (falling behind).
    skipped: int = 0
    errors: list[str] = field(default_factory=list)
    tasks: set[asyncio.Task[None]] = field(default_factory=set)

    async def one(self, lifecycle: Callable[[], Awaitable[None]]) -> None:
        try:
            await asyncio.wait_for(lifecycle(), TIMEOUT)
        except Exception as error:  # a failed lifecycle is a figure, not the end of the soak
            self.failed += 1
            if len(self.errors) < 5:
                self.errors.append(described(error))
        else:
            self.done += 1


def described(error: BaseException) -> str:
    """One line for a failed lifecycle: its type, message and notes (which kind it was)."""
    notes = " ".join(getattr(error, "__notes__", ()))
    return " ".join(x for x in (f"{type(error).__name__}:", str(error)[:300], notes) if x)


def mixed(driver: Driver, kinds: Sequence[str]) -> Callable[[], Awaitable[None]]:
    """A lifecycle of each kind in turn."""
    turn = itertools.cycle(kinds)

    async def one() -> None:
        kind = next(turn)
        try:
            await driver.of(kind)()
        except Exception as error:
            error.add_note(f"({kind} lifecycle)")
            raise

    return one


async def open_loop(
    load: Load,
    lifecycle: Callable[[], Awaitable[None]],
    rate: float,
    seconds: float,
    max_in_flight: int,
) -> None:
    """Start a lifecycle every 1/rate seconds for `seconds` (late ones at once)."""
    started = time.perf_counter()
    for i in itertools.count():
        if i / rate >= seconds:
            return
        due = started + i / rate
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        if len(load.tasks) >= max_in_flight:
            load.skipped += 1
            continue
        task = asyncio.create_task(load.one(lifecycle))
        load.tasks.add(task)
        task.add_done_callback(load.tasks.discard)


async def soak(args: argparse.Namespace) -> int:
    config = devstack.StackConfig.from_env()
    run = Run(devstack.endpoints(config), config.ferretdb_dir / "data")
    kinds = kinds_of(args.kinds)
    calendar = Calendar(datetime.now(UTC).replace(microsecond=0), day=2.0, lead=1.0)
    services = Services(run, "soak", **env(calendar))
    load_before = load_average()
    print(f"soak {run.run_id}: {', '.join(kinds)}; service logs in {run.logs}", flush=True)
    await services.start({name: 1 for name in SERVICES})
    pids = {p.module: pid_of(p) for p in services.processes}
    driver = Driver(run.run_id, calendar)
    lifecycle = mixed(driver, kinds)
    samples: list[Sample] = []
    load = Load()
    try:
        async with Bus(
            run.stack.kafka_bootstrap, services.prefix, from_beginning=True, keep=driver.keep
        ) as bus:
            driver.bus = bus
            before = 0  # lifecycles in the store before the soak's own
            for kind in kinds:  # warm-up: connections, the account, how long a booking takes
                before += len((await closed_loop(driver.of(kind), 2, 2)).seconds)
            rate = args.rate
            if rate is None:
                measured = await closed_loop(lifecycle, args.capacity_count, args.concurrency)
                if measured.errors:
                    print(f"capacity run: {len(measured.errors)} failed: {measured.errors[0]}")
                rate, before = measured.rate / 2, before + len(measured.seconds)
                print(
                    f"capacity: {measured.rate:.1f} lifecycles/s with {args.concurrency} in "
                    f"flight; soaking at {rate:.1f} /s",
                    flush=True,
                )
            if not rate or rate <= 0:
                raise RuntimeError("no capacity measured: no lifecycle ended")
            started = time.perf_counter()
            seconds = args.minutes * 60

            async def sample() -> None:
                stored = await store_bytes(run, services.database)
                finished = load.done + before
                at = time.perf_counter() - started
                looks = {name: process_figures(pid) for name, pid in pids.items()}
                figures = {name: {m: f[m] for m in METRICS} for name, f in looks.items()}
                samples.append(Sample(at, figures, stored, finished))
                rss = " ".join(f"{n} {f['rss_mb']:.0f}" for n, f in figures.items())
                print(
                    f"  {at:5.0f} s  done {load.done}, failed {load.failed}, behind "
                    f"{load.skipped}, in flight {len(load.tasks)}; RSS MB {rss}; "
                    f"{samples[-1].bytes_per_order:,.0f} store bytes/order",
                    flush=True,
                )

            async def sampler() -> None:
                for i in itertools.count(1):  # on a fixed schedule: dbStats can take seconds
                    await sample()
                    await asyncio.sleep(max(0.0, started + i * args.every - time.perf_counter()))

            sampling = asyncio.create_task(sampler())
            try:
                await open_loop(load, lifecycle, rate, seconds, args.max_in_flight)
                if load.tasks:
                    await asyncio.wait(set(load.tasks), timeout=TIMEOUT)
            finally:
                sampling.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await sampling
            await sample()
    finally:
        await services.stop()
        forget_mails(run.stack.maildir, run.run_id)
        await run.cleanup()
    bounds = Bounds(args.rss_growth_mb, args.fd_growth, args.thread_growth, args.bytes_growth)
    rows = lines(samples, bounds)
    print(
        f"\nsoak: {args.minutes:g} min at {rate:.1f} lifecycles/s ({', '.join(kinds)}): "
        f"{load.done} done, {load.failed} failed, {load.skipped} not started (behind); "
        f"{len(samples)} samples every {args.every:g} s; load average {load_before} → "
        f"{load_average()}\n"
    )
    print(table(rows))
    if len(samples) >= 3:
        middle = samples[len(samples) // 2]
        print(
            f"\nstore bytes added per lifecycle: {marginal_bytes(samples[0], middle):,.0f} "
            f"(first half), {marginal_bytes(middle, samples[-1]):,.0f} (second half)"
        )
    for error in load.errors:
        print(f"failure: {error}")
    bad = [r for r in rows if not r.ok]
    if bad or load.failed or load.skipped:
        print(f"\nSOAK FAILED: {len(bad)} figure(s) out of bounds", file=sys.stderr)
        return 1
    print("\nsoak passed: nothing grew beyond its bound")
    return 0


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--minutes", type=float, default=30.0, help="how long the load runs")
    p.add_argument("--rate", type=float, help="lifecycles/s (default: half the measured capacity)")
    p.add_argument("--every", type=float, default=10.0, help="seconds between samples")
    p.add_argument("--kinds", default="postpaid,managed,account", help="lifecycles, in turn")
    p.add_argument("--concurrency", type=int, default=60, help="in flight, measuring capacity")
    p.add_argument("--capacity-count", type=int, default=300, help="lifecycles, measuring")
    p.add_argument("--max-in-flight", type=int, default=500, help="beyond it: falling behind")
    p.add_argument("--rss-growth-mb", type=float, default=10.0, help="bound, middle to end")
    p.add_argument("--fd-growth", type=float, default=5.0, help="bound, middle to end")
    p.add_argument("--thread-growth", type=float, default=2.0, help="bound, middle to end")
    p.add_argument("--bytes-growth", type=float, default=0.10, help="bound (fraction)")
    return p.parse_args(argv)


if __name__ == "__main__":
    sys.exit(asyncio.run(soak(parse(sys.argv[1:]))))
