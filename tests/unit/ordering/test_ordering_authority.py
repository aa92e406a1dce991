"""Who may act on an order, and who may see it."""

from __future__ import annotations

import pytest

from contracts.envelope import SYSTEM, Party, Role
from contracts.orders import (
    ORDER_COMMANDS,
    CreateOrder,
    Flow,
    MarkServiceDone,
    OrderStatus,
    RejectionReason,
)
from ordering.domain import TABLES, decide, visible_to
from tests.unit.ordering.ordering_kit import (
    APPROVER,
    CUSTOMER,
    OPERATOR,
    OUTSIDERS,
    SUPPLIER,
    Scenario,
    command,
    postpaid_terms,
    transitions,
)
from tests.unit.ordering.ordering_states import managed_in, order_in, postpaid_in, sample

S = OrderStatus
R = RejectionReason

LEGAL = [
    pytest.param(flow, t.source, t.trigger, id=f"{flow.value}-{t.source}-{t.trigger}")
    for flow, table in TABLES.items()
    for t in transitions(table)
]


@pytest.mark.parametrize(("flow", "status", "name"), LEGAL)
def test_a_party_not_on_the_order_is_not_authorized(
    flow: Flow, status: OrderStatus, name: str
) -> None:
    sc = order_in(flow, status)
    fields, at = sample(name, sc)
    staff = TABLES[flow].staff
    strangers = [*OUTSIDERS, *(p for p in (OPERATOR, APPROVER) if p.role not in staff)]
    for stranger in strangers:
        cmd = command(ORDER_COMMANDS.classes[name], stranger, **fields)
        decision = decide(sc.order, cmd, at or sc.now, sc.ctx)
        assert decision.rejection is not None, stranger
        assert decision.rejection.reason is R.NOT_AUTHORIZED, stranger


def test_a_customer_cannot_mark_a_service_done() -> None:
    sc = postpaid_in(S.IN_PROGRESS)
    sc.at(postpaid_terms().appointment_end)
    rejection = sc.decide(MarkServiceDone, CUSTOMER.party).rejection
    assert rejection is not None and rejection.reason is R.NOT_AUTHORIZED
    assert sc.decide(MarkServiceDone, SUPPLIER.party).accepted


def test_only_the_flow_s_creator_role_may_create_an_order() -> None:
    sc = Scenario()
    decision = sc.decide(
        CreateOrder, SUPPLIER.party, parties=[SUPPLIER, CUSTOMER], terms=postpaid_terms()
    )
    assert decision.rejection is not None and decision.rejection.reason is R.NOT_AUTHORIZED


def test_the_creator_must_be_one_of_the_order_s_parties() -> None:
    sc = Scenario()
    someone = Party(id="customer-9", role=Role.CUSTOMER)
    decision = sc.decide(CreateOrder, someone, parties=[SUPPLIER, CUSTOMER], terms=postpaid_terms())
    assert decision.rejection is not None and decision.rejection.reason is R.INVALID


def test_an_existing_order_cannot_be_created_again() -> None:
    sc = postpaid_in(S.CONFIRMATION)
    decision = sc.decide(
        CreateOrder, CUSTOMER.party, parties=[SUPPLIER, CUSTOMER], terms=postpaid_terms()
    )
    assert decision.rejection is not None and decision.rejection.reason is R.ALREADY_EXISTS


def test_a_command_for_an_unknown_order_is_refused() -> None:
    decision = Scenario().decide(MarkServiceDone, SUPPLIER.party)
    assert decision.rejection is not None and decision.rejection.reason is R.UNKNOWN_ORDER


@pytest.mark.parametrize("flow", list(Flow))
def test_the_system_sees_every_order(flow: Flow) -> None:
    for status in TABLES[flow].statuses:
        assert visible_to(order_in(flow, status).current, SYSTEM)


def test_strangers_see_nothing_and_parties_see_their_orders() -> None:
    order = postpaid_in(S.IN_PROGRESS).current
    assert visible_to(order, SUPPLIER.party) and visible_to(order, CUSTOMER.party)
    assert not any(visible_to(order, p) for p in [*OUTSIDERS, OPERATOR, APPROVER])


def test_staff_see_the_orders_of_their_own_flow_only() -> None:
    managed = managed_in(S.ACTIVE).current
    assert visible_to(managed, OPERATOR) and not visible_to(managed, APPROVER)
    account = order_in(Flow.ACCOUNT, S.IN_PROGRESS).current
    assert visible_to(account, APPROVER) and not visible_to(account, OPERATOR)
    assert not visible_to(order_in(Flow.ACCOUNT, S.DRAFT).current, APPROVER)
