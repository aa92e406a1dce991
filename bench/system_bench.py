"""All five services at once: the notifier's emails per second, then each one's peak memory.

notifier  N post-paid `OrderCreated` events are published on orders.events as ordering
          publishes them (P-02: each emails the supplier); the figure is N over the
          time from the first event sent to the last `EmailSent` read on
          notifications.events. The mails are counted in the catcher's Maildir too, and
          the notifier's CPU time per email is read from /proc. Its baseline, in the same
          run: one of those mails, as the catcher stored it, sent N times by a bare
          aiosmtplib loop on as many connections as the notifier's pool (the catcher's
          own ceiling; no store, no Kafka, no rendering).
memory    a mixed load through ordering: managed orders created and submitted (timers
          get M-04's review deadline), post-paid orders created (timers get P-02's
          window, the notifier emails the supplier; payments and invoicing read every
          event); then VmHWM (the peak resident memory) of each service process.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import aiosmtplib

from bench import ordering_bench as ob
from bench.report import Section
from bench.rig import (
    CpuMeter,
    Reader,
    Run,
    Services,
    encoded,
    peak_rss_mb,
    pid_of,
    producer,
    send_all,
)
from contracts import topics
from contracts.envelope import Message, Role
from contracts.orders import (
    CreateOrder,
    Flow,
    OrderCreated,
    OrderParty,
    OrderStatus,
    SubmitOrder,
)
from devstack.services import SERVICES
from orderflow import commands as c


def _parties(run_id: str) -> tuple[OrderParty, OrderParty]:
    customer = c.party(f"customer-{run_id}", Role.CUSTOMER, f"customer.{run_id}@example.com")
    supplier = c.party(f"supplier-{run_id}", Role.SUPPLIER, f"supplier.{run_id}@example.com")
    return customer, supplier


def postpaid_created(run_id: str, n: int) -> list[OrderCreated]:
    """Events as ordering publishes them for new post-paid orders (one email each)."""
    customer, supplier = _parties(run_id)
    now = datetime.now(UTC)
    terms = c.postpaid_terms()
    return [
        OrderCreated(
            message_id=uuid.uuid4(),
            occurred_at=now,
            correlation_id=uuid.uuid4(),
            causation_id=uuid.uuid4(),
            actor=customer.party,
            order_id=uuid.uuid4(),
            flow=Flow.POSTPAID,
            status=OrderStatus.CONFIRMATION,
            parties=[customer, supplier],
            terms=terms,
            respond_by=now + timedelta(hours=24),
        )
        for _ in range(n)
    ]


def mixed_load(run_id: str, n: int) -> tuple[list[Message], list[str]]:
    """n managed orders created then submitted, n post-paid created (each one email)."""
    managed = ob.new_orders(n)
    member = c.member()
    submits = [c.command(SubmitOrder, member.party, order_id=m.order_id) for m in managed]
    customer, supplier = _parties(run_id)
    postpaid = [
        c.command(
            CreateOrder,
            customer.party,
            order_id=uuid.uuid4(),
            parties=[customer, supplier],
            terms=c.postpaid_terms(),
        )
        for _ in range(n)
    ]
    return [*managed, *submits, *postpaid], [str(p.order_id) for p in postpaid]


def mails_of(maildir: Path, run_id: str, delete: bool) -> int:
    """Mails in the catcher's Maildir addressed to this run (deleted if `delete`)."""
    found = 0
    marker = run_id.encode()
    for folder in ("new", "cur"):
        for path in (maildir / folder).glob("*"):
            try:
                with path.open("rb") as f:
                    head = f.read(4096)
            except FileNotFoundError:  # another run took it meanwhile: not ours
                continue
            header = next((h for h in head.split(b"\n") if h.startswith(b"X-Envelope-To:")), b"")
            if marker in header:
                found += 1
                if delete:
                    path.unlink(missing_ok=True)
    return found


async def run_section(
    run: Run,
    notifier: Section | None,
    memory: Section | None,
    emails: int,
    load: int,
    earlier_peaks: Sequence[tuple[str, float]],
) -> None:
    services = Services(run, "system")
    await services.start({s: 1 for s in SERVICES})
    try:
        if notifier is not None:
            await _notifier(run, services, notifier, emails)
        if memory is not None:
            during = "the notifier and memory loads" if notifier else "the memory load"
            await _memory(run, services, memory, load, earlier_peaks, during)
    finally:
        await services.stop()
        mails_of(run.stack.maildir, run.run_id, delete=True)


async def _notifier(run: Run, services: Services, section: Section, n: int) -> None:
    bootstrap = run.stack.kafka_bootstrap
    events = postpaid_created(run.run_id, n)
    notifications = services.topic(topics.NOTIFICATIONS_EVENTS)
    async with Reader(bootstrap, notifications, lambda b: b.get("cause_id")) as reader:
        out = producer(bootstrap)
        await out.start()
        try:
            ids = [str(e.message_id) for e in events]
            reader.expect(ids)
            items = encoded(events)
            cpu = CpuMeter({"notifier": [pid_of(p) for p in services.of("notifier")]})
            cpu.start()
            started = time.perf_counter()
            await send_all(out, services.topic(topics.ORDERS_EVENTS), items)
            await reader.wait_all(ids, timeout=max(120.0, n / 20))
            cpu.stop()
        finally:
            await out.stop()
    seen = [reader.seen[i] for i in ids if i in reader.seen]
    sent = sum(s.body.get("type") == "EmailSent" for s in seen)
    seconds = max((s.at for s in seen), default=started) - started
    rate = sent / seconds if seconds > 0 else 0.0
    section.add(
        f"emails per second, {n:,} post-paid OrderCreated published at once",
        f"{rate:,.0f} /s ({sent:,} EmailSent, {len(seen) - sent} EmailFailed, "
        f"{n - len(seen)} missing, in {seconds:.1f} s)",
        ">= 300 /s",
        rate >= 300 and sent == n,
    )
    section.add(
        "mails in the catcher's Maildir for this run",
        f"{mails_of(run.stack.maildir, run.run_id, delete=False):,}",
    )
    section.add(
        "notifier CPU per email",
        f"{1000 * cpu.used['notifier'] / max(sent, 1):.2f} ms ({cpu.summary()} s)",
    )
    mail = a_mail(run.stack.maildir, run.run_id)
    if mail is None:
        return
    bare = await bare_smtp(run.stack.smtp_url, mail, f"bare.{run.run_id}@example.com", n)
    section.add(
        f"baseline: {n:,} such mails by a bare aiosmtplib loop, {SMTP_CONNECTIONS} connections",
        f"{bare:,.0f} /s",
    )
    section.add("notifier vs baseline", f"{rate / bare:.2f}x" if bare else "-")


#: The notifier's default pool (ORDERFLOW_SMTP_POOL_SIZE).
SMTP_CONNECTIONS = 8


def a_mail(maildir: Path, run_id: str) -> bytes | None:
    """One mail of this run as the catcher stored it, without the headers it added."""
    marker = run_id.encode()
    for folder in ("new", "cur"):
        for path in (maildir / folder).glob("*"):
            raw = path.read_bytes()
            if marker in raw[:4096]:
                lines = raw.split(b"\n")
                kept = [line for line in lines if not line.startswith(b"X-Envelope-")]
                return b"\r\n".join(line.rstrip(b"\r") for line in kept)
    return None


async def bare_smtp(url: str, message: bytes, recipient: str, n: int) -> float:
    """Send `message` n times on SMTP_CONNECTIONS connections at once; mails per second."""
    where = urlsplit(url)
    per = [n // SMTP_CONNECTIONS + (i < n % SMTP_CONNECTIONS) for i in range(SMTP_CONNECTIONS)]

    async def one(count: int) -> None:
        client = aiosmtplib.SMTP(
            hostname=where.hostname, port=where.port or 25, start_tls=False, timeout=30
        )
        await client.connect()
        try:
            for _ in range(count):
                await client.sendmail("bench@example.com", [recipient], message)
        finally:
            await client.quit()

    started = time.perf_counter()
    await asyncio.gather(*(one(k) for k in per))
    return n / (time.perf_counter() - started)


async def _memory(
    run: Run,
    services: Services,
    section: Section,
    n: int,
    earlier_peaks: Sequence[tuple[str, float]],
    during: str,
) -> None:
    bootstrap = run.stack.kafka_bootstrap
    commands, mailed = mixed_load(run.run_id, n)
    async with (
        Reader(bootstrap, services.topic(topics.ORDERS_EVENTS), ob.answer_key) as answers,
        Reader(
            bootstrap, services.topic(topics.NOTIFICATIONS_EVENTS), lambda b: b.get("order_id")
        ) as mails,
    ):
        out = producer(bootstrap)
        await out.start()
        try:
            ids = [str(m.message_id) for m in commands]
            answers.expect(ids)
            mails.expect(mailed)
            started = time.perf_counter()
            await send_all(out, services.topic(topics.ORDERS_COMMANDS), encoded(commands))
            await answers.wait_all(ids, timeout=max(120.0, len(ids) / 20))
            await mails.wait_all(mailed, timeout=max(120.0, n / 20))
            seconds = time.perf_counter() - started
        finally:
            await out.stop()
    rejected = sum(s.body.get("type") == "OrderCommandRejected" for s in answers.seen.values())
    section.add(
        f"load: {n:,} managed orders created and submitted, {n:,} post-paid created",
        f"{len(answers.seen):,} of {len(ids):,} commands answered ({rejected} rejected), "
        f"{len(mails.seen):,} of {n:,} emails, in {seconds:.0f} s",
    )
    for name, peak in earlier_peaks:
        section.add(f"peak RSS of {name}", f"{peak:.0f} MB", "< 200 MB", peak < 200)
    for process in services.processes:
        peak = peak_rss_mb(pid_of(process))
        section.add(
            f"peak RSS of {process.module} (after {during})",
            f"{peak:.0f} MB",
            "< 200 MB",
            peak < 200,
        )
