"""The whole system for end-to-end tests: all five services as processes on the real stack.

Durations are compressed to seconds (`E2E_DURATIONS`); every test module gets its own
topic prefix and database, so its services see only its own orders. A module may set

    REPLICAS = 2                      two processes of each service, in the same groups
    EXTRA_ENV = {"ORDERFLOW_...": ""} settings of its own (merged over E2E_DURATIONS)

At the end of a module the dead-letter topics must be empty (a handler that failed for
good is a bug the scenarios would otherwise hide), and its databases are dropped unless
ORDERFLOW_KEEP_TEST_DATA=1.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

import devstack
from contracts import topics
from orderflow.bus import Bus
from orderflow.deadletters import list_letters
from orderflow.launcher import Launcher, installed
from servicekit.config import service_database

#: The rules' windows in seconds; long enough for a slow CI machine to act inside them.
#: The names are the services' own settings (see each service's config.py).
E2E_DURATIONS = {
    "ORDERFLOW_CONFIRMATION_WINDOW": "6",  # P-02 (ordering)
    "ORDERFLOW_PROPOSAL_LAPSE": "6",  # P-09 (ordering)
    "ORDERFLOW_AUTO_DONE_AFTER": "3",  # P-12 (ordering)
    "ORDERFLOW_AUTO_CONFIRM_AFTER": "3",  # P-13 (ordering)
    "ORDERFLOW_PAYMENT_WINDOW": "4",  # P-15 (payments)
    "ORDERFLOW_PAYOUT_DELAY": "3",  # P-18 (payments)
    "ORDERFLOW_INVOICE_DRAFT_LEAD": "3",  # M-10 (invoicing)
    "ORDERFLOW_CONFIRMATION_URL": "https://orders.example.test/confirm?order={order_id}&token={token}",
}


@dataclass
class System:
    """The running services, the stack they use, and a bus to drive and watch them."""

    stack: devstack.StackEndpoints
    launcher: Launcher
    bus: Bus
    prefix: str
    database: str
    logs: Path
    run_id: str
    mongo: AsyncMongoClient[dict[str, Any]]

    def db(self, service: str) -> AsyncDatabase[dict[str, Any]]:
        """A service's own database, for its read side (`<service>.queries`)."""
        return self.mongo[service_database(self.database, service)]

    @property
    def maildir(self) -> Path:
        """Where the SMTP catcher keeps every email it accepted (shared by all runs)."""
        return self.stack.maildir


@pytest.fixture(scope="module")
async def system(
    stack: devstack.StackEndpoints,
    topic_prefix: str,
    database_name: str,
    run_id: str,
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[System]:
    module = request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_")[:20]
    prefix, database = f"{topic_prefix}{module}.", f"{database_name}_{module}"
    logs = tmp_path_factory.mktemp(f"logs-{module}")
    replicas = int(getattr(request.module, "REPLICAS", 1))
    extra: dict[str, str] = dict(getattr(request.module, "EXTRA_ENV", {}))
    launcher = Launcher(
        logs=logs,
        env={
            **E2E_DURATIONS,
            **extra,
            "ORDERFLOW_TOPIC_PREFIX": prefix,
            "ORDERFLOW_DATABASE": database,
        },
        fixed_ports=False,
    )
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(stack.mongodb_uri)
    try:
        for _ in range(replicas):
            await launcher.start(stack, installed())
        async with Bus(stack.kafka_bootstrap, prefix, from_beginning=True) as bus:
            yield System(stack, launcher, bus, prefix, database, logs, run_id, mongo)
        letters = await dead_letters(stack.kafka_bootstrap, prefix)
        assert not letters, f"dead letters (service logs in {logs}):\n" + "\n".join(letters)
    finally:
        await launcher.stop()
        if not os.environ.get("ORDERFLOW_KEEP_TEST_DATA"):
            for name in (database, f"{database}_wheel"):  # the timer service's slots
                await mongo.drop_database(name)
        await mongo.close()


async def dead_letters(bootstrap: str, prefix: str) -> list[str]:
    """One line per dead letter on any of the system's topics."""
    found = await asyncio.gather(
        *(list_letters(bootstrap, prefix + topics.dlq(t)) for t in topics.ALL)
    )
    return [f"{t}: {x.summary()}" for t, xs in zip(topics.ALL, found, strict=True) for x in xs]
