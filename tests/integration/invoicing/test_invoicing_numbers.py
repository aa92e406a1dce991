"""Gap-free invoice numbers on the real document store (FerretDB in dev and CI), where only
an insert with a unique `_id` is atomic (docs/ferretdb.md)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from invoicing.store import MongoNumberStore, claim_id
from servicekit.aggregates import Document

#: Clients standing in for service replicas, each with its own connections.
REPLICAS = 4


@pytest.fixture
async def replicas(stack: Any, database_name: str) -> AsyncIterator[list[MongoNumberStore]]:
    clients: list[AsyncMongoClient[Document]] = [
        AsyncMongoClient(stack.mongodb_uri) for _ in range(REPLICAS)
    ]
    yield [MongoNumberStore(c[database_name]) for c in clients]
    for client in clients:
        await client.close()


def _series() -> str:
    return f"invoices:member-{uuid.uuid4().hex[:8]}"


def _documents(n: int) -> list[str]:
    return [f"order/{uuid.uuid4()}/1" for _ in range(n)]


async def _claims(store: MongoNumberStore, series: str) -> list[Document]:
    return [d async for d in store.claims.find({"series": series})]


async def test_M12_many_concurrent_issues_get_numbers_one_to_n_with_no_gap_and_no_duplicate(
    replicas: list[MongoNumberStore],
) -> None:
    series, n = _series(), 40
    documents = [f"order/{uuid.uuid4()}/1" for _ in range(n)]
    # Every document asked for twice at once, from different replicas: a redelivery
    # racing the original delivery.
    calls = [
        replicas[i % REPLICAS].assign(series, doc)
        for i, doc in enumerate(documents + documents[::-1])
    ]
    results = await asyncio.gather(*calls)
    first, second = results[:n], results[n:][::-1]
    assert first == second, "the same document got the same number both times"
    assert sorted(first) == list(range(1, n + 1)), "1..N: no gap, no duplicate"
    claims = await _claims(replicas[0], series)
    assert sorted(c["number"] for c in claims) == list(range(1, n + 1))
    assert {c["document_id"] for c in claims} == set(documents)


async def test_M12_asking_again_later_gives_the_same_number_and_takes_no_other(
    replicas: list[MongoNumberStore],
) -> None:
    series, (doc_a, doc_b, doc_c) = _series(), _documents(3)
    store = replicas[0]
    a, b = await store.assign(series, doc_a), await store.assign(series, doc_b)
    assert (a, b) == (1, 2)
    assert await replicas[1].assign(series, doc_a) == 1
    assert await store.assign(series, doc_c) == 3
    assert len(await _claims(store, series)) == 3


async def test_M12_a_crash_after_choosing_a_number_is_finished_by_the_redelivery(
    replicas: list[MongoNumberStore],
) -> None:
    store, series, (doc_a, doc_b) = replicas[0], _series(), _documents(2)
    # The first delivery chose number 1 for doc_a, then died before claiming it.
    await store.attempts.insert_one({"_id": f"{doc_a}~0", "series": series, "number": 1})
    assert await store.assign(series, doc_a) == 1
    assert await store.assign(series, doc_b) == 2


async def test_M12_a_number_taken_meanwhile_sends_the_redelivery_to_the_next_free_one(
    replicas: list[MongoNumberStore],
) -> None:
    store, series, (doc_a, doc_b) = replicas[0], _series(), _documents(2)
    await store.attempts.insert_one({"_id": f"{doc_a}~0", "series": series, "number": 1})
    # While doc_a's handler was down, doc_b chose and took number 1.
    await store.attempts.insert_one({"_id": f"{doc_b}~0", "series": series, "number": 1})
    claim = {"_id": claim_id(series, 1), "series": series, "number": 1, "document_id": doc_b}
    await store.claims.insert_one(claim)
    assert await store.assign(series, doc_a) == 2
    assert await store.assign(series, doc_b) == 1
    assert sorted(c["number"] for c in await _claims(store, series)) == [1, 2]
