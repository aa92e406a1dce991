"""ordering: owns every status transition of every order (X-01).

The composition root: builds the runtime, the stores and the handlers' dependencies,
and registers each handler on its topic. Nothing else in the service wires anything.
"""

from __future__ import annotations

from contracts import topics
from ordering import handlers
from ordering.config import OrderingSettings
from ordering.store import AccountsStore, SupplierSettingsStore, create_indexes, orders_store
from servicekit import clocks
from servicekit.composition import Input, Output, settings_as, wire
from servicekit.config import ServiceSettings
from servicekit.runtime import ServiceRuntime, run_service

NAME = "ordering"
OUTPUTS = (
    Output(topics.ORDERS_EVENTS, "Every order event and rejection"),
    Output(topics.TIMERS_COMMANDS, "Deadlines of the order flows"),
    Output(topics.ACCOUNTS_ANSWERS, "Accounts answered"),
    Output(topics.SUPPLIERS_EVENTS, "Suppliers' settings (P-11, P-14)"),
)
INPUTS = (
    Input(topics.ORDERS_COMMANDS, handlers.handle_command, invalid=handlers.invalid_command),
    Input(topics.TIMERS_EVENTS, handlers.handle_deadline),
    Input(topics.ACCOUNTS_EVENTS, handlers.handle_account),
    Input(
        topics.SUPPLIERS_COMMANDS,
        handlers.handle_supplier_command,
        invalid=handlers.invalid_supplier_command,
    ),
)


def build(settings: ServiceSettings | None = None) -> ServiceRuntime:
    """Wire the ordering service. `settings` overrides the environment (tests, docs)."""
    config = settings_as(OrderingSettings, settings)
    runtime = ServiceRuntime(NAME, config)
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
    runtime.on_start(lambda: create_indexes(runtime.db))
    return wire(runtime, deps, OUTPUTS, INPUTS)


def main() -> None:
    run_service(build)
