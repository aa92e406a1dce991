"""What every section stands on: the run's names, service processes, Kafka in and out.

A run names everything after its id (`b` + 8 hex digits): topics `<id>.<section>.*`,
databases `bench_<id>_*`, mail recipients containing the id. `Run.cleanup` deletes the
topics and databases at the end; the servers are shared, so nothing else is touched.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import secrets
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pymongo import AsyncMongoClient

import devstack
from contracts.envelope import Message
from devstack.kafka import delete_topics_with_prefix
from devstack.services import ROOT, ServiceProcess
from orderflow import kafka

Document = dict[str, Any]

#: Partitions of the topics the bench creates itself (the services' default).
PARTITIONS = 6


@dataclass
class Run:
    """One benchmark run on one stack: its names, and what it must drop at the end."""

    stack: devstack.StackEndpoints
    #: FerretDB's SQLite files, when the store is the local stack's (for the store's size).
    ferretdb_data: Path | None
    run_id: str = field(default_factory=lambda: f"b{secrets.token_hex(4)}")

    @property
    def prefix(self) -> str:
        return f"{self.run_id}."

    @property
    def database(self) -> str:
        return f"bench_{self.run_id}"

    @property
    def logs(self) -> Path:
        return ROOT / ".cache" / "bench" / self.run_id

    def section(self, name: str) -> tuple[str, str]:
        """The topic prefix and database of one section (sections never share data)."""
        return f"{self.prefix}{name}.", f"{self.database}_{name}"

    def mongo(self) -> AsyncMongoClient[Document]:
        return AsyncMongoClient(self.stack.mongodb_uri, tz_aware=True)

    async def cleanup(self) -> None:
        """Drop this run's databases and topics (service logs stay in `logs`)."""
        client = self.mongo()
        try:
            for name in await client.list_database_names():
                if name.startswith(self.database):
                    await client.drop_database(name)
        finally:
            await client.close()
        with contextlib.suppress(Exception):
            await asyncio.to_thread(
                delete_topics_with_prefix, self.stack.kafka_bootstrap, self.prefix
            )


# -- services ------------------------------------------------------------------------------


class Services:
    """Service processes (`python -m <service>`) on one section's topics and database."""

    def __init__(self, run: Run, section: str, **extra_env: str) -> None:
        prefix, database = run.section(section)
        self.database = database
        self.prefix = prefix
        self.logs = run.logs / section
        self.env = {
            "KAFKA_BOOTSTRAP_SERVERS": run.stack.kafka_bootstrap,
            "MONGODB_URI": run.stack.mongodb_uri,
            "SMTP_URL": run.stack.smtp_url,
            "ORDERFLOW_TOPIC_PREFIX": prefix,
            "ORDERFLOW_DATABASE": database,
            **extra_env,
        }
        self.processes: list[ServiceProcess] = []

    async def start(self, counts: dict[str, int]) -> None:
        """Start `counts[service]` replicas of each service and wait for every /readyz."""
        started = []
        for service, n in counts.items():
            for replica in range(n):
                name = service if replica == 0 else f"{service}-{replica + 1}"
                process = ServiceProcess(service, self.env, self.logs / f"{name}.log")
                process.start()
                self.processes.append(process)
                started.append(process)
        await asyncio.gather(*(p.wait_healthy(timeout=120) for p in started))

    def of(self, service: str) -> list[ServiceProcess]:
        return [p for p in self.processes if p.module == service]

    async def stop(self) -> None:
        await asyncio.gather(
            *(asyncio.to_thread(p.terminate, 30) for p in self.processes if p.running)
        )

    def topic(self, name: str) -> str:
        return self.prefix + name


def pid_of(process: ServiceProcess) -> int:
    assert process.proc is not None
    return process.proc.pid


def process_figures(pid: int) -> dict[str, float]:
    """The one look at a process in /proc that every section samples: resident memory now
    and at its peak (VmRSS, VmHWM; MB of 10^6 bytes), threads, open files (/proc/<pid>/fd;
    -1 for another user's process) and user + system CPU seconds used so far."""
    status = Path(f"/proc/{pid}/status").read_text().splitlines()
    fields = {k: v.split() for k, _, v in (line.partition(":") for line in status)}
    # Fields 14 and 15 of stat (utime, stime); after the ")" they are the 12th and 13th.
    stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    try:
        open_files = float(len(list(Path(f"/proc/{pid}/fd").iterdir())))
    except PermissionError:
        open_files = -1.0
    return {
        "rss_mb": int(fields["VmRSS"][0]) * 1024 / 1e6,
        "peak_rss_mb": int(fields["VmHWM"][0]) * 1024 / 1e6,
        "threads": float(fields["Threads"][0]),
        "open_files": open_files,
        "cpu_seconds": (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK"),
    }


def peak_rss_mb(pid: int) -> float:
    """VmHWM: the most resident memory the process ever had, in MB (10^6 bytes)."""
    return process_figures(pid)["peak_rss_mb"]


class CpuMeter:
    """CPU seconds used by a set of processes between `start` and `stop`."""

    def __init__(self, pids: dict[str, list[int]]) -> None:
        self.pids = {k: v for k, v in pids.items() if v}
        self.before: dict[str, float] = {}
        self.used: dict[str, float] = {}

    def _now(self) -> dict[str, float]:
        totals: dict[str, float] = {}
        for name, pids in self.pids.items():
            with contextlib.suppress(OSError):
                totals[name] = sum(process_figures(p)["cpu_seconds"] for p in pids)
        totals["bench"] = sum(os.times()[:2])
        return totals

    def start(self) -> None:
        self.before = self._now()

    def stop(self) -> None:
        after = self._now()
        self.used = {k: after[k] - self.before[k] for k in after if k in self.before}

    def summary(self) -> str:
        return ", ".join(f"{k} {v:.1f}" for k, v in self.used.items())


def stack_pids() -> dict[str, list[int]]:
    """Pids of the local stack's servers that devstack knows of (none on other stacks)."""
    with contextlib.suppress(Exception):
        return {s.name: [s.pid] for s in devstack.status() if s.pid is not None and s.running}
    return {}


# -- Kafka ---------------------------------------------------------------------------------


async def create_topics(bootstrap: str, names: Iterable[str]) -> None:
    await kafka.create_topics(bootstrap, names, PARTITIONS)


async def partitions_of(bootstrap: str, topic: str, timeout: float = 30.0) -> list[int]:
    """The partitions of `topic`, waiting for it to be created (services do at start-up)."""
    deadline = time.perf_counter() + timeout
    while not (found := await kafka.partitions(bootstrap, [topic])):
        if time.perf_counter() > deadline:
            raise RuntimeError(f"topic {topic} does not exist")
        await asyncio.sleep(0.2)
    return found[topic]


def producer(bootstrap: str) -> kafka.Producer:
    """A producer as an upstream system would configure one (idempotent, short linger)."""
    return kafka.producer(bootstrap, linger_ms=5)


def encoded(messages: Sequence[Message]) -> list[tuple[str, bytes, bytes]]:
    """(message id, value, key) of each message, serialised before any clock starts."""
    return [(str(m.message_id), m.model_dump_json().encode(), m.kafka_key()) for m in messages]


@dataclass(frozen=True)
class Seen:
    """One record read back: when it arrived (perf_counter) and its JSON body."""

    at: float
    body: Document


class Reader:
    """Reads a topic from its current end; collects bodies matching `wanted` by `key`.

    `key(body)` names what a record answers (e.g. its causation id); records whose key
    is not in `wanted` are ignored, so a topic shared with other traffic is fine.
    """

    def __init__(self, bootstrap: str, topic: str, key: Callable[[Document], str | None]) -> None:
        self.bootstrap, self.topic, self.key = bootstrap, topic, key
        self.follower = kafka.Follower(
            bootstrap, [topic], self._take, from_beginning=False, max_records=5000
        )
        self.wanted: set[str] = set()
        self.seen: dict[str, Seen] = {}

    async def __aenter__(self) -> Reader:
        await partitions_of(self.bootstrap, self.topic)  # services create it at start-up
        await self.follower.__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.follower.__aexit__()

    def expect(self, keys: Iterable[str]) -> None:
        self.wanted.update(keys)

    async def wait_all(self, keys: Iterable[str], timeout: float) -> bool:
        """True once every key has been seen; False after `timeout` seconds."""
        missing = set(keys)

        def done() -> bool:
            missing.difference_update(self.seen.keys())
            return not missing

        with contextlib.suppress(TimeoutError):
            await self.follower.wait(done, timeout)
        return done()

    def _take(self, records: list[kafka.Record]) -> None:
        at = time.perf_counter()
        for record in records:
            try:
                body = json.loads(record.value or b"{}")
            except ValueError:
                continue
            k = self.key(body)
            if k is not None and k in self.wanted and k not in self.seen:
                self.seen[k] = Seen(at, body)


async def send_all(
    producer: kafka.Producer, topic: str, items: Sequence[tuple[str, bytes, bytes]]
) -> dict[str, float]:
    """Send as fast as the producer takes them; returns each id's send time."""
    sent: dict[str, float] = {}
    futures = []
    for message_id, value, key in items:
        sent[message_id] = time.perf_counter()
        futures.append(await producer.send(topic, value, key=key))
    await asyncio.gather(*futures)
    return sent


async def send_paced(
    producer: kafka.Producer, topic: str, items: Sequence[tuple[str, bytes, bytes]], rate: float
) -> dict[str, float]:
    """Send at `rate` per second (each at its slot, late ones at once); send times by id."""
    sent: dict[str, float] = {}
    futures = []
    started = time.perf_counter()
    for i, (message_id, value, key) in enumerate(items):
        delay = started + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        sent[message_id] = time.perf_counter()
        futures.append(await producer.send(topic, value, key=key))
    await asyncio.gather(*futures)
    return sent


def percentile(values: Sequence[float], p: float) -> float:
    """The nearest-rank percentile (p in 0..100)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, math.ceil(p / 100 * len(ordered)) - 1))
    return ordered[index]
