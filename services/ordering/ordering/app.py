"""ordering: owns every status transition of every order (X-01).

The composition root: builds the runtime, the stores and the handlers' dependencies,
and registers each handler on its topic. Nothing else in the service wires anything.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeAlias

from contracts import topics
from contracts.accounts import ACCOUNT_ANSWERS, ACCOUNT_EVENTS, AccountOpened
from contracts.orders import ORDER_COMMANDS, ORDER_EVENTS, OrderCommand
from contracts.suppliers import SUPPLIER_COMMANDS, SUPPLIER_EVENTS, SetSupplierSettings
from contracts.timers import TIMER_COMMANDS, TIMER_EVENTS, TimerEvent
from ordering import handlers
from ordering.config import OrderingSettings
from ordering.store import AccountsStore, SupplierSettingsStore, create_indexes, orders_store
from servicekit import clocks
from servicekit.config import ServiceSettings
from servicekit.invalid import InvalidCommands
from servicekit.runtime import ServiceRuntime, run_service

if TYPE_CHECKING:
    CommandBody: TypeAlias = OrderCommand
    TimerBody: TypeAlias = TimerEvent
    AccountBody: TypeAlias = AccountOpened
    SupplierBody: TypeAlias = SetSupplierSettings
else:  # the discriminated unions, so FastStream documents every message type
    CommandBody = ORDER_COMMANDS.annotation
    TimerBody = TIMER_EVENTS.annotation
    AccountBody = ACCOUNT_EVENTS.annotation
    SupplierBody = SUPPLIER_COMMANDS.annotation

NAME = "ordering"


def build(settings: ServiceSettings | None = None) -> ServiceRuntime:
    """Wire the ordering service. `settings` overrides the environment (tests, docs)."""
    config = (
        settings
        if isinstance(settings, OrderingSettings)
        else OrderingSettings(**(settings.model_dump() if settings else {}))
    )
    runtime = ServiceRuntime(NAME, config)
    runtime.output(topics.ORDERS_EVENTS, ORDER_EVENTS.annotation, "Every order event and rejection")
    runtime.output(
        topics.TIMERS_COMMANDS, TIMER_COMMANDS.annotation, "Deadlines of the order flows"
    )
    runtime.output(topics.ACCOUNTS_ANSWERS, ACCOUNT_ANSWERS.annotation, "Accounts answered")
    deps = handlers.Deps(
        orders=orders_store(runtime.db, config.state_cache_size),
        accounts=AccountsStore(runtime.db),
        policy=config.policy(),
        catalogue=config.catalogue(),
        token_secret=config.token_secret.get_secret_value().encode(),
        publish_outbox=runtime.publish_outbox,
        clock=clocks.clock(config.clock),
        suppliers=SupplierSettingsStore(runtime.db),
    )
    runtime.output(
        topics.SUPPLIERS_EVENTS, SUPPLIER_EVENTS.annotation, "Suppliers' settings (P-11, P-14)"
    )
    runtime.on_start(lambda: create_indexes(runtime.db))

    @runtime.subscriber(
        topics.ORDERS_COMMANDS,
        title="ordering:orders.commands",
        invalid=InvalidCommands(topics.ORDERS_EVENTS, ORDER_COMMANDS, handlers.invalid_command),
    )
    async def on_command(command: CommandBody) -> None:
        await handlers.handle_command(command, deps)

    @runtime.subscriber(topics.TIMERS_EVENTS, title="ordering:timers.events")
    async def on_deadline(event: TimerBody) -> None:
        await handlers.handle_deadline(event, deps)  # type: ignore[arg-type]

    @runtime.subscriber(topics.ACCOUNTS_EVENTS, title="ordering:accounts.events")
    async def on_account(event: AccountBody) -> None:
        await handlers.handle_account(event, deps)

    @runtime.subscriber(
        topics.SUPPLIERS_COMMANDS,
        title="ordering:suppliers.commands",
        invalid=InvalidCommands(
            topics.SUPPLIERS_EVENTS, SUPPLIER_COMMANDS, handlers.invalid_supplier_command
        ),
    )
    async def on_supplier_command(command: SupplierBody) -> None:
        await handlers.handle_supplier_command(command, deps)

    return runtime


def main() -> None:
    run_service(build)
