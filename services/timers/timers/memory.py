"""A `ScheduleStore` in memory: the protocol's semantics without a database.

For unit tests of the scheduler and the handlers, and as the reference the MongoDB store
is checked against. One process only: nothing here is shared between replicas.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from timers.domain import (
    Claim,
    Deadline,
    DeadlineStatus,
    Decision,
    Entry,
    Firing,
    Generation,
    entry_of,
)
from timers.store import Outcome


class InMemoryScheduleStore:
    def __init__(self) -> None:
        self.deadlines: dict[str, Deadline] = {}
        self.entries: dict[str, Entry] = {}
        self.claims: dict[str, Claim] = {}
        self.fired: dict[str, Firing] = {}
        self.not_before: dict[str, datetime] = {}
        self.refusals: dict[uuid.UUID, str] = {}

    async def prepare(self) -> None:
        return None

    async def get(self, deadline_id: str, now: datetime) -> Deadline | None:
        deadline = self.deadlines.get(deadline_id)
        if deadline is None or deadline.status is not DeadlineStatus.SCHEDULED:
            return deadline
        key = entry_of(deadline).key
        if (fired := self.fired.get(key)) is not None:
            return deadline.as_fired(fired.fired_at, fired.lateness_ms)
        if key in self.claims:
            return replace(deadline, status=DeadlineStatus.FIRING)
        return deadline

    def _withdraw(self, deadline_id: str, old: Generation) -> bool:
        key = f"{deadline_id}|{old.number}"
        if key in self.claims or key in self.fired:
            return False
        self.entries.pop(key, None)
        return True

    async def save(self, decision: Decision, now: datetime) -> Outcome:
        deadline = decision.deadline
        if deadline is None:
            return Outcome.NOTHING
        if deadline.status is DeadlineStatus.CANCELLED:
            if not self._withdraw(deadline.deadline_id, decision.withdraw or deadline.current):
                return Outcome.TOO_LATE
            self.deadlines[deadline.deadline_id] = deadline
            return Outcome.CANCELLED
        deadline = replace(deadline, placement=deadline.placement or "memory")
        entry = entry_of(deadline)
        if entry.key not in self.fired:
            self.entries[entry.key] = entry
        self.deadlines[deadline.deadline_id] = deadline
        if decision.withdraw is not None:
            self._withdraw(deadline.deadline_id, decision.withdraw)
        return Outcome.SAVED

    async def refusal_of(self, command_id: uuid.UUID, sent_at: datetime) -> str | None:
        return self.refusals.get(command_id)

    async def record_refusal(self, command_id: uuid.UUID, sent_at: datetime, answer: str) -> str:
        return self.refusals.setdefault(command_id, answer)

    def _claimable(self, entry: Entry, now: datetime) -> bool:
        claim = self.claims.get(entry.key)
        return (
            entry.due_at <= now
            and self.not_before.get(entry.key, entry.due_at) <= now
            and (claim is None or claim.lease_until <= now)
        )

    async def claim_due(
        self, batch: int, now: datetime, lease_until: datetime, replica: str
    ) -> list[Claim]:
        due = sorted(
            (e for e in self.entries.values() if self._claimable(e, now)),
            key=lambda e: (e.due_at, e.key),
        )[:batch]
        claims: list[Claim] = []
        for entry in due:
            previous = self.claims.get(entry.key)
            attempt = 0 if previous is None else previous.attempt + 1
            claims.append(Claim(entry, attempt, replica, lease_until))
            self.claims[entry.key] = claims[-1]
        return claims

    async def mark_fired(self, firings: Sequence[Firing]) -> None:
        for firing in firings:
            key = firing.claim.entry.key
            self.fired.setdefault(key, firing)
            self.entries.pop(key, None)

    async def release(self, claims: Sequence[Claim], retry_at: datetime) -> None:
        for claim in claims:
            self.claims.pop(claim.entry.key, None)
            self.not_before[claim.entry.key] = retry_at

    async def next_due(self, now: datetime) -> datetime | None:
        waiting = [
            max(e.due_at, self.not_before.get(e.key, e.due_at))
            for e in self.entries.values()
            if e.key not in self.claims
        ]
        return min(waiting, default=None)

    async def maintain(self, now: datetime) -> None:
        return None

    async def cleanup(self, older_than: datetime) -> int:
        doomed = [
            d.deadline_id
            for d in self.deadlines.values()
            if (d.cancelled_at is not None and d.cancelled_at < older_than)
            or ((f := self.fired.get(entry_of(d).key)) is not None and f.fired_at < older_than)
        ]
        for deadline_id in doomed:
            del self.deadlines[deadline_id]
        return len(doomed)

    async def pending(self) -> int:
        return len(self.entries)

    async def close(self) -> None:
        return None
