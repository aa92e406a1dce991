"""The faults a chaos run injects, one after the other, while orders keep coming.

    kill           SIGKILL of one service process (no drain, no commit), then the same
                   `python -m <service>` with the same settings, port and log, started again
    stop           one server of the run's own stack stopped (SIGTERM, or SIGKILL when
                   `hard`), left down for `down_for` seconds, started again
    kill+kafka     two at once: a service killed while the broker restarts; the service
                   comes back (after 1 s) while Kafka is still down
    rebalance+store  two at once: a replica of a two-replica service killed and started
                   again at once (its new member joins: the group rebalances, and again
                   when the dead member's session expires) while the store is killed -9
                   under the other replica's batches
    kill replicas  every replica of one service killed together, restarted together
    pause          SIGSTOP of one replica for longer than its consumer session (the group
                   evicts it) and its claims' leases (another replica takes them over),
                   then SIGCONT: the zombie wakes with work in hand it no longer owns
    smtp down      the SMTP server stopped for `down_for` seconds
    smtp refuse    the SMTP server answers every mail with `reply` (4xx: retried; 5xx:
                   EmailFailed at once) for `down_for` seconds
    smtp slow      the SMTP server waits `delay` s before each answer, for `down_for` s
    gateway        the gateway killed while a client's request is in flight; the client
                   retries it with the same Idempotency-Key until it gets its answer

After each fault the harness waits until every service answers /readyz again (Kafka and
the store reachable) before the next one, so faults do not pile up beyond what they say.
"""

from __future__ import annotations

import asyncio
import random
import signal
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from devstack import smtp
from devstack.services import SERVICES, ServiceProcess
from orderflow.launcher import Launcher, wait_for_api
from tests.chaos.stack import PrivateStack

#: aiokafka's consumer session timeout (the services keep the default): a member silent
#: for longer is evicted from its group. A pause must outlast it.
SESSION_TIMEOUT = 10.0


@dataclass(frozen=True)
class Fault:
    kind: str
    target: str
    #: seconds between the fault and its undoing (how long a pause or an outage lasts)
    down_for: float
    #: servers: SIGKILL instead of SIGTERM
    hard: bool = False
    #: which replica of `target` (kill, pause)
    replica: int = 0
    #: smtp refuse: the reply to every mail
    reply: str = ""
    #: smtp slow: seconds before each answer
    delay: float = 0.0

    def label(self) -> str:
        stop = "kill -9" if self.hard else "stop"
        name = self.target if self.replica == 0 else f"{self.target}-{self.replica + 1}"
        match self.kind:
            case "kill":
                return f"kill -9 {name}, restart after {self.down_for:g}s"
            case "stop":
                return f"{stop} {self.target}, start after {self.down_for:g}s"
            case "kill+kafka":
                return (
                    f"kill -9 {self.target} and {stop} kafka together, {self.target} back "
                    f"after 1s (kafka still down), kafka after {self.down_for:g}s"
                )
            case "rebalance+store":
                return (
                    f"restart {self.target}-2 (the group rebalances) and kill -9 ferretdb "
                    f"under {self.target}'s batches, ferretdb back after {self.down_for:g}s"
                )
            case "kill replicas":
                return f"kill -9 every {self.target} replica, restart after {self.down_for:g}s"
            case "pause":
                return f"SIGSTOP {name} for {self.down_for:g}s, then SIGCONT"
            case "smtp down":
                return f"stop the SMTP server, start after {self.down_for:g}s"
            case "smtp refuse":
                return f"the SMTP server answers {self.reply[:3]} to every mail for {self.down_for:g}s"  # fmt: skip
            case "smtp slow":
                return f"the SMTP server answers after {self.delay:g}s, for {self.down_for:g}s"
            case "gateway":
                return f"kill -9 the gateway mid-request, restart after {self.down_for:g}s"
        raise ValueError(f"unknown fault kind {self.kind!r}")

    @property
    def smtp(self) -> bool:
        return self.kind.startswith("smtp")


@dataclass(frozen=True)
class Injected:
    fault: Fault
    #: seconds into the stream
    at: float
    #: from the fault to every service healthy again
    recovered_after: float
    #: when the fault began and when it was undone (wall clock, for the email checks)
    began: datetime
    undone: datetime
    #: what the fault saw (the gateway: whether a request was cut), for the report
    note: str = ""


def round_of_faults(
    service_pause: float, kafka_down: float, store_down: float, hard: bool
) -> list[Fault]:
    """Each service killed in turn, then Kafka, then the document store."""
    return [
        *(Fault("kill", s, service_pause) for s in SERVICES),
        Fault("stop", "kafka", kafka_down, hard),
        Fault("stop", "ferretdb", store_down, hard),
    ]  # fmt: skip


def faults_together(
    killed: str,
    kafka_down: float,
    rebalanced: str,
    store_down: float,
    replicas_of: str,
    hard: bool = False,
) -> list[Fault]:
    """Two at once: a service killed while Kafka restarts (stopped, or killed when
    `hard`); the store killed -9 while a group rebalances; both replicas of a service
    killed together."""
    return [
        Fault("kill+kafka", killed, kafka_down, hard),
        Fault("rebalance+store", rebalanced, store_down, hard=True),
        Fault("kill replicas", replicas_of, 1.0),
    ]


def pause(service: str, seconds: float, lease: float) -> Fault:
    """A zombie: stopped for longer than its session timeout and its leases."""
    if seconds <= max(SESSION_TIMEOUT, lease):
        raise ValueError(f"a pause of {seconds}s outlasts neither the session nor the lease")
    return Fault("pause", service, seconds, replica=1)


def smtp_faults(down: float, refusing: float, slow: float, delay: float) -> list[Fault]:
    """The SMTP server down, then refusing (4xx, then 5xx), then slow."""
    return [
        Fault("smtp down", "smtp", down),
        Fault("smtp refuse", "smtp", refusing, reply="451 4.3.0 chaos: try again later"),
        Fault("smtp refuse", "smtp", refusing / 2, reply="554 5.7.1 chaos: refused for good"),
        Fault("smtp slow", "smtp", slow, delay=delay),
    ]


async def all_healthy(launcher: Launcher, timeout: float = 180.0) -> None:
    """Every process answers /readyz; one that exited by itself is waited for while the
    supervisor starts it again."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        left = max(deadline - loop.time(), 1.0)
        try:
            await asyncio.gather(*(p.wait_healthy(timeout=left) for p in launcher.processes))
            return
        except RuntimeError:  # "exited": `supervise` restarts it
            if loop.time() > deadline:
                raise
            await asyncio.sleep(1.0)


async def supervise(launcher: Launcher, restarts: list[str], t0: float) -> None:
    """What an orchestrator does (a pod's restartPolicy): a service process that ended
    by itself (not killed by a fault: those are -9 and restarted by the fault) is started
    again. Each restart is reported, with the process's exit status."""
    while True:
        for p in launcher.processes:
            if p.proc is None or p.proc.poll() is None or p.proc.returncode == -signal.SIGKILL:
                continue
            restarts.append(
                f"+{time.monotonic() - t0:5.1f}s  {p.log_path.stem} exited with status "
                f"{p.proc.returncode}; started again"
            )
            p.start()
        await asyncio.sleep(0.5)


@dataclass
class Target:
    """What faults act on: the service processes, the servers, and for the gateway fault
    a request to cut (`gateway_request` starts one and returns once it is in flight)."""

    launcher: Launcher
    stack: PrivateStack
    gateway_request: Callable[[], Awaitable[Callable[[], int]]] | None = None
    #: the gateway's start (it runs beside the stream until its API answers)
    gateway_ready: asyncio.Task[None] | None = None


async def _kill(*processes: ServiceProcess) -> None:
    await asyncio.gather(*(asyncio.to_thread(p.kill) for p in processes))


async def _gateway(fault: Fault, target: Target) -> str:
    """Kill the gateway while a request is in flight; the client retries with its key."""
    assert target.gateway_request is not None, "the gateway fault needs a gateway client"
    if target.gateway_ready is not None:
        await target.gateway_ready
    [gateway] = target.launcher.of("gateway")
    retries = await target.gateway_request()
    await asyncio.sleep(random.uniform(0.01, 0.06))  # between its record and its answer
    await _kill(gateway)
    await asyncio.sleep(fault.down_for)
    gateway.start()
    await gateway.wait_healthy(timeout=120)
    if target.launcher.gateway_url:
        await wait_for_api(target.launcher.gateway_url, timeout=120)
    return f"request retried {retries()} time(s) so far"


async def _undo_after(seconds: float, *undo: Callable[[], object]) -> None:
    await asyncio.sleep(seconds)
    for step in undo:
        result = step()
        if asyncio.iscoroutine(result):
            await result


async def inject(fault: Fault, target: Target, t0: float) -> Injected:
    """Do `fault`, undo it, and wait until the system is whole again."""
    launcher, stack = target.launcher, target.stack
    started, began, note = time.monotonic(), datetime.now(UTC), ""
    match fault.kind:
        case "kill":
            process = launcher.of(fault.target)[fault.replica]
            await _kill(process)
            await _undo_after(fault.down_for, process.start)
        case "stop" | "smtp down":
            server = "smtp" if fault.smtp else fault.target
            await stack.stop(server, kill=fault.hard)
            await _undo_after(fault.down_for, lambda: stack.start(server))
        case "kill+kafka":
            [process] = launcher.of(fault.target)[:1]
            await asyncio.gather(_kill(process), stack.stop("kafka", kill=fault.hard))
            await _undo_after(1.0, process.start)
            await _undo_after(max(fault.down_for - 1.0, 0.0), lambda: stack.start("kafka"))
        case "rebalance+store":
            _, second = launcher.of(fault.target)[:2]
            await _kill(second)
            second.start()  # a new member joins the group: a rebalance begins
            await asyncio.sleep(0.5)  # the other replica is mid-batch, the group rebalancing
            await stack.stop("ferretdb", kill=True)
            await _undo_after(fault.down_for, lambda: stack.start("ferretdb"))
        case "kill replicas":
            replicas = launcher.of(fault.target)
            await _kill(*replicas)
            await _undo_after(fault.down_for, *(p.start for p in replicas))
        case "pause":
            process = launcher.of(fault.target)[fault.replica]
            assert process.proc is not None
            process.proc.send_signal(signal.SIGSTOP)
            try:
                await asyncio.sleep(fault.down_for)
            finally:
                process.proc.send_signal(signal.SIGCONT)
        case "smtp refuse" | "smtp slow":
            smtp.set_fault(stack.endpoints.maildir, reply=fault.reply or None, delay=fault.delay)
            try:
                await asyncio.sleep(fault.down_for)
            finally:
                smtp.clear_fault(stack.endpoints.maildir)
        case "gateway":
            note = await _gateway(fault, target)
        case _:
            raise ValueError(f"unknown fault kind {fault.kind!r}")
    undone = datetime.now(UTC)
    await all_healthy(launcher)
    return Injected(fault, started - t0, time.monotonic() - started, began, undone, note)
