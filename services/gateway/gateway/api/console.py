"""The ops console: server-rendered pages for operators, usable without JavaScript.

GET  /console/login               a form for a bearer token (and, with demo logins, a button)
POST /console/login               token ─▶ an HttpOnly, SameSite=Strict cookie ─▶ /console
POST /console/demo-login          dev only (ORDERFLOW_DEMO_LOGINS): log in as `operator-1`
POST /console/logout
GET  /console                     orders by status, filtered by status and flow, paged
GET  /console/orders/{id}         one order: parties, terms, flags, deadlines, timeline
GET  /console/queue               M-04 reviews with confirm / reject / return (M-05, M-18)
POST /console/orders/{id}/decide  ConfirmOrder, RejectOrder or ReturnOrder as the operator
GET  /console/dead-letters        every `<topic>.dlq` with its letters
POST /console/dead-letters/replay republish one letter to its source topic

The cookie holds the bearer token as the API takes it; the console sees and does only what
the API would let that caller see and do (`may_see`, `submit`). Forms carry a CSRF field
derived from the cookie (an HMAC no other site can compute), besides SameSite=Strict.
"""

from __future__ import annotations

import hashlib
import hmac
import urllib.parse
import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from contracts.envelope import Role
from contracts.orders import ConfirmOrder, RejectOrder, ReturnOrder
from contracts.orders.values import OrderStatus
from contracts.topics import ORDERS_COMMANDS
from gateway import deadletters
from gateway.api.commands import submit
from gateway.api.context import ApiDeps, Deps
from gateway.api.pages import read_form, render
from gateway.api.problems import ProblemError
from gateway.api.queries import summary, visible
from gateway.auth import TokenError, issue
from gateway.domain import UPSTREAM, Caller, may_see, review_queue

router = APIRouter(prefix="/console", include_in_schema=False)
COOKIE = "orderflow_console"
#: Who may use the console: operators, and the systems that see everything.
ROLES = frozenset({Role.OPERATOR.value, Role.SYSTEM.value, UPSTREAM})
DEMO_OPERATOR = Caller(id="operator-1", role=Role.OPERATOR.value)
FLOWS = ("managed", "postpaid", "account")


class LoggedOutError(Exception):
    """No valid console cookie: the handler sends the browser to the login page."""


def _caller(request: Request, deps: ApiDeps) -> Caller:
    token = request.cookies.get(COOKIE, "")
    try:
        who = deps.verifier.caller(f"Bearer {token}")
    except TokenError as e:
        raise LoggedOutError from e
    if who.role not in ROLES:
        raise LoggedOutError
    return who


def csrf(request: Request) -> str:
    token = request.cookies.get(COOKIE, "")
    return hmac.new(token.encode(), b"orderflow-console-csrf", hashlib.sha256).hexdigest()


def _checked(request: Request, form: dict[str, str]) -> None:
    if not hmac.compare_digest(form.get("csrf", ""), csrf(request)):
        raise ProblemError(403, "forbidden", "the form is stale: reload the page")


def page(request: Request, name: str, who: Caller, code: int = 200, **ctx: Any) -> HTMLResponse:
    notice = request.query_params.get("notice", "")
    alert = request.query_params.get("alert", "")
    return render(
        request, name, code, who=who, csrf=csrf(request), notice=notice, alert=alert, **ctx
    )


def _back(path: str, **query: str) -> RedirectResponse:
    shown = {k: v for k, v in query.items() if v}
    suffix = f"?{urllib.parse.urlencode(shown)}" if shown else ""
    return RedirectResponse(f"{path}{suffix}", status_code=303)


def install(app: Any) -> None:
    """Send a logged-out browser to the login page instead of a problem document."""

    async def to_login(request: Request, exc: Exception) -> Response:
        return _back("/console/login")

    app.add_exception_handler(LoggedOutError, to_login)


@router.get("/login", response_class=HTMLResponse)
async def login_page(request: Request, deps: Deps, failed: str = "") -> HTMLResponse:
    return render(
        request, "console_login.html", 401 if failed else 200,
        failed=bool(failed), demo=deps.settings.demo_logins,
    )  # fmt: skip


def _logged_in(token: str, deps: ApiDeps) -> Response:
    response = _back("/console")
    response.set_cookie(
        COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=deps.settings.api_url().startswith("https://"),
        path="/console",
        max_age=12 * 3600,
    )
    return response


@router.post("/login")
async def login(request: Request, deps: Deps) -> Response:
    token = (await read_form(request)).get("token", "").strip()
    try:
        who = deps.verifier.caller(f"Bearer {token}")
    except TokenError:
        return _back("/console/login", failed="1")
    if who.role not in ROLES:
        return _back("/console/login", failed="1")
    return _logged_in(token, deps)


@router.post("/demo-login")
async def demo_login(deps: Deps) -> Response:
    if not deps.settings.demo_logins:
        raise ProblemError(404, "not_found", "demo logins are off")
    return _logged_in(issue(deps.settings, DEMO_OPERATOR, deps.clock()), deps)


@router.post("/logout")
async def logout() -> Response:
    response = _back("/console/login")
    response.delete_cookie(COOKIE, path="/console")
    return response


@router.get("", response_class=HTMLResponse)
async def orders(
    request: Request, deps: Deps, status: str = "", flow: str = "", cursor: str = ""
) -> HTMLResponse:
    who = _caller(request, deps)
    filters = [visible(who)]
    if status:
        filters.append({"status": status})
    if flow:
        filters.append({"flow": flow})
    query = {"$and": [f for f in filters if f]} if any(filters) else {}
    try:
        found, after = await deps.views.page(query, deps.settings.page_size, cursor or None)
    except ValueError:
        found, after = [], None
    rows = [summary(v) for v in found if may_see(who, v)]
    return page(
        request, "console_orders.html", who, rows=rows, next_cursor=after,
        status=status, flow=flow, statuses=[s.value for s in OrderStatus], flows=FLOWS,
    )  # fmt: skip


@router.get("/orders/{order_id}", response_class=HTMLResponse)
async def order(request: Request, deps: Deps, order_id: str) -> HTMLResponse:
    who = _caller(request, deps)
    view = await deps.views.get(order_id)
    if view is None or not may_see(who, view):
        return page(request, "console_missing.html", who, 404, order_id=order_id)
    return page(request, "console_order.html", who, view=view, summary=summary(view))


@router.get("/queue", response_class=HTMLResponse)
async def queue(request: Request, deps: Deps) -> HTMLResponse:
    who = _caller(request, deps)
    views = await deps.views.all({"flow": "managed", "status": {"$nin": ["draft", "discarded"]}})
    work = review_queue([v for v in views if may_see(who, v)], deps.clock())
    return page(request, "console_queue.html", who, queue=work)


#: The operator's decisions on a review, and the command each sends (M-05, M-18).
DECISIONS = {"confirm": ConfirmOrder, "reject": RejectOrder, "return": ReturnOrder}


@router.post("/orders/{order_id}/decide")
async def decide(request: Request, deps: Deps, order_id: str) -> Response:
    who = _caller(request, deps)
    form = await read_form(request)
    _checked(request, form)
    decision, text = form.get("decision", ""), form.get("text", "").strip()
    kind = DECISIONS.get(decision)
    try:
        order = uuid.UUID(order_id)
    except ValueError:
        kind = None
    if kind is None:
        return _back("/console/queue", alert="Unknown decision.")
    fields: dict[str, Any] = {"order_id": order, "occurred_at": deps.clock()}
    if kind is RejectOrder:
        fields["reason"] = text
    elif kind is ReturnOrder:
        fields["comment"] = text
    if who.party() is not None:
        fields["actor"] = who.party()
    message_id = uuid.uuid4()
    try:
        command = kind(message_id=message_id, correlation_id=message_id, **fields)
    except ValueError:
        return _back("/console/queue", alert=f"To {decision} an order, say why.")
    fingerprint = hashlib.sha256(f"{decision}\n{text}".encode()).hexdigest()
    try:
        answer = await submit(
            deps, ORDERS_COMMANDS, command, who, fingerprint, deps.settings.command_wait_seconds
        )
    except ProblemError as e:
        return _back("/console/queue", alert=e.detail)
    if answer.outcome.value == "rejected":
        return _back("/console/queue", alert=f"Refused: {answer.message or answer.reason}")
    if answer.outcome.value == "pending":
        return _back("/console/queue", notice=f"Sent; no answer yet for order {order}.")
    return _back("/console/queue", notice=f"Order {order}: {decision} done.")


@router.get("/dead-letters", response_class=HTMLResponse)
async def dead_letters(request: Request, deps: Deps, topic: str = "") -> HTMLResponse:
    who = _caller(request, deps)
    topics = await deadletters.dlq_topics(deps.settings)
    letters = await deadletters.letters(deps.settings, topic) if topic in topics else []
    return page(
        request, "console_dead_letters.html", who, topics=topics, topic=topic, letters=letters
    )


@router.post("/dead-letters/replay")
async def replay(request: Request, deps: Deps) -> Response:
    _caller(request, deps)
    form = await read_form(request)
    _checked(request, form)
    topic, offset = form.get("topic", ""), form.get("offset", "")
    if topic not in await deadletters.dlq_topics(deps.settings) or not offset.isdigit():
        return _back("/console/dead-letters", alert="No such dead letter.")
    try:
        source = await deadletters.replay(deps.settings, topic, int(offset))
    except LookupError as e:
        return _back("/console/dead-letters", topic=topic, alert=str(e))
    return _back(
        "/console/dead-letters", topic=topic, notice=f"Letter {offset} replayed to {source}."
    )
