"""invoicing: produces invoice drafts, issued invoices and cancellations (X-04).

The composition root: builds the runtime, the stores and the handlers' dependencies,
and registers each handler on its topic. Nothing else in the service wires anything.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeAlias

from contracts import topics
from contracts.accounts import ACCOUNT_EVENTS, AccountOpened
from contracts.envelope import Command, Event
from contracts.invoicing import INVOICING_COMMANDS, INVOICING_EVENTS
from contracts.orders import ORDER_COMMANDS, ORDER_EVENTS
from contracts.timers import TIMER_COMMANDS, TIMER_EVENTS, TimerEvent
from invoicing import handlers
from invoicing.config import InvoicingSettings
from invoicing.store import MongoNumberStore, create_indexes, ledgers_store
from servicekit import clocks
from servicekit.config import ServiceSettings
from servicekit.invalid import InvalidCommands
from servicekit.runtime import ServiceRuntime, run_service

if TYPE_CHECKING:
    OrderBody: TypeAlias = Event
    CommandBody: TypeAlias = Command
    TimerBody: TypeAlias = TimerEvent
    AccountBody: TypeAlias = AccountOpened
else:  # the discriminated unions, so FastStream documents every message type
    OrderBody = ORDER_EVENTS.annotation
    CommandBody = INVOICING_COMMANDS.annotation
    TimerBody = TIMER_EVENTS.annotation
    AccountBody = ACCOUNT_EVENTS.annotation

NAME = "invoicing"


def build(settings: ServiceSettings | None = None) -> ServiceRuntime:
    """Wire the invoicing service. `settings` overrides the environment (tests, docs)."""
    config = (
        settings
        if isinstance(settings, InvoicingSettings)
        else InvoicingSettings(**(settings.model_dump() if settings else {}))
    )
    runtime = ServiceRuntime(NAME, config)
    runtime.output(
        topics.INVOICING_EVENTS, INVOICING_EVENTS.annotation, "Every invoice event and rejection"
    )
    runtime.output(
        topics.TIMERS_COMMANDS, TIMER_COMMANDS.annotation, "Draft dates, invoice dates, bill cycles"
    )
    runtime.output(
        topics.ORDERS_COMMANDS, ORDER_COMMANDS.annotation, "MarkInvoicingComplete (M-16)"
    )
    deps = handlers.Deps(
        ledgers=ledgers_store(runtime.db, config.state_cache_size),
        numbers=MongoNumberStore(runtime.db),
        policy=config.policy(),
        publish_outbox=runtime.publish_outbox,
        clock=clocks.clock(config.clock),
    )
    runtime.on_start(lambda: create_indexes(runtime.db))
    runtime.background(lambda: handlers.repair(deps, config.numbering_repair_seconds))

    @runtime.subscriber(topics.ORDERS_EVENTS, title="invoicing:orders.events")
    async def on_order_event(event: OrderBody) -> None:
        await handlers.handle_order_event(event, deps)

    @runtime.subscriber(
        topics.INVOICING_COMMANDS,
        title="invoicing:invoicing.commands",
        invalid=InvalidCommands(
            topics.INVOICING_EVENTS, INVOICING_COMMANDS, handlers.invalid_command
        ),
    )
    async def on_command(command: CommandBody) -> None:
        await handlers.handle_command(command, deps)

    @runtime.subscriber(topics.TIMERS_EVENTS, title="invoicing:timers.events")
    async def on_deadline(event: TimerBody) -> None:
        await handlers.handle_deadline(event, deps)  # type: ignore[arg-type]

    @runtime.subscriber(topics.ACCOUNTS_EVENTS, title="invoicing:accounts.events")
    async def on_account(event: AccountBody) -> None:
        await handlers.handle_account(event, deps)

    return runtime


def main() -> None:
    run_service(build)
