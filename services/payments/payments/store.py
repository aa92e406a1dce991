"""payments' store: one ledger per order, as a versioned aggregate.

payments          snapshots: {_id: order id, state (the ledger), supplier_id, customer_id,
                  request_status, claim_status, payout_status, updated_at, ...}
payments_commits  one document per change (see servicekit.aggregates)

The commit's `state` is the whole ledger as JSON (amounts as text), written atomically
with the ids of the messages that produced it; its `events` are payments' own events.
"""

from __future__ import annotations

from datetime import datetime

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase

from payments.domain import Ledger
from servicekit.aggregates import CACHED_AGGREGATES, AggregateStore, Document, Stored

COLLECTION = "payments"


def payments_store(
    db: AsyncDatabase[Document], cache_size: int = CACHED_AGGREGATES
) -> AggregateStore:
    return AggregateStore(db, COLLECTION, cache_size=cache_size)


async def create_indexes(db: AsyncDatabase[Document]) -> None:
    """Indexes for the queries. FerretDB ignores them (docs/ferretdb.md)."""
    await db[COLLECTION].create_index([("supplier_id", ASCENDING), ("payout_status", ASCENDING)])
    await db[COLLECTION].create_index([("request_status", ASCENDING)])
    await db[f"{COLLECTION}_commits"].create_index(
        [("aggregate_id", ASCENDING), ("revision", ASCENDING)]
    )


def to_document(ledger: Ledger) -> Document:
    return ledger.model_dump(mode="json")


def rebuild(stored: Stored | None) -> Ledger | None:
    """A ledger as of its newest commit (None if only refusals were recorded for it)."""
    return None if stored is None or not stored.exists else Ledger.model_validate(stored.state)


def index_fields(ledger: Ledger, now: datetime) -> Document:
    """What queries filter ledgers by, kept beside the ledger's snapshot."""
    claim = ledger.claim
    return {
        "supplier_id": ledger.facts.supplier.id,
        "customer_id": ledger.facts.customer.id,
        "request_status": ledger.request.status.value if ledger.request else None,
        "claim_status": claim.status.value if claim else None,
        "payout_status": ledger.payout.status.value if ledger.payout else None,
        "updated_at": now,
        "payout_overdue": bool(ledger.payout and ledger.payout.overdue),
    }
