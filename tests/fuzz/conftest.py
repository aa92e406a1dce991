"""The fuzz run's system and its budgets.

Hypothesis profiles (choose with ORDERFLOW_FUZZ_PROFILE, default `ci`):

    ci     `make test`: derandomized (the same examples on every run, so CI reproduces),
           a few hundred records in all, under two minutes
    fuzz   `make fuzz`: random, ORDERFLOW_FUZZ_EXAMPLES batches per test (default 200)

Every test here shares one `FuzzSystem`, stopped when the package's tests are done: the
five services and the gateway as processes (started as the end-to-end tests start them,
`orderflow.launcher`), on the session's own topic prefix and database, and an
`Observer` of their answers and dead letters. Unlike
the end-to-end tests, dead letters are expected here: that is where unreadable input goes.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, settings

import devstack
from contracts import topics
from contracts.envelope import SYSTEM, Message
from contracts.examples import example
from contracts.orders import CreateOrder
from contracts.timers import RescheduleDeadline
from orderflow import commands as c
from orderflow.kafka import Upstream
from orderflow.launcher import Launcher, everything
from tests.e2e.conftest import E2E_DURATIONS
from tests.fuzz.harness import Observer
from tests.fuzz.schemas import COMMAND_TOPICS, KNOWN_ORDERS

#: Failures worth keeping become regression tests (test_regressions.py), not a database.
_COMMON = settings(
    deadline=None, database=None, suppress_health_check=list(HealthCheck), print_blob=True
)
settings.register_profile(
    "ci", _COMMON, max_examples=30, derandomize=True, phases=[Phase.generate, Phase.shrink]
)
settings.register_profile(
    "fuzz", _COMMON, max_examples=int(os.environ.get("ORDERFLOW_FUZZ_EXAMPLES", "200"))
)
#: The profile of this run's fuzz tests (applied per test: other tests keep their own).
PROFILE_NAME = os.environ.get("ORDERFLOW_FUZZ_PROFILE", "ci")
PROFILE = settings.get_profile(PROFILE_NAME)
#: The gateway's batches take longer to draw (command bodies of every service): fewer in CI.
GATEWAY_PROFILE = settings(PROFILE, max_examples=25) if PROFILE_NAME == "ci" else PROFILE
#: pytest-timeout for a fuzz test: bounded in `make test`, none for `make fuzz`.
TIMEOUT = 900 if PROFILE_NAME == "ci" else 0


@dataclass
class FuzzSystem:
    """The running services, where to send, what came back."""

    stack: devstack.StackEndpoints
    launcher: Launcher
    upstream: Upstream
    observer: Observer
    prefix: str
    logs: Path

    def crashed(self) -> list[str]:
        """Services that are no longer running, with their log."""
        return [f"{p.module}: {p.log_path}" for p in self.launcher.processes if not p.running]

    async def sentinel(self, topic: str) -> Message:
        """A valid command of `topic`, sent now: its answer proves the consumer goes on."""
        message = sentinel_for(topic)
        await self.upstream.send(topic, message)
        return message


def sentinel_for(topic: str) -> Message:
    """A valid message for `topic` with fresh ids (orders: a new order, to be created)."""
    now = datetime.now(UTC)
    if topic == topics.ORDERS_COMMANDS:
        return known_order(uuid.uuid4())
    if topic == topics.TIMERS_COMMANDS:  # a deadline nobody set: refused, so answered
        return c.command(
            RescheduleDeadline,
            SYSTEM,
            deadline_id=f"fuzz-sentinel-{uuid.uuid4()}",
            order_id=str(uuid.uuid4()),
            due_at=now + timedelta(hours=1),
        )
    if topic == topics.ACCOUNTS_EVENTS:
        return c.account_opened(f"fuzz-{uuid.uuid4().hex[:8]}", "billing@fuzz.example.com")
    from contracts.channels import BY_TOPIC

    for cls in BY_TOPIC[topic].messages.classes.values():
        found = example(cls)
        if found is not None:
            update = {"message_id": uuid.uuid4(), "occurred_at": now}
            return found.model_copy(update=update)
    raise LookupError(f"no valid example for {topic}")


def known_order(order_id: uuid.UUID) -> CreateOrder:
    """A managed order of member-1 for client-1 (`KNOWN_PARTIES`)."""
    return c.command(
        CreateOrder,
        c.member().party,
        order_id=order_id,
        parties=[c.member(), c.client()],
        terms=c.managed_terms(),
    )


@pytest.fixture(scope="package")
async def fuzz_system(
    stack: devstack.StackEndpoints,
    topic_prefix: str,
    database_name: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[FuzzSystem]:
    prefix, database = f"{topic_prefix}fuzz.", f"{database_name}_fuzz"
    logs = tmp_path_factory.mktemp("logs-fuzz")
    launcher = Launcher(
        logs=logs,
        env={**E2E_DURATIONS, "ORDERFLOW_TOPIC_PREFIX": prefix, "ORDERFLOW_DATABASE": database},
        fixed_ports=False,
    )
    try:
        await launcher.start(stack, everything())
        async with (
            Upstream(stack.kafka_bootstrap, prefix) as upstream,
            Observer(stack.kafka_bootstrap, prefix) as observer,
        ):
            system = FuzzSystem(stack, launcher, upstream, observer, prefix, logs)
            created = [known_order(order_id) for order_id in KNOWN_ORDERS]
            await upstream.send(topics.ORDERS_COMMANDS, *created)
            for message in created:
                await observer.answer(str(message.message_id))
            yield system
    finally:
        await launcher.stop()
        await _drop_databases(stack, database)


async def _drop_databases(stack: devstack.StackEndpoints, database: str) -> None:
    if os.environ.get("ORDERFLOW_KEEP_TEST_DATA"):
        return
    from pymongo import AsyncMongoClient

    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(stack.mongodb_uri)
    try:
        for name in await mongo.list_database_names():
            if name.startswith(database):
                await mongo.drop_database(name)
    finally:
        await mongo.close()


__all__ = [
    "COMMAND_TOPICS",
    "GATEWAY_PROFILE",
    "PROFILE",
    "TIMEOUT",
    "FuzzSystem",
    "fuzz_system",
    "sentinel_for",
]
