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


class Step:
    """One decision in the making: stamps each new message with its envelope.

    Ids are derived from the cause's id, so deciding a redelivered message again makes
    the same ids (and a consumer that dedupes by id sees the duplicate it is).
    """

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
        self.ledger_id = ledger_id
        self.now = now
        self.policy = policy
        self.cause = cause
        self.correlation = correlation
        self.actor = actor
        self._count = 0

    def next_id(self) -> uuid.UUID:
        index, self._count = self._count, self._count + 1
        return derived_id(self.cause, index, "invoicing")

    def envelope(self, actor: Party | None = None) -> dict[str, Any]:
        """Envelope fields of the next message."""
        return {
            "message_id": self.next_id(),
            "occurred_at": self.now,
            "correlation_id": self.correlation,
            "causation_id": self.cause,
            "actor": actor or self.actor,
        }

    def record(self) -> dict[str, Any]:
        """Envelope fields of the next ledger record."""
        return {**self.envelope(), "ledger_id": self.ledger_id}
