"""The authority matrix (docs/authority.md) holds for ordering: every command of every
flow, sent as every role in every relation to the order, is refused `not_authorized`
exactly where the matrix says so. The matrix is read from the tables; the answers come
from `decide`, on an order in a status where the command has a row."""

from __future__ import annotations

import pytest

from contracts.envelope import SYSTEM, Party, Role
from contracts.orders import ORDER_COMMANDS, Flow, OrderStatus, RejectionReason
from ordering.domain import TABLES, decide
from servicekit.authority import command_rows
from tests.support.authority import check_matrix
from tests.unit.ordering.ordering_kit import AGENT, CLIENT, CUSTOMER, MEMBER, SUPPLIER, command
from tests.unit.ordering.ordering_states import order_in, sample

#: Every order's own parties, by role (an order of a flow has only some of them).
OWN: dict[Flow, dict[Role, Party]] = {
    Flow.MANAGED: {Role.MEMBER: MEMBER.party, Role.CLIENT: CLIENT.party},
    Flow.POSTPAID: {Role.SUPPLIER: SUPPLIER.party, Role.CUSTOMER: CUSTOMER.party},
    Flow.ACCOUNT: {Role.AGENT: AGENT.party},
}
CASES = [
    pytest.param(flow, name, id=f"{flow.value}-{name}")
    for flow, table in TABLES.items()
    for name in command_rows(table)
]


def test_every_command_but_creation_is_in_some_flow_s_matrix() -> None:
    named = {name for table in TABLES.values() for name in command_rows(table)}
    assert named | {"CreateOrder"} == set(ORDER_COMMANDS.names())


@pytest.mark.parametrize(("flow", "name"), CASES)
def test_X07_each_role_and_relation_gets_the_answer_the_matrix_gives(flow: Flow, name: str) -> None:
    table = TABLES[flow]
    (row, *_) = command_rows(table)[name]
    status = row.source
    assert isinstance(status, OrderStatus)

    def send(who: Party) -> RejectionReason | None:
        sc = order_in(flow, status)
        fields, at = sample(name, sc)
        cmd = command(ORDER_COMMANDS.classes[name], who, **fields)
        rejection = decide(sc.order, cmd, at or sc.now, sc.ctx).rejection
        return None if rejection is None else RejectionReason(rejection.reason)

    check_matrix(
        table,
        name,
        send,
        own=OWN[flow],
        system=SYSTEM,
        not_authorized=RejectionReason.NOT_AUTHORIZED,
    )
