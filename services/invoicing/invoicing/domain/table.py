"""The shape of the invoice transition table: data, and the single source of truth.

    Table          the statuses of an invoice and every way between them
    ├── creations  how an invoice comes to be (an order activated, a bill-cycle run)
    └── edges      status x trigger -> allowed targets, who, rules, guard, handler

A trigger is a command type (`RequestInvoiceChanges`), a deadline falling due
(`after invoice_issue`) or an event of ordering's (`OrderCancelled`). `decide` refuses a
(status, command) pair the table lacks, checks the role against it, and checks that the
status its handler reaches is one of the targets. docs/invoicing.md's diagram is rendered
from the table.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from contracts.envelope import Message, Role
from contracts.invoicing import InvoiceStatus
from invoicing.domain.context import Decision, Rejection, Step
from invoicing.domain.model import DeadlineKind, Invoice, Ledger

Outcome = Decision | Rejection
Handle = Callable[[Ledger, Invoice, Any, Step], Outcome]


class TableError(Exception):
    """A table that contradicts itself, or a handler that strays from its table."""


@dataclass(frozen=True)
class Edge:
    source: InvoiceStatus | None
    trigger: str
    targets: frozenset[InvoiceStatus]
    #: Roles that may send the command; "deadline" or "ordering" for the other triggers.
    who: str
    roles: frozenset[Role]
    rules: tuple[str, ...]
    handle: Handle | None = None
    guard: str = ""


@dataclass(frozen=True)
class Table:
    statuses: tuple[InvoiceStatus, ...]
    creations: tuple[Edge, ...]
    edges: tuple[Edge, ...]

    def __post_init__(self) -> None:
        seen: set[tuple[InvoiceStatus | None, str]] = set()
        for edge in (*self.creations, *self.edges):
            key = (edge.source, edge.trigger)
            if key in seen:
                raise TableError(f"{key} appears twice")
            seen.add(key)
            known = set(self.statuses)
            if not edge.targets or not edge.targets <= known:
                raise TableError(f"{key} leads to unknown statuses")
            if edge.source is not None and edge.source not in known:
                raise TableError(f"{key} starts from an unknown status")

    def row(self, status: InvoiceStatus, trigger: str) -> Edge | None:
        return next((e for e in self.edges if e.source is status and e.trigger == trigger), None)

    def creation(self, trigger: str) -> Edge:
        return next(e for e in self.creations if e.trigger == trigger)

    @property
    def terminal(self) -> frozenset[InvoiceStatus]:
        """Statuses with no way out: only self-loops, if anything, start there."""
        leaving = {e.source for e in self.edges if e.source and e.targets - {e.source}}
        return frozenset(s for s in self.statuses if s not in leaving)


def message_type(cls: type[Message]) -> str:
    name = cls.model_fields["type"].default
    if not isinstance(name, str):
        raise TableError(f"{cls.__name__} has no literal type")
    return name


def deadline_trigger(kind: DeadlineKind) -> str:
    return f"after {kind.value}"


def on(
    sources: InvoiceStatus | Iterable[InvoiceStatus],
    command: type[Message],
    handle: Handle,
    *,
    by: Role | Iterable[Role],
    rules: str,
    to: InvoiceStatus | Iterable[InvoiceStatus] | None = None,
    guard: str = "",
) -> tuple[Edge, ...]:
    """Rows: `command` sent by one of `by`, from each of `sources`."""
    roles = frozenset({by}) if isinstance(by, Role) else frozenset(by)
    who = ", ".join(sorted(r.value for r in roles))
    trigger = message_type(command)
    return tuple(
        Edge(s, trigger, _to(s, to), who, roles, tuple(rules.split()), handle, guard)
        for s in _ordered(sources)
    )


def after(
    sources: InvoiceStatus | Iterable[InvoiceStatus],
    kind: DeadlineKind,
    handle: Handle,
    *,
    rules: str,
    to: InvoiceStatus | Iterable[InvoiceStatus] | None = None,
    guard: str = "",
) -> tuple[Edge, ...]:
    """Rows: the deadline `kind` of the invoice falling due in each of `sources`."""
    trigger = deadline_trigger(kind)
    return tuple(
        Edge(s, trigger, _to(s, to), "deadline", frozenset(), tuple(rules.split()), handle, guard)
        for s in _ordered(sources)
    )


def when(
    sources: InvoiceStatus | Iterable[InvoiceStatus],
    event: type[Message],
    handle: Handle,
    *,
    rules: str,
    to: InvoiceStatus | Iterable[InvoiceStatus] | None = None,
    guard: str = "",
) -> tuple[Edge, ...]:
    """Rows: ordering's `event` about the invoice's order, in each of `sources`."""
    trigger = message_type(event)
    return tuple(
        Edge(s, trigger, _to(s, to), "ordering", frozenset(), tuple(rules.split()), handle, guard)
        for s in _ordered(sources)
    )


def start(trigger: str, to: InvoiceStatus, *, who: str, rules: str, guard: str = "") -> Edge:
    """A way an invoice comes to be."""
    return Edge(None, trigger, frozenset({to}), who, frozenset(), tuple(rules.split()), None, guard)


def _ordered(sources: InvoiceStatus | Iterable[InvoiceStatus]) -> tuple[InvoiceStatus, ...]:
    # The given order, not a set's: rendered docs must not change from run to run.
    return (sources,) if isinstance(sources, InvoiceStatus) else tuple(sources)


def _to(
    source: InvoiceStatus, to: InvoiceStatus | Iterable[InvoiceStatus] | None
) -> frozenset[InvoiceStatus]:
    if to is None:
        return frozenset({source})
    return frozenset({to}) if isinstance(to, InvoiceStatus) else frozenset(to)
