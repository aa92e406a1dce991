"""Start orderflow services as processes against the test run's stack."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from devstack.services import ServiceProcess


def service_env(stack: Any, topic_prefix: str, database: str, **extra: str) -> dict[str, str]:
    """The environment a service needs to join this test run (and only this one)."""
    return {
        "KAFKA_BOOTSTRAP_SERVERS": stack.kafka_bootstrap,
        "MONGODB_URI": stack.mongodb_uri,
        "ORDERFLOW_TOPIC_PREFIX": topic_prefix,
        "ORDERFLOW_DATABASE": database,
        "ORDERFLOW_CONNECT_TIMEOUT_SECONDS": "60",
        **extra,
    }


async def start(
    module: str, env: dict[str, str], logs: Path, name: str | None = None
) -> ServiceProcess:
    """Start `python -m module` and wait until its /readyz says Kafka and store are up and
    its consumers have their partitions (so what a test publishes next is consumed now)."""
    logs.mkdir(parents=True, exist_ok=True)
    process = ServiceProcess(module, env, logs / f"{name or module}.log")
    process.start()
    await process.wait_healthy(assigned=True)
    return process
