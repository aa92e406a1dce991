"""invoicing: produces invoice drafts, issued invoices and cancellations (X-04).

The composition root: builds the runtime, the stores and the handlers' dependencies,
and registers each handler on its topic. Nothing else in the service wires anything.
"""

from __future__ import annotations

from contracts import topics
from invoicing import handlers
from invoicing.config import InvoicingSettings
from invoicing.store import MongoNumberStore, create_indexes, ledgers_store
from servicekit import clocks
from servicekit.composition import Input, Output, settings_as, wire
from servicekit.config import ServiceSettings
from servicekit.runtime import ServiceRuntime, run_service

NAME = "invoicing"
OUTPUTS = (
    Output(topics.INVOICING_EVENTS, "Every invoice event and rejection"),
    Output(topics.TIMERS_COMMANDS, "Draft dates, invoice dates, bill cycles"),
    Output(topics.ORDERS_COMMANDS, "MarkInvoicingComplete (M-16)"),
)
INPUTS = (
    Input(topics.ORDERS_EVENTS, handlers.handle_order_event),
    Input(topics.INVOICING_COMMANDS, handlers.handle_command, invalid=handlers.invalid_command),
    Input(topics.TIMERS_EVENTS, handlers.handle_deadline),
    Input(topics.ACCOUNTS_EVENTS, handlers.handle_account),
)


def build(settings: ServiceSettings | None = None) -> ServiceRuntime:
    """Wire the invoicing service. `settings` overrides the environment (tests, docs)."""
    config = settings_as(InvoicingSettings, settings)
    runtime = ServiceRuntime(NAME, config)
    deps = handlers.Deps(
        ledgers=ledgers_store(runtime.db, config.state_cache_size),
        numbers=MongoNumberStore(runtime.db),
        policy=config.policy(),
        publish_outbox=runtime.publish_outbox,
        clock=clocks.clock(config.clock),
    )
    runtime.on_start(lambda: create_indexes(runtime.db))
    runtime.background(lambda: handlers.repair(deps, config.numbering_repair_seconds))
    return wire(runtime, deps, OUTPUTS, INPUTS)


def main() -> None:
    run_service(build)
