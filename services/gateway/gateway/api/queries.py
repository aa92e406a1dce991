"""Queries over the gateway's own views: each answers only what the caller may see.

GET /v1/orders                  M-17: the caller's orders by status, newest first, paged
GET /v1/orders/{id}             M-17: one order with its timeline and where it stands
GET /v1/queues/review           M-04, M-13, M-11: the operator's work, oldest first
GET /v1/queues/approval         A-07, A-13: the approver's
GET /v1/accounts?q=             A-02: accounts by name or email
GET /v1/reports/orders          A-12: counts and totals per currency, JSON or CSV
"""

from __future__ import annotations

import csv
import io
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse, Response

from contracts.envelope import Role
from gateway.api.context import Deps, Who, require
from gateway.api.problems import ProblemError
from gateway.domain import (
    UPSTREAM,
    Caller,
    OrderView,
    approval_queue,
    may_see,
    report,
    review_queue,
    statuses_for,
)
from gateway.domain.access import STAFF
from gateway.domain.queues import Grouping, amount_of

router = APIRouter(prefix="/v1", tags=["queries"])
_OVERSEERS = (UPSTREAM, Role.SYSTEM.value)
Operator = Annotated[Caller, Depends(require(Role.OPERATOR.value, *_OVERSEERS))]
Approver = Annotated[Caller, Depends(require(Role.APPROVER.value, *_OVERSEERS))]
Staff = Annotated[
    Caller,
    Depends(require(Role.OPERATOR.value, Role.APPROVER.value, Role.AGENT.value, *_OVERSEERS)),
]
Reporter = Annotated[
    Caller, Depends(require(Role.OPERATOR.value, Role.APPROVER.value, *_OVERSEERS))
]


def visible(caller: Caller) -> dict[str, Any]:
    """The store query for what `caller` may see (refined by `may_see` after reading)."""
    if caller.sees_all:
        return {}
    reach: list[dict[str, Any]] = [{"party_ids": caller.id}]
    flows = [flow for flow, roles in STAFF.items() if caller.role in roles]
    hidden = statuses_for(caller)
    if flows:
        reach.append({"flow": {"$in": flows}, "status": {"$nin": sorted(hidden or ())}})
    if caller.role == Role.AGENT.value and caller.accounts:
        reach.append({"account_id": {"$in": list(caller.accounts)}})
    return {"$or": reach}


def summary(view: OrderView) -> dict[str, Any]:
    amount = amount_of(view)
    return {
        "order_id": str(view.order_id),
        "flow": view.flow,
        "status": view.status,
        "flags": view.flags,
        "account_id": view.account_id,
        "total": None if amount is None else {"amount": str(amount[0]), "currency": amount[1]},
        "created_at": view.created_at and view.created_at.isoformat(),
        "updated_at": view.updated_at and view.updated_at.isoformat(),
        "deadlines": {k: v.isoformat() for k, v in view.deadlines.items()},
        "url": f"/v1/orders/{view.order_id}",
    }


@router.get("/orders", summary="The caller's orders, newest first (M-17)")
async def orders(
    caller: Who,
    deps: Deps,
    status: Annotated[str | None, Query(max_length=40)] = None,
    cursor: Annotated[str | None, Query(max_length=400)] = None,
    limit: Annotated[int | None, Query(ge=1, le=500)] = None,
) -> dict[str, Any]:
    parts = [p for p in (visible(caller), {"status": status} if status else {}) if p]
    query: dict[str, Any] = {"$and": parts} if parts else {}
    size = min(limit or deps.settings.page_size, deps.settings.page_size)
    try:
        page, after = await deps.views.page(query, size, cursor)
    except ValueError as e:
        raise ProblemError(400, "invalid_cursor", str(e)) from e
    shown = [summary(v) for v in page if may_see(caller, v)]
    return {"orders": shown, "next_cursor": after}


@router.get("/orders/{order_id}", summary="One order with its timeline (M-17)")
async def order(order_id: str, caller: Who, deps: Deps) -> dict[str, Any]:
    view = await deps.views.get(order_id)
    if view is None or not may_see(caller, view):
        raise ProblemError(404, "unknown_order", "no such order that you may see")
    body = view.model_dump(mode="json", exclude={"positions"})
    body["summary"] = summary(view)
    body["consistent_with"] = [p.model_dump() for p in view.consistent_with()]
    return body


@router.get("/queues/review", summary="The operator's queue, oldest first (M-04, M-13, M-11)")
async def review(caller: Operator, deps: Deps) -> dict[str, Any]:
    views = await deps.views.all({"flow": "managed", "status": {"$nin": ["draft", "discarded"]}})
    return review_queue(views, deps.clock())


@router.get("/queues/approval", summary="The approver's queue, oldest first (A-07, A-13)")
async def approval(caller: Approver, deps: Deps) -> dict[str, Any]:
    views = await deps.views.all({"flow": "account", "status": "in_progress"})
    return {"approvals": approval_queue(views, deps.clock())}


@router.get("/accounts", summary="Accounts by name or email (A-02)")
async def accounts(
    caller: Staff,
    deps: Deps,
    q: Annotated[str, Query(min_length=2, max_length=200)],
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> dict[str, Any]:
    found = await deps.directory.search(q, limit)
    keys = ("name", "email", "created_on", "status")
    return {"accounts": [{"account_id": d["_id"], **{k: d[k] for k in keys}} for d in found]}


@router.get(
    "/reports/orders",
    summary="Counts and totals per currency by status, flow or period (A-12)",
    responses={200: {"content": {"text/csv": {}}}},
)
async def orders_report(
    caller: Reporter,
    deps: Deps,
    by: Grouping = "status",
    format: Literal["json", "csv"] = "json",
) -> Response:
    views = [v for v in await deps.views.all(visible(caller)) if may_see(caller, v)]
    rows = report(views, by)
    if format == "json":
        return JSONResponse({"by": by, "rows": rows})
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=[by, "currency", "count", "total"])
    writer.writeheader()
    writer.writerows(rows)
    return Response(out.getvalue(), media_type="text/csv")
