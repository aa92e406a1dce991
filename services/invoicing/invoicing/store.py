"""invoicing's stores: ledgers (versioned aggregates) and the issuers' gap-free numbers.

invoice_ledgers            snapshots: {_id: ledger id, kind, order_id | account_id,
                           invoice_ids, statuses, numbers_pending, updated_at, ...}
invoice_ledgers_commits    one document per change (see servicekit.aggregates)
invoice_number_claims      {_id: "<series>#<n>", document_id}: number n of the series is
                           taken, by that invoice or credit note; inserted, never changed
invoice_number_attempts    {_id: "<document id>~<k>", series, number}: the number a
                           document's k-th attempt goes for, fixed once inserted
invoice_number_heads       {_id: series, next}: where probing starts; a hint only

FerretDB makes only an insert with a unique `_id` atomic (docs/ferretdb.md), so numbers
are taken by inserting claims, never by incrementing a counter. See `MongoNumberStore`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Protocol

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from invoicing.domain import LEDGER_EVENTS, Ledger, fold, pending_numbers
from servicekit.aggregates import CACHED_AGGREGATES, AggregateStore, Document, StateCodec

LEDGERS = "invoice_ledgers"


#: A ledger as its snapshot holds it (issue 18: the state, not the events).
LEDGER_STATE: StateCodec[Ledger] = StateCodec(Ledger)


def ledgers_store(
    db: AsyncDatabase[Document], cache_size: int = CACHED_AGGREGATES
) -> AggregateStore:
    return AggregateStore(db, LEDGERS, fold=_fold, cache_size=cache_size)


def _fold(ledger_id: str, state: Document, events: list[Document]) -> Document:
    """The ledger after `events` (loading past a snapshot: the commits hold only events)."""
    before = LEDGER_STATE.load(state) if state else Ledger(ledger_id)
    return LEDGER_STATE.dump(fold([LEDGER_EVENTS.validate(e) for e in events], before))


async def create_indexes(db: AsyncDatabase[Document]) -> None:
    """Indexes for the queries and the repair scan. FerretDB ignores them (docs/ferretdb.md)."""
    await db[LEDGERS].create_index([("numbers_pending", ASCENDING)])
    await db[LEDGERS].create_index([("invoice_ids", ASCENDING)])
    await db[LEDGERS].create_index([("statuses", ASCENDING), ("updated_at", DESCENDING)])
    await db[f"{LEDGERS}_commits"].create_index(
        [("aggregate_id", ASCENDING), ("revision", ASCENDING)]
    )


def index_fields(ledger: Ledger, now: datetime) -> Document:
    """What queries and the numbering repair filter ledgers by, beside the snapshot."""
    return {
        "kind": "account" if ledger.account is not None else "order",
        "order_id": str(ledger.order.order_id) if ledger.order else None,
        "account_id": ledger.account.account_id if ledger.account else None,
        "invoice_ids": [i.invoice_id for i in ledger.invoices],
        "statuses": sorted({i.status.value for i in ledger.invoices}),
        "numbers_pending": bool(pending_numbers(ledger)),
        "updated_at": now,
    }


class NumberStore(Protocol):
    """Gap-free sequences: each document gets one number, the same one every time."""

    async def assign(self, series: str, document_id: str) -> int:
        """The number of `document_id` in `series`: the lowest free one the first time,
        the same one on every later call, however many run at once."""
        ...


def claim_id(series: str, number: int) -> str:
    return f"{series}#{number:012d}"


class MongoNumberStore:
    """`NumberStore` on unique inserts alone (safe on FerretDB and MongoDB).

    A document's k-th attempt is a unique insert that fixes the number it goes for (the
    lowest free one when it was made); then it inserts that number's claim. Whoever runs
    for the same document (a redelivery, a twin) follows the same attempts, so it gets
    the claim the first one made, never a second. A claim taken by another document
    sends the attempt to k + 1. No claim is deleted, and a number is only chosen when
    every number below it is claimed, so the claims of a series are 1, 2, ... N with no
    gap. The caller asks only for documents issued for good, so no claim goes unused.
    """

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.claims = db["invoice_number_claims"]
        self.attempts = db["invoice_number_attempts"]
        self.heads = db["invoice_number_heads"]

    async def assign(self, series: str, document_id: str) -> int:
        attempt = 0
        while True:

            async def candidate() -> Document:
                number = await self._first_free(series)
                return {"series": series, "document_id": document_id, "number": number}

            chosen = await _held(self.attempts, f"{document_id}~{attempt}", candidate, "at")
            if chosen["series"] != series:
                raise ValueError(f"{document_id} is numbered in {chosen['series']}, not {series}")
            number = int(chosen["number"])
            holder = await self._claim(series, number, document_id)
            if holder == document_id:
                await self._advance_head(series, number)
                return number
            attempt += 1

    async def _claim(self, series: str, number: int, document_id: str) -> str:
        """Who holds `number` after trying to take it for `document_id`."""

        async def claim() -> Document:
            return {"series": series, "number": number, "document_id": document_id}

        held = await _held(self.claims, claim_id(series, number), claim, "claimed_at")
        return str(held["document_id"])

    async def _first_free(self, series: str) -> int:
        head = await self.heads.find_one({"_id": series})
        number = int(head["next"]) if head else 1
        while await self.claims.find_one({"_id": claim_id(series, number)}, {"_id": 1}):
            number += 1
        return number

    async def _advance_head(self, series: str, number: int) -> None:
        # A hint: FerretDB may lose this update (docs/ferretdb.md), which only makes the
        # next probe longer. It never passes a free number: every number up to `number`
        # is claimed.
        with contextlib.suppress(DuplicateKeyError):  # the head is further on already
            await self.heads.update_one(
                {"_id": series, "next": {"$lt": number + 1}},
                {"$set": {"next": number + 1}},
                upsert=True,
            )


async def _held(
    collection: AsyncCollection[Document],
    key: str,
    new: Callable[[], Awaitable[Document]],
    stamp: str,
) -> Document:
    """The document under `key`: the one there, else `new()` (stamped with the time under
    `stamp`) if this insert wins, else the one a twin inserted first."""
    held = await collection.find_one({"_id": key})
    if held is None:
        doc = {"_id": key, **await new(), stamp: datetime.now(UTC)}
        try:
            await collection.insert_one(doc)
            return doc
        except DuplicateKeyError:
            held = await collection.find_one({"_id": key})
    assert held is not None, "a document under a unique key is never deleted"
    return held
