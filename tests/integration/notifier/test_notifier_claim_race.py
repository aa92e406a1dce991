"""X-06: two replicas claiming one email at the same moment, on the real store (FerretDB in
dev/CI, where only unique inserts are atomic: docs/ferretdb.md). A claim inserts the
pending key, then the claim; the replica whose pending key was new but whose claim lost
must not drop that key, which is now the winner's: if the winner then dies, the recovery
reads only the pending set, and an email without its key would never be sent."""

from __future__ import annotations

import asyncio
import contextlib
import urllib.parse
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pytest
from pymongo import AsyncMongoClient

from contracts.envelope import Contact, Event
from contracts.notifications import EmailSent
from notifier import mail
from notifier.dispatch import Dispatcher, DispatchSettings
from notifier.domain import Email, RetryPolicy, plan
from notifier.smtp import SmtpPool, SmtpSettings
from notifier.store import MongoDeliveries
from servicekit.batching import Outcomes
from tests.integration.notifier.notifier_mail import address, mails_to, wait_for_mails
from tests.unit.notifier import notifier_kit as k

pytestmark = pytest.mark.timeout(120)

#: A claim's lease: the winner is dead once it ends (compressed from minutes).
LEASE = timedelta(seconds=2)
T = TypeVar("T")


@pytest.fixture
async def db(stack: Any, database_name: str) -> AsyncIterator[Any]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(stack.mongodb_uri, tz_aware=True)
    yield client[database_name]
    await client.close()


class Held:
    """A write batcher whose first write waits until the test lets it go: the claim of
    the replica it stands in, held between its pending insert and its claim insert."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.reached = asyncio.Event()
        self.go = asyncio.Event()

    async def submit(self, doc: dict[str, Any]) -> Outcomes:
        self.reached.set()
        await self.go.wait()
        result: Outcomes = await self.inner.submit(doc)
        return result


def held_between_its_inserts(store: MongoDeliveries, monkeypatch: pytest.MonkeyPatch) -> Held:
    held = Held(store._claim_writes)
    monkeypatch.setattr(store, "_claim_writes", held)
    return held


async def raced(
    loser: Callable[[], Coroutine[Any, Any, T]], winner: Callable[[], Awaitable[T]], held: Held
) -> tuple[T, T]:
    """The interleaving that lost the key: the loser's pending key is new (inserted
    first), the winner's pending insert finds it and its claim wins, then the loser's
    claim finds the winner's."""
    losing = asyncio.create_task(loser())
    await held.reached.wait()
    won = await winner()
    held.go.set()
    return await losing, won


def receipt(to: str) -> Email:
    [email] = plan(k.completed(receipt_to=Contact(email=to)), None, k.POLICY)
    return email


async def pending_keys(store: MongoDeliveries) -> set[str]:
    return {p.key for p in await store.pending(10_000)}


async def test_X06_the_claim_that_lost_keeps_the_winners_pending_key(
    db: Any, run_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = MongoDeliveries(db), MongoDeliveries(db)
    email = receipt(address(run_id, "race"))
    now = datetime.now(UTC)
    held = held_between_its_inserts(a, monkeypatch)
    lost, won = await raced(
        lambda: a.claim([email], now + LEASE, "replica-a", now),
        lambda: b.claim([email], now + LEASE, "replica-b", now),
        held,
    )
    assert (lost, won) == ([False], [True])
    lease = await a.lease(email.key)
    assert lease is not None and lease.owner == "replica-b"
    assert email.key in await pending_keys(a), "the winner's delivery is still unfinished"


class Replica:
    """A notifier replica's dispatcher on the real store and the real SMTP catcher."""

    def __init__(self, db: Any, stack: Any, owner: str) -> None:
        url = urllib.parse.urlsplit(stack.smtp_url)
        assert url.hostname and url.port
        self.store = MongoDeliveries(db)
        self.published: list[Event] = []
        self.dispatcher = Dispatcher(
            store=self.store,
            sender=SmtpPool(SmtpSettings(host=url.hostname, port=url.port, tls="auto")),
            origin=mail.Origin(address="no-reply@orderflow.example"),
            retry=RetryPolicy(first_delay=timedelta(milliseconds=100)),
            settings=DispatchSettings(
                owner=owner,
                lease=LEASE,
                attempt_budget=timedelta(milliseconds=500),
                recovery_interval=timedelta(milliseconds=200),
            ),
            publish=self.publish,
            clock=lambda: datetime.now(UTC),
            rand=lambda: 0.5,
        )

    async def publish(self, topic: str, *events: Event) -> None:
        self.published.extend(events)


async def until(done: Callable[[], Awaitable[bool]], what: str, timeout: float = 30.0) -> None:
    try:
        async with asyncio.timeout(timeout):
            while not await done():
                await asyncio.sleep(0.1)
    except TimeoutError:
        raise AssertionError(f"not within {timeout}s: {what}") from None


async def test_X06_delivered_to_two_replicas_at_once_one_email_goes_even_if_the_winner_dies(
    db: Any, stack: Any, run_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both replicas handle the same event at the same moment; the winner dies before
    sending (it never runs its workers); the other replica's recovery finds the email
    once the winner's lease ends, and sends it once."""
    survivor, dead = Replica(db, stack, "replica-a"), Replica(db, stack, "replica-b")
    to = address(run_id, "race")
    email = receipt(to)
    held = held_between_its_inserts(survivor.store, monkeypatch)
    queued, won = await raced(
        lambda: survivor.dispatcher.submit([email]), lambda: dead.dispatcher.submit([email]), held
    )
    assert (queued, won) == (0, 1), "claimed once: by the replica that then dies"
    running = asyncio.create_task(survivor.dispatcher.run())
    try:
        [sent] = await wait_for_mails(stack.maildir, to, timeout=30)
        assert sent["X-Orderflow-Template"] == email.template

        async def finished() -> bool:
            return await survivor.store.outcome(
                email.key
            ) is not None and email.key not in await pending_keys(survivor.store)

        await until(finished, "the outcome recorded and the delivery finished")
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
        await dead.dispatcher.sender.close()
    assert len(mails_to(stack.maildir, to)) == 1
    # The pending set is the run's (other tests' dead winners are recovered here too).
    ours = [e for e in survivor.published if getattr(e, "delivery_id", None) == email.delivery_id]
    assert [type(e) for e in ours] == [EmailSent]
    outcome = await survivor.store.outcome(email.key)
    assert outcome is not None and outcome.status == "sent"
