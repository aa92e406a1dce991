"""invoicing's pure domain: ledgers of invoices, a transition table, decide and evolve.

    on_order_event / on_command / on_deadline / on_number (ledger, message, now, ctx)
        -> Decision                              each builds its own `Step` (`new_step`)
    evolve(ledger, event) -> Ledger              fold one event into the state

    model       Ledger, Invoice, ids, `pending_numbers`
    invoices    M-10 to M-16: the handlers and the TABLE
    accounts    A-11: bill cycles
    money       exact amounts per ISO 4217 minor unit
    policy      durations and the calendar (compressed in demos and tests)
    records     the ledger's own, unpublished events
    diagrams    docs/invoicing.md's state diagram, rendered from the table

No I/O, no clock: time, ids and numbers come in as arguments.
"""

from invoicing.domain.context import INVOICING, Decision, DecisionContext, published
from invoicing.domain.decide import (
    MissingOrderError,
    number_cause,
    on_account_event,
    on_command,
    on_deadline,
    on_number,
    on_order_event,
    queue_account_order,
)
from invoicing.domain.evolve import fold
from invoicing.domain.invoices import TABLE, TABLES
from invoicing.domain.model import (
    DeadlineKind,
    Invoice,
    Ledger,
    NumberTaken,
    account_ledger_id,
    ledger_of,
    order_ledger_id,
    pending_numbers,
)
from invoicing.domain.policy import Policy
from invoicing.domain.records import LEDGER_EVENTS
from servicekit.deadlines import CancelDeadline, DeadlineFired, ScheduleDeadline

__all__ = [
    "INVOICING",
    "LEDGER_EVENTS",
    "TABLE",
    "TABLES",
    "CancelDeadline",
    "DeadlineFired",
    "DeadlineKind",
    "Decision",
    "DecisionContext",
    "Invoice",
    "Ledger",
    "MissingOrderError",
    "NumberTaken",
    "Policy",
    "ScheduleDeadline",
    "account_ledger_id",
    "fold",
    "ledger_of",
    "number_cause",
    "on_account_event",
    "on_command",
    "on_deadline",
    "on_number",
    "on_order_event",
    "order_ledger_id",
    "pending_numbers",
    "published",
    "queue_account_order",
]
