"""One shape for every transition table: ordering's flows, payments' request, claim and
payout, invoicing's invoice (issue 18: one table shape instead of three).

    Table          one lifecycle: its statuses, its ends, its rows, who is staff, the
    │              refusal when there is none of it yet
    └── Row        status x trigger -> the statuses it may lead to, who, rules, guard,
                   and the handler that decides

    on(...)       rows for a command sent by one of some roles
    when(...)     rows for another service's event
    after(...)    rows for a deadline falling due ("after <kind>")
    follows(...)  consequence rows: no handler; how this lifecycle may move when another
                  lifecycle's trigger runs (a payment settles the request *and* pays the claim)

A row whose source is None makes the thing exist (CreateOrder, an invoice drafted). The
domains check every status change against their rows (`Table.allows`), render their
diagrams from them (`arrows`, `chart_of`; `write_page` writes one) and prove Rule X-10 on
them (`Table.dead_ends`). Pure, but for `write_page`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Generic, TypeVar

from contracts.envelope import Message, Role
from servicekit.diagrams import Arrow, chart, write_section

S = TypeVar("S", bound=StrEnum)


class TableError(Exception):
    """A table that contradicts itself, or a handler that strays from its table."""


class Via(StrEnum):
    """Where a trigger comes from."""

    COMMAND = "command"
    EVENT = "event"
    DEADLINE = "deadline"


def message_type(cls: type[Message]) -> str:
    """The literal `type` of a message class: the trigger its rows answer."""
    name = cls.model_fields["type"].default
    if not isinstance(name, str):
        raise TableError(f"{cls.__name__} has no literal type")
    return name


def deadline_trigger(kind: StrEnum | str) -> str:
    return f"after {kind.value if isinstance(kind, StrEnum) else kind}"


@dataclass(frozen=True)
class Row(Generic[S]):
    source: S | None
    trigger: str
    via: Via
    targets: frozenset[S | None]
    rules: tuple[str, ...]
    roles: frozenset[Role] = frozenset()
    #: `handle(aggregate, message, step) -> outcome`; None on a consequence row.
    handle: Callable[..., Any] | None = None
    guard: str = ""
    #: Who sends an event trigger ("ordering"); the diagrams' "who" for it.
    origin: str = ""

    @property
    def primary(self) -> bool:
        return self.handle is not None

    @property
    def who(self) -> str:
        if self.via is Via.COMMAND:
            return ", ".join(sorted(r.value for r in self.roles))
        return self.origin or self.via.value


@dataclass(frozen=True)
class DeadEnds:
    """What keeps a table from Rule X-10 (no dead ends); false when nothing does."""

    #: Statuses, not ends, that no party's command, deadline or event leaves.
    no_exit: frozenset[StrEnum] = frozenset()
    #: Statuses no chain of moves reaches from a creation.
    unreachable: frozenset[StrEnum] = frozenset()
    #: Statuses, not ends, from which no end can be reached.
    endless: frozenset[StrEnum] = frozenset()
    #: Ends that a row leaves again. Not a dead end: a lifecycle may rest in an end and
    #: still move on (money that comes late recovers a written-off request, P-16; an
    #: issued invoice is voided when its order is cancelled, M-14). Ordering's ends are
    #: final, and its test says so with this field.
    left_ends: frozenset[StrEnum] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.no_exit or self.unreachable or self.endless)


@dataclass(frozen=True)
class Table(Generic[S]):
    name: str
    statuses: tuple[S, ...]
    rows: tuple[Row[S], ...]
    #: Rule X-10: the statuses in which the thing may rest for ever; only these may have
    #: no exit, and from every other status one of them must be reachable.
    ends: frozenset[S] = frozenset()
    #: Roles that may act without being one of the thing's parties (the table still
    #: names the roles of each row).
    staff: frozenset[Role] = frozenset()
    #: The refusal of a command about the thing while there is none of it.
    missing: StrEnum | None = None
    _index: dict[tuple[S | None, str], Row[S]] = field(
        init=False, repr=False, compare=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        known: set[S | None] = {None, *self.statuses}
        for row in self.rows:
            key = (row.source, row.trigger)
            if key in self._index:
                raise TableError(f"{self.name}: {key} appears twice")
            if not row.targets or not ({row.source} | row.targets) <= known:
                raise TableError(f"{self.name}: {key} leads to unknown statuses")
            self._index[key] = row
        if not self.ends <= set(self.statuses):
            raise TableError(f"{self.name}: an end that is not one of its statuses")

    def row(self, source: S | None, trigger: str) -> Row[S] | None:
        return self._index.get((source, trigger))

    def allows(self, source: S | None, trigger: str, target: S | None) -> bool:
        """Whether `trigger` may lead from `source` to `target`."""
        row = self.row(source, trigger)
        return row is not None and target in row.targets

    @property
    def creations(self) -> tuple[Row[Any], ...]:
        return tuple(r for r in self.rows if r.source is None)

    @property
    def triggers(self) -> frozenset[str]:
        """The triggers this table's rows decide (consequence rows excluded)."""
        return frozenset(r.trigger for r in self.rows if r.primary)

    @property
    def terminal(self) -> frozenset[S]:
        """Statuses with no way out: only self-loops, if anything, start there."""
        leaving = {r.source for r in self.rows if r.targets - {r.source, None}}
        return frozenset(s for s in self.statuses if s not in leaving)

    def dead_ends(self) -> DeadEnds:
        """Rule X-10 on this table. A command row nobody may send moves nothing; a
        self-loop leaves nothing; every lifecycle starts at its creation rows."""
        moves: dict[S | None, set[S]] = {s: set() for s in (None, *self.statuses)}
        for row in self.rows:
            if row.via is Via.COMMAND and not row.roles:
                continue
            moves[row.source] |= {t for t in row.targets if t is not None} - {row.source}
        reached = _closure(moves, None) - {None}
        return DeadEnds(
            no_exit=frozenset(s for s in self.statuses if s not in self.ends and not moves[s]),
            unreachable=frozenset(s for s in self.statuses if s not in reached),
            endless=frozenset(
                s
                for s in self.statuses
                if s not in self.ends and moves[s] and not _closure(moves, s) & self.ends
            ),
            left_ends=frozenset(s for s in self.ends if moves[s]),
        )


def _closure(moves: dict[S | None, set[S]], start: S | None) -> set[S | None]:
    seen: set[S | None] = {start}
    todo: list[S | None] = [start]
    while todo:
        for nxt in moves[todo.pop()] - seen:
            seen.add(nxt)
            todo.append(nxt)
    return seen


#: One status, None (not existing), or several of them, in the order given.
Statuses = StrEnum | None | Iterable[StrEnum | None]


def on(
    sources: Statuses,
    command: type[Message],
    handle: Callable[..., Any],
    *,
    by: Role | Iterable[Role],
    rules: str,
    to: Statuses = (),
    guard: str = "",
) -> tuple[Row[Any], ...]:
    """Rows: `command`, sent by one of `by`, in each of `sources`; without `to` the status
    stays. `handle(aggregate, command, step)` decides (invoicing's handlers also get the
    invoice: `handle(ledger, invoice, command, step)`)."""
    roles = frozenset({by}) if isinstance(by, Role) else frozenset(by)
    trigger = message_type(command)
    return _rows(sources, trigger, Via.COMMAND, to, rules, roles, handle, guard, "")


def when(
    sources: Statuses,
    event: type[Message],
    handle: Callable[..., Any],
    *,
    rules: str,
    to: Statuses = (),
    guard: str = "",
    origin: str = "ordering",
) -> tuple[Row[Any], ...]:
    """Rows: `origin`'s `event` arriving in each of `sources`."""
    trigger = message_type(event)
    return _rows(sources, trigger, Via.EVENT, to, rules, frozenset(), handle, guard, origin)


def after(
    sources: Statuses,
    kind: StrEnum,
    handle: Callable[..., Any],
    *,
    rules: str,
    to: Statuses = (),
    guard: str = "",
) -> tuple[Row[Any], ...]:
    """Rows: the deadline `kind` falling due in each of `sources`."""
    trigger = deadline_trigger(kind)
    return _rows(sources, trigger, Via.DEADLINE, to, rules, frozenset(), handle, guard, "")


def follows(
    sources: Statuses,
    trigger: type[Message] | StrEnum | str,
    *,
    via: Via,
    rules: str,
    to: Statuses,
    guard: str = "",
    origin: str = "",
    by: Role | Iterable[Role] = (),
) -> tuple[Row[Any], ...]:
    """Consequence rows: how this lifecycle may move, in each of `sources`, when another
    lifecycle's `trigger` runs (a deadline kind, a message class or a trigger's name).
    A command's consequence names `by`, who may send it, or X-10 counts no move."""
    if isinstance(trigger, str) and not isinstance(trigger, StrEnum):
        name = trigger
    elif isinstance(trigger, StrEnum):
        name = deadline_trigger(trigger)
    else:
        name = message_type(trigger)
    roles = frozenset({by}) if isinstance(by, Role) else frozenset(by)
    return _rows(sources, name, via, to, rules, roles, None, guard, origin)


def arrows(table: Table[S], order: Iterable[S] | None = None) -> list[Arrow]:
    """The table's rows as the one diagram renderer draws them (servicekit.diagrams)."""
    ranks = {s: i for i, s in enumerate(order if order is not None else table.statuses)}
    return [
        Arrow(
            source=row.source.value if row.source is not None else None,
            trigger=row.trigger,
            targets=tuple(
                t.value
                for t in sorted((t for t in row.targets if t is not None), key=ranks.get)  # type: ignore[arg-type]
            ),
            who=row.who,
            rules=row.rules,
            guard=row.guard,
            unseen=("(none)",) if None in row.targets else (),
        )
        for row in table.rows
    ]


def chart_of(table: Table[S], drawn: Sequence[Arrow] | None = None) -> list[str]:
    """The table's mermaid chart and the table behind it (servicekit.diagrams.chart): its
    rows as `arrows` draws them, or as `drawn`; its terminal statuses in table order."""
    terminal = [s.value for s in table.statuses if s in table.terminal]
    return chart(arrows(table) if drawn is None else drawn, terminal)


def write_page(
    argv: Sequence[str] | None, default: str, rendered: str, begin: str, end: str
) -> Path:
    """What `python -m <domain>.diagrams [FILE]` does: `rendered` (markers `begin`, `end`
    included) in place of the generated part of FILE (default `default`). The path written."""
    args = sys.argv[1:] if argv is None else list(argv)
    path = Path(args[0] if args else default)
    write_section(path, rendered, begin, end)
    return path


def _rows(
    sources: Statuses,
    trigger: str,
    via: Via,
    to: Statuses,
    rules: str,
    roles: frozenset[Role],
    handle: Callable[..., Any] | None,
    guard: str,
    origin: str,
) -> tuple[Row[Any], ...]:
    return tuple(
        Row(s, trigger, via, _targets(s, to), tuple(rules.split()), roles, handle, guard, origin)
        for s in _listed(sources)
    )


def _listed(items: Statuses) -> tuple[StrEnum | None, ...]:
    # The given order, not a set's: rendered docs must not change from run to run.
    if items is None or isinstance(items, StrEnum):
        return (items,)
    return tuple(items)


def _targets(source: StrEnum | None, to: Statuses) -> frozenset[StrEnum | None]:
    listed = _listed(to)
    return frozenset(listed) if listed else frozenset({source})
