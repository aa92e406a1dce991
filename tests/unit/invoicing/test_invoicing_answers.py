"""X-09: one answer per command. The real handlers and `handle_once` on a store in memory:
an invoicing command delivered again gets its first answer again, with the same ids, even
when the invoice has moved on so that deciding it again would give another."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from typing import Any, cast

from contracts.envelope import SYSTEM, Command
from contracts.invoicing import RequestInvoiceChanges
from contracts.timers import TIMER_COMMANDS, DeadlineExpired, ScheduleDeadline
from contracts.topics import INVOICING_EVENTS, TIMERS_COMMANDS
from invoicing.domain import Policy
from invoicing.handlers import Deps, handle_command, handle_deadline, handle_order_event, rebuild
from invoicing.store import ledgers_store
from servicekit.aggregates import Document, forget_cached
from tests.support.memory_db import MemoryDatabase
from tests.unit.invoicing.invoicing_kit import (
    LEDGER,
    MEMBER,
    T0,
    command,
    draft_deadline,
    invoice_id,
    order_activated,
    order_created,
)


class NoNumbers:
    async def assign(self, series: str, document_id: str) -> int:
        raise AssertionError("no invoice is issued in these tests")


class Rig:
    """invoicing's handlers on a database in memory; what they publish, in order."""

    def __init__(self) -> None:
        self.db = MemoryDatabase()
        self.now = T0
        self.published: list[Document] = []
        self.timers: dict[str, ScheduleDeadline] = {}
        self.deps = Deps(
            ledgers=ledgers_store(cast(Any, self.db)),
            numbers=NoNumbers(),
            policy=Policy(),
            publish_outbox=self.publish_outbox,
            clock=lambda: self.now,
        )

    async def publish_outbox(self, entries: Sequence[Document]) -> None:
        for e in entries:
            if e["topic"] == INVOICING_EVENTS:
                self.published.append(json.loads(e["value"]))
            elif e["topic"] == TIMERS_COMMANDS:
                timer = TIMER_COMMANDS.parse(e["value"])
                if isinstance(timer, ScheduleDeadline):
                    self.timers[timer.deadline_id] = timer

    async def answer(self, cmd: Command) -> list[tuple[str, str]]:
        """Handle `cmd`; its answer on invoicing.events as (type, message id)."""
        start = len(self.published)
        await handle_command(cmd, self.deps)
        return [(m["type"], m["message_id"]) for m in self.published[start:]]

    async def active_order(self) -> None:
        await handle_order_event(order_created(), self.deps)
        await handle_order_event(order_activated(), self.deps)

    async def fire(self, deadline_id: str) -> None:
        timer = self.timers[deadline_id]
        self.now = max(self.now, timer.due_at)
        expired = DeadlineExpired(
            message_id=uuid.uuid4(),
            occurred_at=self.now,
            correlation_id=timer.correlation_id,
            actor=SYSTEM,
            deadline_id=deadline_id,
            order_id=timer.order_id,
            owner=timer.owner,
            kind=timer.kind,
            generation=1,
            payload=timer.payload,
            due_at=timer.due_at,
            fired_at=self.now,
            lateness_ms=0,
            late=False,
        )
        await handle_deadline(expired, self.deps)

    async def status(self) -> str:
        ledger = rebuild(await self.deps.ledgers.load(LEDGER), LEDGER)
        invoice = ledger.invoice(invoice_id(1))
        assert invoice is not None
        return invoice.status.value


def request_changes() -> RequestInvoiceChanges:
    return command(
        RequestInvoiceChanges, MEMBER.party, invoice_id=invoice_id(1), message="Add the PO"
    )


async def test_X09_a_refused_request_delivered_after_the_draft_was_made_gets_the_same_rejection() -> (
    None
):
    rig = Rig()
    await rig.active_order()
    early = request_changes()  # the invoice is only planned: nothing to change yet
    [(kind, rejection_id)] = await rig.answer(early)
    assert kind == "InvoicingCommandRejected"
    await rig.fire(draft_deadline(1))
    assert await rig.status() == "draft"  # deciding the request now would accept it

    assert await rig.answer(early) == [("InvoicingCommandRejected", rejection_id)]
    assert await rig.status() == "draft"


async def test_X09_a_request_for_an_unknown_order_stays_refused_once_the_invoice_exists() -> None:
    rig = Rig()
    early = request_changes()
    [(kind, rejection_id)] = await rig.answer(early)
    assert kind == "InvoicingCommandRejected"
    await rig.active_order()
    await rig.fire(draft_deadline(1))
    assert await rig.status() == "draft"

    assert await rig.answer(early) == [("InvoicingCommandRejected", rejection_id)]
    assert await rig.status() == "draft"


async def test_X09_an_accepted_request_delivered_again_gets_the_same_events() -> None:
    rig = Rig()
    await rig.active_order()
    await rig.fire(draft_deadline(1))
    first = request_changes()
    answer = await rig.answer(first)
    assert [kind for kind, _ in answer] == ["InvoiceChangesRequested"]
    assert await rig.answer(first) == answer
    assert await rig.status() == "changes_requested"


async def test_a_message_that_changes_a_ledger_reads_the_store_once() -> None:
    """docs/ferretdb.md's one read per message, invoicing included (issue 18); none at all
    when the ledger is kept in memory by its owner (servicekit.aggregates' StateCache)."""
    rig = Rig()
    await rig.active_order()
    await rig.fire(draft_deadline(1))
    forget_cached()  # as after a rebalance: the ledger's owner has it in memory (0 reads)
    rig.db.calls.clear()
    answer = await rig.answer(request_changes())
    assert [kind for kind, _ in answer] == ["InvoiceChangesRequested"]
    reads = sum(n for call, n in rig.db.calls.items() if call.endswith(".find_one"))
    assert reads == 1, rig.db.calls
