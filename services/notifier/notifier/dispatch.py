"""The delivery engine: each email claimed once, sent with retries, recorded, announced.

    handler ── submit(emails) ─▶ claim (unique inserts) ─▶ queue ─▶ workers (pool size)
                                                                    │ render, build, send
                                    temporary failure: a timer ◀────┤
                                    requeues it after the backoff   ▼
                          recorder: outcomes (insert_many) ─▶ EmailSent / EmailFailed ─▶ unpend
    recovery, every interval: unfinished deliveries whose lease expired ─▶ take over ─▶ queue

The handler returns once its emails are claimed (stored, with the email): that is the
effect the offset commit stands for. Sending happens beside the consumer, so a slow or
refusing SMTP server never holds a partition beyond the backpressure bound
(`max_in_flight` deliveries per replica, each finished within the retry bound).

At the SMTP boundary delivery is at least once: a crash after the server accepted an
email and before its outcome is stored makes the next sender send it again, with the
same Message-ID (derived from the delivery key) so that mail systems can drop the copy.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol, TypeVar

from contracts.notifications import NOTIFICATION_EVENTS, EmailFailed, EmailFailureReason, EmailSent
from contracts.topics import NOTIFICATIONS_EVENTS
from notifier import mail, metrics
from notifier.domain import Email, GiveUp, Retry, RetryPolicy, failed, next_try, sent
from notifier.domain.delivery import ACCEPTED, GAVE_UP, RETRIED, TAKEN_OVER
from notifier.rendering import Renderer
from notifier.smtp import SendError, classify, scrub
from notifier.store import DeliveryStore, Outcome
from servicekit import tracing
from servicekit.logs import log_context

log = logging.getLogger("notifier.dispatch")

F = EmailFailureReason
T = TypeVar("T")


class Sender(Protocol):
    async def send(self, message: mail.Mail, sender: str, recipient: str) -> str: ...

    async def close(self) -> None: ...


@dataclass(frozen=True)
class DispatchSettings:
    owner: str
    #: How long a claim (or a takeover) holds a delivery.
    lease: timedelta = timedelta(minutes=5)
    #: An attempt starts only with this much lease left; otherwise the lease is renewed.
    attempt_budget: timedelta = timedelta(seconds=70)
    workers: int = 8
    max_in_flight: int = 2000
    recovery_interval: timedelta = timedelta(seconds=15)
    #: A delivery taken over this many times is given up (`abandoned`): a crash loop ends.
    max_generations: int = 20
    #: A pending key with no claim this old is a handler that died between its inserts.
    orphan_after: timedelta = timedelta(minutes=1)
    #: On shutdown, the emails being sent get this long to finish.
    drain: timedelta = timedelta(seconds=5)


@dataclass
class Job:
    """A delivery this replica holds: its email, lease and attempts so far."""

    email: Email
    generation: int
    lease_until: datetime
    attempts: int = 0
    first_attempt_at: datetime | None = None
    message: mail.Mail | None = None
    #: The handling span's context (W3C headers) when tracing is on: the send's parent.
    trace: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Result:
    job: Job
    event: EmailSent | EmailFailed


@dataclass
class _Held:
    jobs: dict[str, Job] = field(default_factory=dict)
    timers: dict[str, asyncio.Task[None]] = field(default_factory=dict)
    sending: set[asyncio.Task[None]] = field(default_factory=set)


@dataclass(eq=False)
class Dispatcher:
    """Claims, sends, retries, records and recovers deliveries (see the module docstring)."""

    store: DeliveryStore
    sender: Sender
    origin: mail.Origin
    retry: RetryPolicy
    settings: DispatchSettings
    publish: Callable[..., Awaitable[None]]
    clock: Callable[[], datetime]
    rand: Callable[[], float]
    renderer: Renderer = field(default_factory=Renderer)

    def __post_init__(self) -> None:
        self._queue: asyncio.Queue[Job] = asyncio.Queue()
        self._results: asyncio.Queue[Result | None] = asyncio.Queue()
        self._slots = asyncio.Semaphore(self.settings.max_in_flight)
        self._stopped = asyncio.Event()
        self._held = _Held()

    @property
    def holding(self) -> int:
        """How many deliveries this replica holds (queued, sending, waiting to retry)."""
        return len(self._held.jobs)

    # -- the handler's side ----------------------------------------------------------------

    async def submit(self, emails: Sequence[Email]) -> int:
        """Claim each email's delivery and queue the ones this call claimed; returns how
        many. Returns once the claims are stored (waiting while the replica is full)."""
        if not emails:
            return 0
        now = self.clock()
        lease_until = now + self.settings.lease
        claimed = await self.store.claim(emails, lease_until, self.settings.owner, now)
        duplicates = claimed.count(False)
        if duplicates:
            metrics.DUPLICATES.inc(duplicates)
            log.info("already claimed: nothing sent again", extra={"emails": duplicates})
        for email, new in zip(emails, claimed, strict=True):
            if new:
                job = Job(email, generation=1, lease_until=lease_until, trace=tracing.carrier())
                await self._take(job)
        return len(emails) - duplicates

    async def _take(self, job: Job) -> None:
        """Hold `job` and queue it once there is room; hand it back if stopping."""
        if not await self._reserve():
            await self._release(job)
            return
        self._hold(job)
        self._queue.put_nowait(job)

    def _hold(self, job: Job) -> None:
        self._held.jobs[job.email.key] = job
        metrics.IN_FLIGHT.set(len(self._held.jobs))

    async def _reserve(self) -> bool:
        """A slot for one more delivery; False when stopping (the wait ends then too)."""
        if self._stopped.is_set():
            return False
        if not self._slots.locked():
            await self._slots.acquire()
            return True
        acquire = asyncio.ensure_future(self._slots.acquire())
        stop = asyncio.ensure_future(self._stopped.wait())
        await asyncio.wait({acquire, stop}, return_when=asyncio.FIRST_COMPLETED)
        stop.cancel()
        if not acquire.done():
            acquire.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await acquire
        got = acquire.done() and not acquire.cancelled()
        if got and self._stopped.is_set():
            self._slots.release()
            return False
        return got

    # -- running ---------------------------------------------------------------------------

    async def run(self) -> None:
        """Workers, the recorder and the recovery, until cancelled; then drain and release."""
        self._stopped.clear()
        workers = [asyncio.create_task(self._worker()) for _ in range(self.settings.workers)]
        recorder = asyncio.create_task(self._recorder())
        recovery = asyncio.create_task(self._recover_forever())
        try:
            # Not gather: cancelling run() must not cancel the recorder mid-write.
            done, _ = await asyncio.wait(
                [*workers, recorder, recovery], return_when=asyncio.FIRST_EXCEPTION
            )
            for task in done:
                task.result()
        finally:
            await self._shutdown(workers, recorder, recovery)

    async def _shutdown(
        self,
        workers: list[asyncio.Task[None]],
        recorder: asyncio.Task[None],
        recovery: asyncio.Task[None],
    ) -> None:
        self._stopped.set()
        recovery.cancel()
        for task in [*workers, *self._held.timers.values()]:
            task.cancel()
        self._held.timers.clear()  # their deliveries are still held: handed back below
        drain = self.settings.drain.total_seconds()
        # The emails being sent finish (a send cut off mid-way is the likeliest duplicate).
        if self._held.sending:
            await asyncio.wait(set(self._held.sending), timeout=drain)
        for attempt in self._held.sending:
            attempt.cancel()
        self._results.put_nowait(None)  # the recorder records what came in, then ends
        with contextlib.suppress(Exception, asyncio.CancelledError):
            await asyncio.wait_for(recorder, timeout=drain)
        await asyncio.gather(recovery, *workers, return_exceptions=True)
        while not self._results.empty():  # the sentinel, or results too late to record
            self._results.get_nowait()
        for job in list(self._held.jobs.values()):
            await self._release(job)
        with contextlib.suppress(Exception):
            await self.sender.close()
        log.info("dispatcher stopped")

    async def _worker(self) -> None:
        while True:
            job = await self._queue.get()
            if job.email.key not in self._held.jobs:  # handed back meanwhile
                continue
            attempt = asyncio.create_task(self._attempt(job))
            self._held.sending.add(attempt)
            attempt.add_done_callback(self._held.sending.discard)
            # Shielded: a shutdown lets the send finish (within `drain`).
            await asyncio.shield(attempt)

    async def _attempt(self, job: Job) -> None:
        email = job.email
        with log_context(**_about(email)):
            try:
                await self._try_to_send(job)
            except Exception:  # a bug or the store: not the email's fault; try again
                log.exception("delivery attempt crashed; will retry")
                self._retry_later(job, self.retry.first_delay)

    async def _try_to_send(self, job: Job) -> None:
        email = job.email
        if email.recipient.address is None:
            role = email.recipient.role.value
            self._finish(job, GiveUp(F.NO_RECIPIENT_ADDRESS, f"no address known for the {role}"))
            return
        try:
            message = job.message or self._build(job)
        except Exception as error:
            self._finish(job, GiveUp(F.RENDER_FAILED, scrub(str(error), 300)))
            return
        if not await self._hold_lease(job):
            log.warning("delivery dropped: another sender took it over")
            self._forget(email.key)
            return
        now = self.clock()
        job.first_attempt_at = job.first_attempt_at or now
        job.attempts += 1
        try:
            attributes = {"orderflow.template": email.template, "orderflow.attempt": job.attempts}
            with (
                metrics.SEND_SECONDS.time(),
                tracing.client_call("smtp send", job.trace, **attributes),
            ):
                await self.sender.send(message, self.origin.address, email.recipient.address)
        except Exception as error:
            failure = error.failure if isinstance(error, SendError) else classify(error)
            metrics.SEND_ATTEMPTS.labels("temporary" if failure.temporary else "permanent").inc()
            elapsed = self.clock() - job.first_attempt_at
            decision = next_try(self.retry, job.attempts, elapsed, failure, self.rand())
            if isinstance(decision, Retry):
                log.warning(
                    "email attempt failed; will retry",
                    extra={
                        "step": RETRIED.trigger,
                        "attempt": job.attempts,
                        "smtp_code": failure.code,
                        "error": failure.detail,
                        "retry_in_s": round(decision.delay.total_seconds(), 3),
                    },
                )
                self._retry_later(job, decision.delay)
            else:
                self._finish(job, decision)
            return
        metrics.SEND_ATTEMPTS.labels("accepted").inc()
        header = mail.message_id(email, self.origin)
        self._results.put_nowait(Result(job, sent(email, job.attempts, header, self.clock())))

    def _build(self, job: Job) -> mail.Mail:
        rendered = self.renderer.render(job.email)
        job.message = mail.build(job.email, rendered, self.origin, self.clock())
        return job.message

    async def _hold_lease(self, job: Job) -> bool:
        """Make sure the lease outlasts the next attempt; renew it by taking the next
        generation (a unique insert: if someone else took it, they own the delivery)."""
        now = self.clock()
        if job.lease_until - now >= self.settings.attempt_budget:
            return True
        until = now + self.settings.lease
        generation = job.generation + 1
        if not await self.store.take_over(job.email.key, generation, until, self.settings.owner):
            return False
        job.generation, job.lease_until = generation, until
        return True

    def _retry_later(self, job: Job, delay: timedelta) -> None:
        if self._stopped.is_set():
            return  # held, so handed back by the shutdown
        key = job.email.key

        async def requeue() -> None:
            await asyncio.sleep(delay.total_seconds())
            self._held.timers.pop(key, None)
            self._queue.put_nowait(job)

        self._held.timers[key] = asyncio.create_task(requeue())

    def _finish(self, job: Job, give_up: GiveUp) -> None:
        self._results.put_nowait(
            Result(job, failed(job.email, give_up, job.attempts, self.clock()))
        )

    def _forget(self, key: str) -> None:
        if self._held.jobs.pop(key, None) is not None:
            self._slots.release()
        metrics.IN_FLIGHT.set(len(self._held.jobs))

    async def _release(self, job: Job) -> None:
        """Hand a delivery back at once (a lease that ends now), so that the next
        recovery, here or on another replica, picks it up without waiting."""
        self._forget(job.email.key)
        with contextlib.suppress(Exception):
            await self.store.take_over(
                job.email.key, job.generation + 1, self.clock(), f"released:{self.settings.owner}"
            )

    # -- recording outcomes ----------------------------------------------------------------

    async def _recorder(self) -> None:
        while True:
            batch: list[Result] = []
            item = await self._results.get()
            while item is not None:
                batch.append(item)
                if self._results.empty() or len(batch) >= 200:
                    break
                item = self._results.get_nowait()
            if batch:
                try:
                    await self._record(batch)
                except Exception:
                    # Only while stopping: the deliveries stay held and are handed back.
                    log.exception("recording outcomes failed")
            if item is None:
                return

    async def _record(self, batch: list[Result]) -> None:
        """Store the outcomes, publish the first ones, then drop them from the unfinished
        set, in that order: a crash in between is repaired by the recovery."""
        now = self.clock()
        outcomes = [_outcome(r, now) for r in batch]
        first = await self._persist(lambda: self.store.record(outcomes))
        fresh = [r for r, new in zip(batch, first, strict=True) if new]

        async def announce(result: Result) -> None:
            with tracing.under(result.job.trace):  # EmailSent in the trace that asked for it
                await self.publish(NOTIFICATIONS_EVENTS, result.event)

        await self._persist(lambda: asyncio.gather(*(announce(r) for r in fresh)))
        await self._persist(lambda: self.store.finish([o.key for o in outcomes]))
        for result, new in zip(batch, first, strict=True):
            _report(result, new)
            self._forget(result.job.email.key)

    async def _persist(self, write: Callable[[], Awaitable[T]]) -> T:
        """Keep trying a write the outcome depends on; give up only when stopping."""
        delay = 0.2
        while True:
            try:
                return await write()
            except Exception as error:
                if self._stopped.is_set():
                    raise
                log.error("recording an outcome failed; retrying", extra={"error": str(error)})
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    # -- recovery --------------------------------------------------------------------------

    async def _recover_forever(self) -> None:
        while True:
            try:
                await self.recover()
            except Exception:
                log.exception("recovery round failed")
            await asyncio.sleep(self.settings.recovery_interval.total_seconds())

    async def recover(self) -> int:
        """One round over the unfinished deliveries: announce outcomes a dead sender
        recorded, take over those whose lease expired. Returns how many it took over."""
        now = self.clock()
        unfinished = await self.store.pending(limit=max(self.settings.max_in_flight, 100))
        metrics.UNFINISHED.set(len(unfinished))
        taken = 0
        for record in unfinished:
            key = record.key
            if self._stopped.is_set():
                break
            if key in self._held.jobs:
                continue
            lease = await self.store.lease(key)
            if lease is not None and lease.until > now:
                continue  # its sender is alive (maybe announcing its outcome right now)
            outcome = await self.store.outcome(key)
            if outcome is not None:  # recorded, but its sender died before announcing it
                await self.publish(NOTIFICATIONS_EVENTS, NOTIFICATION_EVENTS.parse(outcome.event))
                await self.store.finish([key])
                continue
            email = await self.store.claimed(key)
            if email is None or lease is None:
                if now - record.since > self.settings.orphan_after:
                    await self.store.finish([key])
                continue
            until = now + self.settings.lease
            if not await self.store.take_over(
                key, lease.generation + 1, until, self.settings.owner
            ):
                continue
            taken += 1
            metrics.TAKEOVERS.inc()
            job = Job(email, generation=lease.generation + 1, lease_until=until)
            with log_context(delivery_id=str(email.delivery_id), template=email.template):
                log.warning("delivery taken over", extra={"step": TAKEN_OVER.trigger})
                if lease.generation < self.settings.max_generations:
                    await self._take(job)
                elif await self._reserve():
                    self._hold(job)
                    reason = f"taken over {lease.generation} times: its senders keep dying"
                    self._finish(job, GiveUp(F.ABANDONED, reason))
        return taken


def _outcome(result: Result, now: datetime) -> Outcome:
    event = result.event
    return Outcome(
        key=result.job.email.key,
        status=event.status.value,
        attempts=event.attempts,
        reason=event.reason if isinstance(event, EmailFailed) else None,
        event_type=event.type,
        event=event.model_dump_json(),
        finished_at=now,
    )


def _about(email: Email) -> dict[str, str]:
    """What a delivery's log lines say of it: ids, cause and template, never an address."""
    return {
        "delivery_id": str(email.delivery_id),
        "order_id": str(email.cause.order_id or ""),
        "cause_type": email.cause.type,
        "template": email.template,
    }


def _report(result: Result, first: bool) -> None:
    event, email = result.event, result.job.email
    extra: dict[str, object] = {**_about(email), "attempts": event.attempts}
    if not first:
        log.warning("another sender recorded this delivery first", extra=extra)
    elif isinstance(event, EmailSent):
        metrics.EMAILS_SENT.labels(email.template).inc()
        log.info("email sent", extra={**extra, "step": ACCEPTED.trigger})
    else:
        metrics.EMAILS_FAILED.labels(email.template, event.reason).inc()
        log.warning(
            "email failed",
            extra={
                **extra,
                "step": GAVE_UP.trigger,
                "reason": event.reason,
                "error": event.message,
            },
        )


__all__ = ["DispatchSettings", "Dispatcher", "Job", "Result", "Sender"]
