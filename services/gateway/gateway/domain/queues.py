"""Work queues and reports, computed from views (pure; `now` is an argument).

review_queue(views, now)     M-04: submitted orders oldest first, due time, overdue;
                             M-13 cancellation requests; M-11 invoice change requests
approval_queue(views, now)   A-07, A-13: account orders waiting for their approver
report(views, by)            A-12: counts and totals per currency by status/flow/period
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from gateway.domain.view import OrderView

Grouping = Literal["status", "flow", "period"]


def _item(view: OrderView, due_key: str, now: datetime) -> dict[str, Any]:
    due = view.deadlines.get(due_key)
    flagged = f"{due_key}_overdue" if due_key == "approval" else "review_overdue"
    return {
        "order_id": str(view.order_id),
        "flow": view.flow,
        "status": view.status,
        "submitted_at": view.submitted_at,
        "due_at": due,
        "overdue": flagged in view.flags or (due is not None and due <= now),
    }


def review_queue(views: Iterable[OrderView], now: datetime) -> dict[str, list[dict[str, Any]]]:
    """The operator's work: reviews (M-04's due time), cancellations (M-13), invoice
    change requests (M-11); oldest first."""
    views = [v for v in views if v.flow == "managed"]
    reviews = sorted(
        (v for v in views if v.status == "operator_review"),
        key=lambda v: (v.submitted_at or v.created_at or now, str(v.order_id)),
    )
    cancellations = sorted(
        (v for v in views if v.status == "cancellation_requested"),
        key=lambda v: (v.updated_at or now, str(v.order_id)),
    )
    changes = [
        {"order_id": str(v.order_id), "invoice_id": invoice_id, "status": invoice["status"]}
        for v in sorted(views, key=lambda v: (v.updated_at or now, str(v.order_id)))
        if "invoice_changes_requested" in v.flags
        for invoice_id, invoice in sorted(v.invoices.items())
        if invoice.get("status") == "changes_requested"
    ]
    return {
        "reviews": [_item(v, "operator_review", now) for v in reviews],
        "cancellation_requests": [
            {"order_id": str(v.order_id), "reason": v.cancellation_request, "since": v.updated_at}
            for v in cancellations
        ],
        "invoice_change_requests": changes,
    }


def approval_queue(views: Iterable[OrderView], now: datetime) -> list[dict[str, Any]]:
    """A-07/A-13: account orders placed and waiting for approval, oldest first."""
    waiting = [v for v in views if v.flow == "account" and "approval" in v.deadlines]
    waiting.sort(key=lambda v: (v.deadlines["approval"], str(v.order_id)))
    return [_item(v, "approval", now) for v in waiting]


def amount_of(view: OrderView) -> tuple[Decimal, str] | None:
    """The order's value: its final total, else what its terms say."""
    if view.total is not None:
        return view.total.amount, view.total.currency
    terms = view.terms or {}
    if "price" in terms:
        return Decimal(terms["price"]["amount"]), terms["price"]["currency"]
    invoices = terms.get("planned_invoices") or []
    if invoices:
        total = sum((Decimal(i["amount"]["amount"]) for i in invoices), Decimal(0))
        return total, invoices[0]["amount"]["currency"]
    if "items" in terms:
        items = terms["items"]
        total = sum((Decimal(i["unit_price"]) * i["quantity"] for i in items), Decimal(0))
        return total, terms["currency"]
    return None


def report(views: Iterable[OrderView], by: Grouping) -> list[dict[str, Any]]:
    """A-12: one row per (group, currency) with the count of orders and their total."""
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for view in views:
        if by == "period":
            group = view.created_at.strftime("%Y-%m") if view.created_at else "unknown"
        else:
            group = str(getattr(view, by) or "unknown")
        amount = amount_of(view)
        currency = amount[1] if amount else ""
        row = rows.setdefault(
            (group, currency), {by: group, "currency": currency, "count": 0, "total": Decimal(0)}
        )
        row["count"] += 1
        row["total"] += amount[0] if amount else Decimal(0)
    return [
        {**row, "total": str(row["total"])} for _, row in sorted(rows.items(), key=lambda r: r[0])
    ]
