"""What goes into a decision and what comes out of it.

in    DecisionContext   policy, token secret, snapshots, id factories
      DeadlineFired     a deadline of this order fell due (from the timer service)
out   Decision          events to fold and publish, or a rejection; deadline requests
      ScheduleDeadline / CancelDeadline   pure values the handler turns into commands
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from contracts.envelope import Party, derived_id
from contracts.orders import (
    Flow,
    OrderCommandRejected,
    OrderEvent,
    OrderStatus,
)
from ordering.domain.catalogue import AccountDirectory, Catalogue
from ordering.domain.policy import Policy
from ordering.domain.suppliers import SupplierSettings

# The deadline values are shared with the other order domain (servicekit/deadlines.py).
from servicekit.deadlines import CancelDeadline as CancelDeadline
from servicekit.deadlines import DeadlineFired as DeadlineFired
from servicekit.deadlines import DeadlineRequest as DeadlineRequest
from servicekit.deadlines import ScheduleDeadline as ScheduleDeadline
from servicekit.decisions import Envelopes
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


@dataclass(frozen=True)
class Decision:
    """The outcome of one command or one fired deadline.

    Accepted: `events` (fold them, then publish them) and `deadlines` to schedule or
    cancel. Refused: `rejection`, and `rejection_event` ready to publish (X-07); nothing
    to fold. Empty: a stale deadline (X-02). `events` may concern more than one order
    (DuplicateOrder creates one): group them with `by_order()`.
    """

    events: list[OrderEvent] = field(default_factory=list)
    rejection: Rejection | None = None
    rejection_event: OrderCommandRejected | None = None
    deadlines: list[DeadlineRequest] = field(default_factory=list)

    @property
    def accepted(self) -> bool:
        return self.rejection is None

    def messages(self) -> list[OrderEvent | OrderCommandRejected]:
        """What to publish on orders.events."""
        answer: list[OrderEvent | OrderCommandRejected] = list(self.events)
        if self.rejection_event is not None:
            answer.append(self.rejection_event)
        return answer

    def by_order(self) -> dict[uuid.UUID, list[OrderEvent]]:
        grouped: dict[uuid.UUID, list[OrderEvent]] = {}
        for event in self.events:
            grouped.setdefault(event.order_id, []).append(event)
        return grouped


class Step(Envelopes):
    """One decision in the making: stamps each new event with its envelope."""

    def __init__(
        self,
        *,
        order_id: uuid.UUID,
        flow: Flow,
        now: datetime,
        ctx: DecisionContext,
        actor: Party,
        cause: uuid.UUID,
        correlation: uuid.UUID,
    ) -> None:
        super().__init__(
            now=now,
            actor=actor,
            cause=cause,
            correlation=correlation,
            new_id=lambda index: message_id(ctx, cause, index),
        )
        self.order_id = order_id
        self.flow = flow
        self.ctx = ctx
        self.policy = ctx.policy

    def stamp(self, status: OrderStatus, order_id: uuid.UUID | None = None) -> dict[str, Any]:
        """Envelope and order fields of the next event, which leaves the order in `status`."""
        return {
            **self.envelope(),
            "order_id": order_id or self.order_id,
            "flow": self.flow,
            "status": status,
        }


def message_id(ctx: DecisionContext, cause: uuid.UUID, index: int) -> uuid.UUID:
    """The id of the index-th message a decision caused by `cause` makes."""
    return ctx.new_id(index) if ctx.new_id else derived_id(cause, index)


Outcome = list[OrderEvent] | Rejection
