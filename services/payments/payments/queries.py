"""payments' read API: where an order's money is, and a supplier's payouts (P-16, P-18).

    payment_view(db, order_id, viewer)          one order's ledger: request, receipts,
                                                fee, claims, payout
    payouts_of(db, supplier, status=None)       a supplier's payouts, newest first

A viewer sees an order's ledger if it is the order's supplier or customer, or staff.
"""

from __future__ import annotations

import uuid
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from contracts.envelope import Party
from contracts.payments import PayoutStatus
from payments.domain import Ledger, Payout, may_act_on
from payments.store import COLLECTION, payments_store, rebuild
from servicekit.aggregates import Document


async def payment_view(
    db: AsyncDatabase[Document], order_id: uuid.UUID | str, viewer: Party
) -> Ledger | None:
    """One order's ledger as `viewer` may see it, or None (unknown, or not theirs)."""
    ledger = rebuild(await payments_store(db).load(str(order_id)))
    if ledger is None or not may_act_on(ledger, viewer):
        return None
    return ledger


async def payouts_of(
    db: AsyncDatabase[Document],
    supplier_id: str,
    status: PayoutStatus | None = None,
    limit: int = 100,
) -> list[Payout]:
    """P-18: a supplier's payouts and where each is (`scheduled`, `processing`, `paid`)."""
    query: dict[str, Any] = {"supplier_id": supplier_id, "payout_status": {"$ne": None}}
    if status is not None:
        query["payout_status"] = status.value
    payouts = []
    cursor = db[COLLECTION].find(query, {"_id": 1}).sort("updated_at", -1).limit(limit)
    async for doc in cursor:
        # The snapshot is a cache: the commits say where the payout really is.
        ledger = rebuild(await payments_store(db).load(str(doc["_id"])))
        payout = ledger.payout if ledger is not None else None
        if payout is not None and (status is None or payout.status is status):
            payouts.append(payout)
    return payouts
