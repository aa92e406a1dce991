"""timers' read API: an order's deadlines, for ops and the CLI (`orderflow schedule`).

The directory is hashed over many small collections by deadline id, so finding the
deadlines of one order reads each of them (a scan on FerretDB; an ops query, not a hot
path).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from timers.documents import deadline_from
from timers.domain import Deadline
from timers.store import DIRECTORY


async def deadlines_of(db: AsyncDatabase[Mapping[str, Any]], order_id: str) -> list[Deadline]:
    """Every deadline kept for `order_id` (pending, fired or cancelled), by due time."""
    found: list[Deadline] = []
    for name in sorted(await db.list_collection_names()):
        if name.startswith(DIRECTORY):
            found += [deadline_from(d) async for d in db[name].find({"order_id": order_id})]
    return sorted(found, key=lambda d: (d.due_at, d.deadline_id))
