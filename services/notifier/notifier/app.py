"""notifier: turns order, invoicing and payment events into email, once each (X-06).

The composition root: builds the runtime, the stores, the SMTP pool and the dispatcher,
and registers each handler on its topic. Nothing else in the service wires anything.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import TYPE_CHECKING, TypeAlias

from contracts import topics
from contracts.envelope import Event
from contracts.invoicing import INVOICING_EVENTS
from contracts.notifications import NOTIFICATION_EVENTS
from contracts.orders import ORDER_EVENTS
from contracts.payments import PAYMENT_EVENTS
from contracts.timers import TIMER_COMMANDS, TIMER_EVENTS
from notifier import handlers
from notifier.config import NotifierSettings
from notifier.dispatch import Dispatcher
from notifier.smtp import SmtpPool
from notifier.store import FactsStore, MongoDeliveries, MongoWindows, create_indexes
from servicekit import clocks
from servicekit.config import ServiceSettings
from servicekit.runtime import ServiceRuntime, run_service

if TYPE_CHECKING:
    OrderBody: TypeAlias = Event
    InvoicingBody: TypeAlias = Event
    PaymentBody: TypeAlias = Event
    TimerBody: TypeAlias = Event
else:  # the discriminated unions, so FastStream documents every message type
    OrderBody = ORDER_EVENTS.annotation
    InvoicingBody = INVOICING_EVENTS.annotation
    PaymentBody = PAYMENT_EVENTS.annotation
    TimerBody = TIMER_EVENTS.annotation

NAME = "notifier"


def build(settings: ServiceSettings | None = None) -> ServiceRuntime:
    """Wire the notifier. `settings` overrides the environment (tests, docs)."""
    config = (
        settings
        if isinstance(settings, NotifierSettings)
        else NotifierSettings(**(settings.model_dump() if settings else {}))
    )
    runtime = ServiceRuntime(NAME, config)
    runtime.output(
        topics.NOTIFICATIONS_EVENTS,
        NOTIFICATION_EVENTS.annotation,
        "What became of each email: EmailSent or EmailFailed",
    )
    runtime.output(
        topics.TIMERS_COMMANDS, TIMER_COMMANDS.annotation, "X-12: the reminders' deadlines"
    )
    pool = SmtpPool(config.smtp())
    dispatcher = Dispatcher(
        store=MongoDeliveries(runtime.db),
        sender=pool,
        origin=config.origin(),
        retry=config.retry(),
        settings=config.dispatch(),
        publish=runtime.publish,
        clock=lambda: datetime.now(UTC),  # wall time always: it schedules the sends
        rand=random.random,  # jitter, not crypto
    )
    deps = handlers.Deps(
        facts=FactsStore(runtime.db),
        dispatcher=dispatcher,
        policy=config.policy(),
        windows=MongoWindows(runtime.db),
        publish=runtime.publish,
        clock=clocks.clock(config.clock),  # ORDERFLOW_CLOCK: the handlers' `now` only
    )
    runtime.on_start(lambda: create_indexes(runtime.db))
    runtime.background(dispatcher.run)

    @runtime.subscriber(topics.ORDERS_EVENTS, title="notifier:orders.events")
    async def on_order_event(event: OrderBody) -> None:
        await handlers.handle_event(event, deps)

    @runtime.subscriber(topics.INVOICING_EVENTS, title="notifier:invoicing.events")
    async def on_invoicing_event(event: InvoicingBody) -> None:
        await handlers.handle_event(event, deps)

    @runtime.subscriber(topics.PAYMENTS_EVENTS, title="notifier:payments.events")
    async def on_payment_event(event: PaymentBody) -> None:
        await handlers.handle_event(event, deps)

    @runtime.subscriber(topics.TIMERS_EVENTS, title="notifier:timers.events")
    async def on_timer_event(event: TimerBody) -> None:
        await handlers.handle_deadline(event, deps)

    return runtime


def main() -> None:
    run_service(build)
