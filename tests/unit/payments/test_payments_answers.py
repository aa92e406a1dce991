"""X-09: one answer per command. The real handlers and `handle_once` on a store in memory:
a payment command delivered again gets its first answer again, with the same ids, even when
the ledger has moved on so that deciding it again would give another."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from contracts.orders import OrderEvent
from contracts.payments import PaymentCommand, RecordPayment
from contracts.topics import PAYMENTS_EVENTS
from payments.domain import Policy
from payments.handlers import Deps, handle_command, handle_order_event
from payments.store import payments_store, rebuild
from servicekit.aggregates import Document
from tests.support.memory_db import MemoryDatabase
from tests.unit.payments.payments_kit import (
    END,
    GATEWAY,
    ORDER_ID,
    T0,
    command,
    confirmed,
    created,
    execution_confirmed,
    payment,
    terms,
)


class Rig:
    """payments' handlers on a database in memory; what they publish, in order."""

    def __init__(self) -> None:
        self.db = MemoryDatabase()
        self.now = T0
        self.published: list[Document] = []
        self.deps = Deps(
            payments=payments_store(cast(Any, self.db)),
            policy=Policy(),
            publish_outbox=self.publish_outbox,
            clock=lambda: self.now,
        )

    async def publish_outbox(self, entries: Sequence[Document]) -> None:
        self.published.extend(
            json.loads(e["value"]) for e in entries if e["topic"] == PAYMENTS_EVENTS
        )

    async def answer(self, cmd: PaymentCommand) -> list[tuple[str, str]]:
        """Handle `cmd`; its answer on payments.events as (type, message id)."""
        start = len(self.published)
        await handle_command(cmd, self.deps)
        return [(m["type"], m["message_id"]) for m in self.published[start:]]

    async def order(self, event: OrderEvent) -> None:
        self.now = max(self.now, event.occurred_at)
        await handle_order_event(event, self.deps)

    async def confirmed_order(self) -> None:
        await self.order(created())
        await self.order(confirmed(terms(), T0 + timedelta(hours=1)))

    async def request_open(self) -> bool:
        ledger = rebuild(await self.deps.payments.load(str(ORDER_ID)))
        return ledger is not None and ledger.request is not None

    async def paid(self) -> bool:
        ledger = rebuild(await self.deps.payments.load(str(ORDER_ID)))
        request = ledger.request if ledger is not None else None
        return request is not None and request.status.value == "paid"


def pay(at: datetime) -> RecordPayment:
    return command(RecordPayment, GATEWAY, at, **payment("60.00"))


async def test_X09_a_refused_payment_delivered_after_the_request_opened_gets_the_same_rejection() -> (
    None
):
    rig = Rig()
    await rig.confirmed_order()
    early = pay(rig.now)
    [(kind, rejection_id)] = await rig.answer(early)
    assert kind == "PaymentCommandRejected"
    await rig.order(execution_confirmed(END + timedelta(days=1), payment_stage=True))
    assert await rig.request_open()  # deciding the payment now would accept it

    assert await rig.answer(early) == [("PaymentCommandRejected", rejection_id)]
    assert not await rig.paid()


async def test_X09_a_payment_for_an_unknown_order_stays_refused_once_the_ledger_exists() -> None:
    rig = Rig()
    early = pay(T0)
    [(kind, rejection_id)] = await rig.answer(early)
    assert kind == "PaymentCommandRejected"
    await rig.confirmed_order()
    await rig.order(execution_confirmed(END + timedelta(days=1), payment_stage=True))
    assert await rig.request_open()

    assert await rig.answer(early) == [("PaymentCommandRejected", rejection_id)]
    assert not await rig.paid()


async def test_X09_an_accepted_payment_delivered_again_gets_the_same_events() -> None:
    rig = Rig()
    await rig.confirmed_order()
    await rig.order(execution_confirmed(END + timedelta(days=1), payment_stage=True))
    first = pay(rig.now)
    answer = await rig.answer(first)
    assert "PaymentSettled" in [kind for kind, _ in answer]
    assert await rig.answer(first) == answer
    assert await rig.paid()
