"""The shape of a flow's transition table: data, and the single source of truth.

    Table          one flow: its statuses, how an order starts, who is staff
    ├── Creation   CreateOrder -> the initial status
    ├── Transition status x command -> allowed targets, roles, rules, guard
    └── Timeout    status x deadline kind -> allowed targets, rules

`decide` refuses a (status, command) pair the table lacks, checks the role against it and
checks that the status its handler reaches is one of the targets. The state diagrams in
docs/flows are rendered from these tables.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from contracts.envelope import Role
from contracts.orders import CreateOrder, Flow, OrderCommand, OrderEvent, OrderStatus
from ordering.domain.context import DeadlineFired, Outcome, Step
from ordering.domain.model import DeadlineKind, Order

C = TypeVar("C", bound=OrderCommand)


#: Rule X-10: the statuses in which an order has ended, whatever its flow. Only these may
#: have no way out; any other status of a table needs a party's command or a deadline
#: that leaves it (tests/unit/ordering/test_ordering_no_dead_ends.py checks every table).
ENDS = frozenset(
    {
        OrderStatus.REJECTED,
        OrderStatus.CANCELLED,
        OrderStatus.COMPLETED,
        OrderStatus.CLOSED,
        OrderStatus.DISCARDED,
    }
)


class TableError(Exception):
    """A table that contradicts itself, or a handler that strays from its table."""


def command_type(command: type[OrderCommand]) -> str:
    name = command.model_fields["type"].default
    if not isinstance(name, str):
        raise TableError(f"{command.__name__} has no literal type")
    return name


@dataclass(frozen=True)
class Transition(Generic[C]):
    source: OrderStatus
    command: type[C]
    targets: frozenset[OrderStatus]
    roles: frozenset[Role]
    rules: tuple[str, ...]
    handle: Callable[[Order, C, Step], Outcome]
    guard: str = ""

    @property
    def trigger(self) -> str:
        return command_type(self.command)


@dataclass(frozen=True)
class Timeout:
    source: OrderStatus
    kind: DeadlineKind
    targets: frozenset[OrderStatus]
    rules: tuple[str, ...]
    handle: Callable[[Order, DeadlineFired, Step], list[OrderEvent]]
    guard: str = ""

    @property
    def trigger(self) -> str:
        return f"after {self.kind.value}"


@dataclass(frozen=True)
class Creation:
    initial: OrderStatus
    roles: frozenset[Role]
    rules: tuple[str, ...]
    handle: Callable[[CreateOrder, Step], Outcome]


@dataclass(frozen=True)
class Table:
    flow: Flow
    statuses: tuple[OrderStatus, ...]
    creation: Creation
    transitions: tuple[Transition[Any], ...]
    timeouts: tuple[Timeout, ...]
    #: Roles that may act on any order of the flow without being one of its parties.
    staff: frozenset[Role]

    @property
    def edges(self) -> tuple[Transition[Any] | Timeout, ...]:
        return (*self.transitions, *self.timeouts)

    def __post_init__(self) -> None:
        seen: set[tuple[OrderStatus, str]] = set()
        for edge in self.edges:
            key = (edge.source, edge.trigger)
            if key in seen:
                raise TableError(f"{self.flow}: {key} appears twice")
            seen.add(key)
            unknown = ({edge.source} | edge.targets) - set(self.statuses)
            if unknown or not edge.targets:
                raise TableError(f"{self.flow}: {key} leads to unknown statuses {unknown}")
        if self.creation.initial not in self.statuses:
            raise TableError(f"{self.flow}: initial status is not one of its statuses")

    def transition(self, status: OrderStatus, command: str) -> Transition[Any] | None:
        return next(
            (t for t in self.transitions if t.source is status and t.trigger == command), None
        )

    def timeout(self, status: OrderStatus, kind: str) -> Timeout | None:
        return next((t for t in self.timeouts if t.source is status and t.kind == kind), None)

    @property
    def terminal(self) -> frozenset[OrderStatus]:
        """Statuses with no way out: only self-loops, if anything, start there."""
        leaving = {e.source for e in self.edges if e.targets - {e.source}}
        return frozenset(s for s in self.statuses if s not in leaving)


def on(
    sources: OrderStatus | Iterable[OrderStatus],
    command: type[C],
    handle: Callable[[Order, C, Step], Outcome],
    *,
    by: Role | Iterable[Role],
    rules: str,
    to: OrderStatus | Iterable[OrderStatus] | None = None,
    guard: str = "",
) -> tuple[Transition[C], ...]:
    """Rows of a table: `command` from each of `sources`; without `to` it stays put."""
    return tuple(
        Transition(s, command, _to(s, to), _set(by), tuple(rules.split()), handle, guard)
        for s in _ordered(sources)
    )


def after(
    sources: OrderStatus | Iterable[OrderStatus],
    kind: DeadlineKind,
    handle: Callable[[Order, DeadlineFired, Step], list[OrderEvent]],
    *,
    rules: str,
    to: OrderStatus | Iterable[OrderStatus] | None = None,
    guard: str = "",
) -> tuple[Timeout, ...]:
    """Rows of a table: the deadline `kind` falling due in each of `sources`; without
    `to` it leaves the status as it is."""
    return tuple(
        Timeout(s, kind, _to(s, to), tuple(rules.split()), handle, guard) for s in _ordered(sources)
    )


T = TypeVar("T", OrderStatus, Role)


def _set(items: T | Iterable[T]) -> frozenset[T]:
    if isinstance(items, OrderStatus | Role):
        return frozenset({items})
    return frozenset(items)


def _ordered(sources: OrderStatus | Iterable[OrderStatus]) -> tuple[OrderStatus, ...]:
    # The given order, not a set's: rendered docs must not change from run to run.
    return (sources,) if isinstance(sources, OrderStatus) else tuple(sources)


def _to(
    source: OrderStatus, to: OrderStatus | Iterable[OrderStatus] | None
) -> frozenset[OrderStatus]:
    return frozenset({source}) if to is None else _set(to)
