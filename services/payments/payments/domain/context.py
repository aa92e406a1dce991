"""What goes into a decision and what comes out of it.

in    DecisionContext   policy, id factory, days off, claim reopen window
      DeadlineFired     a deadline of this ledger fell due (from the timer service)
      Step              servicekit's, of a DecisionContext, the order id on every message
out   Decision          servicekit's, of a Ledger and payment events (commands for
                        ordering, deadline requests; or a rejection)
      mark_order_paid / mark_order_unpaid   the two commands payments sends ordering
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Container
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Literal

import servicekit.decisions as decisions
from contracts.envelope import Party, Role
from contracts.orders import MarkOrderPaid
from contracts.orders.commands import MarkOrderUnpaid
from contracts.payments import PaymentEvent
from payments.domain.model import Ledger
from payments.domain.policy import Policy
from servicekit.businessdays import NO_DAYS_OFF, DaysOff

# The deadline values are shared with the other order domain (servicekit/deadlines.py).
from servicekit.deadlines import CancelDeadline as CancelDeadline
from servicekit.deadlines import DeadlineFired as DeadlineFired
from servicekit.deadlines import DeadlineRequest as DeadlineRequest
from servicekit.deadlines import ScheduleDeadline as ScheduleDeadline
from servicekit.decisions import Cause, step_for
from servicekit.decisions import Rejection as Rejection
from servicekit.decisions import refuse as refuse

#: P-21: how long a withdrawn claim may be opened again; after it the debt is given up.
DEFAULT_CLAIM_REOPEN_WINDOW = timedelta(days=14)

#: The party payments acts as: on ordering (`MarkOrderPaid`) and for its own decisions.
PAYMENTS = Party(id="payments", role=Role.SYSTEM)

#: Roles that act on any order: the gateway and services (system), platform support.
STAFF = frozenset({Role.SYSTEM, Role.OPERATOR})


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


#: What one message did to one ledger (servicekit's one Decision shape).
Decision = decisions.Decision[Ledger, PaymentEvent]
#: One decision in the making; `subject` puts the order id on every message it makes.
Step = decisions.Step[DecisionContext]


def new_step(
    ledger: Ledger, now: datetime, ctx: DecisionContext, actor: Party, cause: Cause
) -> Step:
    """The step of deciding `cause` about `ledger`, acting as `actor`."""
    subject = {"order_id": ledger.order_id}
    return step_for(cause, now=now, actor=actor, ctx=ctx, subject=subject, new_id=ctx.new_id)


def mark_order_paid(step: Step, payment_id: str) -> MarkOrderPaid:
    """P-15: tell ordering the customer paid; payments acts as the system party."""
    return MarkOrderPaid(**step.stamp(PAYMENTS), payment_id=payment_id)


def mark_order_unpaid(step: Step, claim_id: str, cause: Uncollected) -> MarkOrderUnpaid:
    """P-21: tell ordering the money is finally not collected; the order ends."""
    return MarkOrderUnpaid(**step.stamp(PAYMENTS), claim_id=claim_id, cause=cause)
