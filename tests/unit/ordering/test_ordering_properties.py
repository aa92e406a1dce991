"""Properties over random histories: random commands from random parties, deadlines firing
(current or stale), time passing. Whatever happens, the tables are obeyed."""

from __future__ import annotations

import json
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.envelope import Party
from contracts.orders import ORDER_COMMANDS, CreateOrder, Flow, OrderStatus
from ordering.domain import TABLES, DeadlineKind, Order, fold
from ordering.domain.deadlines import required
from ordering.store import ORDERS
from servicekit.tables import Row, deadline_trigger
from tests.unit.ordering.ordering_kit import (
    AGENT,
    APPROVER,
    CLIENT,
    CUSTOMER,
    MEMBER,
    OPERATOR,
    ORDER_ID,
    OUTSIDERS,
    PARTIES,
    SUPPLIER,
    Scenario,
    account_terms,
    managed_terms,
    postpaid_terms,
    transitions,
)
from tests.unit.ordering.ordering_states import sample

COMMANDS = [n for n in ORDER_COMMANDS.names() if n != "CreateOrder"]
KINDS = [k.value for k in DeadlineKind]
TRIGGERS = COMMANDS + [f"fire:{k}" for k in KINDS] + [f"stale:{k}" for k in KINDS]
POOL: dict[Flow, list[Party]] = {
    flow: [*PARTIES[flow], *OUTSIDERS, OPERATOR, APPROVER] for flow in Flow
}

HOURS = st.sampled_from([0, 0, 1, 5, 24, 30, 80, 200])


def next_move(sc: Scenario, data: st.DataObject) -> tuple[str, Party]:
    """Mostly a move the table allows now, by a party that may make it; sometimes any."""
    order, table = sc.current, TABLES[sc.current.flow]
    pool = POOL[order.flow]
    legal = [t.trigger for t in transitions(table) if t.source is order.status]
    legal += [f"fire:{d.kind.value}" for d in order.deadlines if d.open]
    anything = st.sampled_from(TRIGGERS)
    trigger = data.draw(
        st.one_of(st.sampled_from(legal), st.sampled_from(legal), anything) if legal else anything
    )
    transition = table.row(order.status, trigger)
    fitting = [p for p in PARTIES[order.flow] if transition and p.role in transition.roles]
    choices = st.sampled_from(pool)
    if fitting:
        choices = st.one_of(st.sampled_from(fitting), st.sampled_from(fitting), choices)
    return trigger, data.draw(choices)


def start(flow: Flow, variant: bool) -> Scenario:
    sc = Scenario()
    if flow is Flow.MANAGED:
        terms = managed_terms(skip_client_confirmation=variant)
        sc.do(CreateOrder, MEMBER.party, parties=[MEMBER, CLIENT], terms=terms)
    elif flow is Flow.POSTPAID:
        terms_p = postpaid_terms(payment_stage=variant)
        sc.do(CreateOrder, CUSTOMER.party, parties=[SUPPLIER, CUSTOMER], terms=terms_p)
    else:
        sc.do(CreateOrder, AGENT.party, parties=[AGENT], terms=account_terms())
    return sc


def play(flow: Flow, variant: bool, data: st.DataObject) -> Scenario:
    """Up to 40 random moves, each checked against the table."""
    sc = start(flow, variant)
    table = TABLES[flow]
    for _ in range(data.draw(st.integers(0, 40))):
        sc.later(timedelta(hours=data.draw(HOURS)))
        trigger, actor = next_move(sc, data)
        before = sc.current
        edge: Row[OrderStatus] | None
        if trigger.startswith(("fire:", "stale:")):
            action, kind = trigger.split(":")
            deadline = before.open_deadline(DeadlineKind(kind))
            if action == "stale":
                decision = sc.fire_id(f"{ORDER_ID}:{kind}:99", kind, sc.now)
                assert decision.events == [] and decision.deadlines == []
                continue
            if deadline is None:
                continue
            decision = sc.fire(DeadlineKind(kind), at=max(sc.now, deadline.due_at))
            edge = table.row(before.status, deadline_trigger(kind))
        else:
            fields, _ = sample(trigger, sc)
            decision = sc.decide(ORDER_COMMANDS.classes[trigger], actor, **fields)
            edge = table.row(before.status, trigger)
            if not decision.accepted:
                assert decision.events == [] and decision.deadlines == []
                assert sc.current is before
                continue
        after = sc.current
        assert edge is not None, f"{trigger} moved {before.status} outside the table"
        assert after.status in edge.targets
        if before.status in table.terminal:
            assert after.status is before.status
    return sc


@settings(max_examples=120, deadline=None)
@given(flow=st.sampled_from(list(Flow)), variant=st.booleans(), data=st.data())
def test_random_histories_never_leave_the_table(
    flow: Flow, variant: bool, data: st.DataObject
) -> None:
    sc = play(flow, variant, data)
    assert sc.status() in TABLES[flow].statuses
    assert all(e.status in TABLES[flow].statuses for e in sc.history)


@settings(max_examples=120, deadline=None)
@given(flow=st.sampled_from(list(Flow)), variant=st.booleans(), data=st.data())
def test_folding_any_prefix_twice_gives_the_same_state(
    flow: Flow, variant: bool, data: st.DataObject
) -> None:
    sc = play(flow, variant, data)
    events = sc.history
    for end in range(1, len(events) + 1):
        assert fold(events[:end]) == fold(events[:end])
    assert fold(events) == sc.current  # the same as folding step by step, as it happened
    assert sc.current.version == len(sc.current.timeline) == len(events)


@settings(max_examples=120, deadline=None)
@given(flow=st.sampled_from(list(Flow)), variant=st.booleans(), data=st.data())
def test_the_open_deadlines_are_exactly_what_the_state_requires(
    flow: Flow, variant: bool, data: st.DataObject
) -> None:
    sc = play(flow, variant, data)
    order: Order = sc.current
    wanted = required(order)
    assert {d.kind: d.due_at for d in order.deadlines if d.open} == wanted
    if order.status in TABLES[flow].terminal:
        assert wanted == {}


@settings(max_examples=120, deadline=None)
@given(flow=st.sampled_from(list(Flow)), variant=st.booleans(), data=st.data())
def test_any_order_round_trips_through_its_stored_document_exactly(
    flow: Flow, variant: bool, data: st.DataObject
) -> None:
    """The snapshot holds the state, not the events (issue 18): it must read back as is."""
    sc = play(flow, variant, data)
    for end in range(1, len(sc.history) + 1):
        order = fold(sc.history[:end])
        assert order is not None
        assert ORDERS.load(json.loads(json.dumps(ORDERS.dump(order)))) == order
