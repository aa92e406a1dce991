"""ordering's answer to an account event of the billing system (X-07, A-01).

    register(event, now) -> AccountRegistered | AccountRejected

An account is registered when the billing system (a `system` actor) states it; anyone
else is refused, and ordering keeps what it had. The answer's id derives from the event's,
so a redelivered event gets the same answer again.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from contracts.accounts import (
    AccountOpened,
    AccountRegistered,
    AccountRejected,
    AccountRejectionReason,
)
from contracts.envelope import Party, Role, derived_id
from ordering.domain.catalogue import AccountRecord
from servicekit.decisions import carry

#: Who may state accounts: the billing system, acting as a system party.
ACCOUNT_AUTHORITY = frozenset({Role.SYSTEM})


def register(event: AccountOpened, now: datetime, by: Party) -> AccountRegistered | AccountRejected:
    """Registered with the earliest order date it allows (A-05), or refused with a reason."""
    answer: dict[str, Any] = {
        "message_id": derived_id(event.message_id, 0, "account"),
        "occurred_at": now,
        "correlation_id": event.correlation_id,
        "causation_id": event.message_id,
        "actor": by,
        "account_id": event.account_id,
        "event_id": event.message_id,
        "event_type": event.type,
    }
    if event.actor.role not in ACCOUNT_AUTHORITY:
        return AccountRejected(
            **answer,
            reason=AccountRejectionReason.NOT_AUTHORIZED,
            message=f"accounts come from the billing system (role system), not a {event.actor.role}",
        )
    fields = "account_id name contact created_on oldest_open_cycle_start"
    record = AccountRecord(**carry(event, fields))
    return AccountRegistered(**answer, earliest_order_date=record.earliest_order_date)
