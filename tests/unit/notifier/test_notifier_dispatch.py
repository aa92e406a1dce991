"""The delivery engine with an in-memory store and SMTP server (X-06): once per delivery,
retries within a bound, EmailSent / EmailFailed, recovery after a dead sender."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from contracts.envelope import Contact, Event, Role
from contracts.notifications import EmailFailed, EmailSent
from notifier import handlers, mail
from notifier.dispatch import Dispatcher, DispatchSettings
from notifier.domain import Email, OrderFacts, RetryPolicy, plan
from notifier.store import Outcome
from tests.unit.notifier import notifier_kit as k

ORIGIN = mail.Origin(address="no-reply@orderflow.example")
FAST = RetryPolicy(
    max_attempts=4,
    first_delay=timedelta(milliseconds=10),
    max_delay=timedelta(milliseconds=40),
    within=timedelta(seconds=10),
)


class Harness:
    def __init__(self, smtp: k.FakeSmtp | None = None, **settings: Any) -> None:
        self.store = k.MemoryDeliveries()
        self.smtp = smtp or k.FakeSmtp()
        self.published: list[Event] = []
        defaults: dict[str, Any] = {"owner": "test", "recovery_interval": timedelta(hours=1)}
        self.dispatcher = Dispatcher(
            store=self.store,
            sender=self.smtp,
            origin=ORIGIN,
            retry=settings.pop("retry", FAST),
            settings=DispatchSettings(**(defaults | settings)),
            publish=self.publish,
            clock=lambda: datetime.now(UTC),
            rand=lambda: 0.5,
        )
        self.task: asyncio.Task[None] | None = None

    async def publish(self, topic: str, *events: Event) -> None:
        assert topic == "notifications.events"
        self.published.extend(events)

    def start(self) -> None:
        self.task = asyncio.create_task(self.dispatcher.run())

    async def stop(self) -> None:
        assert self.task is not None
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task

    async def until(self, done: Callable[[], bool], timeout: float = 5.0) -> None:
        async with asyncio.timeout(timeout):
            while not done():
                await asyncio.sleep(0.005)

    def of(self, kind: type[Event]) -> list[Any]:
        return [e for e in self.published if isinstance(e, kind)]


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    h = Harness()
    h.start()
    yield h
    await h.stop()


def receipt(address: str = "billing@example.com") -> list[Email]:
    return plan(k.completed(receipt_to=Contact(email=address)), None, k.POLICY)


async def test_X06_an_email_is_sent_once_and_announced_with_email_sent(harness: Harness) -> None:
    emails = receipt()
    assert await harness.dispatcher.submit(emails) == 1
    await harness.until(lambda: bool(harness.published) and harness.dispatcher.holding == 0)
    [(message, sender, recipient)] = harness.smtp.accepted
    assert (sender, recipient) == ("no-reply@orderflow.example", "billing@example.com")
    assert message["X-Orderflow-Template"] == "receipt"
    [sent] = harness.of(EmailSent)
    assert (sent.delivery_id, sent.attempts, sent.template) == (emails[0].delivery_id, 1, "receipt")
    assert sent.causation_id == emails[0].cause.message_id
    assert sent.email_message_id == message["Message-ID"]
    assert harness.store.unfinished == {}
    assert harness.dispatcher.holding == 0


async def test_X06_a_redelivered_event_sends_nothing_more(harness: Harness) -> None:
    event = k.payment_overdue()
    assert await harness.dispatcher.submit(plan(event, None, k.POLICY)) == 2
    assert await harness.dispatcher.submit(plan(k.wire(event), None, k.POLICY)) == 0
    await harness.until(lambda: len(harness.published) == 2)
    assert await harness.dispatcher.submit(plan(k.wire(event), None, k.POLICY)) == 0
    await asyncio.sleep(0.05)
    assert len(harness.smtp.accepted) == 2
    assert len(harness.published) == 2
    assert harness.store.unfinished == {}, "a late redelivery leaves nothing pending"


async def test_X06_a_server_refusing_for_a_while_gets_retries_and_the_email_goes_once() -> None:
    h = Harness(k.FakeSmtp(refusals=2, code=451))
    h.start()
    try:
        await h.dispatcher.submit(receipt())
        await h.until(lambda: bool(h.published))
    finally:
        await h.stop()
    assert h.smtp.attempts == 3
    assert len(h.smtp.accepted) == 1
    [sent] = h.of(EmailSent)
    assert sent.attempts == 3


async def test_X06_a_server_that_keeps_refusing_yields_email_failed() -> None:
    h = Harness(k.FakeSmtp(refusals=100, code=421))
    h.start()
    try:
        [email] = receipt()
        await h.dispatcher.submit([email])
        await h.until(lambda: bool(h.published))
    finally:
        await h.stop()
    assert h.smtp.attempts == FAST.max_attempts
    [failed] = h.of(EmailFailed)
    assert (failed.reason, failed.smtp_code, failed.attempts) == ("retries_exhausted", 421, 4)
    assert failed.delivery_id == email.delivery_id
    assert "billing@example.com" not in failed.model_dump_json()
    assert h.store.outcomes[email.key].status == "failed"


async def test_X06_a_permanent_refusal_is_not_retried() -> None:
    h = Harness(k.FakeSmtp(refusals=1, code=550))
    h.start()
    try:
        await h.dispatcher.submit(receipt())
        await h.until(lambda: bool(h.published))
    finally:
        await h.stop()
    [failed] = h.of(EmailFailed)
    assert (failed.reason, failed.smtp_code, h.smtp.attempts) == ("refused", 550, 1)


async def test_X06_an_email_nobody_gave_an_address_for_fails_visibly_without_smtp(
    harness: Harness,
) -> None:
    emails = plan(k.rejected(), None, k.POLICY)  # no OrderCreated seen: no member address
    await harness.dispatcher.submit(emails)
    await harness.until(lambda: bool(harness.published))
    [failed] = harness.of(EmailFailed)
    assert (failed.reason, failed.recipient_role, failed.attempts) == (
        "no_recipient_address",
        Role.MEMBER,
        0,
    )
    assert harness.smtp.attempts == 0


async def test_X06_a_dead_sender_s_delivery_is_taken_over_once_its_lease_expired() -> None:
    h = Harness()
    [email] = receipt()
    past = datetime.now(UTC) - timedelta(minutes=10)
    await h.store.claim([email], lease_until=past + timedelta(minutes=5), owner="dead", now=past)
    h.start()  # its first recovery round finds the delivery
    try:
        await h.until(lambda: bool(h.published))
    finally:
        await h.stop()
    assert len(h.smtp.accepted) == 1
    lease = await h.store.lease(email.key)
    assert lease is not None and (lease.generation, lease.owner) == (2, "test")


async def test_X06_a_live_sender_s_delivery_is_left_alone_by_the_recovery() -> None:
    h = Harness()
    [email] = receipt()
    now = datetime.now(UTC)
    await h.store.claim([email], lease_until=now + timedelta(minutes=5), owner="alive", now=now)
    assert await h.dispatcher.recover() == 0
    assert h.smtp.attempts == 0


async def test_X06_an_outcome_recorded_but_never_announced_is_announced_by_the_recovery() -> None:
    h = Harness()
    [email] = receipt()
    now = datetime.now(UTC)
    await h.store.claim([email], lease_until=now, owner="dead", now=now)
    event = EmailSent(
        message_id=email.delivery_id,
        occurred_at=now,
        correlation_id=email.cause.correlation_id,
        actor=k.OPERATOR,
        order_id=email.cause.order_id,
        delivery_id=email.delivery_id,
        cause_id=email.cause.message_id,
        cause_type=email.cause.type,
        template=email.template,
        recipient_role=Role.CUSTOMER,
        rules=["A-10"],
        attempts=1,
        email_message_id="<x@y>",
        sent_at=now,
    )
    outcome = Outcome(email.key, "sent", 1, None, "EmailSent", event.model_dump_json(), now)
    await h.store.record([outcome])
    await h.dispatcher.recover()
    assert h.published == [event]
    assert h.smtp.attempts == 0, "recorded as sent: never sent again"
    assert h.store.unfinished == {}


async def test_X06_a_delivery_whose_senders_keep_dying_is_abandoned() -> None:
    h = Harness(max_generations=3)
    [email] = receipt()
    past = datetime.now(UTC) - timedelta(hours=1)
    await h.store.claim([email], lease_until=past, owner="dead", now=past)
    for generation in (2, 3):
        await h.store.take_over(email.key, generation, past, "dead")
    h.start()
    try:
        await h.until(lambda: bool(h.published))
    finally:
        await h.stop()
    [failed] = h.of(EmailFailed)
    assert failed.reason == "abandoned"
    assert h.smtp.attempts == 0


async def test_X06_the_lease_is_renewed_before_an_attempt_that_could_outlast_it() -> None:
    h = Harness(lease=timedelta(minutes=5), attempt_budget=timedelta(minutes=10))
    h.start()
    try:
        [email] = receipt()
        await h.dispatcher.submit([email])
        await h.until(lambda: bool(h.published))
    finally:
        await h.stop()
    lease = await h.store.lease(email.key)
    assert lease is not None and lease.generation == 2


async def test_X06_a_sender_whose_lease_was_taken_over_does_not_send() -> None:
    h = Harness(lease=timedelta(minutes=5), attempt_budget=timedelta(minutes=10))
    [email] = receipt()
    h.start()
    try:
        now = datetime.now(UTC)
        await h.store.take_over(email.key, 2, now + timedelta(hours=1), "someone-else")
        await h.dispatcher.submit([email])
        await h.until(lambda: h.dispatcher.holding == 0)
    finally:
        await h.stop()
    assert h.smtp.attempts == 0
    assert h.published == []


async def test_X06_on_shutdown_the_deliveries_still_queued_are_handed_back_at_once() -> None:
    h = Harness(k.FakeSmtp(delay=0.05), workers=1, drain=timedelta(seconds=1))
    h.start()
    emails = [e for n in range(5) for e in receipt(f"r{n}@example.com")]
    await h.dispatcher.submit(emails)
    await asyncio.sleep(0.02)
    await h.stop()
    sent = {e.delivery_id for e in h.of(EmailSent)}
    assert len(sent) == len(h.smtp.accepted) >= 1, "the email being sent finished"
    now = datetime.now(UTC)
    for email in emails:
        if email.delivery_id in sent:
            continue
        lease = await h.store.lease(email.key)
        assert lease is not None and lease.owner.startswith("released:")
        assert lease.until <= now, "released: the next recovery takes it at once"
    assert h.smtp.closed


async def test_X06_a_full_replica_holds_the_handler_until_a_delivery_finishes() -> None:
    h = Harness(k.FakeSmtp(delay=0.1), max_in_flight=1, workers=1)
    h.start()
    try:
        await h.dispatcher.submit(receipt("one@example.com"))
        started = asyncio.get_running_loop().time()
        await h.dispatcher.submit(receipt("two@example.com"))
        waited = asyncio.get_running_loop().time() - started
        await h.until(lambda: len(h.published) == 2)
    finally:
        await h.stop()
    assert waited >= 0.05


class MemoryFacts:
    def __init__(self) -> None:
        self.facts: dict[Any, OrderFacts] = {}
        self.reads = 0

    async def remember(self, facts: OrderFacts) -> None:
        self.facts[facts.order_id] = facts

    async def get(self, order_id: Any) -> OrderFacts | None:
        self.reads += 1
        return self.facts.get(order_id)

    async def client_asked(self, order_id: Any) -> None:
        if order_id in self.facts:
            self.facts[order_id] = dataclasses.replace(self.facts[order_id], client_asked=True)


class Recorder:
    def __init__(self) -> None:
        self.emails: list[Email] = []

    async def submit(self, emails: Any) -> int:
        self.emails.extend(emails)
        return len(emails)


async def test_X06_the_handler_learns_the_parties_and_addresses_later_emails_with_them() -> None:
    facts, submitted = MemoryFacts(), Recorder()
    deps = handlers.Deps(facts=facts, dispatcher=submitted, policy=k.POLICY)
    await handlers.handle_event(k.managed_created(), deps)
    assert submitted.emails == []
    await handlers.handle_event(k.rejected(), deps)
    [email] = submitted.emails
    assert (email.template, email.recipient.address) == ("order_rejected", "member@example.com")


async def test_X06_the_handler_reads_no_facts_for_events_that_carry_their_recipient() -> None:
    facts, submitted = MemoryFacts(), Recorder()
    deps = handlers.Deps(facts=facts, dispatcher=submitted, policy=k.POLICY)
    assert k.ACCOUNT.contact is not None
    await handlers.handle_event(k.completed(receipt_to=k.ACCOUNT.contact), deps)
    await handlers.handle_event(k.managed_created(), deps)
    assert facts.reads == 0
    assert [e.template for e in submitted.emails] == ["receipt"]


async def test_X06_emails_claimed_before_the_workers_start_are_sent_once_they_do() -> None:
    h = Harness()
    await h.dispatcher.submit(receipt())  # the consumer may start before the dispatcher
    h.start()
    try:
        await h.until(lambda: bool(h.published))
    finally:
        await h.stop()
    assert len(h.smtp.accepted) == 1


async def test_X06_a_restarted_dispatcher_picks_up_what_the_stopped_one_handed_back() -> None:
    h = Harness(k.FakeSmtp(delay=0.2), workers=1, drain=timedelta(milliseconds=1))
    h.start()
    emails = [e for n in range(3) for e in receipt(f"again{n}@example.com")]
    await h.dispatcher.submit(emails)
    await asyncio.sleep(0.05)
    await h.stop()
    h.smtp.delay = 0
    h.start()  # the same replica comes back: its first recovery round takes them over
    try:
        await h.until(lambda: len({e.delivery_id for e in h.of(EmailSent)}) == 3)
    finally:
        await h.stop()
    assert sorted(r for _, _, r in h.smtp.accepted) == [f"again{n}@example.com" for n in range(3)]
