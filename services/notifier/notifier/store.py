"""notifier's stores: each delivery claimed once, its outcome recorded once, and what it
learned of orders. Every write that decides something is an insert with a unique `_id`,
the only atomic write FerretDB has (docs/ferretdb.md); every hot read is by `_id`. The
handlers running at once write together (claims, facts, windows: one call per batch,
servicekit/batching.py), each still told its own outcome.

    deliveries          {_id: "<event id>|<recipient>|<template>", the email, lease (gen 1)}
                        the claim: inserted before anything is sent; a duplicate claims nothing
    delivery_leases     {_id: "<key>#<generation>", lease_until, owner}
                        a takeover (or a release) after the previous lease; one winner each
    delivery_outcomes   {_id: key, status, attempts, reason, event}
                        sent or failed: the first outcome wins; `event` is what was published
    deliveries_pending  {_id: key, since}
                        unfinished deliveries: inserted before the claim, deleted after the
                        outcome is published; the recovery reads only this small set. A
                        claim that loses keeps a key it inserted unless an outcome exists
    order_facts         {_id: order id, flow, parties, title, total, client_asked}
                        from OrderCreated / DraftEdited; a projection, replaced as they come
                        (client_asked: set by OrderSentToClient, M-09)
    reminder_windows    {_id: "notifier:<window>:<order id>[:<sub>]", status, opened_by,
                        due_at, closes_at, email}: X-12's open windows and the reminder each would send
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from pydantic import TypeAdapter
from pymongo import ASCENDING, ReplaceOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError, OperationFailure

from contracts.envelope import Role
from notifier.domain import Cause, Email, OrderFacts, Recipient
from notifier.domain.reminders import Open, Window
from servicekit.batching import Outcomes, WriteBatcher
from servicekit.inserts import DUPLICATE_KEY, insert_new

Document = dict[str, Any]


@dataclass(frozen=True)
class Lease:
    """Who works on a delivery until when; generation 1 is the claim itself."""

    generation: int
    until: datetime
    owner: str


@dataclass(frozen=True)
class Outcome:
    """A delivery's end: `event` is the EmailSent / EmailFailed JSON to publish."""

    key: str
    status: str
    attempts: int
    reason: str | None
    event_type: str
    event: str
    finished_at: datetime


@dataclass(frozen=True)
class Pending:
    key: str
    since: datetime


class DeliveryStore(Protocol):
    """Deliveries as the dispatcher needs them (MongoDB below; a dict in unit tests)."""

    async def claim(
        self, emails: Sequence[Email], lease_until: datetime, owner: str, now: datetime
    ) -> list[bool]:
        """Claim each email's delivery; True where this call claimed it first."""
        ...

    async def claimed(self, key: str) -> Email | None: ...

    async def lease(self, key: str) -> Lease | None:
        """The newest lease of a claimed delivery."""
        ...

    async def take_over(self, key: str, generation: int, until: datetime, owner: str) -> bool:
        """Insert lease `generation`; True if this call won it."""
        ...

    async def record(self, outcomes: Sequence[Outcome]) -> list[bool]:
        """Record each outcome; True where it is the first for its delivery."""
        ...

    async def outcome(self, key: str) -> Outcome | None: ...

    async def finish(self, keys: Sequence[str]) -> None:
        """Drop the deliveries from the unfinished set."""
        ...

    async def pending(self, limit: int) -> list[Pending]: ...


class MongoDeliveries:
    """`DeliveryStore` on MongoDB or FerretDB."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.claims: AsyncCollection[Document] = db["deliveries"]
        self.leases: AsyncCollection[Document] = db["delivery_leases"]
        self.outcomes: AsyncCollection[Document] = db["delivery_outcomes"]
        self.unfinished: AsyncCollection[Document] = db["deliveries_pending"]
        # The handlers running at once claim together: one insert_many for all of them.
        self._pending_writes: WriteBatcher[Document] = WriteBatcher(
            lambda docs: _inserts(self.unfinished, docs)
        )
        self._claim_writes: WriteBatcher[Document] = WriteBatcher(
            lambda docs: _inserts(self.claims, docs)
        )

    async def claim(
        self, emails: Sequence[Email], lease_until: datetime, owner: str, now: datetime
    ) -> list[bool]:
        # Pending first: a crash between the two leaves a pending key without a claim,
        # which the recovery drops; the other order could leave a claim nobody finishes.
        pending = await _each_new(
            self._pending_writes, [{"_id": e.key, "since": now} for e in emails]
        )
        docs = [claim_document(e, lease_until, owner, now) for e in emails]
        claimed = await _each_new(self._claim_writes, docs)
        # A pending key that was new while the claim was not: either the delivery had
        # finished (its key was dropped from the set), so this redelivery must not reopen
        # it; or another replica claimed it meanwhile (its pending insert found this key),
        # and the key is now that winner's: dropped, a winner that dies would never be
        # recovered. Only an outcome tells them apart; it is stored before the key is
        # dropped, so a key new here without an outcome is a delivery still in flight.
        lost = [e.key for e, p, c in zip(emails, pending, claimed, strict=True) if p and not c]
        if lost:
            await self.finish(await self._finished(lost))
        return claimed

    async def _finished(self, keys: Sequence[str]) -> list[str]:
        """Those of `keys` whose delivery has an outcome."""
        found = self.outcomes.find({"_id": {"$in": list(keys)}}, {"_id": 1})
        return [str(d["_id"]) async for d in found]

    async def claimed(self, key: str) -> Email | None:
        doc = await self.claims.find_one({"_id": key})
        return None if doc is None else email_from(doc)

    async def lease(self, key: str) -> Lease | None:
        doc = await self.claims.find_one({"_id": key}, {"lease_until": 1, "owner": 1})
        if doc is None:
            return None
        current = Lease(1, doc["lease_until"], doc["owner"])
        while True:  # generations are few: one per crash or release
            newer = await self.leases.find_one({"_id": f"{key}#{current.generation + 1}"})
            if newer is None:
                return current
            current = Lease(current.generation + 1, newer["lease_until"], newer["owner"])

    async def take_over(self, key: str, generation: int, until: datetime, owner: str) -> bool:
        doc = {"_id": f"{key}#{generation}", "key": key, "lease_until": until, "owner": owner}
        [won] = await _insert_all(self.leases, [doc])
        return won

    async def record(self, outcomes: Sequence[Outcome]) -> list[bool]:
        return await _insert_all(self.outcomes, [outcome_document(o) for o in outcomes])

    async def outcome(self, key: str) -> Outcome | None:
        doc = await self.outcomes.find_one({"_id": key})
        return None if doc is None else outcome_from(doc)

    async def finish(self, keys: Sequence[str]) -> None:
        # One statement: FerretDB scans the collection for `$in`, but this set is small (the
        # deliveries in flight), and one `_id` delete per key took a write lock per key:
        # 200 of them 0.7-1.5 s on the shared dev store against 0.3 s for one `$in`.
        if keys:
            await self.unfinished.delete_many({"_id": {"$in": list(keys)}})

    async def pending(self, limit: int) -> list[Pending]:
        return [
            Pending(str(d["_id"]), d["since"]) async for d in self.unfinished.find({}).limit(limit)
        ]


async def _insert_all(collection: AsyncCollection[Document], docs: list[Document]) -> list[bool]:
    """Insert each document; True where it was new, False where its `_id` existed."""
    taken = await insert_new(collection, docs)
    return [i not in taken for i in range(len(docs))]


async def _inserts(collection: AsyncCollection[Document], docs: Sequence[Document]) -> Outcomes:
    """A batch of inserts for `WriteBatcher`: a taken `_id` is its own document's error."""
    taken = await insert_new(collection, docs)
    return [
        DuplicateKeyError("_id taken", DUPLICATE_KEY) if i in taken else None
        for i in range(len(docs))
    ]


async def _each_new(writes: WriteBatcher[Document], docs: Sequence[Document]) -> list[bool]:
    """Insert each document with whatever else is waiting; True where it was new."""
    outcomes = await asyncio.gather(*(writes.submit(d) for d in docs), return_exceptions=True)
    for outcome in outcomes:
        if isinstance(outcome, BaseException) and not isinstance(outcome, DuplicateKeyError):
            raise outcome
    return [outcome is None for outcome in outcomes]


async def _replace_all(collection: AsyncCollection[Document], docs: Sequence[Document]) -> Outcomes:
    """A batch of upserts by `_id` for `WriteBatcher`; of two for one `_id`, the later wins.

    Most are new (an order's facts from its OrderCreated, a window opening): they are
    inserted, which FerretDB does about ten times faster than upserts (64 in 3-22 ms
    against 45-130 ms on the shared dev store); only those whose `_id` exists are replaced.
    """
    last = {d["_id"]: i for i, d in enumerate(docs)}
    chosen = sorted(last.values())
    try:
        taken = await insert_new(collection, [docs[i] for i in chosen])
    except BulkWriteError as e:
        return [OperationFailure(str(e))] * len(docs)
    chosen = [chosen[i] for i in sorted(taken)]
    if not chosen:
        return [None] * len(docs)
    try:
        await collection.bulk_write(
            [ReplaceOne({"_id": docs[i]["_id"]}, docs[i], upsert=True) for i in chosen],
            ordered=False,
        )
    except BulkWriteError as e:
        failed = {chosen[w["index"]]: w for w in e.details.get("writeErrors", [])}
        return [
            OperationFailure(str(failed[last[d["_id"]]].get("errmsg")))
            if last[d["_id"]] in failed
            else None
            for d in docs
        ]
    return [None] * len(docs)


#: A cause and an order's facts as stored (JSON but for the moment, which MongoDB keeps as a
#: date) and read back; a field an older document lacks takes its default.
CAUSE: TypeAdapter[Cause] = TypeAdapter(Cause)
FACTS: TypeAdapter[OrderFacts] = TypeAdapter(OrderFacts)


def claim_document(email: Email, lease_until: datetime, owner: str, now: datetime) -> Document:
    return {
        "_id": email.key,
        "delivery_id": str(email.delivery_id),
        "status": "sending",
        **email_document(email),
        "claimed_at": now,
        "lease_until": lease_until,
        "owner": owner,
    }


def email_document(email: Email) -> Document:
    """An email as stored: what `email_from` reads back (no address leaves the store)."""
    cause, recipient = email.cause, email.recipient
    return {
        "cause": {**CAUSE.dump_python(cause, mode="json"), "occurred_at": cause.occurred_at},
        "order_id": str(cause.order_id) if cause.order_id else None,
        "template": email.template,
        "rules": list(email.rules),
        "recipient": {
            "role": recipient.role.value,
            "party_id": recipient.party_id,
            "address": recipient.address,
            "name": recipient.name,
            "token": recipient.token,
        },
        "context": dict(email.context),
    }


def email_from(doc: Mapping[str, Any]) -> Email:
    cause, recipient = doc["cause"], doc["recipient"]
    return Email(
        cause=CAUSE.validate_python(cause),
        template=doc["template"],
        recipient=Recipient(
            role=Role(recipient["role"]),
            party_id=recipient.get("party_id"),
            address=recipient.get("address"),
            name=recipient.get("name", ""),
        ),
        rules=tuple(doc.get("rules", ())),
        context=dict(doc.get("context", {})),
    )


def outcome_document(outcome: Outcome) -> Document:
    doc = asdict(outcome)
    return {"_id": doc.pop("key"), **doc}


def outcome_from(doc: Mapping[str, Any]) -> Outcome:
    return Outcome(key=str(doc["_id"]), **{k: v for k, v in doc.items() if k != "_id"})


class FactsStore:
    """What the notifier learned of each order (its parties with their contacts).

    Keyed by order id, and ordering publishes one order's events in order on one
    partition, so the last event is the truth: a plain replace is enough (as ordering's
    own accounts projection does).
    """

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.collection: AsyncCollection[Document] = db["order_facts"]
        self._writes: WriteBatcher[Document] = WriteBatcher(
            lambda docs: _replace_all(self.collection, docs)
        )

    async def remember(self, facts: OrderFacts) -> None:
        await self._writes.submit(facts_document(facts))

    async def get(self, order_id: uuid.UUID) -> OrderFacts | None:
        doc = await self.collection.find_one({"_id": str(order_id)})
        return None if doc is None else facts_from(doc)

    async def client_asked(self, order_id: uuid.UUID) -> None:
        """M-09: the order was put to its client (OrderSentToClient)."""
        await self.collection.update_one({"_id": str(order_id)}, {"$set": {"client_asked": True}})


def facts_document(facts: OrderFacts) -> Document:
    doc = FACTS.dump_python(facts, mode="json")
    return {"_id": doc.pop("order_id"), **doc}


def facts_from(doc: Mapping[str, Any]) -> OrderFacts:
    return FACTS.validate_python({**doc, "order_id": doc["_id"]})


class MongoWindows:
    """`handlers.Windows` on MongoDB: one document per window, replaced when it opens again.

    Keyed by window (order id and window name), and the events that open and close a
    window come on one topic with the order as key: the last write is the truth.
    """

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.collection: AsyncCollection[Document] = db["reminder_windows"]
        self._writes: WriteBatcher[Document] = WriteBatcher(
            lambda docs: _replace_all(self.collection, docs)
        )

    async def open(self, window: Open) -> None:
        doc = {
            "_id": window.window_id,
            "status": "open",
            "opened_by": str(window.opened_by),
            "due_at": window.due_at,
            "closes_at": window.closes_at,
            "email": email_document(window.email),
        }
        await self._writes.submit(doc)

    async def close(self, window_id: str) -> None:
        await self.collection.update_one({"_id": window_id}, {"$set": {"status": "closed"}})

    async def get(self, window_id: str) -> Window | None:
        doc = await self.collection.find_one({"_id": window_id})
        if doc is None:
            return None
        closes_at = doc["closes_at"]
        return Window(
            window_id=window_id,
            open=doc["status"] == "open",
            opened_by=doc["opened_by"],
            # MongoDB gives datetimes back naive, in UTC.
            closes_at=closes_at if closes_at.tzinfo else closes_at.replace(tzinfo=UTC),
            email=email_from(doc["email"]),
        )


async def create_indexes(db: AsyncDatabase[Document]) -> None:
    """Indexes for the read side (deliveries of an order). FerretDB ignores them."""
    await db["deliveries"].create_index([("order_id", ASCENDING)])
