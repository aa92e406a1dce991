"""invoicing's read API: what the CLI, ops and tests ask of invoices.

    invoice_view(db, invoice_id)              one invoice: status, number, lines, payments
    order_invoices(db, order_id)              every invoice of a managed order (M-16)
    account_invoices(db, account_id)          every bill-cycle invoice of an account (A-11)
    invoices_in_status(db, status)            e.g. every issued invoice, for payment follow-up

An invoice's payment state (`Invoice.payment_status`, `paid`, `outstanding`) stays
visible whatever the order's status (M-16: completed does not mean paid).
"""

from __future__ import annotations

import uuid

from pymongo.asynchronous.database import AsyncDatabase

from invoicing.domain import Invoice, Ledger, account_ledger_id, ledger_of, order_ledger_id
from invoicing.handlers import rebuild
from invoicing.store import LEDGERS, ledgers_store
from servicekit.aggregates import Document


async def ledger_view(db: AsyncDatabase[Document], ledger_id: str) -> Ledger | None:
    """A ledger as of its newest commit, or None."""
    stored = await ledgers_store(db).load(ledger_id)
    return None if stored is None else rebuild(stored, ledger_id)


async def invoice_view(db: AsyncDatabase[Document], invoice_id: str) -> Invoice | None:
    """One invoice, or None."""
    ledger = await ledger_view(db, ledger_of(invoice_id))
    return None if ledger is None else ledger.invoice(invoice_id)


async def order_invoices(db: AsyncDatabase[Document], order_id: uuid.UUID | str) -> list[Invoice]:
    """Every invoice of a managed order, in plan order: none is ever deleted (M-14)."""
    ledger = await ledger_view(db, order_ledger_id(uuid.UUID(str(order_id))))
    return list(ledger.invoices) if ledger else []


async def account_invoices(db: AsyncDatabase[Document], account_id: str) -> list[Invoice]:
    """Every bill-cycle invoice of an account, oldest first (A-11)."""
    ledger = await ledger_view(db, account_ledger_id(account_id))
    return list(ledger.invoices) if ledger else []


async def invoices_in_status(
    db: AsyncDatabase[Document], status: str, limit: int = 100
) -> list[Invoice]:
    """Invoices in `status`, most recently changed ledgers first (a scan on FerretDB)."""
    found: list[Invoice] = []
    cursor = db[LEDGERS].find({"statuses": status}, {"_id": 1}).sort("updated_at", -1)
    async for doc in cursor:
        ledger = await ledger_view(db, str(doc["_id"]))
        if ledger is not None:
            found += [i for i in ledger.invoices if i.status.value == status]
        if len(found) >= limit:
            break
    return found[:limit]
