"""A document database in memory, as much of it as `AggregateStore` and the handlers use.

Only `_id` lookups, inserts that refuse a taken `_id` (the one atomic operation FerretDB
offers, docs/ferretdb.md) and replaces: enough to run the real `handle_once` and the real
handlers in unit tests, with no store. Every operation is counted, by name.
"""

from __future__ import annotations

import copy
from collections import Counter
from typing import Any

from pymongo import ReplaceOne
from pymongo.errors import BulkWriteError, DuplicateKeyError

Document = dict[str, Any]


class MemoryCollection:
    def __init__(self, name: str, calls: Counter[str]) -> None:
        self.name = name
        self.docs: dict[Any, Document] = {}
        self._calls = calls

    async def find_one(self, query: Document, *_: Any) -> Document | None:
        self._calls[f"{self.name}.find_one"] += 1
        if set(query) != {"_id"}:
            raise NotImplementedError(f"only _id lookups: {query}")
        found = self.docs.get(query["_id"])
        return copy.deepcopy(found) if found is not None else None

    async def insert_one(self, doc: Document) -> None:
        self._calls[f"{self.name}.insert_one"] += 1
        if doc["_id"] in self.docs:
            raise DuplicateKeyError(f"duplicate _id {doc['_id']}", 11000)
        self.docs[doc["_id"]] = copy.deepcopy(doc)

    async def insert_many(self, docs: list[Document], ordered: bool = True) -> None:
        self._calls[f"{self.name}.insert_many"] += 1
        errors = []
        for i, doc in enumerate(docs):
            if doc["_id"] in self.docs:
                errors.append({"index": i, "code": 11000, "errmsg": "duplicate key"})
            else:
                self.docs[doc["_id"]] = copy.deepcopy(doc)
        if errors:
            raise BulkWriteError({"writeErrors": errors})

    async def replace_one(self, query: Document, doc: Document, upsert: bool = False) -> None:
        self._calls[f"{self.name}.replace_one"] += 1
        if query["_id"] in self.docs or upsert:
            self.docs[query["_id"]] = {"_id": query["_id"], **copy.deepcopy(doc)}

    async def bulk_write(self, requests: list[ReplaceOne[Document]], ordered: bool = True) -> None:
        self._calls[f"{self.name}.bulk_write"] += 1
        for r in requests:  # a test double reads what pymongo would send
            key = r._filter["_id"]
            self.docs[key] = {"_id": key, **copy.deepcopy(r._doc)}


class MemoryDatabase:
    """`db[name]` as the services index it; `calls` counts round trips per collection."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.collections: dict[str, MemoryCollection] = {}

    def __getitem__(self, name: str) -> MemoryCollection:
        if name not in self.collections:
            self.collections[name] = MemoryCollection(name, self.calls)
        return self.collections[name]
