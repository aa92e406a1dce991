"""Every topic name, in one place.

Commands go to ``<service>.commands`` (upstream → owner); events to ``<service>.events``
(owner → anyone). Each consumed topic has a dead-letter twin, ``<topic>.dlq``.
The Kafka key is the order id on every order-related topic, so one order's messages
stay in one partition and are handled in order; on suppliers.* it is the supplier id.
"""

from __future__ import annotations

from typing import Final

ORDERS_COMMANDS: Final = "orders.commands"
ORDERS_EVENTS: Final = "orders.events"
ACCOUNTS_EVENTS: Final = "accounts.events"
TIMERS_COMMANDS: Final = "timers.commands"
TIMERS_EVENTS: Final = "timers.events"
INVOICING_COMMANDS: Final = "invoicing.commands"
INVOICING_EVENTS: Final = "invoicing.events"
PAYMENTS_COMMANDS: Final = "payments.commands"
PAYMENTS_EVENTS: Final = "payments.events"
NOTIFICATIONS_EVENTS: Final = "notifications.events"
#: P-11/P-14: suppliers' settings, owned by ordering; keyed by the supplier id.
SUPPLIERS_COMMANDS: Final = "suppliers.commands"
SUPPLIERS_EVENTS: Final = "suppliers.events"
#: ordering's answers to the account events of `accounts.events` (X-07).
ACCOUNTS_ANSWERS: Final = "accounts.answers"

ALL: Final = (
    ORDERS_COMMANDS,
    ORDERS_EVENTS,
    ACCOUNTS_EVENTS,
    TIMERS_COMMANDS,
    TIMERS_EVENTS,
    INVOICING_COMMANDS,
    INVOICING_EVENTS,
    PAYMENTS_COMMANDS,
    PAYMENTS_EVENTS,
    NOTIFICATIONS_EVENTS,
    SUPPLIERS_COMMANDS,
    SUPPLIERS_EVENTS,
    ACCOUNTS_ANSWERS,
)

DLQ_SUFFIX: Final = ".dlq"


def dlq(topic: str) -> str:
    """The dead-letter topic of `topic`."""
    return topic + DLQ_SUFFIX
