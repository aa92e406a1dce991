"""`orderflow run`: the local stack, every service as its own process, then the demo.

Services run exactly as in production (`python -m <service>`), with JSON logs in
`.cache/run/logs/<service>.log`, /metrics and /health on ports 8101-8105, and the
durations of the rules compressed to seconds so the demo's windows expire while you
watch.
"""

from __future__ import annotations

import asyncio
import importlib.util
from pathlib import Path

import devstack
from devstack.services import ROOT, SERVICES, ServiceProcess

PORTS = {"ordering": 8101, "invoicing": 8102, "payments": 8103, "notifier": 8104, "timers": 8105}

#: Every duration of the rules, in seconds, for the demo (names: each service's settings).
DEMO_DURATIONS = {
    "ORDERFLOW_CONFIRMATION_WINDOW": "10",  # P-02
    "ORDERFLOW_PROPOSAL_LAPSE": "10",  # P-09
    "ORDERFLOW_AUTO_DONE_AFTER": "4",  # P-12
    "ORDERFLOW_AUTO_CONFIRM_AFTER": "4",  # P-13
    "ORDERFLOW_PAYMENT_WINDOW": "8",  # P-15
    "ORDERFLOW_PAYOUT_AFTER": "6",  # P-18
    "ORDERFLOW_DRAFT_LEAD": "4",  # M-10
}


def installed() -> list[str]:
    """The services this checkout has (all five once they are built)."""
    return [s for s in SERVICES if importlib.util.find_spec(f"{s}.app") is not None]


class Launcher:
    def __init__(self, logs: Path | None = None, extra_env: dict[str, str] | None = None) -> None:
        self.logs = logs or ROOT / ".cache" / "run" / "logs"
        self.extra_env = extra_env or {}
        self.processes: list[ServiceProcess] = []

    async def start(self, services: list[str] | None = None) -> devstack.StackEndpoints:
        """Bring up the stack, then each service; return once every /health is green."""
        stack = await asyncio.to_thread(devstack.ensure_up)
        env = {
            "KAFKA_BOOTSTRAP_SERVERS": stack.kafka_bootstrap,
            "MONGODB_URI": stack.mongodb_uri,
            "SMTP_URL": f"smtp://{stack.smtp_host}:{stack.smtp_port}",
            **DEMO_DURATIONS,
            **self.extra_env,
        }
        for service in services or installed():
            process = ServiceProcess(
                service, env, self.logs / f"{service}.log", port=PORTS.get(service, 0) or 0
            )
            process.start()
            self.processes.append(process)
        await asyncio.gather(*(p.wait_healthy(timeout=90) for p in self.processes))
        return stack

    async def stop(self) -> None:
        """SIGTERM each service; each drains its in-flight messages and exits."""
        await asyncio.gather(
            *(asyncio.to_thread(p.terminate, 20) for p in self.processes if p.running)
        )
