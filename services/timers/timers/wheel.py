"""The schedule's layout, a two-level timing wheel of slots on a fixed ring, and the local view.

What FerretDB 1.24 (SQLite) does cheaply, measured with `explain` on the devstack build
(docs/ferretdb.md): an `_id` equality lookup uses the index (`SEARCH … USING INDEX`, under
a millisecond at any size, thanks to devstack's build fix); an insert with a unique `_id`
is atomic; everything else scans the collection, a range on `_id` included (`SCAN`,
`filterPushdown: False`: 3.6 s at 50,000 documents). So "the deadlines due in the next ten
seconds" cannot be a query over one big collection: each slot's documents are kept in a
collection that holds little else (one of a fixed ring, `timers.ring`), read whole, and a
claim is an insert. The documents are drawn in `timers.documents`.

    near_<n>   due in [n·slot, (n+1)·slot)  (slot: 10 s by default)
    far_<m>    due in far slot m (30 min by default) and more than the near horizon ahead
               when scheduled; cascaded into near slots before it starts

A replica reads each near slot whole once, shortly before it starts, into `LocalView`: a
heap in due order. It fires from the heap without any query; it reads the slot again only
when the slot is over (to find entries other replicas added, and leases that lapsed), and
deletes the slot when every entry is done or withdrawn.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Final, Literal

from timers.domain import Entry

EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
NEAR: Final = "near_"
FAR: Final = "far_"


def epoch_ms(at: datetime) -> int:
    """Milliseconds since the epoch, floored: what a BSON date keeps."""
    return (at - EPOCH) // timedelta(milliseconds=1)


def from_ms(ms: int) -> datetime:
    return EPOCH + timedelta(milliseconds=ms)


def entry_id(key: str) -> str:
    return "e|" + key


def claim_id(key: str, attempt: int) -> str:
    return f"c|{key}|{attempt}"


def done_id(key: str) -> str:
    return "d|" + key


@dataclass(frozen=True)
class Wheel:
    """Slot arithmetic: which collection a due time belongs in, and when slots move on."""

    slot_ms: int
    far_slot_ms: int
    near_horizon_ms: int
    far_margin_ms: int
    near_ring: int = 128
    far_ring: int = 144

    def collection(self, name: str) -> str:
        """The ring collection that holds slot `name`'s documents (tagged `s: name`)."""
        kind, number = parse(name)
        return f"{kind}_ring_{number % (self.near_ring if kind == 'near' else self.far_ring)}"

    def near_slot(self, ms: int) -> int:
        return ms // self.slot_ms

    def near_start(self, n: int) -> int:
        return n * self.slot_ms

    def near_end(self, n: int) -> int:
        return (n + 1) * self.slot_ms

    def far_slot(self, ms: int) -> int:
        return ms // self.far_slot_ms

    def far_start(self, m: int) -> int:
        return m * self.far_slot_ms

    def far_open(self, m: int, now_ms: int) -> bool:
        """A far slot takes new entries until `margin` before it is cascaded."""
        return self.far_start(m) > now_ms + self.near_horizon_ms + self.far_margin_ms

    def cascade_due(self, m: int, now_ms: int) -> bool:
        """A far slot is moved into near slots `near horizon` before it starts."""
        return self.far_start(m) <= now_ms + self.near_horizon_ms

    def placement(self, due_ms: int, now_ms: int) -> str:
        """The collection a new entry goes to.

        An overdue entry goes to the current slot, never to a past one: a past slot may be
        being deleted by a replica that already swept it.
        """
        m = self.far_slot(due_ms)
        if self.far_open(m, now_ms):
            return f"{FAR}{m}"
        return f"{NEAR}{self.near_slot(max(due_ms, now_ms))}"

    def withdrawal(self, placement: str, due_ms: int, now_ms: int) -> str:
        """Where the tombstone of an entry placed at `placement` must go now.

        An entry still in an open far slot is withdrawn there; once its far slot is closed
        the cascade carries it to the near slot of its due time, so it is withdrawn there.
        """
        kind, number = parse(placement)
        if kind == "far" and not self.far_open(number, now_ms):
            return f"{NEAR}{self.near_slot(due_ms)}"
        return placement


def parse(name: str) -> tuple[Literal["near", "far"], int]:
    """`near_12` -> ("near", 12); raises ValueError for any other name."""
    for prefix, kind in ((NEAR, "near"), (FAR, "far")):
        if name.startswith(prefix) and name[len(prefix) :].isdigit():
            return kind, int(name[len(prefix) :])  # type: ignore[return-value]
    raise ValueError(f"not a wheel collection: {name}")


def is_wheel(name: str) -> bool:
    try:
        parse(name)
    except ValueError:
        return False
    return True


# -- the local view ------------------------------------------------------------------------

State = Literal["waiting", "claiming", "held", "resolved"]


@dataclass
class Cached:
    """One entry as this replica knows it.

    waiting: in the heap, to claim at `attempt` once due; claiming: handed to the scheduler;
    held: someone (maybe we) holds a live lease; resolved: done or withdrawn.
    """

    entry: Entry
    slot: int
    attempt: int
    state: State


@dataclass
class SlotView:
    number: int
    loaded: bool = False
    #: Entries of this slot that are waiting or claiming here.
    open: int = 0
    #: When to read the slot again (sweep); None: not before it is drained.
    recheck_ms: int | None = None
    keys: set[str] = field(default_factory=set)


class LocalView:
    """This replica's due-ordered view of the near slots it has read. No I/O."""

    def __init__(self) -> None:
        self._heap: list[tuple[int, str, int]] = []
        self._cached: dict[str, Cached] = {}
        self.slots: dict[int, SlotView] = {}

    def __len__(self) -> int:
        return len(self._cached)

    def slot(self, n: int) -> SlotView:
        view = self.slots.get(n)
        if view is None:
            view = self.slots[n] = SlotView(n)
        return view

    def get(self, key: str) -> Cached | None:
        return self._cached.get(key)

    def offer(self, slot: int, entry: Entry, attempt: int = 0) -> bool:
        """Wait for `entry` (claim attempt `attempt`) unless it is already known at that attempt."""
        known = self._cached.get(entry.key)
        if known is not None and (known.attempt >= attempt or known.state == "resolved"):
            return False
        self._put(known, Cached(entry, slot, attempt, "waiting"))
        self.slot(slot).open += 1
        heapq.heappush(self._heap, (epoch_ms(entry.due_at), entry.key, attempt))
        return True

    def settle(self, slot: int, entry: Entry) -> None:
        """Remember an entry that is already done or withdrawn."""
        if entry.key in self._cached:
            self.resolve(entry.key)
        else:
            self._put(None, Cached(entry, slot, 0, "resolved"))

    def hold(self, slot: int, entry: Entry, attempt: int) -> None:
        """Someone holds a live lease on `entry`: do not claim it, but remember it."""
        known = self._cached.get(entry.key)
        if known is None or (known.state != "resolved" and known.attempt <= attempt):
            self._put(known, Cached(entry, slot, attempt, "held"))

    def _put(self, known: Cached | None, cached: Cached) -> None:
        """Replace what was known of an entry (None: nothing) by `cached`."""
        if known is None:
            self.slot(cached.slot).keys.add(cached.entry.key)
        else:
            self._leave(known)
        self._cached[cached.entry.key] = cached

    def resolve(self, key: str) -> None:
        """Done or withdrawn: never claim it again."""
        known = self._cached.get(key)
        if known is None or known.state == "resolved":
            return
        self._leave(known)
        known.state = "resolved"

    def _leave(self, known: Cached) -> None:
        if known.state in ("waiting", "claiming"):
            self.slot(known.slot).open -= 1

    def take_due(self, now_ms: int, limit: int) -> list[Cached]:
        """Pop up to `limit` waiting entries that are due, in due order; they become claiming."""
        taken: list[Cached] = []
        while self._heap and len(taken) < limit and self._heap[0][0] <= now_ms:
            _, key, attempt = heapq.heappop(self._heap)
            known = self._cached.get(key)
            if known is None or known.state != "waiting" or known.attempt != attempt:
                continue  # superseded by a later offer, or resolved meanwhile
            known.state = "claiming"
            taken.append(known)
        return taken

    def claimed(self, key: str) -> None:
        """Our claim won, or lost to another's: the entry is held until fired or released
        (a lost one: the sweep finds out how it ended)."""
        known = self._cached.get(key)
        if known is not None and known.state == "claiming":
            self._leave(known)
            known.state = "held"

    def retry(self, key: str, ready_ms: int) -> None:
        """Publishing failed and the claim was released: wait again from `ready_ms`."""
        known = self._cached.get(key)
        if known is None or known.state == "resolved":
            return
        self._leave(known)
        known.state = "waiting"
        self.slot(known.slot).open += 1
        heapq.heappush(self._heap, (ready_ms, key, known.attempt))

    def next_ready_ms(self) -> int | None:
        """The earliest time an entry becomes claimable here, if any."""
        while self._heap:
            ready, key, attempt = self._heap[0]
            known = self._cached.get(key)
            if known is not None and known.state == "waiting" and known.attempt == attempt:
                return ready
            heapq.heappop(self._heap)
        return None

    def drained(self, n: int) -> bool:
        """Read, and nothing of it is left waiting or being claimed here."""
        view = self.slots.get(n)
        return view is not None and view.loaded and view.open == 0

    def forget(self, n: int) -> None:
        """Forget a slot and its entries (it was swept empty and removed)."""
        view = self.slots.pop(n, None)
        if view is None:
            return
        for key in view.keys:
            self._cached.pop(key, None)
