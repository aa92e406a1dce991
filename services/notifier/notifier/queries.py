"""notifier's read side: what became of the emails about an order or an event (X-06).

    deliveries_of_order(db, order_id)   every delivery about the order, oldest first
    deliveries_of_event(db, event_id)   the deliveries one event asked for

A view names the recipient by role and party id, never by address. On FerretDB a query
by order or event is a scan (docs/ferretdb.md): a support tool's read, not a hot path.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from notifier.store import Document


@dataclass(frozen=True)
class DeliveryView:
    key: str
    delivery_id: uuid.UUID
    event_id: uuid.UUID
    event_type: str
    template: str
    rules: tuple[str, ...]
    recipient_role: str
    recipient_id: str | None
    #: `sending` until an outcome is recorded, then `sent` or `failed`.
    status: str
    attempts: int
    reason: str | None
    claimed_at: datetime
    finished_at: datetime | None


async def deliveries_of_order(
    db: AsyncDatabase[Document], order_id: uuid.UUID | str
) -> list[DeliveryView]:
    return await _views(db, {"order_id": str(order_id)})


async def deliveries_of_event(
    db: AsyncDatabase[Document], event_id: uuid.UUID | str
) -> list[DeliveryView]:
    return await _views(db, {"cause.message_id": str(event_id)})


async def _views(db: AsyncDatabase[Document], query: dict[str, Any]) -> list[DeliveryView]:
    claims = [doc async for doc in db["deliveries"].find(query, {"context": 0})]
    views = []
    for claim in sorted(claims, key=lambda d: (d["claimed_at"], d["_id"])):
        outcome = await db["delivery_outcomes"].find_one({"_id": claim["_id"]})
        recipient = claim["recipient"]
        views.append(
            DeliveryView(
                key=str(claim["_id"]),
                delivery_id=uuid.UUID(claim["delivery_id"]),
                event_id=uuid.UUID(claim["cause"]["message_id"]),
                event_type=claim["cause"]["type"],
                template=claim["template"],
                rules=tuple(claim.get("rules", ())),
                recipient_role=recipient["role"],
                recipient_id=recipient.get("party_id"),
                status=outcome["status"] if outcome else "sending",
                attempts=int(outcome["attempts"]) if outcome else 0,
                reason=outcome.get("reason") if outcome else None,
                claimed_at=claim["claimed_at"],
                finished_at=outcome["finished_at"] if outcome else None,
            )
        )
    return views
