"""payments: owns the payment window, claims, cancellation fees and payouts (X-05).

The composition root: builds the runtime, the store and the handlers' dependencies, and
registers each handler on its topic. Nothing else in the service wires anything.

    payments.commands ─┐                      ┌─▶ payments.events   (asks and facts)
    orders.events ─────┼─▶ handlers ─▶ ledger ┼─▶ orders.commands   (MarkOrderPaid, -Unpaid)
    timers.events ─────┘                      └─▶ timers.commands   (windows, payouts)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, TypeAlias

from pydantic import Field

from contracts import topics
from contracts.envelope import Event
from contracts.orders import ORDER_EVENTS, MarkOrderPaid
from contracts.orders.commands import MarkOrderUnpaid
from contracts.payments import PAYMENT_COMMANDS, PAYMENT_EVENTS, PaymentCommand
from contracts.timers import TIMER_COMMANDS, TIMER_EVENTS, TimerEvent
from payments import handlers
from payments import metrics as payments_metrics
from payments.config import PaymentsSettings
from payments.store import create_indexes, payments_store
from servicekit import clocks
from servicekit.config import ServiceSettings
from servicekit.invalid import InvalidCommands
from servicekit.runtime import ServiceRuntime, run_service

if TYPE_CHECKING:
    CommandBody: TypeAlias = PaymentCommand
    OrderBody: TypeAlias = Event
    TimerBody: TypeAlias = TimerEvent
else:  # the discriminated unions, so FastStream documents every message type
    CommandBody = PAYMENT_COMMANDS.annotation
    OrderBody = ORDER_EVENTS.annotation
    TimerBody = TIMER_EVENTS.annotation

NAME = "payments"
#: What payments tells ordering (P-15, P-21).
ToOrdering = Annotated[MarkOrderPaid | MarkOrderUnpaid, Field(discriminator="type")]


def build(settings: ServiceSettings | None = None) -> ServiceRuntime:
    """Wire the payments service. `settings` overrides the environment (tests, docs)."""
    config = (
        settings
        if isinstance(settings, PaymentsSettings)
        else PaymentsSettings(**(settings.model_dump() if settings else {}))
    )
    runtime = ServiceRuntime(NAME, config)
    runtime.output(
        topics.PAYMENTS_EVENTS,
        PAYMENT_EVENTS.annotation,
        "Payment requests, charges, receipts, refunds, claims, payouts and rejections",
    )
    runtime.output(
        topics.ORDERS_COMMANDS,
        ToOrdering,
        "MarkOrderPaid: the customer paid; MarkOrderUnpaid: the money is finally not collected",
    )
    runtime.output(
        topics.TIMERS_COMMANDS, TIMER_COMMANDS.annotation, "Payment windows and payout dates"
    )
    deps = handlers.Deps(
        payments=payments_store(runtime.db, config.state_cache_size),
        policy=config.policy(),
        publish_outbox=runtime.publish_outbox,
        clock=clocks.clock(config.clock),
        context=config.context(),
    )
    runtime.on_start(lambda: create_indexes(runtime.db))
    runtime.background(
        lambda: payments_metrics.refresh_forever(runtime.db, config.overdue_refresh_seconds)
    )

    @runtime.subscriber(
        topics.PAYMENTS_COMMANDS,
        title="payments:payments.commands",
        invalid=InvalidCommands(topics.PAYMENTS_EVENTS, PAYMENT_COMMANDS, handlers.invalid_command),
    )
    async def on_command(command: CommandBody) -> None:
        await handlers.handle_command(command, deps)

    @runtime.subscriber(topics.ORDERS_EVENTS, title="payments:orders.events")
    async def on_order_event(event: OrderBody) -> None:
        await handlers.handle_order_event(event, deps)

    @runtime.subscriber(topics.TIMERS_EVENTS, title="payments:timers.events")
    async def on_deadline(event: TimerBody) -> None:
        await handlers.handle_deadline(event, deps)

    return runtime


def main() -> None:
    run_service(build)
