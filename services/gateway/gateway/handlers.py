"""The gateway's projection: every event topic into its own views, answers and directory.

    any event ─▶ project ─┬▶ order view: load, apply (domain), replace        (per order)
                          ├▶ answer: the command it answers, if the gateway sent it
                          │          ─▶ record (domain), replace, wake the waiting request
                          └▶ accounts (and ordering's answer to each) / suppliers: the
                             record as the topic restates it

Idempotent: a view holds the position of each topic it applied, so a redelivered event
changes nothing; an answer lists its events once. A handler for one order holds that
order's lock, so two topics' events about one order never race in one process.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from contracts.accounts import AccountAnswer, AccountOpened, AccountRegistered
from contracts.envelope import Event
from contracts.suppliers import SupplierSettingsSet
from gateway import metrics
from gateway.domain import ANSWERED_ON, Position, apply, cause_of, order_of, record
from gateway.store import Commands, Directory, KeyedLocks, Views

log = logging.getLogger("gateway.handlers")


class Waiters:
    """Requests waiting in this process for a command's answer, woken when it is recorded."""

    def __init__(self) -> None:
        self._events: dict[uuid.UUID, asyncio.Event] = {}

    def watch(self, command_id: uuid.UUID) -> asyncio.Event:
        return self._events.setdefault(command_id, asyncio.Event())

    def forget(self, command_id: uuid.UUID) -> None:
        self._events.pop(command_id, None)

    def wake(self, command_id: uuid.UUID) -> None:
        event = self._events.get(command_id)
        if event is not None:
            event.set()


@dataclass(frozen=True)
class Deps:
    """What the projection needs; built once by the composition root (`app.build`)."""

    views: Views
    commands: Commands
    directory: Directory
    clock: Callable[[], datetime]
    locks: KeyedLocks = field(default_factory=KeyedLocks)
    waiters: Waiters = field(default_factory=Waiters)


async def project(event: Event, at: Position, deps: Deps) -> None:
    """Apply one event, read at `at`, to everything the gateway keeps of it."""
    order_id = order_of(event)
    if order_id is not None:
        async with deps.locks.hold(str(order_id)):
            before = await deps.views.get(order_id)
            after = apply(before, event, at)
            if after is not None and after is not before:
                await deps.views.put(after)
                lag = (deps.clock() - event.occurred_at).total_seconds()
                metrics.PROJECTION_LAG.labels(at.topic).observe(max(lag, 0.0))
    if isinstance(event, AccountOpened):
        await deps.directory.put_account(
            {
                "_id": event.account_id,
                "name": event.name,
                "email": str(event.contact.email),
                "created_on": event.created_on.isoformat(),
                "message_id": str(event.message_id),
            }
        )
    elif isinstance(event, AccountAnswer):  # ordering's answer: may orders name it?
        status = "registered" if isinstance(event, AccountRegistered) else "rejected"
        await deps.directory.put_status(
            {"_id": event.account_id, "status": status, "event_id": str(event.event_id)}
        )
    elif isinstance(event, SupplierSettingsSet):
        await _supplier(event, deps)
    command_id = cause_of(event)
    if command_id is not None and at.topic in ANSWERED_ON.values():
        await _answer(command_id, event, deps)


async def _answer(command_id: uuid.UUID, event: Event, deps: Deps) -> None:
    async with deps.locks.hold(f"command:{command_id}"):
        known = await deps.commands.get(command_id)
        if known is None:  # not sent through the gateway
            return
        updated = record(known, event)
        if updated is not known:
            await deps.commands.put(updated)
    deps.waiters.wake(command_id)


async def _supplier(event: SupplierSettingsSet, deps: Deps) -> None:
    async with deps.locks.hold(f"supplier:{event.supplier_id}"):
        doc = await deps.directory.get_supplier(event.supplier_id) or {
            "_id": event.supplier_id,
            "versions": [],
        }
        if any(v["settings_id"] == event.settings_id for v in doc["versions"]):
            return
        version = event.model_dump(
            mode="json",
            include={"settings_id", "effective_from", "payment_stage", "cancellation_policy"},
        )
        doc["versions"] = sorted([*doc["versions"], version], key=lambda v: v["effective_from"])
        await deps.directory.put_supplier(doc)
