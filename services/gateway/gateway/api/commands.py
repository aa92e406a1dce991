"""Commands over HTTP: the JSON of a command topic in, the command's answer out (X-09).

POST /v1/commands/{service}   body: a command of `<service>.commands`, as the contract
    │                         says; message_id, occurred_at, correlation_id and actor
    │                         may be left out (Idempotency-Key / now / message_id / caller)
    ├─ 413 too large, 400 not JSON, 422 not the contract, 403 actor is not the caller
    ├─ record it (a unique insert: a retry finds the first record) ─▶ publish, keyed
    │  as the contract says (the same message id again: services dedupe by it)
    └─ wait up to ?wait= seconds for its answer ─▶ 200 answer, or 202 + Location
GET  /v1/commands/{command_id}  the answer so far (its sender, upstream and system only)
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from contracts.envelope import Command, MessageUnion
from contracts.invoicing import INVOICING_COMMANDS
from contracts.orders import ORDER_COMMANDS
from contracts.payments import PAYMENT_COMMANDS
from contracts.suppliers import SUPPLIER_COMMANDS
from contracts.topics import INVOICING_COMMANDS as INVOICING_TOPIC
from contracts.topics import ORDERS_COMMANDS, PAYMENTS_COMMANDS, SUPPLIERS_COMMANDS
from gateway import metrics
from gateway.api.context import ApiDeps, Deps, Who
from gateway.api.problems import ProblemError, field_errors
from gateway.domain import Answer, Caller, Outcome, idempotency_id, may_send

router = APIRouter(prefix="/v1/commands", tags=["commands"])

#: The services that take commands from outside, their topic and their contract.
SERVICES: dict[str, tuple[str, MessageUnion[Any]]] = {
    "orders": (ORDERS_COMMANDS, ORDER_COMMANDS),
    "invoicing": (INVOICING_TOPIC, INVOICING_COMMANDS),
    "payments": (PAYMENTS_COMMANDS, PAYMENT_COMMANDS),
    "suppliers": (SUPPLIERS_COMMANDS, SUPPLIER_COMMANDS),
}


async def read_body(request: Request, limit: int) -> bytes:
    """The body, refused (413) as soon as it passes `limit` bytes, chunked or not."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise ProblemError(413, "body_too_large", f"the body may have {limit} bytes at most")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise ProblemError(413, "body_too_large", f"the body may have {limit} bytes at most")
    return bytes(body)


def complete(data: Any, caller: Caller, key: str | None, deps: ApiDeps) -> dict[str, Any]:
    """The envelope fields the caller may leave out, filled in."""
    if not isinstance(data, dict):
        raise ProblemError(422, "invalid_command", "the body must be a JSON object")
    if key is not None:
        derived = str(idempotency_id(caller.id, key))
        if data.setdefault("message_id", derived) != derived:
            raise ProblemError(
                422, "idempotency_key_mismatch", "message_id differs from the Idempotency-Key's"
            )
    data.setdefault("message_id", str(uuid.uuid4()))
    data.setdefault("occurred_at", deps.clock().isoformat())
    data.setdefault("correlation_id", data["message_id"])
    party = caller.party()
    if party is not None:
        data.setdefault("actor", party.model_dump(mode="json"))
    return data


@router.post(
    "/{service}",
    summary="Send a command; wait for its answer or get where to read it",
    responses={
        200: {"description": "The command's answer: accepted (its events) or rejected."},
        202: {"description": "Not answered yet: read it at the Location URL."},
        409: {"description": "The Idempotency-Key was used for another request."},
        413: {"description": "The body is larger than the configured limit."},
    },
    openapi_extra={"requestBody": {"required": True, "content": {"application/json": {}}}},
)
async def send(
    service: str,
    request: Request,
    caller: Who,
    deps: Deps,
    wait: Annotated[
        float | None, Query(ge=0, le=60, description="Seconds to wait for the answer.")
    ] = None,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> JSONResponse:
    if service not in SERVICES:
        raise ProblemError(404, "unknown_service", f"no commands for {service!r}")
    topic, union = SERVICES[service]
    raw = await read_body(request, deps.settings.max_body_bytes)
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as e:
        raise ProblemError(400, "malformed_json", "the body is not JSON") from e
    try:
        command = union.validate(complete(data, caller, idempotency_key, deps))
    except ValidationError as e:
        raise ProblemError(
            422, "invalid_command", "the command breaks its contract", field_errors(e.errors())
        ) from e
    fingerprint = hashlib.sha256(service.encode() + b"\n" + raw).hexdigest()
    timeout = deps.settings.command_wait_seconds if wait is None else wait
    return _answered(await submit(deps, topic, command, caller, fingerprint, timeout))


async def submit(
    deps: ApiDeps,
    topic: str,
    command: Command,
    caller: Caller,
    fingerprint: str,
    timeout: float,
) -> Answer:
    """Send `command` to `topic` as `caller`, once per message id, and wait up to `timeout`
    seconds for its answer. The pages and the console send their commands through here.

    Raises `ProblemError` 403 when the actor is not the caller, 409 when the message id
    was sent before with another `fingerprint` (the digest of what the caller sent).
    """
    if not may_send(caller, command):
        raise ProblemError(403, "actor_not_caller", "a command's actor must be the caller itself")
    answer = Answer(
        command_id=command.message_id,
        command_type=command.type,
        topic=topic,
        key=command.kafka_key().decode(),
        caller=caller.id,
        fingerprint=fingerprint,
        submitted_at=deps.clock(),
    )
    earlier = await deps.commands.add(answer)
    if earlier is not None:
        if earlier.fingerprint != fingerprint or earlier.caller != caller.id:
            raise ProblemError(
                409, "idempotency_key_reused", "this key was sent with another request"
            )
        answer = earlier
    woken = deps.waiters.watch(answer.command_id)
    try:
        if answer.outcome is Outcome.PENDING:
            await deps.publish(topic, command)
            metrics.COMMANDS.labels(topic, command.type).inc()
        return await _await_answer(answer, woken, timeout, deps)
    finally:
        deps.waiters.forget(answer.command_id)


@router.get("/{command_id}", summary="A command's answer so far")
async def read(command_id: uuid.UUID, caller: Who, deps: Deps) -> JSONResponse:
    answer = await deps.commands.get(command_id)
    if answer is None or not (caller.sees_all or answer.caller == caller.id):
        raise ProblemError(404, "unknown_command", "no such command was sent by you")
    return _answered(answer)


async def _await_answer(
    answer: Answer, woken: asyncio.Event, timeout: float, deps: ApiDeps
) -> Answer:
    """Until answered or `timeout`; woken by the projection, polling for other replicas'."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        woken.clear()  # before reading: a wake after the read is not lost
        answer = await deps.commands.get(answer.command_id) or answer
        remaining = deadline - loop.time()
        if answer.outcome is not Outcome.PENDING or remaining <= 0:
            return answer
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(woken.wait(), min(remaining, 0.5))


def _answered(answer: Answer) -> JSONResponse:
    body = answer.model_dump(mode="json", exclude={"fingerprint", "caller"})
    url = f"/v1/commands/{answer.command_id}"
    body["answer_url"] = url
    if answer.outcome is Outcome.PENDING:
        return JSONResponse(body, 202, headers={"Location": url})
    return JSONResponse(body, 200)
