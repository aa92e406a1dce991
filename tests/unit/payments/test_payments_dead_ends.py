"""X-10 for payments: every non-final status of the payment request, the claim and the
payout can be left by a party's command, a deadline or ordering's event, and every status
is reachable from the creation. Derived from the transition tables themselves, so a
status added without a way out fails here."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, cast

from contracts.payments import ClaimStatus, PayoutStatus, RequestStatus
from payments.domain import TABLES, Entity
from payments.domain.table import Row, Table, Via
from servicekit.lifecycles import DeadEnds, Move, dead_ends

#: The statuses that may stay for ever; every other one needs a way out (X-10, P-21).
FINAL: dict[Entity, frozenset[Any]] = {
    # written off: final unless money still comes (it is then recovered, P-16).
    Entity.REQUEST: frozenset({RequestStatus.PAID, RequestStatus.WRITTEN_OFF}),
    Entity.CLAIM: frozenset({ClaimStatus.PAID, ClaimStatus.WRITTEN_OFF, ClaimStatus.LAPSED}),
    Entity.PAYOUT: frozenset({PayoutStatus.PAID}),
}


def check(table: Table, final: frozenset[Any]) -> DeadEnds:
    moves = (Move(r.source, frozenset(r.targets), r.trigger) for r in table.rows)
    return dead_ends(table.statuses, moves, final)


def test_X10_every_payment_request_status_has_an_exit_and_is_reachable() -> None:
    assert not check(TABLES[Entity.REQUEST], FINAL[Entity.REQUEST])


def test_X10_every_claim_status_has_an_exit_and_is_reachable() -> None:
    assert not check(TABLES[Entity.CLAIM], FINAL[Entity.CLAIM])


def test_X10_every_payout_status_has_an_exit_and_is_reachable() -> None:
    assert not check(TABLES[Entity.PAYOUT], FINAL[Entity.PAYOUT])


class Added(StrEnum):
    DISPUTED = "disputed"


def test_X10_a_claim_status_added_without_an_exit_is_reported() -> None:
    claims = TABLES[Entity.CLAIM]
    disputed = cast(Any, Added.DISPUTED)
    into: Row[Any] = Row(Entity.CLAIM, ClaimStatus.OPENED, "DisputeClaim", Via.COMMAND,
               frozenset({disputed}), ("X-10",))  # fmt: skip
    broken = Table(Entity.CLAIM, (*claims.statuses, disputed), (*claims.rows, into),
                   claims.missing)  # fmt: skip
    assert check(broken, FINAL[Entity.CLAIM]) == DeadEnds(frozenset({disputed}), frozenset())


def test_X10_P21_without_the_reopen_deadline_a_withdrawn_claim_would_never_lapse() -> None:
    claims = TABLES[Entity.CLAIM]
    rows = tuple(r for r in claims.rows if r.via is not Via.DEADLINE)
    broken = Table(Entity.CLAIM, claims.statuses, rows, claims.missing)
    assert check(broken, FINAL[Entity.CLAIM]).unreachable == {ClaimStatus.LAPSED}


def test_X10_P21_without_its_ways_out_an_overdue_request_is_a_dead_end() -> None:
    requests = TABLES[Entity.REQUEST]
    rows = tuple(r for r in requests.rows if r.source is not RequestStatus.OVERDUE)
    broken = Table(Entity.REQUEST, requests.statuses, rows, requests.missing)
    assert check(broken, FINAL[Entity.REQUEST]).no_exit == {RequestStatus.OVERDUE}
