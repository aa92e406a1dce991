"""Whole lifecycles with all five services: what one order costs, from creation to its end.

    post-paid  (seed 001) booked by the customer, confirmed by the supplier, marked done
               once the appointment starts, confirmed by the customer, paid through the
               gateway when payments asks (P-15), closed; the payout released by the timer
               (P-18) and confirmed sent by the gateway: `PayoutPaid`
    managed    (seed 000) created, submitted, confirmed by the operator and by the client's
               link (M-08); its invoice drafted and issued on its day by invoicing's
               compressed calendar (M-10, M-12); completed, its service period being over
               (M-16): `OrderCompleted`
    account    (seed 003, the soak only) configured, placed, approved and completed

Each step is `orderflow.scenarios`' (the demo's and the end-to-end tests'), on one
`orderflow.bus.Bus`. Durations are compressed by the services' settings (`env`): the
appointment starts `lead` seconds after the booking, the payout is due a second after it
ends, an invoicing day lasts `day` seconds.

Figures (`run_section`): lifecycles per second with `concurrency` lifecycles in flight
(each worker starts the next when its last ends), the CPU milliseconds each process spent
per lifecycle (every service, Kafka, FerretDB, the SMTP catcher, this driver) beside what
each spent in the same time idle (the baseline: the stack is shared), the Kafka records
one lifecycle writes and the ceiling a bare consume → produce loop would put on it, and
each service's peak RSS.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from bench.report import Section
from bench.rig import CpuMeter, Run, Services, peak_rss_mb, percentile, pid_of, stack_pids
from bench.system_bench import mails_of
from contracts import topics
from contracts.envelope import Role
from contracts.orders import (
    ConfirmExecution,
    MarkServiceDone,
    Money,
    OrderItem,
    OrderParty,
    PlannedInvoice,
)
from contracts.payments import ConfirmPayoutSent
from devstack.services import SERVICES
from orderflow import commands as c
from orderflow import kafka
from orderflow import scenarios as s
from orderflow.bus import Bus

KINDS = ("postpaid", "managed", "account")

#: A lifecycle that takes longer than this has failed (it waits on nothing longer).
TIMEOUT = 300.0


@dataclass(frozen=True)
class Calendar:
    """invoicing's compressed calendar: from `origin` on, a day lasts `day` seconds and an
    invoice's draft comes `lead` seconds before its date starts (M-10, M-12)."""

    origin: datetime
    day: float
    lead: float

    def env(self) -> dict[str, str]:
        return {
            "ORDERFLOW_INVOICE_CALENDAR_ORIGIN": self.origin.isoformat(),
            "ORDERFLOW_INVOICE_CALENDAR_DAY": str(self.day),
            "ORDERFLOW_INVOICE_DRAFT_LEAD": str(self.lead),
        }

    def first_day(self, now: datetime, seconds_ahead: float) -> date:
        """The first day whose draft comes at least `seconds_ahead` after `now`."""
        elapsed = (now - self.origin).total_seconds()
        days = math.ceil((elapsed + seconds_ahead + self.lead) / self.day)
        return self.origin.date() + timedelta(days=days)


def env(calendar: Calendar) -> dict[str, str]:
    """The services' settings for whole lifecycles: only the waits a lifecycle sits through
    are short (P-18's payout delay, invoicing's days); every other window keeps its
    default, so no timer fires that a lifecycle does not wait for."""
    return {"ORDERFLOW_PAYOUT_DELAY": "1", **calendar.env()}


@dataclass
class Outcome:
    """The lifecycles of one batch: how long each took, and what went wrong."""

    started: float = 0.0
    ended: float = 0.0
    seconds: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        wall = self.ended - self.started
        return len(self.seconds) / wall if wall > 0 else 0.0


class Driver:
    """Plays lifecycles on one bus; the bus keeps only the events of orders in flight."""

    def __init__(self, run_id: str, calendar: Calendar, lead: float = 3.0) -> None:
        self.run_id, self.calendar, self.min_lead = run_id, calendar, lead
        #: How long the last bookings took to be answered (seconds).
        self.bookings: deque[float] = deque(maxlen=20)
        #: Order (and account) ids whose events the bus keeps.
        self.active: set[str] = set()
        self.bus: Bus | None = None
        self._account: str | None = None
        self._account_lock = asyncio.Lock()

    @property
    def lead(self) -> float:
        """How far ahead an appointment (or an invoice's draft) is set: `min_lead`, or
        twice the slowest of the last bookings when the system is slower (an appointment
        already past when ordering decides is refused, and would fail the lifecycle; on a
        shared machine the answer time jumps, so the slowest, not an average)."""
        return max(self.min_lead, 2 * max(self.bookings, default=0.0))

    def _booked(self, seconds: float) -> None:
        self.bookings.append(seconds)

    def keep(self, order_id: str) -> bool:
        return order_id in self.active

    @contextlib.contextmanager
    def _tracked(self, key: object) -> Iterator[None]:
        """Keep `key`'s events while the lifecycle runs, then forget them (a soak runs
        for hours: the bus would otherwise hold every event it ever read)."""
        self.active.add(str(key))
        try:
            yield
        finally:
            self.active.discard(str(key))
            if self.bus is not None:
                self.bus.history.pop(str(key), None)

    def _person(self, role: Role) -> OrderParty:
        """A party whose email names the run (its mails are deleted at the end)."""
        name = f"{role.value}-{self.run_id}"
        return c.party(name, role, f"{role.value}.{self.run_id}@example.com")

    def _bus(self) -> Bus:
        assert self.bus is not None, "the driver's bus is not started"
        return self.bus

    async def postpaid(self) -> None:
        """Seed 001 from booking to `PayoutPaid` (P-02, P-06, P-12, P-13, P-15, P-18)."""
        bus = self._bus()
        customer, supplier = self._person(Role.CUSTOMER), self._person(Role.SUPPLIER)
        order_id = uuid.uuid4()
        start = datetime.now(UTC) + timedelta(seconds=self.lead)
        terms = c.postpaid_terms(
            appointment_start=start, appointment_end=start + timedelta(seconds=0.5)
        )
        with self._tracked(order_id):
            began = time.perf_counter()
            await s.in_progress(bus, customer, supplier, terms, order_id)
            self._booked(time.perf_counter() - began)
            await asyncio.sleep(max(0.0, (start - datetime.now(UTC)).total_seconds()) + 0.05)
            done = c.command(MarkServiceDone, supplier.party, order_id=order_id)
            await s.accepted(bus, s.ORDERS, done, "ServiceMarkedDone")
            confirm = c.command(ConfirmExecution, customer.party, order_id=order_id)
            await s.accepted(bus, s.ORDERS, confirm, "ExecutionConfirmed")
            await s.pay_what_is_asked(bus, order_id, "PaymentRequested", timeout=TIMEOUT)
            await bus.wait_for(order_id, ["OrderPaid"], timeout=TIMEOUT)
            asked = await bus.wait_for(order_id, ["PayoutRequested"], timeout=TIMEOUT)
            sent = c.command(
                ConfirmPayoutSent,
                c.GATEWAY,
                order_id=order_id,
                payout_id=asked.body["payout_id"],
                reference=f"tr-{order_id.hex[:12]}",
            )
            await s.accepted(bus, s.PAYMENTS, sent, "PayoutPaid")

    async def managed(self) -> None:
        """Seed 000 from the draft to `OrderCompleted` (M-01, M-05, M-08, M-10, M-12, M-16)."""
        bus = self._bus()
        member, client = self._person(Role.MEMBER), self._person(Role.CLIENT)
        order_id = uuid.uuid4()
        now = datetime.now(UTC)
        yesterday = now.date() - timedelta(days=1)
        invoice = PlannedInvoice(
            invoice_date=self.calendar.first_day(now, self.lead),
            amount=Money(amount=Decimal("100.00"), currency="EUR"),
        )
        terms = c.managed_terms(
            now,
            service_start=yesterday - timedelta(days=30),
            service_end=yesterday,
            planned_invoices=[invoice],
        )
        with self._tracked(order_id):
            began = time.perf_counter()
            sent = await s.submitted_and_reviewed(bus, member, client, order_id, terms)
            self._booked((time.perf_counter() - began) * 2 / 3)  # three steps, not two
            token = str(sent["confirmation_token"])
            await s.confirmed_by_client(bus, client, order_id, token)
            await bus.wait_for(order_id, ["OrderCompleted"], timeout=TIMEOUT)

    async def account(self) -> None:
        """Seed 003: an order of the demo catalogue's plan that needs approval and a tier,
        configured, placed, approved and completed (A-06, A-07), on the run's account."""
        bus = self._bus()
        account_id = await self._opened_account()
        order_id = uuid.uuid4()
        plan = OrderItem(
            product_id="support-plan", pricing_option="yearly", unit_price=Decimal("300.00")
        )
        with self._tracked(order_id):
            await s.placed_approved_and_completed(
                bus,
                c.agent(),
                order_id,
                account_id,
                [plan],
                configure={0: {"tier": "gold"}},
                timeout=TIMEOUT,
            )

    async def _opened_account(self) -> str:
        """The run's one account, opened upstream (A-01) the first time it is needed."""
        async with self._account_lock:
            if self._account is None:
                account_id = f"acc-{self.run_id}"
                with self._tracked(account_id):
                    await s.opened_account(self._bus(), account_id, f"billing.{self.run_id}@x.test")
                self._account = account_id
            return self._account

    def of(self, kind: str) -> Callable[[], Awaitable[None]]:
        lifecycle: Callable[[], Awaitable[None]] = getattr(self, kind)
        return lifecycle


async def closed_loop(
    lifecycle: Callable[[], Awaitable[None]], n: int, concurrency: int, ramp: float = 0.1
) -> Outcome:
    """`n` lifecycles, `concurrency` at a time (each worker starts the next as one ends);
    the workers start `ramp` seconds apart (all at once, the first bookings queue past
    the appointment lead before the driver has seen how long a booking takes)."""
    outcome = Outcome(started=time.perf_counter())
    left = iter(range(n))

    async def worker(delay: float) -> None:
        await asyncio.sleep(delay)
        for _ in left:
            began = time.perf_counter()
            try:
                await asyncio.wait_for(lifecycle(), TIMEOUT)
            except Exception as error:  # counted and reported: one failure is a figure
                outcome.errors.append(f"{type(error).__name__}: {error}"[:300])
            else:
                outcome.seconds.append(time.perf_counter() - began)
                outcome.ended = time.perf_counter()

    await asyncio.gather(*(worker(i * ramp) for i in range(min(n, concurrency))))
    return outcome


async def records_written(bootstrap: str, prefix: str) -> int:
    """Records on every topic of the system under `prefix` (end offsets, all partitions)."""
    return sum((await kafka.end_offsets(bootstrap, topics.ALL, prefix)).values())


# -- the table -----------------------------------------------------------------------------


def cpu_rows(
    used: Mapping[str, float], idle: Mapping[str, float], lifecycles: int
) -> list[tuple[str, str]]:
    """(process, "X ms (idle Y ms)") per process: CPU milliseconds per lifecycle under load,
    beside the same process's CPU in as long a time idle, spread over as many lifecycles
    (what it would have cost anyway: the stack's servers serve other runs too)."""
    rows = []
    for name, seconds in used.items():
        per = seconds * 1000 / lifecycles
        base = idle.get(name, 0.0) * 1000 / lifecycles
        rows.append((name, f"{per:.1f} ms (idle {base:.1f} ms)"))
    total = sum(used.values()) * 1000 / lifecycles
    total_idle = sum(idle.values()) * 1000 / lifecycles
    rows.append(("all processes", f"{total:.1f} ms (idle {total_idle:.1f} ms)"))
    return rows


def scaled(rates: Mapping[str, float], seconds: float, wall: float) -> dict[str, float]:
    """CPU seconds per process in an idle window of `seconds`, scaled to `wall` seconds."""
    return {k: v * wall / seconds for k, v in rates.items()} if seconds > 0 else {}


async def idle_cpu(pids: dict[str, list[int]], seconds: float) -> dict[str, float]:
    """CPU seconds each process spends in `seconds` with no lifecycle running."""
    meter = CpuMeter(pids)
    meter.start()
    await asyncio.sleep(seconds)
    meter.stop()
    return meter.used


async def run_section(
    run: Run,
    section: Section,
    counts: Mapping[str, int],
    concurrency: int,
    warmup: int,
    idle_seconds: float,
    rates: Mapping[str, float],
) -> list[tuple[str, float]]:
    """The figures above into `section`; returns each service's peak RSS (name, MB)."""
    calendar = Calendar(datetime.now(UTC).replace(microsecond=0), day=2.0, lead=1.0)
    services = Services(run, "lifecycles", **env(calendar))
    await services.start({name: 1 for name in SERVICES})
    driver = Driver(run.run_id, calendar)
    bootstrap = run.stack.kafka_bootstrap
    pids = {p.module: [pid_of(p)] for p in services.processes} | stack_pids()
    try:
        async with Bus(bootstrap, services.prefix, from_beginning=True, keep=driver.keep) as bus:
            driver.bus = bus
            for kind in counts:  # warm-up: connections, caches, the first timers
                await closed_loop(driver.of(kind), warmup, warmup)
            idle = await idle_cpu(pids, idle_seconds)
            for kind, n in counts.items():
                print(f"  lifecycles: {n} {kind}, {concurrency} in flight", flush=True)
                before = await records_written(bootstrap, services.prefix)
                meter = CpuMeter(pids)
                meter.start()
                outcome = await closed_loop(driver.of(kind), n, concurrency)
                meter.stop()
                after = await records_written(bootstrap, services.prefix)
                _figures(section, kind, n, concurrency, outcome, meter, idle, idle_seconds)
                _ceiling(section, kind, (after - before) / max(1, n), outcome.rate, rates)
        peaks = [(p.module, peak_rss_mb(pid_of(p))) for p in services.processes]
        for name, peak in peaks:
            section.add(
                f"peak RSS of {name} (after the lifecycles)",
                f"{peak:.0f} MB",
                "< 200 MB",
                peak < 200,
            )
        return [(f"{name} (lifecycles section)", peak) for name, peak in peaks]
    finally:
        await services.stop()
        forget_mails(run.stack.maildir, run.run_id)


def forget_mails(maildir: Path, run_id: str) -> None:
    """Delete the run's mails from the catcher's Maildir, which other runs share: a mail
    that another run deletes meanwhile is not an error (a few passes catch the rest)."""
    for _ in range(3):
        with contextlib.suppress(OSError):
            mails_of(maildir, run_id, delete=True)
            return


LABEL = {"postpaid": "post-paid, booked to paid out", "managed": "managed, draft to completed"}
LABEL["account"] = "account, configured to completed"


def _figures(
    section: Section,
    kind: str,
    n: int,
    concurrency: int,
    outcome: Outcome,
    meter: CpuMeter,
    idle: Mapping[str, float],
    idle_seconds: float,
) -> None:
    done = len(outcome.seconds)
    wall = outcome.ended - outcome.started
    label = LABEL[kind]
    section.add(
        f"{label}: lifecycles per second, {n:,} with {concurrency} in flight",
        f"{outcome.rate:.1f} /s ({done:,} done, {len(outcome.errors)} failed, in {wall:.0f} s)",
    )
    if outcome.errors:
        section.add(f"{label}: first failure", outcome.errors[0])
    p50, p99 = percentile(outcome.seconds, 50), percentile(outcome.seconds, 99)
    section.add(f"{label}: one lifecycle's duration p50 / p99", f"{p50:.1f} / {p99:.1f} s")
    for name, value in cpu_rows(meter.used, scaled(idle, idle_seconds, wall), max(1, done)):
        section.add(f"{label}: CPU per lifecycle, {name}", value)


def _ceiling(
    section: Section, kind: str, records: float, rate: float, rates: Mapping[str, float]
) -> None:
    label = LABEL[kind]
    section.add(f"{label}: Kafka records written per lifecycle (all topics)", f"{records:.0f}")
    for mode, per_s in rates.items():
        bound = per_s / records if records else 0.0
        section.add(
            f"{label}: baseline ({mode} loop, {per_s:,.0f} msg/s) / records per lifecycle",
            f"{bound:.1f} /s (measured: {rate / bound:.2f} of it)" if bound else "n/a",
        )


def kinds_of(spec: str) -> Sequence[str]:
    """`postpaid,managed` → the kinds, checked."""
    kinds = [k for k in spec.split(",") if k]
    unknown = set(kinds) - set(KINDS)
    if unknown:
        raise ValueError(f"unknown lifecycles {sorted(unknown)}; known: {', '.join(KINDS)}")
    return kinds
