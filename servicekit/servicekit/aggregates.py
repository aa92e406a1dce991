"""Aggregates in a document store, changed exactly once per message, with an outbox.

FerretDB (SQLite) makes only an insert with a unique `_id` atomic; conditional updates
lose writes under concurrency, and any filter but an exact `{_id}` scans the collection
(docs/ferretdb.md). So a change is *appended*, and every operation is an `_id` operation:

    <name>_commits   {_id: "<aggregate>@<revision>", message_id, events (new ones),
                      outbox: [...], index, state (only without a `fold`)} never updated
    <name>           {_id: "<aggregate>", revision, state, processed: [recent message
                      ids], index fields}            a cache of the newest commit

Each fact is stored once (issue 18): an event only in the commit that made it (an outbox
entry that publishes an event names its position, `{"topic", "key", "event": i}`, and
gets its value back when read); the state in the snapshot, never the event list; the
window of handled message ids only in the snapshot (each commit names its own message,
and loading past the snapshot appends them). A store given a `fold` (ordering,
invoicing) keeps no state in its commits and folds their events when it loads past a
snapshot; one without (payments, whose ledger also follows ordering's facts, which are
not its own events) keeps each commit's state. On MongoDB/FerretDB the parts read only by
`_id` (state, events, outbox, index, processed) are one compressed `body` (`_encoded`).

Two writers racing for revision r+1 cannot both insert `<aggregate>@r+1`: the loser
reloads and decides again. The message id is in the same document as the state it
produced, so a redelivery finds it and changes nothing. The snapshot serves reads and
says where to start: loading probes `@r+1`, `@r+2`, ... by `_id` until one is missing. A
commit found that way has an outbox not known to be published, so it is published
(again, with the same message ids, which consumers dedupe by) before anything else.

    load ─▶ outbox not known published? publish it, write the snapshot
      ─▶ message id seen? ─yes─▶ nothing more
             │no
             ▼
           decide ─▶ insert commit r+1 (lost race → reload) ─▶ publish the outbox
                 ─▶ write the snapshot (published) ─▶ (the caller commits the offset)

The first load reads only the snapshot: a commit beyond it makes the insert of r+1
fail, and the aggregate is then loaded commit by commit (a message that changes nothing
and answers nothing first checks that no newer commit exists). One read per message.

A refusal is an answer, and X-09 wants one answer per command, ever: it is committed
like a change (`Refusal`: the same state, no events, the rejection in the outbox), so
the id of the refused message is in the same `processed` list the snapshot read already
brings, and a redelivery finds it, even after the aggregate moved on. An acceptance and
a refusal of one message race for the same revision: the first insert wins, the loser
reloads, finds the message handled, and publishes the winner's answer, never its own. A refusal of an
aggregate that does not exist yet is its first commit, with an empty state (`exists` is
False, so `decide` still sees None), and the creation comes after it.

A command handled before (in `processed`) publishes its answer again (`answers_on`: its
events or its rejection, not the other effects such as timer commands, which a copy
could set back): its commit is found by `_id`, since every commit adds one message id,
so the position in `processed` gives the revision. Only duplicates pay that read.

Within one process, messages for the same aggregate are handled one at a time (a lock
per aggregate id), so races happen only between processes, e.g. during a rebalance.
Commits and snapshots of different aggregates handled at the same time are written
together, one `insert_many` / `bulk_write` each (servicekit/batching.py).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import copy
import json
import weakref
import zlib
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Generic, Protocol, TypeVar

from bson import json_util
from pydantic import TypeAdapter
from pymongo import ReplaceOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError, OperationFailure

from contracts.envelope import Message
from servicekit import tracing
from servicekit.batching import Outcomes, WriteBatcher

Document = dict[str, Any]
T = TypeVar("T")

#: How many handled-message ids an aggregate remembers. A redelivery older than that is
#: decided again (X-09 holds within this window of the aggregate's last messages).
PROCESSED_WINDOW = 200

#: Lost races before the message goes back to the consumer guard's retries.
CONFLICT_RETRIES = 8


class ConcurrentUpdateError(Exception):
    """Another writer took the next revision of this aggregate first."""


@dataclass(frozen=True)
class Stored:
    """An aggregate as of its newest commit."""

    id: str
    revision: int
    state: Document
    processed: list[str]
    outbox: list[Document] = field(default_factory=list)
    published: bool = True
    index: Document = field(default_factory=dict)

    @property
    def exists(self) -> bool:
        """Whether a change made it: a change's state is never empty, and commits that
        only record refusals keep the empty state they started from."""
        return bool(self.state)

    def revision_of(self, message_id: str) -> int | None:
        """The revision that handled `message_id`, if it is still in the window."""
        if message_id not in self.processed:
            return None
        # Each commit adds exactly one id, so the window maps back onto the revisions.
        return self.revision - (len(self.processed) - 1 - self.processed.index(message_id))


@dataclass(frozen=True)
class Change:
    """What one message does to one aggregate: its new state and what to publish."""

    state: Document
    events: list[Document]
    outbox: list[Document]
    index: Document = field(default_factory=dict)
    #: Changes the same message makes to *other* aggregates (M-15: a duplicate is a new
    #: order). `handle_once` applies each under the same message id, idempotently, before
    #: it commits this one, so a crash between them redoes only what is missing.
    others: dict[str, Change] = field(default_factory=dict)


@dataclass(frozen=True)
class Refusal:
    """A refused message's answer (X-09): committed with the state unchanged, so that a
    redelivery gets this answer again instead of a new decision."""

    outbox: list[Document]
    #: The rejection's machine-readable reason (for the log).
    reason: str = ""


Decided = Change | Refusal | None


@dataclass(frozen=True)
class Handled:
    """What `handle_once` did: the aggregate after it, and the decision it committed
    (None when the message was handled before, or changes and answers nothing)."""

    stored: Stored | None
    decided: Decided = None

    @property
    def refusal(self) -> Refusal | None:
        return self.decided if isinstance(self.decided, Refusal) else None


def commit_id(aggregate_id: str, revision: int) -> str:
    return f"{aggregate_id}@{revision:012d}"


#: How many aggregates each store keeps in memory by default (`StateCache`,
#: `ORDERFLOW_STATE_CACHE_SIZE`), the least recently handled dropped first. A miss costs
#: one read of the snapshot. An aggregate took about 8 KB of RSS in the 30-minute soak
#: (docs/performance.md): 512 of them about 4 MB per store, full within minutes of
#: steady traffic, so that memory is flat after warm-up (issue 20); the messages of one
#: order come close together, which is what the cache is for.
CACHED_AGGREGATES = 512


class StateCache:
    """The aggregates this process stored last, as it stored them: a bounded LRU.

    Only a state known to be committed and published goes in; any error drops the
    aggregate. Staleness is never a risk to correctness (the revision insert detects
    any other writer) but costs a failed insert and a reload, so the runtime empties the
    caches when partitions are revoked (`forget_cached`).
    """

    def __init__(self, size: int = CACHED_AGGREGATES) -> None:
        self.size = size
        self._items: OrderedDict[str, Stored] = OrderedDict()

    def get(self, aggregate_id: str) -> Stored | None:
        found = self._items.get(aggregate_id)
        if found is not None:
            self._items.move_to_end(aggregate_id)
        return found

    def put(self, aggregate_id: str, stored: Stored) -> None:
        self._items[aggregate_id] = stored
        self._items.move_to_end(aggregate_id)
        while len(self._items) > self.size:
            self._items.popitem(last=False)

    def drop(self, aggregate_id: str) -> None:
        self._items.pop(aggregate_id, None)

    def clear(self) -> None:
        self._items.clear()

    def __len__(self) -> int:
        return len(self._items)


class Aggregates(Protocol):
    """The store `handle_once` works on: versioned, idempotent aggregates with an outbox.
    `AggregateStore` keeps them in MongoDB/FerretDB, `MemoryAggregates` in memory; one
    contract suite (tests/integration/servicekit/test_aggregates_contract.py) runs
    against both."""

    #: The aggregates this process stored last (see `handle_once`).
    cache: StateCache

    async def load_snapshot(self, aggregate_id: str) -> Stored | None:
        """The aggregate as its snapshot says (one read; commits may lie beyond it)."""
        ...

    async def has_newer(self, aggregate_id: str, stored: Stored | None) -> bool:
        """Whether a commit exists beyond `stored`."""
        ...

    async def load(self, aggregate_id: str) -> Stored | None:
        """The aggregate as of its newest commit: the snapshot, then any commits beyond it."""
        ...

    async def save(
        self, aggregate_id: str, previous: Stored | None, processed_id: str, change: Change
    ) -> Stored:
        """Append the change as the next commit; raise `ConcurrentUpdateError` if taken."""
        ...

    async def write_snapshot(self, stored: Stored, index: Document) -> None:
        """Record the aggregate as of `stored`, its outbox published (a read model)."""
        ...

    async def events(self, aggregate_id: str) -> list[Document]:
        """Every event of the aggregate, in order, from its commits (an audit's read)."""
        ...

    async def answer(self, aggregate_id: str, revision: int, topic: str) -> list[Document]:
        """What the commit `revision` put on `topic` (a command's answer, X-09)."""
        ...

    async def ids_where(self, field: str, value: Any) -> list[str]:
        """The aggregates whose snapshot has `field` == `value` (a scan: never on a hot
        path; invoicing's numbering repair)."""
        ...


class _CommitLog:
    """What both stores share: commits appended by revision, snapshots as their cache.
    A subclass supplies the four document operations. `cache_size`: how many aggregates
    it keeps in memory (`StateCache`, `ORDERFLOW_STATE_CACHE_SIZE`)."""

    def __init__(self, fold: Fold | None, cache_size: int = CACHED_AGGREGATES) -> None:
        self.fold = fold
        self.cache = StateCache(cache_size)
        _stores.add(self)

    async def _commit(self, aggregate_id: str, revision: int) -> Document | None:
        raise NotImplementedError

    async def _snapshot(self, aggregate_id: str) -> Document | None:
        raise NotImplementedError

    async def _insert_commit(self, commit: Document) -> None:
        """Insert `commit`; raise `DuplicateKeyError` if its `_id` is taken."""
        raise NotImplementedError

    async def _put_snapshot(self, aggregate_id: str, doc: Document) -> None:
        raise NotImplementedError

    async def load_snapshot(self, aggregate_id: str) -> Stored | None:
        snapshot = await self._snapshot(aggregate_id)
        return None if snapshot is None else _from_snapshot(aggregate_id, snapshot)

    async def has_newer(self, aggregate_id: str, stored: Stored | None) -> bool:
        revision = 0 if stored is None else stored.revision
        return await self._commit(aggregate_id, revision + 1) is not None

    async def load(self, aggregate_id: str) -> Stored | None:
        stored = await self.load_snapshot(aggregate_id)
        revision = 0 if stored is None else stored.revision
        while True:  # a snapshot trails its commits after a crash or a race; catch up
            commit = await self._commit(aggregate_id, revision + 1)
            if commit is None:
                return stored
            stored = _advance(aggregate_id, stored, commit, self.fold)
            revision += 1

    async def save(
        self, aggregate_id: str, previous: Stored | None, processed_id: str, change: Change
    ) -> Stored:
        revision = (previous.revision if previous else 0) + 1
        commit: Document = {
            "_id": commit_id(aggregate_id, revision),
            "aggregate_id": aggregate_id,
            "revision": revision,
            "message_id": processed_id,
            **({} if self.fold else {"state": change.state}),
            "events": change.events,
            "outbox": _by_reference(change.outbox, change.events),
            "index": change.index,
            "committed_at": datetime.now(UTC),
        }
        try:
            await self._insert_commit(commit)
        except DuplicateKeyError as e:
            raise ConcurrentUpdateError(aggregate_id) from e
        processed = [*(previous.processed if previous else []), processed_id]
        return Stored(
            id=aggregate_id,
            revision=revision,
            state=change.state,
            processed=processed[-PROCESSED_WINDOW:],
            outbox=change.outbox,
            published=not change.outbox,
            index=change.index,
        )

    async def events(self, aggregate_id: str) -> list[Document]:
        events: list[Document] = []
        revision = 1
        while commit := await self._commit(aggregate_id, revision):
            events.extend(commit.get("events", []))
            revision += 1
        return events

    async def answer(self, aggregate_id: str, revision: int, topic: str) -> list[Document]:
        commit = await self._commit(aggregate_id, revision)
        return [e for e in _resolved(commit or {}) if e.get("topic") == topic]

    async def write_snapshot(self, stored: Stored, index: Document) -> None:
        doc: Document = {
            "revision": stored.revision,
            "state": stored.state,
            "processed": stored.processed,
            **index,
        }
        await self._put_snapshot(stored.id, doc)


class AggregateStore(_CommitLog):
    """`Aggregates` in two MongoDB/FerretDB collections (commits and snapshots)."""

    def __init__(
        self,
        db: AsyncDatabase[Document],
        name: str,
        fold: Fold | None = None,
        cache_size: int = CACHED_AGGREGATES,
    ) -> None:
        super().__init__(fold, cache_size)
        self.snapshots: AsyncCollection[Document] = db[name]
        self.commits: AsyncCollection[Document] = db[f"{name}_commits"]
        self._commit_writes: WriteBatcher[Document] = WriteBatcher(
            lambda docs: _insert_all(self.commits, docs)
        )
        self._first_snapshots: WriteBatcher[Document] = WriteBatcher(
            lambda docs: _insert_all(self.snapshots, docs)
        )
        self._snapshot_writes: WriteBatcher[tuple[str, Document]] = WriteBatcher(
            self._replace_snapshots
        )

    async def _commit(self, aggregate_id: str, revision: int) -> Document | None:
        found = await self.commits.find_one({"_id": commit_id(aggregate_id, revision)})
        return None if found is None else _decoded(found)

    async def _snapshot(self, aggregate_id: str) -> Document | None:
        found = await self.snapshots.find_one({"_id": aggregate_id})
        return None if found is None else _decoded(found)

    async def _insert_commit(self, commit: Document) -> None:
        await self._commit_writes.submit(_encoded(commit))

    async def _put_snapshot(self, aggregate_id: str, doc: Document) -> None:
        doc = _encoded(doc)
        if doc["revision"] == 1:  # most likely no snapshot yet: an insert is far cheaper
            try:
                await self._first_snapshots.submit({"_id": aggregate_id, **doc})
                return
            except DuplicateKeyError:
                pass  # a racing writer wrote it first: replace it
        # Last writer wins. Within a process writes are ordered by the lock; between
        # processes an older snapshot may land last, which loads repair by probing.
        await self._snapshot_writes.submit((aggregate_id, doc))

    async def ids_where(self, field: str, value: Any) -> list[str]:
        return [str(d["_id"]) async for d in self.snapshots.find({field: value}, {"_id": 1})]

    async def _replace_snapshots(self, items: Sequence[tuple[str, Document]]) -> Outcomes:
        """Write a batch of snapshots; of two for one aggregate, the newer revision wins."""
        newest: dict[str, int] = {}
        for i, (aggregate_id, doc) in enumerate(items):
            if (
                aggregate_id not in newest
                or doc["revision"] >= items[newest[aggregate_id]][1]["revision"]
            ):
                newest[aggregate_id] = i
        chosen = sorted(newest.values())
        failed: dict[int, BaseException] = {}
        try:
            await self.snapshots.bulk_write(
                [ReplaceOne({"_id": items[i][0]}, items[i][1], upsert=True) for i in chosen],
                ordered=False,
            )
        except BulkWriteError as e:
            for error in e.details.get("writeErrors", []):
                i = chosen[error["index"]]
                aggregate_id, doc = items[i]
                if error.get("code") != _DUPLICATE_KEY:
                    failed[i] = _write_error(error)
                    continue
                try:  # two first snapshots raced: it exists now, replace it
                    await self.snapshots.replace_one({"_id": aggregate_id}, doc)
                except Exception as again:
                    failed[i] = again
        return [failed.get(newest[aggregate_id]) for aggregate_id, _ in items]


_DUPLICATE_KEY = 11000

#: Fields only ever read with their document by `_id`, stored together as one compressed
#: JSON text (`body`): FerretDB on SQLite stores a nested document at about 2.7 times its
#: JSON size, and a document past about 1.5 KB takes a whole 4 KB page (docs/ferretdb.md).
#: What queries filter by (the index fields, `aggregate_id`, `revision`) stays a field.
_IN_BODY = ("state", "events", "outbox", "index", "processed")


def _encoded(doc: Document) -> Document:
    body = {k: v for k, v in doc.items() if k in _IN_BODY}
    # The C encoder; only what JSON lacks (a datetime, an ObjectId) goes through
    # json_util, in the same extended JSON that `json_util.loads` reads back.
    text = json.dumps(body, separators=(",", ":"), default=json_util.default).encode()
    plain = {k: v for k, v in doc.items() if k not in _IN_BODY}
    return {**plain, "body": base64.b64encode(zlib.compress(text, 6)).decode("ascii")}


def stored_form(doc: Document) -> Document:
    """A commit or snapshot as `AggregateStore` writes it (its `body` compressed)."""
    return _encoded(doc) if "body" not in doc and any(k in doc for k in _IN_BODY) else doc


def readable_form(doc: Document) -> Document:
    """A commit or snapshot as read from the collection, its `body` opened."""
    return _decoded(dict(doc))


def _decoded(doc: Document) -> Document:
    body = doc.pop("body", None)
    if body is None:
        return doc
    parts: Document = json_util.loads(zlib.decompress(base64.b64decode(body)))
    return {**doc, **parts}


async def _insert_all(collection: AsyncCollection[Document], docs: Sequence[Document]) -> Outcomes:
    """Insert a batch of documents; a taken `_id` fails only its own document."""
    outcomes: Outcomes = [None] * len(docs)
    try:
        await collection.insert_many(list(docs), ordered=False)
    except BulkWriteError as e:
        for error in e.details.get("writeErrors", []):
            outcomes[error["index"]] = _write_error(error)
    return outcomes


def _write_error(error: Document) -> BaseException:
    """One document's error from a bulk write, as the single-document call raises it."""
    message, code = str(error.get("errmsg", "")), error.get("code")
    if code == _DUPLICATE_KEY:
        return DuplicateKeyError(message, code, error)
    return OperationFailure(message, code, error)


def _from_snapshot(aggregate_id: str, doc: Document) -> Stored:
    return Stored(
        id=aggregate_id,
        revision=int(doc["revision"]),
        state=doc["state"],
        processed=list(doc.get("processed", [])),
        index={k: v for k, v in doc.items() if k not in _SNAPSHOT_FIELDS},
    )


_SNAPSHOT_FIELDS = frozenset({"_id", "revision", "state", "processed"})


def _by_reference(outbox: list[Document], events: list[Document]) -> list[Document]:
    """The outbox as stored: an entry that publishes one of the commit's events names
    its position instead of copying it."""
    stored = []
    for entry in outbox:
        value = entry.get("value")
        parsed = json.loads(value) if isinstance(value, str) else entry
        i = next((i for i, e in enumerate(events) if e == parsed), None)
        if i is None:
            stored.append(entry)
        elif value is None:
            stored.append({"event": i})
        else:
            stored.append({**{k: v for k, v in entry.items() if k != "value"}, "event": i})
    return stored


def _resolved(commit: Document) -> list[Document]:
    """A stored outbox with the events it refers to put back (as published)."""
    events = commit.get("events", [])
    outbox = []
    for entry in commit.get("outbox", []):
        if "event" not in entry:
            outbox.append(entry)
            continue
        event = events[entry["event"]]
        rest = {k: v for k, v in entry.items() if k != "event"}
        outbox.append({**rest, "value": _json(event)} if rest else event)
    return outbox


def _json(doc: Document) -> str:
    """A JSON document as pydantic's `model_dump_json` writes it (compact)."""
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False)


def _advance(
    aggregate_id: str, previous: Stored | None, commit: Document, fold: Fold | None
) -> Stored:
    outbox = _resolved(commit)
    processed = [*(previous.processed if previous else []), str(commit["message_id"])]
    state = previous.state if previous else {}
    if "state" in commit:
        state = commit["state"]
    elif fold is not None and commit.get("events"):
        state = fold(aggregate_id, state, commit["events"])
    return Stored(
        id=aggregate_id,
        revision=int(commit["revision"]),
        state=state,
        processed=processed[-PROCESSED_WINDOW:],
        outbox=outbox,
        published=not outbox,  # not known to be published until a snapshot says so
        index=dict(commit.get("index", {})),
    )


Publish = Callable[[Sequence[Document]], Awaitable[None]]
#: The state after some events, from the state before them (`{}` if none) and the
#: aggregate's id: how a store whose commits hold no state loads past its snapshot.
Fold = Callable[[str, Document, list[Document]], Document]
Decide = Callable[[Stored | None], Awaitable[Decided]]


async def handle_once(
    store: Aggregates,
    aggregate_id: str,
    message_id: str,
    decide: Decide,
    publish: Publish,
    *,
    answers_on: str | None = None,
    fresh: bool = False,
) -> Handled:
    """Apply one message to one aggregate exactly once in effect, then publish its outbox.

    `decide` sees the stored aggregate (or None if it does not exist) and returns the
    change, a `Refusal` (the rejection to publish, recorded for good: X-09), or None when
    the message changes nothing and answers nothing (a stale deadline, another flow's
    event). It runs once per attempt: a lost race reloads and decides again (at most
    `CONFLICT_RETRIES` times), so it must not publish or write anything itself; the
    changes it makes to other aggregates come back in `Change.others`. A message handled
    before publishes again what its commit put on the topic `answers_on` (a command's
    answer: the same events or rejection, the same ids). The decision comes back as the
    value (`Handled`). Raises `ConcurrentUpdateError` after too many lost races (the
    guard retries later).

    The aggregate as this process last stored it is kept in memory (`StateCache`): a
    partition has one owner and a key's messages come in order, so the next message of
    the same aggregate needs no read; a state gone stale (another writer during a
    rebalance) loses the insert of its next revision, and the aggregate is then loaded
    commit by commit. `fresh`: the message most likely creates the aggregate (a new id,
    e.g. `CreateOrder`), so nothing is read before deciding; an aggregate that exists all
    the same makes the insert of revision 1 fail, with the same outcome.
    """
    cache = cached(store)
    async with _locks.hold((id(store), aggregate_id)):
        try:
            return await _handle(
                store, cache, aggregate_id, message_id, decide, publish, answers_on, fresh
            )
        except BaseException:
            cache.drop(aggregate_id)  # not known to be as stored: read it next time
            raise


async def _handle(
    store: Aggregates,
    cache: StateCache,
    aggregate_id: str,
    message_id: str,
    decide: Decide,
    publish: Publish,
    answers_on: str | None,
    fresh: bool,
) -> Handled:
    # The cached state, else the snapshot alone, is usually the newest state. If a commit
    # lies beyond it (a crash, a race, another owner), inserting the next revision fails
    # and the aggregate is then loaded commit by commit; an empty decision is only
    # trusted once nothing newer exists.
    probed = False
    for _ in range(CONFLICT_RETRIES):
        known = None if probed else cache.get(aggregate_id)
        if known is not None:
            stored: Stored | None = known
        elif probed:
            stored = await store.load(aggregate_id)
        elif fresh:
            stored = None  # a new id: the insert of revision 1 finds one that exists
        else:
            stored = await store.load_snapshot(aggregate_id)
        if stored is not None and not stored.published:
            stored = await _flush(store, stored, publish)
        if stored is not None and message_id in stored.processed:
            if answers_on is not None:
                await _answer_again(store, stored, message_id, answers_on, publish)
            cache.put(aggregate_id, stored)
            return Handled(stored)
        decided = await decide(stored if stored is not None and stored.exists else None)
        if decided is None:
            if not probed and await store.has_newer(aggregate_id, stored):
                probed = True
                continue
            if stored is not None:
                cache.put(aggregate_id, stored)
            return Handled(stored)
        change = decided if isinstance(decided, Change) else _unchanged(stored, decided)
        for other_id, other in change.others.items():
            await handle_once(store, other_id, message_id, _given(other), publish)
        try:
            saved = await store.save(aggregate_id, stored, message_id, change)
        except ConcurrentUpdateError:
            probed = True
            continue
        flushed = await _flush(store, saved, publish)
        cache.put(aggregate_id, flushed)
        return Handled(flushed, decided)
    raise ConcurrentUpdateError(aggregate_id)


def _given(change: Change) -> Decide:
    async def decide(_: Stored | None) -> Change:
        return change

    return decide


def _unchanged(stored: Stored | None, refusal: Refusal) -> Change:
    """A refusal as a commit: the state, index and events as they were, an answer to send."""
    if stored is None:
        return Change(state={}, events=[], outbox=refusal.outbox)
    return Change(state=stored.state, events=[], outbox=refusal.outbox, index=stored.index)


async def _answer_again(
    store: Aggregates, stored: Stored, message_id: str, topic: str, publish: Publish
) -> None:
    """Publish what the commit that handled `message_id` put on `topic` (X-09)."""
    revision = stored.revision_of(message_id)
    if revision is None:
        return
    answer = await store.answer(stored.id, revision, topic)
    if answer:
        await publish(answer)


async def _flush(store: Aggregates, stored: Stored, publish: Publish) -> Stored:
    if stored.outbox:
        await publish(stored.outbox)
    await store.write_snapshot(stored, stored.index)
    return replace(stored, outbox=[], published=True)


class KeyedLocks:
    """One asyncio lock per key, dropped when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[Hashable, tuple[asyncio.Lock, int]] = {}

    @contextlib.asynccontextmanager
    async def hold(self, key: Hashable) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)


_locks = KeyedLocks()

_stores: weakref.WeakSet[_CommitLog] = weakref.WeakSet()


def cached(store: Aggregates) -> StateCache:
    """The in-memory cache of `store`'s aggregates (one per store object: a twin writer
    made for a test has its own, as another process would)."""
    return store.cache


def forget_cached() -> None:
    """Empty every store's cache: partitions (and so aggregates) may have changed owner."""
    for store in list(_stores):
        store.cache.clear()


def outbox_entry(topic: str, message: Message) -> Document:
    """A message to publish later, as stored in an outbox (topic is the contracts name).

    With tracing on, `trace` keeps the deciding span's context: the relay publishes the
    entry as its child, however late (servicekit/tracing.py)."""
    entry: Document = {
        "topic": topic,
        "key": message.kafka_key().decode(),
        "type": message.type,
        "correlation_id": str(message.correlation_id),
        "value": message.model_dump_json(),
    }
    trace = tracing.carrier()
    if trace:
        entry["trace"] = trace
    return entry


class StateCodec(Generic[T]):
    """An aggregate's state to and from the JSON document a snapshot and a commit hold
    (the state is stored, not refolded from events on every read)."""

    def __init__(self, kind: Any) -> None:
        self._adapter: TypeAdapter[T] = TypeAdapter(kind)

    def dump(self, state: T) -> Document:
        dumped: Document = self._adapter.dump_python(state, mode="json")
        return dumped

    def load(self, doc: Document) -> T:
        return self._adapter.validate_python(doc)


class MemoryAggregates(_CommitLog):
    """`Aggregates` in memory: the same commits and snapshots, as dictionaries (for unit
    tests and the contract suite). Documents are copied in and out, as a database does."""

    def __init__(self, fold: Fold | None = None, cache_size: int = CACHED_AGGREGATES) -> None:
        super().__init__(fold, cache_size)
        self.commits: dict[str, Document] = {}
        self.snapshots: dict[str, Document] = {}

    def twin(self) -> MemoryAggregates:
        """Another writer on the same documents (no shared in-process lock)."""
        other = MemoryAggregates(self.fold, self.cache.size)
        other.commits, other.snapshots = self.commits, self.snapshots
        return other

    async def _commit(self, aggregate_id: str, revision: int) -> Document | None:
        found = self.commits.get(commit_id(aggregate_id, revision))
        return copy.deepcopy(found) if found is not None else None

    async def _snapshot(self, aggregate_id: str) -> Document | None:
        found = self.snapshots.get(aggregate_id)
        return copy.deepcopy(found) if found is not None else None

    async def _insert_commit(self, commit: Document) -> None:
        await asyncio.sleep(0)  # a round trip: let racing writers interleave
        if commit["_id"] in self.commits:
            raise DuplicateKeyError(f"duplicate _id {commit['_id']}", _DUPLICATE_KEY)
        self.commits[commit["_id"]] = copy.deepcopy(commit)

    async def _put_snapshot(self, aggregate_id: str, doc: Document) -> None:
        self.snapshots[aggregate_id] = copy.deepcopy({"_id": aggregate_id, **doc})

    async def ids_where(self, field: str, value: Any) -> list[str]:
        return [i for i, doc in self.snapshots.items() if doc.get(field) == value]
