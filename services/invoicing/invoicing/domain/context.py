"""What goes into a decision and what comes out of it: servicekit's shapes, as invoicing
uses them (issue 18: one Decision, one Step, one set of deadline values in every service).

in    DecisionContext   the policy (durations, calendar)
      Step              now, the cause's ids, the actor; stamps each new message with the
                        ledger's id (`step.stamp()`)
      DeadlineFired     a deadline of this ledger fell due (its payload names the invoice)
out   Decision          events (published ones and the ledger's records) to fold and
                        store, commands for other services, deadline requests; or a
                        rejection event
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from contracts.envelope import Event, Party, Role, derived_id
from invoicing.domain.model import Ledger
from invoicing.domain.policy import Policy
from invoicing.domain.records import LedgerRecord

# The deadline values are shared by every domain (servicekit/deadlines.py).
from servicekit.deadlines import CancelDeadline as CancelDeadline
from servicekit.deadlines import DeadlineFired as DeadlineFired
from servicekit.deadlines import DeadlineRequest as DeadlineRequest
from servicekit.deadlines import ScheduleDeadline as ScheduleDeadline
from servicekit.decisions import Decision as Decided
from servicekit.decisions import Rejection as Rejection
from servicekit.decisions import Step as Stepping
from servicekit.decisions import refuse as refuse

#: The party invoicing acts as, towards ordering and in the events it makes by itself.
INVOICING = Party(id="invoicing", role=Role.SYSTEM)


@dataclass(frozen=True)
class DecisionContext:
    """Everything a decision may need besides the ledger, the message and the time."""

    policy: Policy = field(default_factory=Policy)


class Decision(Decided[Ledger, Event]):
    """What one message did to one ledger: servicekit's `Decision`, of invoicing's types."""


class Step(Stepping[DecisionContext]):
    """One decision about one ledger: servicekit's `Step`, with invoicing's context."""


Outcome = Decision | Rejection


def step_for(
    ledger_id: str,
    *,
    now: datetime,
    ctx: DecisionContext,
    cause: uuid.UUID,
    correlation: uuid.UUID,
    actor: Party = INVOICING,
) -> Step:
    """One decision about `ledger_id`: ids derived from the cause's, so deciding a
    redelivered message again makes the same ids."""
    return Step(
        now=now,
        actor=actor,
        cause=cause,
        correlation=correlation,
        new_id=lambda index: derived_id(cause, index, "invoicing"),
        ctx=ctx,
        subject={"ledger_id": ledger_id},
    )


def published(decision: Decision) -> list[Event]:
    """The events other services see, in order: not the ledger's own records."""
    return [e for e in decision.events if not isinstance(e, LedgerRecord)]
