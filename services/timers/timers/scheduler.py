"""The firing loop: sleep until the next deadline, claim what is due, publish, mark it fired.

    Scheduler.run()
    ├── fire loop      sleep until min(next due, max idle), or until `notify` says a sooner
    │                  deadline was scheduled; claim a batch (leases); publish the expiries
    │                  in due order; mark them fired; go again at once if the batch was full
    ├── maintenance    every few seconds: read slots ahead, cascade, sweep lapsed leases
    └── cleanup        every minute: forget fired and cancelled deadlines past the retention

Firing is at least once. A replica that dies after claiming leaves leases that lapse, and
another replica fires those deadlines; the expiry carries the same message id, and owners
dedupe by deadline id and generation. In normal operation each deadline is published once.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from contracts.envelope import SYSTEM
from contracts.timers import DeadlineExpired
from servicekit.clocks import wall
from timers import metrics
from timers.config import TimersSettings
from timers.domain import Claim, Firing, expiry_message_id, fire
from timers.store import ScheduleStore

log = logging.getLogger("timers.scheduler")

#: Publishes expiries in the order given (a producer keeps one key's order) and returns,
#: for each, None once Kafka acknowledged it or the error that stopped it.
Publish = Callable[[Sequence[DeadlineExpired]], Awaitable[Sequence[BaseException | None]]]
#: Hands one expiry to a producer and returns the delivery to await (FastStream's
#: `publish(..., no_confirm=True)`, aiokafka's `send`).
Enqueue = Callable[[DeadlineExpired], Awaitable[Awaitable[Any]]]
Clock = Callable[[], datetime]
utc_now: Clock = wall


def pipelined(enqueue: Enqueue) -> Publish:
    """A `Publish` that enqueues every expiry first, then waits for the acknowledgements.

    Awaiting each send before the next is a round trip per expiry; sending them all and
    then awaiting costs one round trip per batch. After a failed enqueue the rest of the
    batch is not sent, so no key's expiries overtake one another.
    """

    async def publish(events: Sequence[DeadlineExpired]) -> list[BaseException | None]:
        deliveries: list[Awaitable[Any]] = []
        stopped: BaseException | None = None
        for event in events:
            try:
                deliveries.append(await enqueue(event))
            except Exception as e:
                stopped = e
                break
        results: list[BaseException | None] = []
        for delivery in deliveries:
            try:
                await delivery
                results.append(None)
            except Exception as e:
                results.append(e)
        results += [stopped] * (len(events) - len(deliveries))
        return results

    return publish


def default_replica() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def expiry(firing: Firing) -> DeadlineExpired:
    """The event that tells the owner its deadline fell due."""
    entry = firing.claim.entry
    return DeadlineExpired(
        **vars(entry),  # the deadline's ids, key, owner, kind, generation, payload, due time
        message_id=expiry_message_id(entry.deadline_id, entry.generation),
        occurred_at=firing.fired_at,
        actor=SYSTEM,
        fired_at=firing.fired_at,
        lateness_ms=firing.lateness_ms,
        late=firing.late,
    )


class Scheduler:
    """Fires due deadlines from a `ScheduleStore`; see the module docstring."""

    def __init__(
        self,
        store: ScheduleStore,
        publish: Publish,
        settings: TimersSettings,
        clock: Clock = utc_now,
        replica: str | None = None,
    ) -> None:
        self.store = store
        self.publish = publish
        self.settings = settings
        self.clock = clock
        self.replica = replica or settings.replica_id or default_replica()
        self._lease = timedelta(seconds=settings.lease_seconds)
        self._wake = asyncio.Event()
        self._sleeping_until: datetime | None = None
        self._stopping = False

    # -- waking ----------------------------------------------------------------------------

    def notify(self, due_at: datetime) -> None:
        """A deadline was scheduled here: wake the loop if it is due before the loop wakes."""
        if self._sleeping_until is None or due_at < self._sleeping_until:
            self._wake.set()

    def stop(self) -> None:
        """Finish the current round, then leave `run`."""
        self._stopping = True
        self._wake.set()

    async def _sleep(self) -> None:
        self._wake.clear()  # before looking: a notify from now on is not lost
        now = self.clock()
        until = now + timedelta(seconds=self.settings.max_idle_seconds)
        due = await self.store.next_due(now)
        if due is not None and due < until:
            until = due
        delay = (until - now).total_seconds()
        if delay <= 0 or self._stopping:
            return
        self._sleeping_until = until
        try:
            # A hair past the due time, so the clock reads it as due when we look.
            await asyncio.wait_for(self._wake.wait(), delay + 0.0005)
        except TimeoutError:
            pass
        finally:
            self._sleeping_until = None

    # -- firing ----------------------------------------------------------------------------

    async def fire_once(self) -> int:
        """One round: claim what is due, publish it, mark it fired. Returns how many claimed."""
        claims = await self._claim()
        if claims:
            await self._finish(claims)
        return len(claims)

    async def _claim(self) -> list[Claim]:
        now = self.clock()
        started = time.perf_counter()
        claims = await self.store.claim_due(
            self.settings.batch_size, now, now + self._lease, self.replica
        )
        metrics.CLAIM_SECONDS.observe(time.perf_counter() - started)
        return claims

    async def _finish(self, claims: Sequence[Claim]) -> None:
        firings, failed = await self._publish_all(claims)
        if firings:
            await self.store.mark_fired(firings)
        if failed:
            await self.store.release(failed, self.clock() + timedelta(seconds=1))

    async def _publish_all(self, claims: Sequence[Claim]) -> tuple[list[Firing], list[Claim]]:
        """Publish the claimed deadlines in due order; returns what went out and what failed."""
        firings: list[Firing] = []
        for claim in claims:
            now = self.clock()
            if now >= claim.lease_until:
                # Stalled past the lease: another replica may fire it now; leave it be.
                log.warning("lease lapsed before publishing", extra=_fields(claim))
                continue
            firings.append(fire(claim, now, self.settings.late_tolerance_ms))
        results = await self.publish([expiry(f) for f in firings])
        published: list[Firing] = []
        failed: list[Claim] = []
        for firing, error in zip(firings, results, strict=True):
            if error is None:
                published.append(firing)
                _observe(firing)
            else:
                metrics.PUBLISH_ERRORS.inc()
                log.warning(
                    "publishing an expiry failed",
                    extra={**_fields(firing.claim), "error": f"{type(error).__name__}: {error}"},
                )
                failed.append(firing.claim)
        return published, failed

    async def _fire_loop(self) -> None:
        """Rounds back to back while batches are full, the next claim overlapping the last
        batch's publishing; a batch is published only after the one before it is out."""
        finishing: asyncio.Task[None] | None = None
        try:
            while not self._stopping:
                try:
                    claims = await self._claim()
                    if finishing is not None:
                        await finishing
                    finishing = asyncio.create_task(self._finish(claims)) if claims else None
                    if len(claims) < self.settings.batch_size:
                        if finishing is not None:
                            await finishing
                            finishing = None
                        await self._sleep()
                except Exception:
                    finishing = None
                    metrics.CLAIM_ERRORS.inc()
                    log.exception("firing round failed")
                    await asyncio.sleep(min(1.0, self.settings.max_idle_seconds))
        finally:
            if finishing is not None:
                await asyncio.gather(finishing, return_exceptions=True)

    # -- maintenance -----------------------------------------------------------------------

    async def maintain_once(self) -> None:
        """Read slots ahead, cascade, sweep; wake the fire loop if something is due sooner."""
        now = self.clock()
        await self.store.maintain(now)
        due = await self.store.next_due(now)
        if due is not None:
            self.notify(due)

    async def cleanup_once(self) -> int:
        older_than = self.clock() - timedelta(seconds=self.settings.retention_seconds)
        removed = await self.store.cleanup(older_than)
        metrics.CLEANED.inc(removed)
        metrics.PENDING.set(await self.store.pending())
        if removed:
            log.info("cleanup", extra={"removed": removed})
        return removed

    async def _every(self, seconds: float, once: Callable[[], Awaitable[object]]) -> None:
        """Run `once` every `seconds` (after a first wait) until `stop`; a failure is counted
        and logged, and the next round goes ahead."""
        while not self._stopping:
            await asyncio.sleep(seconds)
            try:
                await once()
            except Exception:
                metrics.MAINTENANCE_ERRORS.inc()
                log.exception("%s failed", once.__name__)

    async def run(self) -> None:
        """Run the fire loop, the maintenance and the cleanup until `stop` or cancellation."""
        log.info("scheduler started", extra={"replica": self.replica})
        await self.store.prepare()
        await self.maintain_once()  # read what is overdue before the first round
        tasks = [
            asyncio.create_task(self._fire_loop()),
            asyncio.create_task(self._every(self.settings.maintenance_seconds, self.maintain_once)),
            asyncio.create_task(self._every(self.settings.cleanup_seconds, self.cleanup_once)),
        ]
        try:
            await tasks[0]
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self.store.close()
            log.info("scheduler stopped", extra={"replica": self.replica})


def _fields(claim: Claim) -> dict[str, object]:
    return {
        "deadline_id": claim.entry.deadline_id,
        "generation": claim.entry.generation,
        "order_id": claim.entry.order_id,
    }


def _observe(firing: Firing) -> None:
    entry = firing.claim.entry
    metrics.FIRED.labels(entry.owner, entry.kind).inc()
    metrics.LATENESS.observe(firing.lateness_ms / 1000)
    if firing.late:
        metrics.FIRED_LATE.inc()
