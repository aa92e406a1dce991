"""The wheel's fixed set of collections: slots as tagged documents in ring collections.

Slot `near_<n>` lives in `near_ring_<n mod near_ring>`, `far_<m>` in `far_ring_<m mod
far_ring>`, each document tagged `{s: <slot name>}`; the registries `slots` and `far_slots`
say which slots hold documents (the map: `timers.documents`). The set is created once, when
a replica first starts on a new store (`create_missing`); no collection is created or
dropped after that: a slot is registered by an insert that skips an existing `_id`, read
with `find({s: name})` (a scan of its ring collection, which normally holds that slot
alone), and removed by deletes, its entries first, its registration last. Reading the near
registry replaces listing collections: a few hundred small documents at most. The far
registry holds a slot per half hour of the horizon (1,440 for deadlines spread over 30
days): it is read whole now and then, and otherwise looked up by `_id` for the far slots
whose cascade comes. On MongoDB proper the layout works unchanged.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import OperationFailure

from timers.documents import Document, insert_new
from timers.wheel import NEAR, Wheel

REGISTRY: Final = "slots"
FAR_REGISTRY: Final = "far_slots"


class Ring:
    """Slots on a fixed set of collections; see the module docstring."""

    def __init__(self, db: AsyncDatabase[Document], wheel: Wheel) -> None:
        self.db = db
        self.wheel = wheel
        #: Slots this process registered: a slot stays registered until it is removed,
        #: which only happens after it ended, and nobody places entries in an ended slot.
        self._registered: set[str] = set()

    def of(self, name: str) -> AsyncCollection[Document]:
        """The collection holding slot `name` (lookups by `_id` need no tag)."""
        return self.db[self.wheel.collection(name)]

    async def write(self, name: str, docs: Sequence[Mapping[str, Any]]) -> set[int]:
        """Insert `docs` into slot `name`, skipping existing `_id`s (see `insert_new`)."""
        if not docs:
            return set()
        if name not in self._registered:
            await insert_new(self._registry(name), [{"_id": name}])
            self._registered.add(name)
        return await insert_new(self.of(name), [{**doc, "s": name} for doc in docs])

    def _registry(self, name: str) -> AsyncCollection[Document]:
        return self.db[REGISTRY if name.startswith(NEAR) else FAR_REGISTRY]

    async def names(self, far: Iterable[str] | None = None) -> list[str]:
        """The slots that hold documents (or did, until their removal finishes): every near
        one, and every far one, or (`far`) those of the far slots named that are."""
        found = [str(d["_id"]) async for d in self.db[REGISTRY].find({})]
        if far is None:
            found += [str(d["_id"]) async for d in self.db[FAR_REGISTRY].find({})]
        else:
            for name in far:
                if await self.db[FAR_REGISTRY].find_one({"_id": name}) is not None:
                    found.append(name)
        return found

    async def read(self, name: str, projection: Mapping[str, Any] | None = None) -> list[Document]:
        return await self.of(name).find({"s": name}, projection).to_list()

    async def remove(self, name: str) -> None:
        """Delete slot `name`: entries first, so that a crash half-way never leaves an entry
        without its firing record (it would fire again); the registration last."""
        collection = self.of(name)
        await collection.delete_many({"s": name, "_id": {"$regex": r"^e\|"}})
        await collection.delete_many({"s": name})
        await self._registry(name).delete_one({"_id": name})
        self._registered.discard(name)

    def collections(self) -> list[str]:
        """The fixed set: the registry and every ring collection."""
        near = [f"near_ring_{i}" for i in range(self.wheel.near_ring)]
        far = [f"far_ring_{j}" for j in range(self.wheel.far_ring)]
        return [REGISTRY, FAR_REGISTRY, *near, *far]


async def create_missing(db: AsyncDatabase[Document], names: Iterable[str]) -> int:
    """Create those of `names` that do not exist yet (once, on a new store); returns how
    many. Two replicas starting together may race: "already exists" is success."""
    existing = set(await db.list_collection_names())
    at_once = asyncio.Semaphore(CREATE_AT_ONCE)

    async def create(name: str) -> int:
        async with at_once:
            try:  # listed once above: not again by the client for every name
                await db.create_collection(name, check_exists=False)
            except OperationFailure as e:
                if e.code != NAMESPACE_EXISTS:
                    raise
                return 0
            return 1

    return sum(await asyncio.gather(*(create(n) for n in names if n not in existing)))


#: Collections created concurrently on a new store (round trips overlap; the store
#: serialises what it must).
CREATE_AT_ONCE: Final = 16


NAMESPACE_EXISTS: Final = 48
