"""The whole system for end-to-end tests: all five services as processes on the real stack.

Durations are compressed to seconds (`E2E_DURATIONS`); every test module gets its own
topic prefix and database, so its services see only its own orders.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import devstack
from orderflow.bus import Bus
from orderflow.launcher import Launcher, installed

#: The rules' windows in seconds; long enough for a slow CI machine to act inside them.
E2E_DURATIONS = {
    "ORDERFLOW_CONFIRMATION_WINDOW": "6",  # P-02
    "ORDERFLOW_PROPOSAL_LAPSE": "6",  # P-09
    "ORDERFLOW_AUTO_DONE_AFTER": "3",  # P-12
    "ORDERFLOW_AUTO_CONFIRM_AFTER": "3",  # P-13
    "ORDERFLOW_PAYMENT_WINDOW": "4",  # P-15
    "ORDERFLOW_PAYOUT_AFTER": "3",  # P-18
    "ORDERFLOW_DRAFT_LEAD": "3",  # M-10
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


@pytest.fixture(scope="module")
async def system(
    stack: devstack.StackEndpoints,
    topic_prefix: str,
    database_name: str,
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[System]:
    module = request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_")[:20]
    prefix, database = f"{topic_prefix}{module}.", f"{database_name}_{module}"
    logs = tmp_path_factory.mktemp(f"logs-{module}")
    replicas = int(getattr(request.module, "REPLICAS", 1))
    launcher = Launcher(
        logs=logs,
        env={**E2E_DURATIONS, "ORDERFLOW_TOPIC_PREFIX": prefix, "ORDERFLOW_DATABASE": database},
        fixed_ports=False,
    )
    try:
        for _ in range(replicas):
            await launcher.start(stack, installed())
        async with Bus(stack.kafka_bootstrap, prefix, from_beginning=True) as bus:
            yield System(stack, launcher, bus, prefix, database, logs)
    finally:
        await launcher.stop()
