"""payments: owns the payment window, claims, cancellation fees and payouts (X-05).

The composition root: builds the runtime, the store and the handlers' dependencies, and
registers each handler on its topic. Nothing else in the service wires anything.

    payments.commands ─┐                      ┌─▶ payments.events   (asks and facts)
    orders.events ─────┼─▶ handlers ─▶ ledger ┼─▶ orders.commands   (MarkOrderPaid, -Unpaid)
    timers.events ─────┘                      └─▶ timers.commands   (windows, payouts)
"""

from __future__ import annotations

from contracts import topics
from payments import handlers
from payments import metrics as payments_metrics
from payments.config import PaymentsSettings
from payments.store import create_indexes, payments_store
from servicekit import clocks
from servicekit.composition import Input, Output, settings_as, wire
from servicekit.config import ServiceSettings
from servicekit.runtime import ServiceRuntime, run_service

NAME = "payments"
OUTPUTS = (
    Output(
        topics.PAYMENTS_EVENTS,
        "Payment requests, charges, receipts, refunds, claims, payouts and rejections",
    ),
    Output(  # P-15, P-21: what payments tells ordering
        topics.ORDERS_COMMANDS,
        "MarkOrderPaid: the customer paid; MarkOrderUnpaid: the money is finally not collected",
    ),
    Output(topics.TIMERS_COMMANDS, "Payment windows and payout dates"),
)
INPUTS = (
    Input(topics.PAYMENTS_COMMANDS, handlers.handle_command, invalid=handlers.invalid_command),
    Input(topics.ORDERS_EVENTS, handlers.handle_order_event),
    Input(topics.TIMERS_EVENTS, handlers.handle_deadline),
)


def build(settings: ServiceSettings | None = None) -> ServiceRuntime:
    """Wire the payments service. `settings` overrides the environment (tests, docs)."""
    config = settings_as(PaymentsSettings, settings)
    runtime = ServiceRuntime(NAME, config)
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
    return wire(runtime, deps, OUTPUTS, INPUTS)


def main() -> None:
    run_service(build)
