"""What goes into a decision and what comes out of it.

in    Step              now, the cause's ids, the actor; stamps each new message
      DeadlineFired     a deadline of this ledger fell due (from the timer service)
out   Decision          events (published ones and records) to fold, commands for other
                        services, deadline requests; or a rejection
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from contracts.envelope import Event, Party, Role, derived_id
from contracts.invoicing import InvoicingCommandRejected
from contracts.orders import OrderCommand
from invoicing.domain.policy import Policy
from invoicing.domain.records import LedgerRecord
from servicekit.decisions import Envelopes
from servicekit.decisions import Rejection as Rejection
from servicekit.decisions import refuse as refuse

#: The party invoicing acts as, towards ordering and in the events it makes by itself.
INVOICING = Party(id="invoicing", role=Role.SYSTEM)


@dataclass(frozen=True)
class DeadlineFired:
    """The domain's view of the timer service's deadline-expired event (X-02)."""

    deadline_id: str
    kind: str
    due_at: datetime
    message_id: uuid.UUID
    correlation_id: uuid.UUID
    invoice_id: str | None = None


@dataclass(frozen=True)
class ScheduleDeadline:
    deadline_id: str
    key: str
    kind: str
    due_at: datetime
    ledger_id: str
    invoice_id: str | None = None


@dataclass(frozen=True)
class CancelDeadline:
    deadline_id: str
    key: str


DeadlineRequest = ScheduleDeadline | CancelDeadline


@dataclass
class Decision:
    """The outcome of one message for one ledger.

    Accepted: `events` to fold and store (the published ones and the ledger's records),
    `commands` for other services, `deadlines` to schedule or cancel. Refused:
    `rejection_event`, ready to publish (X-07). Empty: nothing changes (a duplicate, a
    stale deadline, a fact invoicing does not need).
    """

    events: list[Event] = field(default_factory=list)
    commands: list[OrderCommand] = field(default_factory=list)
    deadlines: list[DeadlineRequest] = field(default_factory=list)
    rejection_event: InvoicingCommandRejected | None = None

    @property
    def changes(self) -> bool:
        return bool(self.events)

    @property
    def published(self) -> list[Event]:
        """The events other services see, in order."""
        return [e for e in self.events if not isinstance(e, LedgerRecord)]

    def extend(self, other: Decision) -> None:
        self.events += other.events
        self.commands += other.commands
        self.deadlines += other.deadlines


class Step(Envelopes):
    """One decision in the making: stamps each new message with its envelope."""

    def __init__(
        self,
        *,
        ledger_id: str,
        now: datetime,
        policy: Policy,
        cause: uuid.UUID,
        correlation: uuid.UUID,
        actor: Party = INVOICING,
    ) -> None:
        super().__init__(
            now=now,
            actor=actor,
            cause=cause,
            correlation=correlation,
            new_id=lambda index: derived_id(cause, index, "invoicing"),
        )
        self.ledger_id = ledger_id
        self.policy = policy

    def record(self) -> dict[str, Any]:
        """Envelope fields of the next ledger record."""
        return {**self.envelope(), "ledger_id": self.ledger_id}
