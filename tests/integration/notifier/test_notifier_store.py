"""The notifier's store on the real document store (FerretDB in dev/CI): claims, leases and
outcomes are unique inserts, so racing senders cannot both win (X-06, docs/ferretdb.md)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from contracts.envelope import Contact, Role
from notifier.domain import plan
from notifier.queries import deliveries_of_event
from notifier.store import FactsStore, MongoDeliveries, Outcome
from tests.unit.notifier import notifier_kit as k

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
async def db(stack: Any, database_name: str) -> AsyncIterator[Any]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(stack.mongodb_uri, tz_aware=True)
    yield client[database_name]
    await client.close()


def receipt_email(address: str = "racer@example.com") -> Any:
    [email] = plan(k.completed(receipt_to=Contact(email=address)), None, k.POLICY)
    return email


async def went(store: MongoDeliveries, emails: list[Any], now: datetime) -> None:
    """Finish deliveries as the dispatcher does: the outcome stored, then the key dropped."""
    await store.record([Outcome(e.key, "sent", 1, None, "EmailSent", "{}", now) for e in emails])
    await store.finish([e.key for e in emails])


async def test_X06_eight_racing_claims_of_one_delivery_have_exactly_one_winner(db: Any) -> None:
    store = MongoDeliveries(db)
    emails = [receipt_email(f"racer-{n}@example.com") for n in range(20)]
    now = datetime.now(UTC)

    async def racer(name: str) -> list[bool]:
        return await store.claim(emails, now + timedelta(minutes=5), name, now)

    results = await asyncio.gather(*(racer(f"replica-{n}") for n in range(8)))
    for index in range(len(emails)):
        assert sum(r[index] for r in results) == 1


async def test_X06_racing_takeovers_of_one_lease_generation_have_exactly_one_winner(
    db: Any,
) -> None:
    store = MongoDeliveries(db)
    email = receipt_email()
    past = datetime.now(UTC) - timedelta(minutes=10)
    assert await store.claim([email], past, "dead", past) == [True]
    wins = await asyncio.gather(
        *(store.take_over(email.key, 2, datetime.now(UTC), f"replica-{n}") for n in range(8))
    )
    assert sum(wins) == 1
    lease = await store.lease(email.key)
    assert lease is not None and lease.generation == 2
    assert lease.owner == f"replica-{wins.index(True)}"


async def test_X06_the_first_outcome_wins_and_the_delivery_leaves_the_unfinished_set(
    db: Any,
) -> None:
    store = MongoDeliveries(db)
    email = receipt_email()
    now = datetime.now(UTC)
    await store.claim([email], now, "me", now)
    assert email.key in {p.key for p in await store.pending(10_000)}
    sent = Outcome(email.key, "sent", 1, None, "EmailSent", "{}", now)
    failed = Outcome(email.key, "failed", 3, "retries_exhausted", "EmailFailed", "{}", now)
    assert await store.record([sent]) == [True]
    assert await store.record([failed]) == [False]
    await store.finish([email.key])
    assert email.key not in {p.key for p in await store.pending(10_000)}
    recorded = await store.outcome(email.key)
    assert recorded is not None and recorded.status == "sent"


async def test_X06_a_redelivery_after_the_email_went_claims_nothing_and_leaves_nothing_open(
    db: Any,
) -> None:
    store = MongoDeliveries(db)
    email = receipt_email()
    now = datetime.now(UTC)
    assert await store.claim([email], now, "me", now) == [True]
    await went(store, [email], now)
    assert await store.claim([email], now, "me", now) == [False]
    assert email.key not in {p.key for p in await store.pending(10_000)}


async def test_X06_a_claim_keeps_the_email_so_another_replica_can_send_it(db: Any) -> None:
    store = MongoDeliveries(db)
    [email] = plan(k.sent_to_client(), k.MANAGED_FACTS, k.POLICY)
    now = datetime.now(UTC)
    await store.claim([email], now, "me", now)
    again = await store.claimed(email.key)
    assert again is not None
    assert (again.key, again.delivery_id, again.recipient) == (
        email.key,
        email.delivery_id,
        email.recipient,
    )
    assert again.context == email.context
    [view] = await deliveries_of_event(db, email.cause.message_id)
    assert (view.template, view.recipient_role, view.status) == (
        "client_confirmation_request",
        "client",
        "sending",
    )


async def test_X06_the_facts_of_an_order_are_replaced_by_a_later_draft_edit(db: Any) -> None:
    store = FactsStore(db)
    order_id = uuid.uuid4()
    created = k.learn_for(order_id, k.managed_created())
    await store.remember(created)
    new_client = k.party("client-9", Role.CLIENT, "client9@example.com")
    await store.remember(k.learn_for(order_id, k.draft_edited(new_client)))
    facts = await store.get(order_id)
    assert facts is not None
    assert facts.party(Role.CLIENT) == new_client
    assert facts.title == "Yearly maintenance"
    assert await store.get(uuid.uuid4()) is None


async def test_X06_claims_batched_across_handlers_delivered_twice_claim_each_email_once(
    db: Any,
) -> None:
    """Concurrent handlers share one insert_many; a redelivery that lands in the same batch
    as new emails, or in the same batch as its own first delivery, still claims once."""
    store = MongoDeliveries(db)
    now = datetime.now(UTC)
    until = now + timedelta(minutes=5)
    done = [receipt_email(f"done-{n}@example.com") for n in range(5)]
    assert await store.claim(done, until, "me", now) == [True] * 5
    await went(store, done, now)
    fresh = [receipt_email(f"fresh-{n}@example.com") for n in range(5)]
    twice = await asyncio.gather(
        *(store.claim([e], until, "me", now) for e in done),
        *(store.claim([e], until, "me", now) for e in fresh),
        *(store.claim([e], until, "me", now) for e in fresh),
    )
    assert twice[:5] == [[False]] * 5, "finished deliveries are not claimed again"
    first, again = twice[5:10], twice[10:]
    assert all(a != b for [a], [b] in zip(first, again, strict=True)), "one claim each"
    pending = {p.key for p in await store.pending(10_000)}
    assert not pending & {e.key for e in done}, "a redelivery reopens nothing"
    assert {e.key for e in fresh} <= pending
