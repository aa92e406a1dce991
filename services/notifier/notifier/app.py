"""notifier: turns order, invoicing and payment events into email, once each (X-06).

The composition root: builds the runtime, the stores, the SMTP pool and the dispatcher,
and registers each handler on its topic. Nothing else in the service wires anything.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime

from contracts import topics
from notifier import handlers
from notifier.config import NotifierSettings
from notifier.dispatch import Dispatcher
from notifier.smtp import SmtpPool
from notifier.store import FactsStore, MongoDeliveries, MongoWindows, create_indexes
from servicekit import clocks
from servicekit.composition import Input, Output, settings_as, wire
from servicekit.config import ServiceSettings
from servicekit.runtime import ServiceRuntime, run_service

NAME = "notifier"
OUTPUTS = (
    Output(topics.NOTIFICATIONS_EVENTS, "What became of each email: EmailSent or EmailFailed"),
    Output(topics.TIMERS_COMMANDS, "X-12: the reminders' deadlines"),
)
INPUTS = (
    Input(topics.ORDERS_EVENTS, handlers.handle_event),
    Input(topics.INVOICING_EVENTS, handlers.handle_event),
    Input(topics.PAYMENTS_EVENTS, handlers.handle_event),
    Input(topics.TIMERS_EVENTS, handlers.handle_deadline),
)


def build(settings: ServiceSettings | None = None) -> ServiceRuntime:
    """Wire the notifier. `settings` overrides the environment (tests, docs)."""
    config = settings_as(NotifierSettings, settings)
    runtime = ServiceRuntime(NAME, config)
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
    return wire(runtime, deps, OUTPUTS, INPUTS)


def main() -> None:
    run_service(build)
