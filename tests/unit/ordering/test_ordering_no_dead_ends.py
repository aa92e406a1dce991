"""Rule X-10, no dead ends, for ordering: derived from every flow's transition table in
the flows registry, so that a status added to any table without a way out fails here."""

from __future__ import annotations

from dataclasses import replace

import pytest

from contracts.envelope import Role
from contracts.orders import CancelOrder, Flow, MarkOrderPaid, OrderCommand, OrderStatus
from ordering.domain import TABLES, Order
from ordering.domain.context import Outcome, Step
from ordering.domain.table import ENDS, Table, on

S = OrderStatus


def dead_ends(table: Table) -> list[str]:
    """Why `table` has a dead end, if it has one (X-10): a status no order can reach from
    its creation; a status, not an end, that no party's command and no deadline leaves;
    an end that does not stay one; a status from which no end can be reached.

    Every order of a flow starts in its creation status: DuplicateOrder's copy too
    (`decide` holds a created order to the table's initial status), so that is the root.
    """
    moves: dict[OrderStatus, set[OrderStatus]] = {s: set() for s in table.statuses}
    for t in table.transitions:
        if t.roles:  # a command nobody may send leaves nothing
            moves[t.source] |= t.targets - {t.source}
    for timeout in table.timeouts:
        moves[timeout.source] |= timeout.targets - {timeout.source}
    problems = []
    reachable = _closure({table.creation.initial}, moves)
    problems += [f"{s.value} cannot be reached" for s in table.statuses if s not in reachable]
    for status in table.statuses:
        if status in ENDS:
            if moves[status]:
                problems.append(f"{status.value} is an end but can be left")
        elif not moves[status]:
            problems.append(f"{status.value} has no exit")
        elif not _closure({status}, moves) & ENDS:
            problems.append(f"{status.value} never leads to an end")
    return problems


def _closure(start: set[OrderStatus], moves: dict[OrderStatus, set[OrderStatus]]) -> set[S]:
    seen, todo = set(start), list(start)
    while todo:
        for nxt in moves[todo.pop()] - seen:
            seen.add(nxt)
            todo.append(nxt)
    return seen


@pytest.mark.parametrize("flow", list(TABLES))
def test_X10_every_status_of_every_flow_has_an_exit_and_is_reachable(flow: Flow) -> None:
    table = TABLES[flow]
    assert dead_ends(table) == []
    # Every flow has an end, and every end the table uses is one it calls terminal.
    assert table.terminal == frozenset(table.statuses) & ENDS


def test_X10_the_registry_holds_every_flow() -> None:
    assert set(TABLES) == set(Flow)


def _never(order: Order, command: OrderCommand, step: Step) -> Outcome:
    raise AssertionError("a broken table is only checked, never run")


def test_X10_the_check_reports_a_status_added_without_an_exit() -> None:
    managed = TABLES[Flow.MANAGED]
    broken = replace(
        managed,
        statuses=(*managed.statuses, S.PAYMENT),
        transitions=(
            *managed.transitions,
            *on(S.DRAFT, MarkOrderPaid, _never, to=S.PAYMENT, by=Role.MEMBER, rules="X-10"),
        ),
    )
    assert dead_ends(broken) == ["payment has no exit"]


def test_X10_the_check_reports_an_exit_nobody_may_take() -> None:
    account = TABLES[Flow.ACCOUNT]
    no_one = [
        replace(t, roles=frozenset()) if t.trigger == "CompleteOrder" else t
        for t in account.transitions
    ]
    assert dead_ends(replace(account, transitions=tuple(no_one))) == ["approved has no exit"]


def test_X10_the_check_reports_a_status_no_order_can_reach() -> None:
    account = TABLES[Flow.ACCOUNT]
    broken = replace(
        account,
        statuses=(*account.statuses, S.CONFIRMATION),
        transitions=(
            *account.transitions,
            *on(S.CONFIRMATION, CancelOrder, _never, to=S.CANCELLED, by=Role.AGENT, rules="X-10"),
        ),
    )
    assert dead_ends(broken) == ["confirmation cannot be reached"]


def test_X10_the_check_reports_a_loop_that_never_ends_and_an_end_that_moves() -> None:
    postpaid = TABLES[Flow.POSTPAID]
    # Statuses that only lead to each other: an order caught there never ends.
    looping = replace(
        postpaid,
        statuses=(*postpaid.statuses, S.OPERATOR_REVIEW, S.DRAFT),
        transitions=(
            *postpaid.transitions,
            *on(S.CONFIRMATION, MarkOrderPaid, _never, to=S.DRAFT, by=Role.SYSTEM, rules="X-10"),
            *on(S.DRAFT, MarkOrderPaid, _never, to=S.OPERATOR_REVIEW, by=Role.SYSTEM, rules="X"),
            *on(S.OPERATOR_REVIEW, MarkOrderPaid, _never, to=S.DRAFT, by=Role.SYSTEM, rules="X"),
            *on(S.CANCELLED, MarkOrderPaid, _never, to=S.CONFIRMATION, by=Role.SYSTEM, rules="X"),
        ),
    )
    assert sorted(dead_ends(looping)) == [
        "cancelled is an end but can be left",
        "draft never leads to an end",
        "operator_review never leads to an end",
    ]
