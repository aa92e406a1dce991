"""X-10 for invoicing: every non-final invoice status can be left by a party's command,
a deadline or ordering's event, and every status is reachable from a creation. Derived
from the transition table itself, so a status added without a way out fails here."""

from __future__ import annotations

from dataclasses import replace
from enum import StrEnum
from typing import Any, cast

from contracts.envelope import Role
from contracts.invoicing import InvoiceStatus
from invoicing.domain.invoices import TABLE
from servicekit.tables import DeadEnds, Row, Via

S = InvoiceStatus


def test_X10_every_invoice_status_has_an_exit_and_is_reachable() -> None:
    assert not TABLE.dead_ends()
    # Issued stays issued (paid or not, M-16) unless its order is cancelled and it is voided.
    assert TABLE.ends == {S.ISSUED, S.CANCELLED, S.VOIDED}


class Added(StrEnum):
    DISPUTED = "disputed"


def test_X10_an_invoice_status_added_without_an_exit_is_reported() -> None:
    disputed = cast(Any, Added.DISPUTED)
    into: Row[Any] = Row(S.ISSUED, "DisputeInvoice", Via.COMMAND, frozenset({disputed}), (),
                         frozenset({Role.CLIENT}))  # fmt: skip
    broken = replace(TABLE, rows=(*TABLE.rows, into), statuses=(*TABLE.statuses, disputed))
    found = broken.dead_ends()
    assert found == DeadEnds(no_exit=frozenset({disputed}), left_ends=TABLE.dead_ends().left_ends)


def test_X10_M11_without_the_operators_answer_a_change_request_is_a_dead_end() -> None:
    rows = tuple(r for r in TABLE.rows if r.source is not S.CHANGES_REQUESTED)
    assert replace(TABLE, rows=rows).dead_ends().no_exit == {S.CHANGES_REQUESTED}
