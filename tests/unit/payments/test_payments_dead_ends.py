"""X-10 for payments: every non-final status of the payment request, the claim and the
payout can be left by a party's command, a deadline or ordering's event, and every status
is reachable from the creation. Derived from the transition tables themselves
(`Table.dead_ends`), so a status added without a way out fails here."""

from __future__ import annotations

from dataclasses import replace
from enum import StrEnum
from typing import Any, cast

from contracts.envelope import Role
from contracts.payments import ClaimStatus, PayoutStatus, RequestStatus
from payments.domain import TABLES, Entity
from servicekit.tables import DeadEnds, Row, Via


def test_X10_every_payment_request_status_has_an_exit_and_is_reachable() -> None:
    assert not TABLES[Entity.REQUEST].dead_ends()


def test_X10_every_claim_status_has_an_exit_and_is_reachable() -> None:
    assert not TABLES[Entity.CLAIM].dead_ends()


def test_X10_every_payout_status_has_an_exit_and_is_reachable() -> None:
    assert not TABLES[Entity.PAYOUT].dead_ends()


def test_X10_the_ends_are_the_paid_and_given_up_statuses() -> None:
    # written off is no end of a request: money may still come (it is then recovered, P-16)
    assert TABLES[Entity.REQUEST].ends == {RequestStatus.PAID}
    assert TABLES[Entity.CLAIM].ends == {
        ClaimStatus.PAID,
        ClaimStatus.WRITTEN_OFF,
        ClaimStatus.LAPSED,
    }
    assert TABLES[Entity.PAYOUT].ends == {PayoutStatus.PAID}


class Added(StrEnum):
    DISPUTED = "disputed"


def test_X10_a_claim_status_added_without_an_exit_is_reported() -> None:
    claims = TABLES[Entity.CLAIM]
    disputed = cast(Any, Added.DISPUTED)
    into: Row[Any] = Row(ClaimStatus.OPENED, "DisputeClaim", Via.COMMAND, frozenset({disputed}),
                         ("X-10",), frozenset({Role.SUPPLIER}))  # fmt: skip
    broken = replace(claims, statuses=(*claims.statuses, disputed), rows=(*claims.rows, into))
    assert broken.dead_ends() == DeadEnds(no_exit=frozenset({disputed}))


def test_X10_P21_without_the_reopen_deadline_a_withdrawn_claim_would_never_lapse() -> None:
    claims = TABLES[Entity.CLAIM]
    broken = replace(claims, rows=tuple(r for r in claims.rows if r.via is not Via.DEADLINE))
    assert broken.dead_ends().unreachable == {ClaimStatus.LAPSED}


def test_X10_P21_without_its_ways_out_an_overdue_request_is_a_dead_end() -> None:
    requests = TABLES[Entity.REQUEST]
    rows = tuple(r for r in requests.rows if r.source is not RequestStatus.OVERDUE)
    broken = replace(requests, rows=rows)
    assert broken.dead_ends().no_exit == {RequestStatus.OVERDUE}
