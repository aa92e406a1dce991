"""The pages people open from their emails: server-rendered HTML, usable without JavaScript.

GET  /confirm?order=&token=     M-08: the client's offer (terms, valid until), Confirm /
                                Decline forms, or the outcome once answered
POST /confirm                   form: order, token, decision, reason ─▶ ConfirmAsClient /
                                DeclineAsClient as the client ─▶ 303 back to GET (PRG)
GET  /review?order=&token=      P-17: the closed order's rating and review form
POST /review                    form: ratings, text ─▶ LeaveReview as the customer ─▶ 303

The signed token is the only credential (M-08): the gateway acts for the client named in
a token it has verified with ordering's secret (`ORDERFLOW_TOKEN_SECRET`), and for that
order only; ordering checks the token again when it decides. A bad token is the "link
invalid" page (400), an expired one the "link expired" page (410), never a traceback.
The review link's token is the notifier's, signed with the same secret for another
purpose (`servicekit.links.REVIEW_PURPOSE`), so neither token works as the other.
"""

from __future__ import annotations

import hashlib
import urllib.parse
import uuid
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from contracts.envelope import Party, Role
from contracts.orders import ConfirmAsClient, DeclineAsClient, LeaveReview
from contracts.topics import ORDERS_COMMANDS
from gateway.api.commands import submit
from gateway.api.context import ApiDeps, Deps
from gateway.api.problems import ProblemError
from gateway.domain import Answer, Caller, Outcome, idempotency_id
from servicekit.links import PURPOSE, REVIEW_PURPOSE, ExpiredTokenError, TokenError, verify_token

TEMPLATES = Jinja2Templates(directory=Path(__file__).parent.parent / "templates")
router = APIRouter(include_in_schema=False)

#: What the client reads once the order left `client_confirmation`.
OUTCOMES = {
    "active": "You confirmed the order. It is now active.",
    "rejected": "You declined the order. Nothing more will happen with it.",
}
MAX_FORM_BYTES = 16 * 1024


def render(request: Request, name: str, code: int = 200, **context: Any) -> HTMLResponse:
    return TEMPLATES.TemplateResponse(request, name, context, status_code=code)


#: Terms a client does not need to read (shown elsewhere on the page, or internal).
_UNSHOWN_TERMS = frozenset({"lines", "skip_client_confirmation", "offer_valid_until"})


def terms_rows(terms: dict[str, Any] | None) -> list[tuple[str, str]]:
    """The order's terms as (label, text) rows a person reads: amounts as `100.00 EUR`,
    planned invoices one per line, nothing empty."""

    def text(value: Any) -> str:
        if isinstance(value, dict) and {"amount", "currency"} <= value.keys():
            return f"{value['amount']} {value['currency']}"
        if isinstance(value, dict):
            return ", ".join(f"{k.replace('_', ' ')} {text(v)}" for k, v in value.items())
        if isinstance(value, list):
            return "; ".join(text(v) for v in value)
        if isinstance(value, bool):
            return "yes" if value else "no"
        return str(value)

    return [
        (key.replace("_", " ").capitalize(), text(value))
        for key, value in (terms or {}).items()
        if key not in _UNSHOWN_TERMS and value not in (None, "", [], {})
    ]


def link_problem(request: Request, expired: bool) -> HTMLResponse:
    """M-08: the one page a bad link gets; it says which, and nothing about the order."""
    return render(request, "link_problem.html", 410 if expired else 400, expired=expired)


async def read_form(request: Request) -> dict[str, str]:
    """An urlencoded form, first value per field (no multipart: the pages post none)."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise ProblemError(413, "body_too_large", "the form is too large")
    fields = urllib.parse.parse_qs(body.decode(errors="replace"), keep_blank_values=True)
    return {k: v[0] for k, v in fields.items()}


def client_of(
    deps: ApiDeps, order: str, token: str, purpose: bytes = PURPOSE
) -> tuple[uuid.UUID, str]:
    """The order and the party a link speaks for (the client, or for a review link the
    customer); `TokenError` if none."""
    try:
        order_id = uuid.UUID(order)
    except ValueError as e:
        raise TokenError("the link names no order") from e
    secret = deps.settings.token_secret.get_secret_value()
    return order_id, verify_token(secret, token, order_id, deps.clock(), purpose)


@router.get("/confirm", response_class=HTMLResponse)
async def confirmation(
    request: Request, deps: Deps, order: str = "", token: str = "", answer: str = ""
) -> HTMLResponse:
    try:
        order_id, client = client_of(deps, order, token)
    except TokenError as e:
        return link_problem(request, isinstance(e, ExpiredTokenError))
    view = await deps.views.get(order_id)
    if view is None or client not in view.party_ids():
        return render(request, "confirm_pending.html", 404, order=order, token=token)
    refused = None
    if answer:
        with_id = _uuid(answer)
        found = None if with_id is None else await deps.commands.get(with_id)
        if found is not None and found.caller == client and found.outcome is Outcome.REJECTED:
            refused = found.message or found.reason
    return render(
        request,
        "confirm.html",
        view=view,
        terms=terms_rows(view.terms),
        order=order,
        token=token,
        open=view.status == "client_confirmation",
        outcome=OUTCOMES.get(view.status or ""),
        refused=refused,
        valid_until=view.deadlines.get("client_confirmation"),
    )


@router.post("/confirm", response_class=HTMLResponse)
async def decide(request: Request, deps: Deps) -> Response:
    form = await read_form(request)
    order, token = form.get("order", ""), form.get("token", "")
    try:
        order_id, client = client_of(deps, order, token)
    except TokenError as e:
        return link_problem(request, isinstance(e, ExpiredTokenError))
    decision, reason = form.get("decision", ""), form.get("reason", "").strip()[:1000]
    caller = Caller(id=client, role=Role.CLIENT.value)
    actor = caller.party()
    # One command per link and decision: a double click or a reload sends it once.
    message_id = idempotency_id(client, f"confirm-page:{order_id}:{decision}")
    common: dict[str, Any] = {
        "message_id": message_id,
        "correlation_id": message_id,
        "occurred_at": deps.clock(),
        "actor": actor,
        "order_id": order_id,
        "token": token,
    }
    if decision == "confirm":
        command: ConfirmAsClient | DeclineAsClient = ConfirmAsClient(**common)
    elif decision == "decline":
        command = DeclineAsClient(**common, reason=reason)
    else:
        return render(request, "confirm_pending.html", 400, order=order, token=token)
    fingerprint = hashlib.sha256(f"{decision}\n{reason}".encode()).hexdigest()
    timeout = deps.settings.command_wait_seconds
    answer: Answer | None
    try:
        answer = await submit(deps, ORDERS_COMMANDS, command, caller, fingerprint, timeout)
    except ProblemError:
        answer = await deps.commands.get(message_id)  # a second, different decline
    query = {"order": order, "token": token}
    if answer is not None:
        query["answer"] = str(answer.command_id)
    return RedirectResponse(f"/confirm?{urllib.parse.urlencode(query)}", status_code=303)


@router.get("/review", response_class=HTMLResponse)
async def review(
    request: Request, deps: Deps, order: str = "", token: str = "", answer: str = ""
) -> HTMLResponse:
    try:
        order_id, customer = client_of(deps, order, token, REVIEW_PURPOSE)
    except TokenError as e:
        return link_problem(request, isinstance(e, ExpiredTokenError))
    view = await deps.views.get(order_id)
    if view is None or customer not in view.party_ids():
        return render(request, "confirm_pending.html", 404, order=order, token=token)
    found = None
    if answer and (with_id := _uuid(answer)) is not None:
        found = await deps.commands.get(with_id)
        found = found if found is not None and found.caller == customer else None
    return render(
        request,
        "review.html",
        view=view,
        order=order,
        token=token,
        thanked=found is not None and found.outcome is Outcome.ACCEPTED,
        refused=found.message or found.reason
        if found and found.outcome is Outcome.REJECTED
        else None,
    )


@router.post("/review", response_class=HTMLResponse)
async def leave_review(request: Request, deps: Deps) -> Response:
    form = await read_form(request)
    order, token = form.get("order", ""), form.get("token", "")
    try:
        order_id, customer = client_of(deps, order, token, REVIEW_PURPOSE)
    except TokenError as e:
        return link_problem(request, isinstance(e, ExpiredTokenError))
    caller = Caller(id=customer, role=Role.CUSTOMER.value)
    text = form.get("text", "").strip()[:1000]
    ratings = (form.get("service_rating", ""), form.get("supplier_rating", ""))
    if not all(r in {"1", "2", "3", "4", "5"} for r in ratings):
        query = {"order": order, "token": token}
        return RedirectResponse(f"/review?{urllib.parse.urlencode(query)}", status_code=303)
    message_id = idempotency_id(customer, f"review-page:{order_id}")  # P-17: once
    command = LeaveReview(
        message_id=message_id,
        correlation_id=message_id,
        occurred_at=deps.clock(),
        actor=Party(id=customer, role=Role.CUSTOMER),
        order_id=order_id,
        service_rating=int(ratings[0]),
        supplier_rating=int(ratings[1]),
        text=text,
    )
    fingerprint = hashlib.sha256("\n".join((*ratings, text)).encode()).hexdigest()
    timeout = deps.settings.command_wait_seconds
    answer: Answer | None
    try:
        answer = await submit(deps, ORDERS_COMMANDS, command, caller, fingerprint, timeout)
    except ProblemError:
        answer = await deps.commands.get(message_id)  # reviewed before, otherwise
    query = {"order": order, "token": token}
    if answer is not None:
        query["answer"] = str(answer.command_id)
    return RedirectResponse(f"/review?{urllib.parse.urlencode(query)}", status_code=303)


def _uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except ValueError:
        return None
