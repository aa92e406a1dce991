"""ordering's stores: orders (versioned aggregates) and the accounts it judges orders by.

orders            snapshots: {_id: order id, status, flow, parties, updated_at, ...}
orders_commits    one document per change (see servicekit.aggregates)
accounts          {_id: account id, name, contact, created_on, ...} from accounts.events
supplier_settings one document per version, never updated: {_id: settings id,
                  supplier_id, answer: the SupplierSettingsSet} (P-11, P-14)
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from contracts.accounts import AccountOpened
from contracts.envelope import Contact, Role
from contracts.orders import ORDER_EVENTS, CreateOrder
from contracts.suppliers import SupplierSettingsSet
from ordering.domain import AccountDirectory, AccountRecord, Order, fold
from ordering.domain.suppliers import SupplierSettings
from servicekit.aggregates import CACHED_AGGREGATES, AggregateStore, Document, StateCodec

#: An order as its snapshot holds it (issue 18: the state, not the events).
ORDERS: StateCodec[Order] = StateCodec(Order)


def orders_store(
    db: AsyncDatabase[Document], cache_size: int = CACHED_AGGREGATES
) -> AggregateStore:
    return AggregateStore(db, "orders", fold=_fold, cache_size=cache_size)


def _fold(order_id: str, state: Document, events: list[Document]) -> Document:
    """The order after `events` (loading past a snapshot: the commits hold only events)."""
    before = ORDERS.load(state) if state else None
    after = fold([ORDER_EVENTS.validate(e) for e in events], before)  # type: ignore[misc]
    return ORDERS.dump(after) if after is not None else {}


async def create_indexes(db: AsyncDatabase[Document]) -> None:
    """Indexes for the queries (M-17 lists). FerretDB ignores them (docs/ferretdb.md)."""
    await db["orders"].create_index([("parties", ASCENDING), ("status", ASCENDING)])
    await db["orders"].create_index([("status", ASCENDING), ("updated_at", DESCENDING)])
    await db["orders_commits"].create_index([("aggregate_id", ASCENDING), ("revision", ASCENDING)])
    await db["supplier_settings"].create_index([("supplier_id", ASCENDING)])


def index_fields(order: Order, now: datetime) -> Document:
    """What queries filter orders by, kept beside the order's snapshot."""
    return {
        "status": order.status.value,
        "flow": order.flow.value,
        "parties": sorted({p.id for p in order.parties}),
        "updated_at": now,
    }


class AccountsStore:
    """Accounts as upstream publishes them; read by id for decisions, scanned for A-02."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.collection = db["accounts"]

    async def upsert(self, event: AccountOpened) -> None:
        # Keyed by account id on the topic, so events of one account arrive in order and
        # the last one is the truth: a plain replace is enough.
        await self.collection.replace_one(
            {"_id": event.account_id}, _account_doc(event), upsert=True
        )

    async def get(self, account_id: str) -> AccountRecord | None:
        doc = await self.collection.find_one({"_id": account_id})
        return None if doc is None else _record(doc)

    async def directory_for(self, command: Any, order: Order | None) -> AccountDirectory:
        """The account a command is judged by (A-01, A-05): the one its terms name, or
        the order's own (PlaceOrder, CompleteOrder carry no terms)."""
        account_id = _account_id_of(command) or (_account_id_of(order.details) if order else None)
        if account_id is None:
            return AccountDirectory()
        record = await self.get(account_id)
        return AccountDirectory({account_id: record} if record else {})

    async def search(self, text: str) -> list[AccountRecord]:
        """A-02: accounts whose name or email contains `text`."""
        records = [_record(d) async for d in self.collection.find({})]
        return AccountDirectory({r.account_id: r for r in records}).search(text)


class SupplierSettingsStore:
    """Every version of every supplier's settings (P-11, P-14): inserted once under a
    unique id, never overwritten (FerretDB guarantees unique inserts, docs/ferretdb.md)."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.collection = db["supplier_settings"]

    async def record(self, answer: SupplierSettingsSet) -> SupplierSettingsSet:
        """Insert the version; the answer first recorded for it, if it was already."""
        doc = {
            "_id": answer.settings_id,
            "supplier_id": answer.supplier_id,
            "answer": answer.model_dump(mode="json"),
        }
        try:
            await self.collection.insert_one(doc)
        except DuplicateKeyError:
            first = await self.collection.find_one({"_id": answer.settings_id})
            assert first is not None, "a duplicate key has a document"
            return SupplierSettingsSet.model_validate(first["answer"])
        return answer

    async def history(self, supplier_id: str) -> tuple[SupplierSettings, ...]:
        """Every recorded version of `supplier_id`'s settings."""
        docs = self.collection.find({"supplier_id": supplier_id})
        return tuple(
            [
                SupplierSettings.of(SupplierSettingsSet.model_validate(d["answer"]))
                async for d in docs
            ]
        )

    async def history_for(self, command: Any) -> tuple[SupplierSettings, ...]:
        """The versions a CreateOrder of a post-paid order is booked by; none otherwise."""
        if not isinstance(command, CreateOrder) or command.terms.flow != "postpaid":
            return ()
        supplier = next((p.id for p in command.parties if p.role is Role.SUPPLIER), None)
        return () if supplier is None else await self.history(supplier)


def _account_id_of(command: Any) -> str | None:
    terms = getattr(command, "terms", None)
    account_id = getattr(terms, "account_id", None)
    return str(account_id) if account_id is not None else None


def _account_doc(event: AccountOpened) -> Document:
    return {
        "_id": event.account_id,
        "name": event.name,
        "contact": event.contact.model_dump(),
        "created_on": event.created_on.isoformat(),
        "bill_cycle_day": event.bill_cycle_day,
        "oldest_open_cycle_start": (
            event.oldest_open_cycle_start.isoformat() if event.oldest_open_cycle_start else None
        ),
    }


def _record(doc: Document) -> AccountRecord:
    oldest = doc.get("oldest_open_cycle_start")
    return AccountRecord(
        account_id=str(doc["_id"]),
        name=str(doc["name"]),
        contact=Contact(**doc["contact"]),
        created_on=date.fromisoformat(doc["created_on"]),
        oldest_open_cycle_start=date.fromisoformat(oldest) if oldest else None,
    )
