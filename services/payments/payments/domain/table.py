"""The shape of payments' transition tables: data, and the single source of truth.

    Entity     what a table is about: the payment request, the claim, the payout
    Table      one entity: its statuses, its rows, the reason when it does not exist
    └── Row    status x trigger -> allowed statuses after, who, rules, guard, handler

A trigger is a command's type (`RecordPayment`), an ordering event's type
(`ExecutionConfirmed`) or a deadline (`after payment_window`). Each trigger has one
*primary* entity whose rows carry the handler; a row without a handler is a
*consequence*: how another entity may move when that trigger's handler runs (a payment
that settles the request pays the claim and schedules the payout). `decide` checks every
status change against these rows; the diagrams in docs/payments.md are rendered from them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Generic, TypeVar

from contracts.envelope import Message, Role
from contracts.payments import ClaimStatus, PaymentRejectionReason, PayoutStatus, RequestStatus
from payments.domain.context import DeadlineFired, Outcome, Step
from payments.domain.model import DeadlineKind, Ledger

Status = RequestStatus | ClaimStatus | PayoutStatus
M = TypeVar("M")
C = TypeVar("C", bound=Message)


class Entity(StrEnum):
    REQUEST = "payment request"
    CLAIM = "claim"
    PAYOUT = "payout"


class Via(StrEnum):
    """Where a trigger comes from (the diagrams' "who" for non-commands)."""

    COMMAND = "command"
    ORDERING = "ordering"
    DEADLINE = "deadline"


class TableError(Exception):
    """A table that contradicts itself, or a handler that strays from its table."""


def message_type(cls: type[Message]) -> str:
    name = cls.model_fields["type"].default
    if not isinstance(name, str):
        raise TableError(f"{cls.__name__} has no literal type")
    return name


@dataclass(frozen=True)
class Row(Generic[M]):
    entity: Entity
    source: Status | None
    trigger: str
    via: Via
    targets: frozenset[Status | None]
    rules: tuple[str, ...]
    roles: frozenset[Role] = frozenset()
    handle: Callable[[Ledger, M, Step], Outcome] | None = None
    guard: str = ""

    @property
    def primary(self) -> bool:
        return self.handle is not None


@dataclass(frozen=True)
class Table:
    entity: Entity
    statuses: tuple[Status, ...]
    rows: tuple[Row[Any], ...]
    #: The refusal of a command about this entity while there is none of it.
    missing: PaymentRejectionReason

    def __post_init__(self) -> None:
        seen: set[tuple[Status | None, str]] = set()
        known: set[Status | None] = {None, *self.statuses}
        for row in self.rows:
            key = (row.source, row.trigger)
            if key in seen:
                raise TableError(f"{self.entity}: {key} appears twice")
            seen.add(key)
            if row.entity is not self.entity:
                raise TableError(f"{self.entity}: a row of {row.entity}")
            if not row.targets or not ({row.source} | row.targets) <= known:
                raise TableError(f"{self.entity}: {key} leads to unknown statuses")

    def row(self, source: Status | None, trigger: str) -> Row[Any] | None:
        return next((r for r in self.rows if r.source == source and r.trigger == trigger), None)

    @property
    def triggers(self) -> frozenset[str]:
        return frozenset(r.trigger for r in self.rows if r.primary)

    @property
    def terminal(self) -> frozenset[Status]:
        """Statuses with no way out: only self-loops, if anything, start there."""
        leaving = {r.source for r in self.rows if r.targets - {r.source, None}}
        return frozenset(s for s in self.statuses if s not in leaving)


Sources = Status | None | Iterable[Status | None]
Targets = Status | None | Iterable[Status | None]


def on(
    entity: Entity,
    sources: Sources,
    command: type[C],
    handle: Callable[[Ledger, C, Step], Outcome],
    *,
    by: Role | Iterable[Role],
    rules: str,
    to: Targets = (),
    guard: str = "",
) -> tuple[Row[C], ...]:
    """Rows: `command` in each of `sources`; without `to` the status stays."""
    roles = frozenset({by}) if isinstance(by, Role) else frozenset(by)
    trigger = message_type(command)
    return _rows(entity, sources, trigger, Via.COMMAND, to, rules, roles, handle, guard)


def when(
    entity: Entity,
    sources: Sources,
    event: type[C],
    handle: Callable[[Ledger, C, Step], Outcome],
    *,
    rules: str,
    to: Targets = (),
    guard: str = "",
) -> tuple[Row[C], ...]:
    """Rows: ordering's `event` arriving in each of `sources`."""
    trigger = message_type(event)
    return _rows(entity, sources, trigger, Via.ORDERING, to, rules, frozenset(), handle, guard)


def after(
    entity: Entity,
    sources: Sources,
    kind: DeadlineKind,
    handle: Callable[[Ledger, DeadlineFired, Step], Outcome],
    *,
    rules: str,
    to: Targets = (),
    guard: str = "",
) -> tuple[Row[DeadlineFired], ...]:
    """Rows: the deadline `kind` falling due in each of `sources`."""
    trigger = deadline_trigger(kind)
    return _rows(entity, sources, trigger, Via.DEADLINE, to, rules, frozenset(), handle, guard)


def follows(
    entity: Entity,
    sources: Sources,
    trigger: type[Message] | DeadlineKind,
    *,
    via: Via,
    rules: str,
    to: Targets,
    guard: str = "",
) -> tuple[Row[Any], ...]:
    """Consequence rows: how `entity` may move when another entity's `trigger` runs."""
    name = deadline_trigger(trigger) if isinstance(trigger, DeadlineKind) else message_type(trigger)
    return _rows(entity, sources, name, via, to, rules, frozenset(), None, guard)


def deadline_trigger(kind: DeadlineKind | str) -> str:
    return f"after {DeadlineKind(kind).value}"


def _rows(
    entity: Entity,
    sources: Sources,
    trigger: str,
    via: Via,
    to: Targets,
    rules: str,
    roles: frozenset[Role],
    handle: Callable[[Ledger, Any, Step], Outcome] | None,
    guard: str,
) -> tuple[Row[Any], ...]:
    return tuple(
        Row(entity, s, trigger, via, _targets(s, to), tuple(rules.split()), roles, handle, guard)
        for s in _listed(sources)
    )


def _listed(items: Sources) -> tuple[Status | None, ...]:
    # The given order, not a set's: rendered docs must not change from run to run.
    if items is None or isinstance(items, StrEnum):
        return (items,)
    return tuple(items)


def _targets(source: Status | None, to: Targets) -> frozenset[Status | None]:
    listed = _listed(to)
    return frozenset(listed) if listed else frozenset({source})
