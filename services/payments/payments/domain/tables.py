"""The three tables, by entity: the one place that lists them, and which entity each
trigger is about (its *primary* entity, the one whose row runs the handler).

A trigger is a command's type (`RecordPayment`), an ordering event's type
(`ExecutionConfirmed`) or a deadline (`after payment_window`). A row without a handler
is a *consequence*: how another entity may move when that trigger's handler runs (a
payment that settles the request pays the claim and schedules the payout). `decide`
checks every status change against these rows; docs/payments.md is rendered from them.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from contracts.payments import ClaimStatus, PayoutStatus, RequestStatus
from payments.domain import claims, payouts, requests
from payments.domain.model import Entity, Ledger
from servicekit.tables import Table, TableError

Status = RequestStatus | ClaimStatus | PayoutStatus

TABLES: MappingProxyType[Entity, Table[Any]] = MappingProxyType(
    {
        Entity.REQUEST: requests.TABLE,
        Entity.CLAIM: claims.TABLE,
        Entity.PAYOUT: payouts.TABLE,
    }
)


def _primaries() -> dict[str, Entity]:
    found: dict[str, Entity] = {}
    for entity, table in TABLES.items():
        if table.name != entity:
            raise TableError(f"the table of {entity} is named {table.name}")
        for trigger in table.triggers:
            if found.setdefault(trigger, entity) is not entity:
                raise TableError(f"{trigger} has handlers in two tables")
            if any(r.trigger == trigger and not r.primary for r in table.rows):
                raise TableError(f"{entity}: {trigger} is both handled and a consequence")
    return found


#: The entity each trigger is about.
PRIMARY: MappingProxyType[str, Entity] = MappingProxyType(_primaries())


def status_of(ledger: Ledger, entity: Entity) -> Status | None:
    """The status of `entity` in `ledger`; None while there is none of it."""
    if entity is Entity.REQUEST:
        return ledger.request.status if ledger.request else None
    if entity is Entity.CLAIM:
        return ledger.claim.status if ledger.claim else None
    return ledger.payout.status if ledger.payout else None
