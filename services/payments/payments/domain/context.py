"""What goes into a decision and what comes out of it.

in    DecisionContext   policy, id factory, days off, claim reopen window
      DeadlineFired     a deadline of this ledger fell due (from the timer service)
out   Decision          the ledger before and after, payment events to publish, commands
                        for ordering, deadline requests; or a rejection
      ScheduleDeadline / CancelDeadline   pure values the handler turns into commands
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Container
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal

from contracts.envelope import Party, Role, derived_id
from contracts.orders import MarkOrderPaid
from contracts.orders.commands import MarkOrderUnpaid
from contracts.payments import PaymentCommandRejected, PaymentEvent
from payments.domain.model import Ledger
from payments.domain.policy import Policy
from servicekit.businessdays import NO_DAYS_OFF, DaysOff

# The deadline values are shared with the other order domain (servicekit/deadlines.py).
from servicekit.deadlines import CancelDeadline as CancelDeadline
from servicekit.deadlines import DeadlineFired as DeadlineFired
from servicekit.deadlines import DeadlineRequest as DeadlineRequest
from servicekit.deadlines import ScheduleDeadline as ScheduleDeadline
from servicekit.decisions import Envelopes
from servicekit.decisions import Rejection as Rejection
from servicekit.decisions import refuse as refuse

#: P-21: how long a withdrawn claim may be opened again; after it the debt is given up.
DEFAULT_CLAIM_REOPEN_WINDOW = timedelta(days=14)

#: The party payments acts as: on ordering (`MarkOrderPaid`) and for its own decisions.
PAYMENTS = Party(id="payments", role=Role.SYSTEM)


@dataclass(frozen=True)
class DecisionContext:
    """Everything a decision may need besides the ledger, the message and the time.

    `new_id(index)` gives the id of the index-th message a decision makes; by default it
    is derived from the cause's id, so re-deciding a redelivered message makes the same
    ids. `days_off` are the days besides weekends that are not business days (P-18: the
    country's public holidays and `Policy.holidays`, built at the composition root).
    """

    policy: Policy = field(default_factory=Policy)
    new_id: Callable[[int], uuid.UUID] | None = None
    days_off: Container[date] = NO_DAYS_OFF
    #: P-21: a withdrawn claim may be opened again this long; then the debt lapses.
    claim_reopen_window: timedelta = DEFAULT_CLAIM_REOPEN_WINDOW

    @property
    def holidays(self) -> Container[date]:
        """Days that are not business days besides weekends (P-18)."""
        return DaysOff(public=self.days_off, extra=frozenset(self.policy.holidays))


#: A command payments sends ordering.
OrderCommand = MarkOrderPaid | MarkOrderUnpaid
#: What a row of a table produces: payment events, and commands for ordering.
Effect = PaymentEvent | OrderCommand
#: P-21: why the money is finally not collected.
Uncollected = Literal["claim_written_off", "claim_withdrawn"]
Outcome = list[Effect] | Rejection


@dataclass(frozen=True)
class Decision:
    """The outcome of one command, order event or fired deadline.

    Accepted: `after` is the new ledger (store it when `changed`), `events` to publish on
    payments.events, `commands` for ordering, `deadlines` to schedule or cancel. Refused:
    `rejection` and `rejection_event` ready to publish (X-07); nothing changes. Empty: a
    message that does not concern payments, or a stale deadline (X-02).
    """

    before: Ledger | None = None
    after: Ledger | None = None
    events: list[PaymentEvent] = field(default_factory=list)
    commands: list[OrderCommand] = field(default_factory=list)
    deadlines: list[DeadlineRequest] = field(default_factory=list)
    rejection: Rejection | None = None
    rejection_event: PaymentCommandRejected | None = None

    @property
    def accepted(self) -> bool:
        return self.rejection is None

    @property
    def changed(self) -> bool:
        """Whether there is anything to store."""
        return self.after is not None and (self.after != self.before or bool(self.events))


class Step(Envelopes):
    """One decision in the making: stamps each new message with its envelope."""

    def __init__(
        self,
        *,
        ledger: Ledger,
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
        self.ledger = ledger
        self.order_id = ledger.order_id
        self.ctx = ctx
        self.policy = ctx.policy

    def stamp(self) -> dict[str, Any]:
        """Envelope and order id of the next message."""
        return {**self.envelope(), "order_id": self.order_id}

    def mark_order_paid(self, payment_id: str) -> MarkOrderPaid:
        """P-15: tell ordering the customer paid; payments acts as the system party."""
        return MarkOrderPaid(**{**self.stamp(), "actor": PAYMENTS}, payment_id=payment_id)

    def mark_order_unpaid(self, claim_id: str, cause: Uncollected) -> MarkOrderUnpaid:
        """P-21: tell ordering the money is finally not collected; the order ends."""
        stamp = {**self.stamp(), "actor": PAYMENTS}
        return MarkOrderUnpaid(**stamp, claim_id=claim_id, cause=cause)


def message_id(ctx: DecisionContext, cause: uuid.UUID, index: int) -> uuid.UUID:
    """The id of the index-th message a decision caused by `cause` makes."""
    return ctx.new_id(index) if ctx.new_id else derived_id(cause, index)
