"""Rule X-10, no dead ends, for ordering: derived from every flow's transition table in
the flows registry by `Table.dead_ends()`, so that a status added to any table without a
way out fails here.

Every order of a flow starts at its creation row: DuplicateOrder's copy too (`decide`
holds a created order to its creation row's status), so that is the root.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from contracts.envelope import Role
from contracts.orders import CancelOrder, Flow, MarkOrderPaid, OrderCommand, OrderStatus
from ordering.domain import TABLES, Order
from ordering.domain.context import Outcome, Step
from servicekit.tables import DeadEnds, on

S = OrderStatus


@pytest.mark.parametrize("flow", list(TABLES))
def test_X10_every_status_of_every_flow_has_an_exit_and_is_reachable(flow: Flow) -> None:
    table = TABLES[flow]
    assert not table.dead_ends()
    # Every flow has an end, and every end the table has is one it calls terminal.
    assert table.ends
    assert table.terminal == table.ends


def test_X10_the_registry_holds_every_flow() -> None:
    assert set(TABLES) == set(Flow)


def _never(order: Order, command: OrderCommand, step: Step) -> Outcome:
    raise AssertionError("a broken table is only checked, never run")


def test_X10_the_check_reports_a_status_added_without_an_exit() -> None:
    managed = TABLES[Flow.MANAGED]
    broken = replace(
        managed,
        statuses=(*managed.statuses, S.PAYMENT),
        rows=(
            *managed.rows,
            *on(S.DRAFT, MarkOrderPaid, _never, to=S.PAYMENT, by=Role.MEMBER, rules="X-10"),
        ),
    )
    assert broken.dead_ends() == DeadEnds(no_exit=frozenset({S.PAYMENT}))


def test_X10_the_check_reports_an_exit_nobody_may_take() -> None:
    account = TABLES[Flow.ACCOUNT]
    no_one = [
        replace(t, roles=frozenset()) if t.trigger == "CompleteOrder" else t for t in account.rows
    ]
    broken = replace(account, rows=tuple(no_one))
    assert broken.dead_ends() == DeadEnds(no_exit=frozenset({S.APPROVED}))


def test_X10_the_check_reports_a_status_no_order_can_reach() -> None:
    account = TABLES[Flow.ACCOUNT]
    broken = replace(
        account,
        statuses=(*account.statuses, S.CONFIRMATION),
        rows=(
            *account.rows,
            *on(S.CONFIRMATION, CancelOrder, _never, to=S.CANCELLED, by=Role.AGENT, rules="X-10"),
        ),
    )
    assert broken.dead_ends() == DeadEnds(unreachable=frozenset({S.CONFIRMATION}))


def test_X10_the_check_reports_a_loop_that_never_ends_and_an_end_that_moves() -> None:
    postpaid = TABLES[Flow.POSTPAID]
    # Statuses that only lead to each other: an order caught there never ends.
    looping = replace(
        postpaid,
        statuses=(*postpaid.statuses, S.OPERATOR_REVIEW, S.DRAFT),
        rows=(
            *postpaid.rows,
            *on(S.CONFIRMATION, MarkOrderPaid, _never, to=S.DRAFT, by=Role.SYSTEM, rules="X-10"),
            *on(S.DRAFT, MarkOrderPaid, _never, to=S.OPERATOR_REVIEW, by=Role.SYSTEM, rules="X"),
            *on(S.OPERATOR_REVIEW, MarkOrderPaid, _never, to=S.DRAFT, by=Role.SYSTEM, rules="X"),
            *on(S.CANCELLED, MarkOrderPaid, _never, to=S.CONFIRMATION, by=Role.SYSTEM, rules="X"),
        ),
    )
    assert looping.dead_ends() == DeadEnds(
        left_ends=frozenset({S.CANCELLED}),
        endless=frozenset({S.DRAFT, S.OPERATOR_REVIEW}),
    )
