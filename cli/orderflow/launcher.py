"""Every service as its own process, the way `orderflow run` and the end-to-end tests run them.

Services run exactly as in production (`python -m <service>`), with JSON logs in one
folder, /metrics and /readyz on their own ports, and the durations of the rules
compressed to seconds (`DEMO_DURATIONS`) so windows expire while you watch.
"""

from __future__ import annotations

import asyncio
import importlib.util
from pathlib import Path

import devstack
from devstack.services import ROOT, SERVICES, ServiceProcess, free_port

#: The ports of `orderflow run` (tests take free ones).
PORTS = {"ordering": 8101, "invoicing": 8102, "payments": 8103, "notifier": 8104, "timers": 8105}

#: Every duration of the rules, in seconds, for the demo (names: each service's settings).
DEMO_DURATIONS = {
    "ORDERFLOW_CONFIRMATION_WINDOW": "10",  # P-02
    "ORDERFLOW_PROPOSAL_LAPSE": "10",  # P-09
    "ORDERFLOW_AUTO_DONE_AFTER": "4",  # P-12
    "ORDERFLOW_AUTO_CONFIRM_AFTER": "4",  # P-13
    "ORDERFLOW_PAYMENT_WINDOW": "8",  # P-15
    "ORDERFLOW_PAYOUT_DELAY": "6",  # P-18
    "ORDERFLOW_INVOICE_DRAFT_LEAD": "4",  # M-10
}


def installed() -> list[str]:
    """The services this checkout has (all five once they are built)."""
    return [s for s in SERVICES if importlib.util.find_spec(f"{s}.app") is not None]


def stack_env(stack: devstack.StackEndpoints) -> dict[str, str]:
    """What every service needs to reach the stack's servers."""
    return {
        "KAFKA_BOOTSTRAP_SERVERS": stack.kafka_bootstrap,
        "MONGODB_URI": stack.mongodb_uri,
        "SMTP_URL": f"smtp://{stack.smtp_host}:{stack.smtp_port}",
    }


class Launcher:
    """Starts, watches and stops a set of service processes (several of one is fine)."""

    def __init__(
        self,
        logs: Path | None = None,
        env: dict[str, str] | None = None,
        fixed_ports: bool = True,
    ) -> None:
        self.logs = logs or ROOT / ".cache" / "run" / "logs"
        self.env = {**DEMO_DURATIONS, **(env or {})}
        self.fixed_ports = fixed_ports
        self.processes: list[ServiceProcess] = []

    async def start(
        self, stack: devstack.StackEndpoints | None = None, services: list[str] | None = None
    ) -> devstack.StackEndpoints:
        """Bring up the stack (unless given), then each service; wait for every /readyz."""
        endpoints = stack if stack is not None else await asyncio.to_thread(devstack.ensure_up)
        env = {**stack_env(endpoints), **self.env}
        started = [self.spawn(service, env) for service in services or installed()]
        await asyncio.gather(*(p.wait_healthy(timeout=90) for p in started))
        return endpoints

    def spawn(self, service: str, env: dict[str, str]) -> ServiceProcess:
        """Start one more process of `service` (a second replica gets its own log)."""
        replica = sum(p.module == service for p in self.processes)
        name = service if replica == 0 else f"{service}-{replica + 1}"
        port = PORTS[service] if self.fixed_ports and replica == 0 else free_port()
        process = ServiceProcess(service, env, self.logs / f"{name}.log", port=port)
        process.start()
        self.processes.append(process)
        return process

    def of(self, service: str) -> list[ServiceProcess]:
        return [p for p in self.processes if p.module == service]

    async def stop(self) -> None:
        """SIGTERM each service; each drains its in-flight messages and exits."""
        await asyncio.gather(
            *(asyncio.to_thread(p.terminate, 20) for p in self.processes if p.running)
        )
