"""Rule X-10, no dead ends, checked on any transition table.

    Move       one way between statuses: from a status (None: not yet existing) to
               the statuses it may lead to, by a command, a deadline or another
               service's event
    dead_ends  what a table gets wrong: non-final statuses nothing leaves, statuses
               nothing reaches from the creation

Each service turns its own table's rows into moves (its rows differ in shape); the check
is one. Pure: a test calls it on the real tables and on deliberately broken ones.
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Move:
    source: Hashable | None
    targets: frozenset[Hashable | None]
    #: What moves: a command's type, `after <deadline>`, an event's type.
    trigger: str


@dataclass(frozen=True)
class DeadEnds:
    #: Statuses not declared final that no command, deadline or event leaves.
    no_exit: frozenset[Hashable]
    #: Statuses no chain of moves reaches from the creation (source None).
    unreachable: frozenset[Hashable]

    def __bool__(self) -> bool:
        return bool(self.no_exit or self.unreachable)


def dead_ends(
    statuses: Collection[Hashable], moves: Iterable[Move], final: Collection[Hashable]
) -> DeadEnds:
    """What stops `statuses` from being a lifecycle without dead ends (Rule X-10).

    A status is left when some move starts there and may lead to another status (a
    self-loop leaves nothing). `final` names the statuses that may stay for ever.
    """
    moves = tuple(moves)
    leaving = {m.source for m in moves if m.source is not None and m.targets - {m.source, None}}
    reached: set[Hashable] = set()
    frontier: list[Hashable | None] = [None]
    while frontier:
        here = frontier.pop()
        for move in moves:
            if move.source == here:
                new = {t for t in move.targets if t is not None and t not in reached}
                reached |= new
                frontier += new
    return DeadEnds(
        no_exit=frozenset(s for s in statuses if s not in final and s not in leaving),
        unreachable=frozenset(s for s in statuses if s not in reached),
    )
