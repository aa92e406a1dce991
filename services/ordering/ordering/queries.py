"""ordering's read API (M-17, M-02, A-02): what the CLI, ops and tests ask of orders.

    order_view(db, order_id, viewer)       one order: status, terms, flags, timeline
    list_orders(db, viewer, status=None)   a party's orders, newest first
    search_accounts(db, text)              accounts by name or email, before creating one

Every query takes the viewer (a party): an order a party does not belong to, and a draft
(or a discarded one, M-19) asked for by an operator, are not found (M-02).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from contracts.envelope import Party
from ordering.domain import AccountRecord, Order, visible_to
from ordering.domain.model import PostpaidDetails
from ordering.handlers import rebuild
from ordering.store import AccountsStore, orders_store
from servicekit.aggregates import Document


@dataclass(frozen=True)
class OrderView:
    """An order as a party sees it; `order.timeline` is who did what, when (M-17)."""

    order: Order
    version: int

    @property
    def unpaid(self) -> bool:
        """P-21: closed without the money being collected."""
        return isinstance(self.order.details, PostpaidDetails) and self.order.details.unpaid


async def order_view(
    db: AsyncDatabase[Document], order_id: uuid.UUID | str, viewer: Party
) -> OrderView | None:
    """One order as `viewer` may see it, or None (unknown, or not theirs to see)."""
    stored = await orders_store(db).load(str(order_id))
    order = rebuild(stored)
    if stored is None or order is None or not visible_to(order, viewer):
        return None
    return OrderView(order=order, version=order.version)


async def list_orders(
    db: AsyncDatabase[Document], viewer: Party, status: str | None = None, limit: int = 100
) -> list[OrderView]:
    """M-17: the orders `viewer` takes part in (operators: every one but drafts and
    discarded drafts), by status."""
    query: dict[str, Any] = {} if viewer.role == "operator" else {"parties": viewer.id}
    if status is not None:
        query["status"] = status
    views = []
    async for doc in db["orders"].find(query, {"_id": 1}).sort("updated_at", -1).limit(limit * 2):
        view = await order_view(db, doc["_id"], viewer)
        if view is not None:
            views.append(view)
    return views[:limit]


async def search_accounts(db: AsyncDatabase[Document], text: str) -> list[AccountRecord]:
    """A-02: look an account up by name or email before creating one."""
    return await AccountsStore(db).search(text)
