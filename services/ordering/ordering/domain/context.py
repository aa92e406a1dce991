"""What goes into a decision and what comes out of it.

in    DecisionContext   policy, token secret, snapshots, id factories
      DeadlineFired     a deadline of this order fell due (from the timer service)
out   Decision          servicekit's: events to fold and publish, or a rejection;
                        deadline requests
      Step              servicekit's, with this service's DecisionContext as `ctx`
      ScheduleDeadline / CancelDeadline   pure values the handler turns into commands
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import servicekit.decisions
from contracts.orders import OrderEvent
from ordering.domain.catalogue import AccountDirectory, Catalogue
from ordering.domain.model import Order
from ordering.domain.policy import Policy
from ordering.domain.suppliers import SupplierSettings

# The deadline values are shared with the other order domain (servicekit/deadlines.py).
from servicekit.deadlines import CancelDeadline as CancelDeadline
from servicekit.deadlines import DeadlineFired as DeadlineFired
from servicekit.deadlines import DeadlineRequest as DeadlineRequest
from servicekit.deadlines import ScheduleDeadline as ScheduleDeadline
from servicekit.decisions import Rejection as Rejection
from servicekit.decisions import refuse as refuse


def _no_new_orders() -> uuid.UUID:
    raise LookupError("this decision context cannot create orders: pass new_order_id")


@dataclass(frozen=True)
class DecisionContext:
    """Everything a decision may need besides the order, the message and the time.

    `new_id(index)` gives the id of the index-th message a decision makes; by default it
    is derived from the cause's id, so re-deciding a redelivered message makes the same
    ids. `new_order_id()` gives the id of an order a command creates (M-15).
    """

    policy: Policy = field(default_factory=Policy)
    token_secret: bytes | str = b""
    accounts: AccountDirectory = field(default_factory=AccountDirectory)
    catalogue: Catalogue = field(default_factory=Catalogue)
    new_id: Callable[[int], uuid.UUID] | None = None
    new_order_id: Callable[[], uuid.UUID] = _no_new_orders
    #: P-11/P-14: the recorded versions of the ordering supplier's settings (CreateOrder).
    supplier_settings: tuple[SupplierSettings, ...] = ()


#: The outcome of one command or one fired deadline (servicekit's one shape): `events`
#: may concern more than one order (DuplicateOrder creates one): group them with
#: `by_order`. `before` is the order decided on, `after` what its own events make of it.
Decision = servicekit.decisions.Decision[Order, OrderEvent]

#: One decision in the making: `step.stamp(status=...)` stamps each new event with its
#: envelope and the order's id and flow (`subject`); `step.ctx` is the DecisionContext.
Step = servicekit.decisions.Step[DecisionContext]


def by_order(events: list[OrderEvent]) -> dict[uuid.UUID, list[OrderEvent]]:
    """A decision's events, grouped by the order each concerns, in their order."""
    grouped: dict[uuid.UUID, list[OrderEvent]] = {}
    for event in events:
        grouped.setdefault(event.order_id, []).append(event)
    return grouped


Outcome = list[OrderEvent] | Rejection
