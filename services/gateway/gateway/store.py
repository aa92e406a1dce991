"""The gateway's own database (`<database>_gateway`): views, answers, accounts, suppliers.

    order_views   {_id: order id, view: OrderView as JSON text, party_ids, status, flow,
                   account_id, created_at}    replaced whole by `_id`; the view holds the
                                             position of every topic it has applied
    commands      {_id: command id, Answer JSON}   inserted when a command is sent (a
                                             unique insert: a retry finds it), replaced
                                             as its answer arrives
    accounts      {_id: account id, name, email, created_on, message_id}   A-02's search
    account_status {_id: account id, status: registered | rejected, event_id}  ordering's
                                             answer (accounts.answers) to the newest event
    suppliers     {_id: supplier id, versions}                      P-11/P-14 settings

A view is a cache of the topics: written only by `_id` (the one write FerretDB makes
atomic is a unique insert, docs/ferretdb.md), one writer per order at a time within a
process (`KeyedLocks`), and rebuilt by replaying the topics into an empty database.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, ReplaceOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError

from gateway.domain import Answer, OrderView
from servicekit.aggregates import KeyedLocks as KeyedLocks
from servicekit.batching import Outcomes, WriteBatcher

Document = dict[str, Any]


class Views:
    """Order views by `_id`, and the few lists the API serves (scans on FerretDB)."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.collection = db["order_views"]
        self._writes: WriteBatcher[Document] = WriteBatcher(self._replace_all)

    async def get(self, order_id: uuid.UUID | str) -> OrderView | None:
        doc = await self.collection.find_one({"_id": str(order_id)})
        return None if doc is None else OrderView.model_validate_json(doc["view"])

    async def put(self, view: OrderView) -> None:
        await self._writes.submit(_document(view))

    async def page(
        self, query: Document, limit: int, cursor: str | None = None
    ) -> tuple[list[OrderView], str | None]:
        """Newest first, `limit` at a time; the cursor names where the next page starts."""
        if cursor:
            created, order_id = _decode(cursor)
            query = {
                **query,
                "$or": [
                    {"created_at": {"$lt": created}},
                    {"created_at": created, "_id": {"$lt": order_id}},
                ],
            }
        docs = self.collection.find(query).sort([("created_at", DESCENDING), ("_id", DESCENDING)])
        found = [OrderView.model_validate_json(d["view"]) async for d in docs.limit(limit + 1)]
        more = len(found) > limit
        found = found[:limit]
        last = found[-1] if more and found else None
        return found, None if last is None else _encode(last)

    async def all(self, query: Document) -> list[OrderView]:
        return [OrderView.model_validate_json(d["view"]) async for d in self.collection.find(query)]

    async def _replace_all(self, docs: Sequence[Document]) -> Outcomes:
        ops = [ReplaceOne({"_id": d["_id"]}, d, upsert=True) for d in docs]
        try:
            await self.collection.bulk_write(ops, ordered=False)
        except BulkWriteError as e:
            failed = {err["index"]: err for err in e.details.get("writeErrors", [])}
            return [
                RuntimeError(failed[i]["errmsg"]) if i in failed else None for i in range(len(docs))
            ]
        return [None] * len(docs)


class Commands:
    """Every command sent through the gateway and its answer, by command id."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.collection = db["commands"]

    async def add(self, answer: Answer) -> Answer | None:
        """Record a command being sent; the earlier record if it was sent before."""
        doc = {"_id": str(answer.command_id), **answer.model_dump(mode="json")}
        try:
            await self.collection.insert_one(doc)
        except DuplicateKeyError:
            return await self.get(answer.command_id)
        return None

    async def get(self, command_id: uuid.UUID) -> Answer | None:
        doc = await self.collection.find_one({"_id": str(command_id)})
        return None if doc is None else Answer.model_validate(doc)

    async def put(self, answer: Answer) -> None:
        doc = {"_id": str(answer.command_id), **answer.model_dump(mode="json")}
        await self.collection.replace_one({"_id": doc["_id"]}, doc, upsert=True)


class Directory:
    """Accounts (A-02) and suppliers' settings (P-11/P-14) as their topics restate them."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.accounts = db["accounts"]
        self.statuses = db["account_status"]
        self.suppliers = db["suppliers"]

    async def put_account(self, account: Document) -> None:
        await self.accounts.replace_one({"_id": account["_id"]}, account, upsert=True)

    async def put_status(self, status: Document) -> None:
        await self.statuses.replace_one({"_id": status["_id"]}, status, upsert=True)

    async def search(self, text: str, limit: int) -> list[Document]:
        """A-02: accounts whose name or email contains `text` (any case), each with
        ordering's answer to it: `registered`, `rejected`, or `pending` (none yet)."""
        needle = text.casefold()
        found = [
            d
            async for d in self.accounts.find({}).sort("_id", ASCENDING)
            if needle in d["name"].casefold() or needle in d["email"].casefold()
        ][:limit]
        for account in found:
            status = await self.statuses.find_one({"_id": account["_id"]})
            account["status"] = "pending" if status is None else status["status"]
        return found

    async def get_supplier(self, supplier_id: str) -> Document | None:
        return await self.suppliers.find_one({"_id": supplier_id})

    async def put_supplier(self, doc: Document) -> None:
        await self.suppliers.replace_one({"_id": doc["_id"]}, doc, upsert=True)


async def create_indexes(db: AsyncDatabase[Document]) -> None:
    """On MongoDB the lists use these; on FerretDB they are scans either way."""
    views = db["order_views"]
    await views.create_index([("party_ids", ASCENDING), ("status", ASCENDING)])
    await views.create_index([("created_at", DESCENDING), ("_id", DESCENDING)])


def _document(view: OrderView) -> Document:
    return {
        "_id": str(view.order_id),
        # As JSON text: field names of a document may not hold dots or `$`, and terms'
        # configurations and timeline details carry whatever keys upstream chose.
        "view": view.model_dump_json(),
        "party_ids": sorted(view.party_ids()),
        "status": view.status,
        "flow": view.flow,
        "account_id": view.account_id,
        "created_at": _ms(view.created_at),
    }


def _ms(moment: datetime | None) -> datetime | None:
    """BSON keeps milliseconds: cursors compare what is stored."""
    return None if moment is None else moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def _encode(view: OrderView) -> str:
    created = _ms(view.created_at)
    assert created is not None
    raw = f"{created.isoformat()}|{view.order_id}"
    return base64.urlsafe_b64encode(raw.encode()).decode()


def _decode(cursor: str) -> tuple[datetime, str]:
    """The (created_at, order id) a cursor names; ValueError if it is not one of ours."""
    try:
        created, order_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
        return datetime.fromisoformat(created), str(uuid.UUID(order_id))
    except (ValueError, UnicodeDecodeError) as e:
        raise ValueError("not a cursor of this list") from e
