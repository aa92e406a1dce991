"""X-10 for invoicing: every non-final invoice status can be left by a party's command,
a deadline or ordering's event, and every status is reachable from a creation. Derived
from the transition table itself, so a status added without a way out fails here."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, cast

from contracts.invoicing import InvoiceStatus
from invoicing.domain.invoices import TABLE
from invoicing.domain.table import Edge, Table
from servicekit.lifecycles import DeadEnds, Move, dead_ends

S = InvoiceStatus
#: Issued stays issued (paid or not, M-16) unless its order is cancelled and it is voided.
FINAL = frozenset({S.ISSUED, S.CANCELLED, S.VOIDED})


def check(table: Table) -> DeadEnds:
    moves = (
        Move(e.source, frozenset(e.targets), e.trigger) for e in (*table.creations, *table.edges)
    )
    return dead_ends(table.statuses, moves, FINAL)


def test_X10_every_invoice_status_has_an_exit_and_is_reachable() -> None:
    assert not check(TABLE)


class Added(StrEnum):
    DISPUTED = "disputed"


def test_X10_an_invoice_status_added_without_an_exit_is_reported() -> None:
    disputed = cast(Any, Added.DISPUTED)
    into = Edge(S.ISSUED, "DisputeInvoice", frozenset({disputed}), "client", frozenset(), ())
    broken = Table((*TABLE.statuses, disputed), TABLE.creations, (*TABLE.edges, into))
    assert check(broken) == DeadEnds(frozenset({disputed}), frozenset())


def test_X10_M11_without_the_operators_answer_a_change_request_is_a_dead_end() -> None:
    edges = tuple(e for e in TABLE.edges if e.source is not S.CHANGES_REQUESTED)
    broken = Table(TABLE.statuses, TABLE.creations, edges)
    assert check(broken).no_exit == {S.CHANGES_REQUESTED}
