"""What goes into a decision and what comes out of it: servicekit's shapes, as invoicing
uses them (issue 18: one Decision, one Step, one set of deadline values in every service).

in    DecisionContext   the policy (durations, calendar)
      Step              now, the cause's ids, the actor; stamps each new message with the
                        ledger's id (`step.stamp()`); built by `new_step` inside the
                        domain, from the message, `now` and the context
      DeadlineFired     a deadline of this ledger fell due (its payload names the invoice)
out   Decision          events (published ones and the ledger's records) to fold and
                        store, commands for other services, deadline requests; or a
                        rejection (`refused`), which `on_command` answers with its event
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

import servicekit.decisions as decisions
from contracts.envelope import Event, Party, Role, derived_id
from invoicing.domain.model import Ledger
from invoicing.domain.policy import Policy
from invoicing.domain.records import LedgerRecord

# The deadline values are shared by every domain (servicekit/deadlines.py).
from servicekit.deadlines import CancelDeadline as CancelDeadline
from servicekit.deadlines import DeadlineFired as DeadlineFired
from servicekit.deadlines import DeadlineRequest as DeadlineRequest
from servicekit.deadlines import ScheduleDeadline as ScheduleDeadline
from servicekit.decisions import Cause, step_for
from servicekit.decisions import Rejection as Rejection
from servicekit.decisions import refuse as refuse

#: The party invoicing acts as, towards ordering and in the events it makes by itself.
INVOICING = Party(id="invoicing", role=Role.SYSTEM)


@dataclass(frozen=True)
class DecisionContext:
    """Everything a decision may need besides the ledger, the message and the time."""

    policy: Policy = field(default_factory=Policy)


#: What one message did to one ledger (servicekit's one Decision shape).
Decision = decisions.Decision[Ledger, Event]
#: One decision about one ledger; `subject` puts the ledger's id on every record.
Step = decisions.Step[DecisionContext]


def refused(reason: StrEnum, message: str) -> Decision:
    """A handler's refusal, in the one Decision shape: nothing changes (X-07)."""
    return Decision(rejection=refuse(reason, message))


def invoicing_ids(cause: uuid.UUID) -> Callable[[int], uuid.UUID]:
    """The ids of the messages deciding `cause` makes: derived from the cause's id (and
    salted "invoicing", as invoicing's ids always were), so deciding a redelivered
    message again makes the same ids."""
    return lambda index: derived_id(cause, index, "invoicing")


def new_step(ledger_id: str, cause: Cause, now: datetime, ctx: DecisionContext) -> Step:
    """The step of deciding `cause` about `ledger_id`, invoicing acting."""
    subject = {"ledger_id": ledger_id}
    new_id = invoicing_ids(cause.message_id)
    return step_for(cause, now=now, actor=INVOICING, ctx=ctx, subject=subject, new_id=new_id)


def published(decision: Decision) -> list[Event]:
    """The events other services see, in order: not the ledger's own records."""
    return [e for e in decision.events if not isinstance(e, LedgerRecord)]
