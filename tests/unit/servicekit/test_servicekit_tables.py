"""servicekit.tables: the one table shape every domain writes its rules in (issue 18)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import pytest

from contracts.envelope import Role
from contracts.orders import CancelOrder, ConfirmOrder, CreateOrder, OrderCancelled
from servicekit.tables import (
    DeadEnds,
    Table,
    TableError,
    Via,
    after,
    arrows,
    follows,
    on,
    when,
)


class S(StrEnum):
    OPEN = "open"
    DONE = "done"
    GONE = "gone"


class K(StrEnum):
    WINDOW = "window"


def _handle(aggregate: Any, message: Any, step: Any) -> list[Any]:
    return []


def _table(*rows: Any, ends: frozenset[S] = frozenset({S.DONE, S.GONE})) -> Table[S]:
    return Table("thing", tuple(S), tuple(r for group in rows for r in group), ends)


CREATE = on(None, CreateOrder, _handle, by=Role.MEMBER, rules="X-01", to=S.OPEN)
CONFIRM = on(S.OPEN, ConfirmOrder, _handle, by=Role.CLIENT, rules="M-07", to=S.DONE)
LAPSE = after(S.OPEN, K.WINDOW, _handle, rules="X-02", to=S.GONE)


def test_a_row_is_found_by_its_status_and_trigger_and_says_where_it_may_lead() -> None:
    table = _table(CREATE, CONFIRM, LAPSE)
    assert table.row(S.OPEN, "ConfirmOrder") is CONFIRM[0]
    assert table.row(S.DONE, "ConfirmOrder") is None
    assert table.allows(S.OPEN, "after window", S.GONE)
    assert not table.allows(S.OPEN, "after window", S.DONE)
    assert table.creations == CREATE
    assert table.terminal == {S.DONE, S.GONE}


def test_without_to_a_row_leaves_the_status_as_it_is() -> None:
    (row,) = on(S.OPEN, CancelOrder, _handle, by=Role.MEMBER, rules="M-09")
    assert row.targets == {S.OPEN}


def test_rows_say_who_sends_their_trigger() -> None:
    (event,) = when(S.OPEN, OrderCancelled, _handle, rules="M-09", to=S.GONE)
    (consequence,) = follows(S.OPEN, K.WINDOW, via=Via.DEADLINE, rules="X-02", to=S.GONE)
    assert (CONFIRM[0].who, event.who, LAPSE[0].who) == ("client", "ordering", "deadline")
    assert consequence.trigger == "after window" and not consequence.primary


def test_a_table_that_lists_a_pair_twice_or_an_unknown_status_is_refused() -> None:
    with pytest.raises(TableError, match="twice"):
        _table(CONFIRM, CONFIRM)
    with pytest.raises(TableError, match="unknown"):
        Table("thing", (S.OPEN,), CONFIRM)


def test_X10_a_whole_table_has_no_dead_end() -> None:
    assert not _table(CREATE, CONFIRM, LAPSE).dead_ends()


def test_X10_a_status_nothing_leaves_and_one_nothing_reaches_are_reported() -> None:
    stuck = _table(CREATE, ends=frozenset({S.GONE}))
    assert stuck.dead_ends() == DeadEnds(
        no_exit=frozenset({S.OPEN, S.DONE}), unreachable=frozenset({S.DONE, S.GONE})
    )


def test_X10_a_command_nobody_may_send_does_not_count_as_an_exit() -> None:
    nobody = on(S.OPEN, ConfirmOrder, _handle, by=(), rules="X-10", to=S.DONE)
    assert _table(CREATE, nobody).dead_ends().no_exit == {S.OPEN}


def test_X10_an_end_that_can_be_left_is_told_but_a_loop_without_an_end_is_a_dead_end() -> None:
    reopen = on(S.DONE, CancelOrder, _handle, by=Role.MEMBER, rules="X-10", to=S.OPEN)
    resting = _table(CREATE, CONFIRM, LAPSE, reopen).dead_ends()
    assert resting.left_ends == {S.DONE} and not resting
    loop = _table(CREATE, on(S.OPEN, CancelOrder, _handle, by=Role.MEMBER, rules="X", to=S.DONE),
                  on(S.DONE, ConfirmOrder, _handle, by=Role.MEMBER, rules="X", to=S.OPEN),
                  ends=frozenset({S.GONE}))  # fmt: skip
    assert loop.dead_ends().endless == {S.OPEN, S.DONE}


def test_the_diagram_arrows_are_the_rows_in_table_order() -> None:
    drawn = arrows(_table(CREATE, CONFIRM, LAPSE))
    assert [(a.source, a.trigger, a.targets, a.who) for a in drawn] == [
        (None, "CreateOrder", ("open",), "member"),
        ("open", "ConfirmOrder", ("done",), "client"),
        ("open", "after window", ("gone",), "deadline"),
    ]


def test_X10_a_commands_consequence_moves_only_when_it_names_who_may_send_it() -> None:
    unsent = follows(S.OPEN, ConfirmOrder, via=Via.COMMAND, rules="X-10", to=S.DONE)
    sent = follows(S.OPEN, ConfirmOrder, via=Via.COMMAND, by=Role.CLIENT, rules="X-10", to=S.DONE)
    assert sent[0].roles == {Role.CLIENT} and not sent[0].primary
    assert _table(CREATE, unsent, LAPSE).dead_ends().unreachable == {S.DONE}
    assert not _table(CREATE, sent, LAPSE).dead_ends()


def test_carry_takes_the_named_fields_of_a_value_under_the_same_names() -> None:
    from servicekit.decisions import carry

    source = CONFIRM[0]
    assert carry(source, "trigger  via") == {"trigger": source.trigger, "via": Via.COMMAND}
    assert carry(source, "") == {}
