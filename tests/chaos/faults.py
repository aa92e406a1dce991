"""The faults a chaos run injects, one after the other, while orders keep coming.

    kill      SIGKILL of one service's process (no drain, no commit), then the same
              `python -m <service>` with the same settings, port and log, started again
    stop      one server of the run's own stack stopped (SIGTERM, or SIGKILL when `hard`),
              left down for `down_for` seconds, started again

After each fault the harness waits until every service answers /readyz again (Kafka and
the store reachable) before the next one, so faults do not pile up on each other.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from devstack.services import SERVICES
from orderflow.launcher import Launcher
from tests.chaos.stack import PrivateStack


@dataclass(frozen=True)
class Fault:
    kind: str  # "kill" (a service) or "stop" (a server)
    target: str
    #: seconds between the kill/stop and the restart
    down_for: float
    #: servers: SIGKILL instead of SIGTERM
    hard: bool = False

    def label(self) -> str:
        if self.kind == "kill":
            return f"kill -9 {self.target}, restart after {self.down_for:g}s"
        how = "kill -9" if self.hard else "stop"
        return f"{how} {self.target}, start after {self.down_for:g}s"


@dataclass(frozen=True)
class Injected:
    fault: Fault
    #: seconds into the stream
    at: float
    #: from the fault to every service healthy again
    recovered_after: float


def round_of_faults(
    service_pause: float, kafka_down: float, store_down: float, hard: bool
) -> list[Fault]:
    """Each service killed in turn, then Kafka, then the document store."""
    return [
        *(Fault("kill", s, service_pause) for s in SERVICES),
        Fault("stop", "kafka", kafka_down, hard),
        Fault("stop", "ferretdb", store_down, hard),
    ]  # fmt: skip


async def all_healthy(launcher: Launcher, timeout: float = 180.0) -> None:
    await asyncio.gather(*(p.wait_healthy(timeout=timeout) for p in launcher.processes))


async def inject(fault: Fault, launcher: Launcher, stack: PrivateStack, t0: float) -> Injected:
    """Do `fault`, undo it, and wait until the system is whole again."""
    started = time.monotonic()
    if fault.kind == "kill":
        [process] = launcher.of(fault.target)
        await asyncio.to_thread(process.kill)
        await asyncio.sleep(fault.down_for)
        process.start()
    else:
        await stack.stop(fault.target, kill=fault.hard)
        await asyncio.sleep(fault.down_for)
        await stack.start(fault.target)
    await all_healthy(launcher)
    return Injected(fault, started - t0, time.monotonic() - started)
