"""Stateful fuzzing of ordering's command handler (issue 20, X-09): random valid command
sequences through `handle_command` on the in-memory twin of the store, with earlier
commands delivered again in between. A redelivery re-publishes exactly its first answer
(the same events or rejection, the same ids) and changes nothing stored.

The domain machine (test_ordering_stateful.py) checks that deciding again gives the same
decision; this one checks the handler's dedupe on top of it. Commands only: the handler
of fired deadlines dedupes through the same `handle_once`.
Budget: tests/fuzz/stateful.py.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from contracts.envelope import Party
from contracts.orders import ORDER_COMMANDS, CreateOrder, Flow, OrderCommand
from contracts.topics import ORDERS_EVENTS
from ordering.domain import TABLES, Order, Policy
from ordering.handlers import Deps, handle_command, rebuild
from ordering.store import _fold
from servicekit.aggregates import Document, MemoryAggregates
from servicekit.tables import Via
from tests.support.machines import machine_test
from tests.unit.ordering.ordering_kit import (
    AGENT,
    CLIENT,
    CUSTOMER,
    DIRECTORY,
    MEMBER,
    OPERATOR,
    ORDER_ID,
    PARTIES,
    SECRET,
    SUPPLIER,
    T0,
    Scenario,
    account_terms,
    catalogue,
    command,
    managed_terms,
    postpaid_terms,
)
from tests.unit.ordering.ordering_states import sample


class _Accounts:
    async def directory_for(self, command: Any, order: Order | None) -> Any:
        return DIRECTORY


class _Suppliers:
    async def history_for(self, command: Any) -> tuple[()]:
        return ()


class RedeliveredCommands(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.now: datetime = T0
        self.store = MemoryAggregates(_fold)
        self.published: list[Document] = []
        #: Each command sent, with what its first delivery published.
        self.sent: list[tuple[OrderCommand, list[Document]]] = []
        self.deps = Deps(
            orders=self.store,
            accounts=cast(Any, _Accounts()),
            policy=Policy(),
            catalogue=catalogue(),
            token_secret=SECRET,
            publish_outbox=self._publish,
            clock=lambda: self.now,
            suppliers=cast(Any, _Suppliers()),
        )

    def teardown(self) -> None:
        self.loop.close()

    async def _publish(self, messages: Sequence[Document]) -> None:
        self.published.extend(copy.deepcopy(list(messages)))

    def order(self) -> Order:
        stored = self.loop.run_until_complete(self.store.load(str(ORDER_ID)))
        order = rebuild(stored)
        assert order is not None
        return order

    @initialize(flow=st.sampled_from(list(Flow)), variant=st.booleans())
    def create(self, flow: Flow, variant: bool) -> None:
        if flow is Flow.MANAGED:
            terms: Any = managed_terms(skip_client_confirmation=variant)
            fields: dict[str, Any] = {"parties": [MEMBER, CLIENT], "terms": terms}
            actor = MEMBER.party
        elif flow is Flow.POSTPAID:
            terms = postpaid_terms(payment_stage=variant)
            fields, actor = {"parties": [SUPPLIER, CUSTOMER], "terms": terms}, CUSTOMER.party
        else:
            fields, actor = {"parties": [AGENT], "terms": account_terms()}, AGENT.party
        self._deliver(command(CreateOrder, actor, **fields))

    @rule(data=st.data())
    def a_command_the_table_allows_here(self, data: st.DataObject) -> None:
        order = self.order()
        rows = [
            r
            for r in TABLES[order.flow].rows
            if r.via is Via.COMMAND and r.source is order.status and r.primary and r.roles
        ]
        if not rows:
            return
        row = data.draw(st.sampled_from(rows), label="row")
        fitting = [p for p in PARTIES[order.flow] if p.role in row.roles]
        actor: Party = data.draw(st.sampled_from(fitting or PARTIES[order.flow]), label="actor")
        sc = Scenario(now=self.now)
        sc.order = order
        fields, at = sample(row.trigger, sc)
        if at is not None:
            self.now = max(self.now, at)
        self._deliver(command(ORDER_COMMANDS.classes[row.trigger], actor, **fields))

    @rule(hours=st.sampled_from([0, 1, 5, 30]))
    def time_passes(self, hours: int) -> None:
        self.now += timedelta(hours=hours)

    @precondition(lambda self: bool(self.sent))
    @rule(data=st.data())
    def an_earlier_command_is_delivered_again(self, data: st.DataObject) -> None:
        message, first = data.draw(st.sampled_from(self.sent), label="again")
        before = self.loop.run_until_complete(self.store.load(str(ORDER_ID)))
        start = len(self.published)
        self.loop.run_until_complete(handle_command(message, self.deps))
        after = self.loop.run_until_complete(self.store.load(str(ORDER_ID)))
        answers = self.published[start:]
        assert answers == _answer(first, message), f"X-09: {message.type} answered otherwise"
        assert before == after, f"X-09: {message.type} delivered again changed the order"

    @invariant()
    def every_command_was_answered(self) -> None:
        for message, first in self.sent:
            assert _answer(first, message), f"X-07: {message.type} got no answer"

    def _deliver(self, message: OrderCommand) -> None:
        start = len(self.published)
        self.loop.run_until_complete(handle_command(message, self.deps))
        self.sent.append((message, self.published[start:]))


def _answer(published: list[Document], message: OrderCommand) -> list[Document]:
    """What a delivery published on orders.events about the command's own order. A
    DuplicateOrder also published the new order's OrderCreated, from that order's own
    commit: a redelivery does not send it again (handle_once answers from the command's
    order's commit only)."""
    key = str(message.order_id)
    return [m for m in published if m["topic"] == ORDERS_EVENTS and m["key"] == key]


def test_X09_a_redelivered_duplicate_order_answers_again_and_makes_no_second_order() -> None:
    """Found by the machine: the redelivery re-publishes OrderDuplicated with its ids; the
    new order's OrderCreated, published once with its own commit, is not sent again."""
    machine = RedeliveredCommands()
    try:
        machine.create(Flow.MANAGED, False)
        machine._deliver(command(ORDER_COMMANDS.classes["SubmitOrder"], MEMBER.party))
        reject = ORDER_COMMANDS.classes["RejectOrder"]
        machine._deliver(command(reject, OPERATOR, reason="Not for us."))
        duplicate = command(ORDER_COMMANDS.classes["DuplicateOrder"], MEMBER.party)
        machine._deliver(duplicate)
        first = machine.sent[-1][1]
        assert [m["type"] for m in first] == ["OrderCreated", "OrderDuplicated"]
        orders = len(machine.store.snapshots)
        start = len(machine.published)
        machine.loop.run_until_complete(handle_command(duplicate, machine.deps))
        again = machine.published[start:]
        assert again == [m for m in first if m["type"] == "OrderDuplicated"]
        assert len(machine.store.snapshots) == orders
    finally:
        machine.teardown()


test_a_redelivered_command_gets_its_first_answer_again_and_changes_nothing = machine_test(
    RedeliveredCommands
)
