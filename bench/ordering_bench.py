"""ordering, end to end: commands published to orders.commands, events read back.

The command is `CreateOrder` of a managed order by its member: the cheapest honest
representative. It takes the whole path every command takes (parse, load the aggregate
by id, decide, append a commit, publish the outbox, write the snapshot, commit the
offset) and produces exactly one event (`OrderCreated`), with no deadline (a managed
draft has none), no account lookup and no second aggregate. On an existing order the
same holds for `EditDraft` (→ `DraftEdited`), which growth.py uses.

An event answers the command whose message id is its `causation_id`.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from bench.report import Section
from bench.rig import (
    CpuMeter,
    Reader,
    Run,
    Services,
    encoded,
    peak_rss_mb,
    percentile,
    pid_of,
    producer,
    send_all,
    send_paced,
    stack_pids,
)
from contracts import topics
from contracts.orders import CreateOrder, EditDraft, Flow, OrderCreated, OrderStatus
from orderflow import commands as c
from orderflow.kafka import Producer

#: The events that answer our commands; anything else answering one is a surprise.
ACCEPTED = {"OrderCreated", "DraftEdited"}


def new_orders(n: int) -> list[CreateOrder]:
    member, client = c.member(), c.client()
    terms = c.managed_terms()
    return [
        c.command(
            CreateOrder, member.party, order_id=uuid.uuid4(), parties=[member, client], terms=terms
        )
        for _ in range(n)
    ]


def edits(order_ids: Sequence[uuid.UUID]) -> list[EditDraft]:
    """An edit of each (managed, draft) order by its member: one `DraftEdited` each."""
    member = c.member()
    terms = c.managed_terms(description="Quarterly maintenance, edited")
    return [c.command(EditDraft, member.party, order_id=o, terms=terms) for o in order_ids]


def created_event_size(command: CreateOrder) -> int:
    """Bytes of the `OrderCreated` that ordering publishes for `command`."""
    event = OrderCreated(
        message_id=uuid.uuid4(),
        occurred_at=datetime.now(UTC),
        correlation_id=command.correlation_id,
        causation_id=command.message_id,
        actor=command.actor,
        order_id=command.order_id,
        flow=Flow.MANAGED,
        status=OrderStatus.DRAFT,
        parties=command.parties,
        terms=command.terms,
    )
    return len(event.model_dump_json())


def answer_key(body: dict[str, object]) -> str | None:
    cause = body.get("causation_id")
    return str(cause) if cause else None


@dataclass(frozen=True)
class Outcome:
    n: int
    answered: int
    rejected: int
    seconds: float  # first command sent to last answer read
    latencies: list[float]  # send to answer, each command

    @property
    def rate(self) -> float:
        return self.answered / self.seconds if self.seconds > 0 else float("nan")


async def drive(
    reader: Reader,
    out: Producer,
    topic: str,
    commands: Sequence[CreateOrder] | Sequence[EditDraft],
    rate: float | None = None,
    timeout: float = 600.0,
) -> Outcome:
    """Send `commands` (as fast as possible, or at `rate`/s) and wait for every answer."""
    items = encoded(commands)
    ids = [i for i, _, _ in items]
    reader.expect(ids)
    started = time.perf_counter()
    if rate is None:
        sent = await send_all(out, topic, items)
    else:
        sent = await send_paced(out, topic, items, rate)
    await reader.wait_all(ids, timeout)
    answers = [(i, reader.seen[i]) for i in ids if i in reader.seen]
    last = max((s.at for _, s in answers), default=started)
    return Outcome(
        n=len(ids),
        answered=len(answers),
        rejected=sum(s.body.get("type") not in ACCEPTED for _, s in answers),
        seconds=last - started,
        latencies=[s.at - sent[i] for i, s in answers],
    )


def check(outcome: Outcome, what: str) -> None:
    if outcome.answered < outcome.n or outcome.rejected:
        print(
            f"  ! {what}: {outcome.answered:,} of {outcome.n:,} answered, "
            f"{outcome.rejected:,} rejected (see the service logs)",
            flush=True,
        )


async def run_section(
    run: Run,
    throughput: Section | None,
    latency: Section | None,
    n: int,
    warmup: int,
    replicas: int,
    latency_seconds: float,
    latency_rates: Sequence[str],
    baseline: dict[str, float],
) -> list[tuple[str, float]]:
    """Throughput with `replicas` ordering processes, then latency at paced rates.

    Latency at "half" needs the throughput, so it is measured whenever either section
    runs. Returns the peak RSS of each ordering process afterwards.
    """
    services = Services(run, "ordering")
    await services.start({"ordering": replicas})
    bootstrap = run.stack.kafka_bootstrap
    try:
        async with Reader(bootstrap, services.topic(topics.ORDERS_EVENTS), answer_key) as reader:
            out = producer(bootstrap)
            await out.start()
            try:
                source = services.topic(topics.ORDERS_COMMANDS)
                check(await drive(reader, out, source, new_orders(warmup), timeout=120), "warm-up")
                rate = await _throughput(
                    services, reader, out, throughput or latency, n, replicas, baseline
                )
                if latency is not None:
                    await _latency(
                        reader, out, source, latency, rate, latency_seconds, latency_rates
                    )
            finally:
                await out.stop()
        return [
            (f"{p.log_path.stem} (ordering section)", peak_rss_mb(pid_of(p)))
            for p in services.of("ordering")
        ]
    finally:
        await services.stop()


async def _throughput(
    services: Services,
    reader: Reader,
    out: Producer,
    section: Section | None,
    n: int,
    replicas: int,
    baseline: dict[str, float],
) -> float:
    assert section is not None
    source = services.topic(topics.ORDERS_COMMANDS)
    commands = new_orders(n)
    pids = {"ordering": [pid_of(p) for p in services.of("ordering")], **stack_pids()}
    meter = CpuMeter(pids)
    meter.start()
    outcome = await drive(reader, out, source, commands)
    meter.stop()
    check(outcome, "throughput")
    rate = outcome.rate
    section.add(
        f"commands per second, {n:,} CreateOrder sent at once, "
        f"{replicas} ordering process{'es' if replicas > 1 else ''}",
        f"{rate:,.0f} /s ({outcome.answered:,} answered in {outcome.seconds:.1f} s, "
        f"{outcome.rejected} rejected)",
        ">= 2,000 /s",
        rate >= 2000 and outcome.answered == n,
    )
    for mode, base in baseline.items():
        section.add(f"ratio to the baseline ({mode}: {base:,.0f} /s)", f"{rate / base:.2f}")
    per = {k: v / max(1, outcome.answered) for k, v in meter.used.items()}
    section.add(
        "CPU per command, ms (the stack's servers are shared with other users)",
        ", ".join(f"{k} {v * 1000:.2f}" for k, v in per.items()),
    )
    return rate


async def _latency(
    reader: Reader,
    out: Producer,
    source: str,
    section: Section,
    rate: float,
    seconds: float,
    rates: Sequence[str],
) -> None:
    for spec in rates:
        paced = rate / 2 if spec == "half" else float(spec)
        count = max(1, round(paced * seconds))
        await asyncio.sleep(2)  # let the previous run's tail drain
        lat = await drive(reader, out, source, new_orders(count), rate=paced)
        check(lat, f"latency at {paced:.0f}/s")
        p50 = percentile(lat.latencies, 50) * 1000
        p99 = percentile(lat.latencies, 99) * 1000
        worst = max(lat.latencies, default=0.0) * 1000
        name = f"half the measured rate ({paced:,.0f} /s)" if spec == "half" else f"{paced:,.0f} /s"
        goal = spec != "half" and paced == 1000
        section.add(
            f"latency p50 / p99 / max at {name}, {seconds:.0f} s, {lat.answered:,} answered",
            f"{p50:.0f} / {p99:.0f} / {worst:.0f} ms",
            "p99 < 100 ms" if goal else "",
            (p99 < 100 and lat.answered == lat.n) if goal else None,
        )
