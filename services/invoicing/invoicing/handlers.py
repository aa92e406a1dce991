"""invoicing's handlers: load, decide, save, publish. No business rule lives here.

    orders.events       ─▶ handle_order_event ─▶ invoicing.events, timers.commands,
                                                 orders.commands (MarkInvoicingComplete)
    invoicing.commands  ─▶ handle_command     ─▶ invoicing.events (a rejection, or events)
    timers.events       ─▶ handle_deadline    ─▶ invoicing.events (+ timers.commands)
    accounts.events     ─▶ handle_account     ─▶ timers.commands (the first bill cycle)

Every effect is exactly once per message: `servicekit.aggregates.handle_once` stores the
message id with the ledger's new events and outbox. Issuing is then finished by
`finish_numbering`: each invoice or credit note a commit issued for good gets the next
number of its issuer's sequence, and the number's commit publishes `InvoiceIssued` or
`InvoiceVoided`. A crash in between is finished by the redelivery, or by `repair`. A
refused command is stored too (X-09): sent again, it gets its first answer again.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from pydantic import TypeAdapter

from contracts.accounts import AccountOpened
from contracts.envelope import Command, Event, Message
from contracts.invoicing import (
    InvoiceCommand,
    InvoiceId,
    InvoicingCommandRejected,
    RunBillCycle,
)
from contracts.orders import (
    CancellationRefused,
    CancellationRequested,
    DraftEdited,
    Flow,
    OrderActivated,
    OrderCancelled,
    OrderCommandRejected,
    OrderCompleted,
    OrderCreated,
    OrderEvent,
    OrderRejected,
)
from contracts.orders.values import Name
from contracts.timers import DeadlineExpired, TimerCommandRejected
from contracts.topics import INVOICING_EVENTS, ORDERS_COMMANDS, TIMERS_COMMANDS
from invoicing.domain import (
    INVOICING,
    DeadlineFired,
    Decision,
    DecisionContext,
    Ledger,
    MissingOrderError,
    NumberTaken,
    Policy,
    account_ledger_id,
    fold,
    ledger_of,
    number_cause,
    on_account_event,
    on_command,
    on_deadline,
    on_number,
    on_order_event,
    order_ledger_id,
    pending_numbers,
    published,
    queue_account_order,
)
from invoicing.store import LEDGER_STATE, NumberStore, index_fields
from servicekit.aggregates import (
    Aggregates,
    Change,
    Document,
    Refusal,
    Stored,
    handle_once,
    outbox_entry,
)
from servicekit.deadlines import handled_as, timer_command_of
from servicekit.invalid import InvalidCommand
from servicekit.logs import log_context

log = logging.getLogger("invoicing.handlers")

OWNER = "invoicing"
#: ordering's events that matter to invoices; the others change nothing here.
ORDER_FACTS = (
    OrderCreated,
    DraftEdited,
    OrderActivated,
    OrderRejected,
    OrderCancelled,
    OrderCompleted,
    CancellationRequested,
    CancellationRefused,
)
#: More numbers than one ledger ever waits for at once: a bound, not a rule.
MAX_NUMBERING_ROUNDS = 1000

#: One of the domain's entry points: (ledger, message, now, ctx) -> Decision.
Entry = Callable[[Ledger, Any, datetime, DecisionContext], Decision]
#: An entry point, its message bound: (ledger, now, ctx) -> Decision.
Decide = Callable[[Ledger, datetime, DecisionContext], Decision]


@dataclass(frozen=True)
class Deps:
    """What the handlers need; built once by the composition root (`app.build`)."""

    ledgers: Aggregates
    numbers: NumberStore
    policy: Policy
    publish_outbox: Callable[[Sequence[Document]], Awaitable[None]]
    clock: Callable[[], datetime]


def rebuild(stored: Stored | None, ledger_id: str) -> Ledger:
    """A ledger as of its newest commit (empty if only refusals were recorded for it)."""
    return LEDGER_STATE.load(stored.state) if stored and stored.exists else Ledger(ledger_id)


async def handle_order_event(event: Event, deps: Deps) -> None:
    """Rules M-10, M-14, M-15 (and A-11 for completed account orders)."""
    if isinstance(event, OrderCommandRejected):
        if event.command_type == "MarkInvoicingComplete":
            log.warning("ordering refused MarkInvoicingComplete", extra={"reason": event.reason})
        return
    if not isinstance(event, OrderEvent) or event.flow is Flow.POSTPAID:
        return
    with log_context(order_id=str(event.order_id), message_type=event.type):
        if event.flow is Flow.ACCOUNT and isinstance(event, OrderCompleted):
            await _queue_account_order(event, deps)
        elif isinstance(event, ORDER_FACTS):
            await _handle(deps, order_ledger_id(event.order_id), event, on_order_event)


async def handle_command(command: Command, deps: Deps) -> None:
    """Rules X-07, X-09: every command gets its resulting events or a rejection, once."""
    if isinstance(command, InvoiceCommand):
        ledger_id = ledger_of(command.invoice_id)
    elif isinstance(command, RunBillCycle):
        ledger_id = account_ledger_id(command.account_id)
    else:
        raise TypeError(f"invoicing takes no {command.type}")
    with log_context(ledger_id=ledger_id, message_type=command.type):
        await _handle(deps, ledger_id, command, on_command, answers_on=INVOICING_EVENTS)


async def handle_deadline(event: DeadlineExpired | TimerCommandRejected, deps: Deps) -> None:
    """Rules M-10, M-12, A-11, X-02: a deadline that still applies moves its invoice."""
    if isinstance(event, TimerCommandRejected):
        log.warning(
            "timer command rejected",
            extra={"reason": event.reason, "deadline_id": event.deadline_id},
        )
        return
    if event.owner != OWNER:
        return
    ledger_id = event.payload.get("ledger")
    if not isinstance(ledger_id, str):
        log.error("deadline without its ledger", extra={"deadline_id": event.deadline_id})
        return
    fired = DeadlineFired(
        deadline_id=event.deadline_id,
        kind=event.kind,
        order_id=event.order_id,
        due_at=event.due_at,
        message_id=event.message_id,
        correlation_id=event.correlation_id,
        payload={k: v for k, v in event.payload.items() if isinstance(v, str)},
    )
    with log_context(ledger_id=ledger_id, deadline_kind=event.kind, late=event.late):
        await _handle(deps, ledger_id, event, on_deadline, fired)


async def handle_account(event: AccountOpened, deps: Deps) -> None:
    """Rule A-11: an account's contact and bill-cycle day; its first run is scheduled."""
    ledger_id = account_ledger_id(event.account_id)
    with log_context(ledger_id=ledger_id, message_type=event.type):
        await _handle(deps, ledger_id, event, on_account_event)


async def finish_numbering(deps: Deps, ledger_id: str, stored: Stored | None = None) -> None:
    """Number every invoice and credit note the ledger issued for good, in order, and
    publish what each number completes (M-12, M-14, M-16, A-11). `stored` is the ledger
    as just handled, so that numbering reads no more than each number's own commit."""
    ledger = rebuild(
        stored if stored is not None else await deps.ledgers.load(ledger_id), ledger_id
    )
    for _ in range(MAX_NUMBERING_ROUNDS):
        pending = pending_numbers(ledger)
        if not pending:
            return
        request = pending[0]
        number = await deps.numbers.assign(request.series, request.document_id)
        invoice = ledger.invoice(request.invoice_id)
        assert invoice is not None
        cause = number_cause(request.document_id)
        with log_context(ledger_id=ledger_id, document_id=request.document_id):
            numbered = await _apply(
                deps,
                ledger_id,
                f"number:{request.document_id}",
                cause,
                invoice.correlation_id,
                _numbered(request.document_id, number),
            )
            log.info("numbered", extra={"series": request.series, "number": number})
        ledger = rebuild(numbered, ledger_id)


def _numbered(document_id: str, number: int) -> Decide:
    taken = NumberTaken(document_id, number)
    return lambda ledger, now, ctx: on_number(ledger, taken, now, ctx)


async def repair(deps: Deps, every_seconds: float) -> None:
    """Finish numbering left pending by a message that was dead-lettered meanwhile."""
    while True:
        await asyncio.sleep(every_seconds)
        for ledger_id in await deps.ledgers.ids_where("numbers_pending", True):
            await finish_numbering(deps, ledger_id)


async def _queue_account_order(event: OrderCompleted, deps: Deps) -> None:
    order_ledger = order_ledger_id(event.order_id)
    order = rebuild(await deps.ledgers.load(order_ledger), order_ledger)
    facts = order.order
    if facts is None or facts.flow is not Flow.ACCOUNT:
        raise MissingOrderError(f"account order {event.order_id} was never created")
    account_id = getattr(facts.terms, "account_id", "")
    queue = partial(queue_account_order, facts=facts)
    await _handle(deps, account_ledger_id(account_id), event, queue)


async def _handle(
    deps: Deps,
    ledger_id: str,
    cause: Message,
    entry: Entry,
    message: object = None,
    *,
    answers_on: str | None = None,
) -> None:
    """`entry(ledger, message, now, ctx)` once for `cause` (the message itself unless
    given). One read on the common path: numbers left pending by an earlier message (a
    crash between its commit and its numbering) are taken before this one is decided, and
    the numbers this one leaves pending right after it, from the ledger it returns."""
    subject = cause if message is None else message
    message_id = handled_as(cause)

    def decide(ledger: Ledger, now: datetime, ctx: DecisionContext) -> Decision:
        return entry(ledger, subject, now, ctx)

    for _ in range(2):
        try:
            stored = await _apply(
                deps,
                ledger_id,
                message_id,
                cause.message_id,
                cause.correlation_id,
                decide,
                answers_on,
                numbered_first=True,
            )
        except _NumbersPendingError:
            await finish_numbering(deps, ledger_id)
            continue
        if stored is not None and stored.index.get("numbers_pending"):
            await finish_numbering(deps, ledger_id, stored)
        return
    raise _NumbersPendingError(ledger_id)


class _NumbersPendingError(Exception):
    """The ledger waits for numbers, which come before the next message's decision."""


async def _apply(
    deps: Deps,
    ledger_id: str,
    message_id: str,
    cause: uuid.UUID,
    correlation: uuid.UUID,
    decide: Decide,
    answers_on: str | None = None,
    *,
    numbered_first: bool = False,
) -> Stored | None:
    now = deps.clock()

    async def decide_change(stored: Stored | None) -> Change | Refusal | None:
        ledger = rebuild(stored, ledger_id)
        if numbered_first and pending_numbers(ledger):
            raise _NumbersPendingError(ledger_id)
        decision = decide(ledger, now, DecisionContext(policy=deps.policy))
        if (rejected := decision.rejection_event) is not None:
            reason = str(getattr(rejected, "reason", ""))
            return Refusal([outbox_entry(INVOICING_EVENTS, rejected)], reason)
        if not decision.changed:
            return None
        return change(ledger, decision, cause, correlation, now)

    handled = await handle_once(
        deps.ledgers,
        ledger_id,
        message_id,
        decide_change,
        deps.publish_outbox,
        answers_on=answers_on,
    )
    if handled.refusal is not None:
        log.info("command rejected", extra={"reason": handled.refusal.reason})
    return handled.stored


def change(
    before: Ledger, decision: Decision, cause: uuid.UUID, correlation: uuid.UUID, now: datetime
) -> Change:
    """The stored form of a decision: events, the new index, what to publish."""
    after = fold(decision.events, before)
    timers = [
        timer_command_of(d, cause, correlation, i, now, INVOICING)
        for i, d in enumerate(decision.deadlines)
    ]
    return Change(
        state=LEDGER_STATE.dump(after),
        events=[e.model_dump(mode="json") for e in decision.events],
        outbox=[outbox_entry(INVOICING_EVENTS, e) for e in published(decision)]
        + [outbox_entry(ORDERS_COMMANDS, c) for c in decision.commands]
        + [outbox_entry(TIMERS_COMMANDS, t) for t in timers],
        index=index_fields(after, now),
    )


def invalid_command(command: InvalidCommand) -> InvoicingCommandRejected:
    """X-13: the answer to a command whose content is invalid (its invoice or account id,
    the Kafka key, must read)."""
    body = command.body
    if "invoice_id" in body:
        keys = {"invoice_id": TypeAdapter(InvoiceId).validate_python(body["invoice_id"])}
    else:
        keys = {"account_id": TypeAdapter(Name).validate_python(body.get("account_id"))}
    return InvoicingCommandRejected.model_validate(command.answer_fields(INVOICING) | keys)
