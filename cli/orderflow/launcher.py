"""Every service as its own process, the way `orderflow run` and the end-to-end tests run them.

Services run exactly as in production (`python -m <service>`), with JSON logs in one
folder, /metrics and /readyz on their own ports, and the durations of the rules
compressed to seconds (`DEMO_DURATIONS`) so windows expire while you watch.
"""

from __future__ import annotations

import asyncio
import importlib.util
import urllib.request
from datetime import datetime
from pathlib import Path

import devstack
from devstack.services import ROOT, SERVICES, ServiceProcess, free_port

#: The ports of `orderflow run` (tests take free ones).
PORTS = {"ordering": 8101, "invoicing": 8102, "payments": 8103, "notifier": 8104, "timers": 8105}
PORTS["gateway"] = 8106

#: The HTTP front door (`orderflow run` starts it after the five; tests ask for it by name).
GATEWAY = "gateway"
#: The gateway's API port under `orderflow run` (tests take a free one).
GATEWAY_API_PORT = 8080
#: Dev only: the secret the demo's tokens are signed with (`orderflow run` prints two).
DEMO_JWT_SECRET = "orderflow-demo-secret-not-for-production"
#: The parties `orderflow run` prints a login for: (party id, role).
DEMO_LOGINS = (("operator-1", "operator"), ("member-1", "member"))

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


def everything() -> list[str]:
    """What `orderflow run` starts: the five services, then the gateway."""
    found = installed()
    return [*found, GATEWAY] if importlib.util.find_spec(f"{GATEWAY}.app") else found


def demo_logins(now: datetime, who: tuple[tuple[str, str], ...] = DEMO_LOGINS) -> list[str]:
    """Bearer tokens for the demo's parties, valid for 12 hours (the gateway's dev secret)."""
    from gateway.auth import issue
    from gateway.config import GatewaySettings
    from gateway.domain import Caller

    settings = GatewaySettings.model_validate({"jwt_secret": DEMO_JWT_SECRET})
    return [issue(settings, Caller(id=pid, role=role), now) for pid, role in who]


def stack_env(stack: devstack.StackEndpoints) -> dict[str, str]:
    """What every service needs to reach the stack's servers."""
    return {
        "KAFKA_BOOTSTRAP_SERVERS": stack.kafka_bootstrap,
        "MONGODB_URI": stack.mongodb_uri,
        "SMTP_URL": f"smtp://{stack.smtp_host}:{stack.smtp_port}",
    }


async def wait_for_api(url: str, timeout: float) -> None:
    """Until the gateway's API answers (it listens once its consumers are up)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        try:
            await asyncio.to_thread(urllib.request.urlopen, f"{url}/openapi.json", timeout=3)
            return
        except OSError:
            if loop.time() > deadline:
                raise TimeoutError(f"the gateway's API at {url} did not answer") from None
            await asyncio.sleep(0.25)


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
        #: Where the gateway's API listens, once started.
        self.gateway_url: str | None = None

    async def start(
        self, stack: devstack.StackEndpoints | None = None, services: list[str] | None = None
    ) -> devstack.StackEndpoints:
        """Bring up the stack (unless given), then each service; wait for every /readyz."""
        endpoints = stack if stack is not None else await asyncio.to_thread(devstack.ensure_up)
        env = {**stack_env(endpoints), **self.env}
        started = [self.spawn(service, env) for service in services or everything()]
        await asyncio.gather(*(p.wait_healthy(timeout=90) for p in started))
        if self.gateway_url and any(p.module == GATEWAY for p in started):
            await wait_for_api(self.gateway_url, timeout=90)
        return endpoints

    def spawn(self, service: str, env: dict[str, str]) -> ServiceProcess:
        """Start one more process of `service` (a second replica gets its own log)."""
        replica = sum(p.module == service for p in self.processes)
        name = service if replica == 0 else f"{service}-{replica + 1}"
        port = PORTS[service] if self.fixed_ports and replica == 0 else free_port()
        if service == GATEWAY:
            env = {**self.gateway_env(replica), **env}
        process = ServiceProcess(service, env, self.logs / f"{name}.log", port=port)
        process.start()
        self.processes.append(process)
        return process

    def gateway_env(self, replica: int) -> dict[str, str]:
        """The gateway's API port, and the demo's tokens (HS256, dev secret, demo logins)."""
        api = GATEWAY_API_PORT if self.fixed_ports and replica == 0 else free_port()
        self.gateway_url = self.gateway_url or f"http://127.0.0.1:{api}"
        return {
            "ORDERFLOW_API_PORT": str(api),
            "ORDERFLOW_JWT_SECRET": DEMO_JWT_SECRET,
            "ORDERFLOW_DEMO_LOGINS": "true",
        }

    def of(self, service: str) -> list[ServiceProcess]:
        return [p for p in self.processes if p.module == service]

    async def stop(self) -> None:
        """SIGTERM each service; each drains its in-flight messages and exits."""
        await asyncio.gather(
            *(asyncio.to_thread(p.terminate, 20) for p in self.processes if p.running)
        )
