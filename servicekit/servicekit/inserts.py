"""Insert many documents, tolerating the ones already there: the one write that FerretDB makes
atomic under concurrency (a unique `_id`), so "inserted" means "this writer won".

    DUPLICATE_KEY                   MongoDB's error code for a taken unique key
    insert_new(collection, docs)    insert them all; the indexes of those whose `_id` was taken
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError

DUPLICATE_KEY: Final = 11000


async def insert_new(
    collection: AsyncCollection[dict[str, Any]], docs: Sequence[dict[str, Any]]
) -> set[int]:
    """Insert `docs` in one unordered `insert_many`; returns the indexes skipped because their
    `_id` existed. Any other write error is raised."""
    if not docs:
        return set()
    try:
        await collection.insert_many(list(docs), ordered=False)
    except BulkWriteError as e:
        failed = e.details.get("writeErrors", [])
        if any(w.get("code") != DUPLICATE_KEY for w in failed):
            raise
        return {int(w["index"]) for w in failed}
    return set()
