"""X-09: one answer per command. The real handler and `handle_once` on a store in memory:
a command delivered again gets its first answer again, with the same ids, even when the
order has moved on so that deciding it again would give another."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, cast

from contracts.orders import (
    ConfirmOrder,
    CreateOrder,
    DuplicateOrder,
    OrderCommand,
    RejectOrder,
    SubmitOrder,
    WithdrawOrder,
)
from contracts.topics import ORDERS_EVENTS
from ordering.domain import Policy
from ordering.handlers import Deps, handle_command
from ordering.store import AccountsStore, SupplierSettingsStore, orders_store
from servicekit.aggregates import Document, forget_cached
from tests.support.memory_db import MemoryDatabase
from tests.unit.ordering.ordering_kit import (
    CLIENT,
    MEMBER,
    OPERATOR,
    ORDER_ID,
    SECRET,
    T0,
    catalogue,
    command,
    managed_terms,
)


class Rig:
    """ordering's handler on a database in memory; what it publishes, in order."""

    def __init__(self) -> None:
        self.db = MemoryDatabase()
        self.published: list[Document] = []
        self.deps = Deps(
            orders=orders_store(cast(Any, self.db)),
            accounts=AccountsStore(cast(Any, self.db)),
            policy=Policy(),
            catalogue=catalogue(),
            token_secret=SECRET,
            publish_outbox=self.publish_outbox,
            clock=lambda: T0,
            suppliers=SupplierSettingsStore(cast(Any, self.db)),
        )

    async def publish_outbox(self, entries: Sequence[Document]) -> None:
        self.published.extend(
            json.loads(e["value"]) for e in entries if e["topic"] == ORDERS_EVENTS
        )

    async def answer(self, cmd: OrderCommand) -> list[tuple[str, str]]:
        """Handle `cmd`; its answer on orders.events as (type, message id)."""
        start = len(self.published)
        await handle_command(cmd, self.deps)
        return [(m["type"], m["message_id"]) for m in self.published[start:]]

    async def status(self) -> str | None:
        doc = await self.db["orders"].find_one({"_id": str(ORDER_ID)})
        return None if doc is None else doc.get("status")


def create() -> CreateOrder:
    return command(CreateOrder, MEMBER.party, parties=[MEMBER, CLIENT], terms=managed_terms())


async def test_X09_a_refused_command_delivered_after_the_order_moved_on_gets_the_same_rejection() -> (
    None
):
    rig = Rig()
    await rig.answer(create())
    confirm = command(ConfirmOrder, OPERATOR)  # a draft is not the operator's yet
    [(kind, rejection_id)] = await rig.answer(confirm)
    assert kind == "OrderCommandRejected"
    await rig.answer(command(SubmitOrder, MEMBER.party))
    assert await rig.status() == "operator_review"  # deciding the confirm now would accept it

    assert await rig.answer(confirm) == [("OrderCommandRejected", rejection_id)]
    assert await rig.status() == "operator_review"


async def test_X09_a_command_for_an_unknown_order_stays_refused_once_the_order_exists() -> None:
    rig = Rig()
    submit = command(SubmitOrder, MEMBER.party)
    [(kind, rejection_id)] = await rig.answer(submit)
    assert kind == "OrderCommandRejected"
    assert rig.published[-1]["reason"] == "unknown_order"
    [(created, _)] = await rig.answer(create())
    assert created == "OrderCreated"

    assert await rig.answer(submit) == [("OrderCommandRejected", rejection_id)]
    assert await rig.status() == "draft"


async def test_X09_an_accepted_command_delivered_again_gets_the_same_events_and_no_new_ones() -> (
    None
):
    rig = Rig()
    first = create()
    answer = await rig.answer(first)
    await rig.answer(command(SubmitOrder, MEMBER.party))
    assert await rig.answer(first) == answer
    commits = rig.db["orders_commits"].docs
    assert len(commits) == 2, "one commit per distinct command"


async def test_X09_an_accepted_command_costs_one_read_of_the_store_and_none_from_its_owner() -> (
    None
):
    """The order's owner keeps it in memory (issue 19); a process that does not, after a
    rebalance for instance, reads it once."""
    rig = Rig()
    await rig.answer(create())
    rig.db.calls.clear()
    await rig.answer(command(SubmitOrder, MEMBER.party))
    assert rig.db.calls["orders.find_one"] == 0
    forget_cached()
    rig.db.calls.clear()
    await rig.answer(command(WithdrawOrder, MEMBER.party))
    assert rig.db.calls["orders.find_one"] == 1
    assert rig.db.calls["orders_commits.find_one"] == 0


async def test_M15_a_duplicate_is_created_once_as_its_own_order_even_when_delivered_again() -> None:
    """The new order is written by `handle_once` from the decision it returns, before the
    source's commit, under the same message id (issue 18: no writes from the callback)."""
    rig = Rig()
    await rig.answer(create())
    await rig.answer(command(SubmitOrder, MEMBER.party))
    [(rejected, _)] = await rig.answer(command(RejectOrder, OPERATOR, reason="Out of scope"))
    assert rejected == "OrderRejected"
    duplicate = command(DuplicateOrder, MEMBER.party)
    answer = await rig.answer(duplicate)
    assert sorted(kind for kind, _ in answer) == ["OrderCreated", "OrderDuplicated"]
    copies = [d for d in rig.db["orders"].docs.values() if d["_id"] != str(ORDER_ID)]
    assert [d["status"] for d in copies] == ["draft"]
    commits = len(rig.db["orders_commits"].docs)

    again = await rig.answer(duplicate)  # the source's answer again, the same ids
    assert again == [(kind, m) for kind, m in answer if kind == "OrderDuplicated"]
    assert len(rig.db["orders_commits"].docs) == commits, "nothing written twice"
