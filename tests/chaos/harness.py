"""The chaos run: a steady stream of orders through all three flows while services are
killed and Kafka and the document store are stopped; then the checks (`checks.py`).

    PrivateStack.up          Kafka, FerretDB, SMTP catcher of the run's own (stack.py)
    Launcher.start           the five services as processes (CHAOS_DURATIONS), two of
                             some (`replicas`: one consumer group each), the gateway
    open accounts            a few accounts on accounts.events (for account orders)
    stream                   a new scenario every `interval` s (scenarios.py), the poison
      └─ faults              after `warmup` s, one fault after the other (faults.py); the
                             gateway fault starts its own scenario and cuts its request
    settle                   every driver done; every expected email announced; quiet
    check                    topics, store and Maildir (checks.py); the table of counts
    teardown                 services stopped, stack down, its folder removed (kept on
                             failure, for the logs)

`python -m tests.chaos` runs the full profile (`make chaos`); `--short` the one CI runs
inside `make test` (tests/chaos/test_chaos.py).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import secrets
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import AsyncMongoClient

from contracts import topics
from contracts.envelope import Role
from devstack import smtp
from orderflow import commands as c
from orderflow.kafka import Sent, Upstream, read_topics
from orderflow.launcher import (
    DEMO_JWT_SECRET,
    GATEWAY,
    Launcher,
    installed,
    stack_env,
    wait_for_api,
)
from servicekit.config import service_database
from tests.chaos.checks import check_all
from tests.chaos.faults import (
    Fault,
    Injected,
    Target,
    all_healthy,
    faults_together,
    inject,
    pause,
    round_of_faults,
    smtp_faults,
    supervise,
)
from tests.chaos.report import Played, Report, code_version, machine
from tests.chaos.scenarios import (
    CHAOS_DURATIONS,
    DAY,
    EMAIL_BUDGET,
    LEAD,
    LEASE,
    SCENARIOS,
    Drive,
    Expected,
    Poison,
    Scenario,
    gateway_rejected,
    poisons,
)
from tests.chaos.stack import PrivateStack, prune
from tests.chaos.traffic import GatewayClient, Watcher
from tests.e2e.timeline import InvoiceCalendar

log = logging.getLogger("chaos")


@dataclass(frozen=True)
class Profile:
    name: str
    #: seconds between two new orders
    interval: float
    #: seconds of stream before the first fault, between faults, after the last
    warmup: float
    gap: float
    tail: float
    faults: tuple[Fault, ...]
    #: how long one scenario's driver may take
    scenario_timeout: float = 240.0
    #: seconds from a post-paid booking to its appointment: more than a command may
    #: wait for a killed service, a stopped broker and the backlog they leave (P-01)
    appointment_lead: float = 60.0
    #: how long to wait, once the drivers are done, for the emails still expected
    settle_timeout: float = 120.0
    #: services run as this many processes in one consumer group (the others: one)
    replicas: tuple[tuple[str, int], ...] = ()

    @property
    def services(self) -> list[str]:
        """What the launcher starts: each service (as often as `replicas` says), and the
        gateway when a fault needs it."""
        count = dict(self.replicas)
        listed = [s for s in installed() for _ in range(count.get(s, 1))]
        return [*listed, GATEWAY] if any(f.kind == "gateway" for f in self.faults) else listed


#: Two processes of these, one consumer group each: a rebalance to run under the store's
#: kill, two replicas to kill together, a replica to pause while the other carries on.
REPLICAS = (("ordering", 2), ("timers", 2))

SHORT = Profile(
    "short",
    interval=4.0,
    warmup=6.0,
    gap=2.0,
    tail=3.0,
    faults=(
        # The broker restarts once, under a killed service (kill+kafka), not twice: on two
        # busy cores Kafka takes 40-70 s to come back, and bookings handled that late are
        # rightly refused (P-01); the full run stops it on its own as well.
        # Each service killed once: payments, ordering and timers in the faults together.
        Fault("kill", "invoicing", 1.0),
        Fault("kill", "notifier", 1.0),
        Fault("stop", "ferretdb", 3.0),
        *faults_together("payments", 5.0, "ordering", 3.0, "timers"),
        pause("timers", 12.0, LEASE),
        # The SMTP server's minute down, compressed: 10 s (still inside the retry budget).
        *smtp_faults(down=10.0, refusing=4.0, slow=4.0, delay=1.0),
        Fault("gateway", GATEWAY, 1.0),
    ),
    scenario_timeout=360.0,
    appointment_lead=75.0,
    replicas=REPLICAS,
)
FULL = Profile(
    "full",
    interval=1.5,
    warmup=10.0,
    gap=6.0,
    tail=15.0,
    faults=(
        *round_of_faults(service_pause=1.0, kafka_down=5.0, store_down=3.0, hard=False),
        *round_of_faults(service_pause=0.2, kafka_down=10.0, store_down=5.0, hard=True),
        *round_of_faults(service_pause=3.0, kafka_down=15.0, store_down=8.0, hard=False),
        *faults_together("notifier", 10.0, "ordering", 5.0, "timers", hard=True),
        *faults_together("invoicing", 15.0, "timers", 8.0, "ordering"),
        pause("timers", 20.0, LEASE),
        pause("ordering", 20.0, LEASE),
        # A minute down: emails whose whole retry budget falls in it fail (EmailFailed).
        *smtp_faults(down=60.0, refusing=20.0, slow=20.0, delay=2.0),
        Fault("gateway", GATEWAY, 0.2),
        Fault("gateway", GATEWAY, 3.0),
    ),
    scenario_timeout=360.0,
    appointment_lead=120.0,
    replicas=REPLICAS,
)
#: No faults: the same stream and checks, a baseline for the expectations themselves.
CALM = Profile("calm", interval=2.5, warmup=40.0, gap=0.0, tail=0.0, faults=())
PROFILES = {p.name: p for p in (SHORT, FULL, CALM)}

#: Accounts opened before the stream; account orders pick one at random.
ACCOUNTS = 3


def say(message: str) -> None:
    print(f"chaos {datetime.now(UTC):%H:%M:%S}: {message}", file=sys.stderr, flush=True)


async def open_accounts(
    upstream: Upstream, mongo: AsyncMongoClient[dict[str, Any]], database: str, run_id: str
) -> list[tuple[str, str]]:
    """A-01: the billing system opens accounts; wait until ordering knows them."""
    accounts = []
    for _ in range(ACCOUNTS):
        account_id = f"acc-{secrets.token_hex(4)}"
        address = f"billing-{account_id}@{run_id}.chaos.example.com"
        await upstream.send(topics.ACCOUNTS_EVENTS, c.account_opened(account_id, address))
        accounts.append((account_id, address))
    async with asyncio.timeout(60):
        for account_id, _ in accounts:
            ordering = mongo[service_database(database, "ordering")]
            while await ordering["accounts"].find_one({"_id": account_id}) is None:
                await asyncio.sleep(0.2)
    return accounts


async def play(scenario: Scenario, drive: Drive, played: Played, timeout: float) -> None:
    started = time.monotonic()
    try:
        async with asyncio.timeout(timeout):
            await scenario(drive, played.expect)
    except Exception as error:
        played.stuck = f"{type(error).__name__}: {error}"
    played.seconds = time.monotonic() - started


async def stream(
    profile: Profile,
    drive: Drive,
    target: Target,
    poison: list[Poison],
) -> tuple[list[Played], list[Injected], list[tuple[Poison, Sent]]]:
    """Orders every `interval` s (and the poison among them) while the faults happen."""
    played: list[Played] = []
    tasks: list[asyncio.Task[None]] = []
    sent: list[tuple[Poison, Sent]] = []
    stop = asyncio.Event()

    def start(scenario: Scenario) -> None:
        played.append(Played(scenario.__name__))
        tasks.append(asyncio.create_task(play(scenario, drive, played[-1], profile.scenario_timeout)))  # fmt: skip

    async def gateway_request() -> Callable[[], int]:
        """The gateway fault's scenario, started; returns once its request is in flight."""
        client = drive.gateway
        assert client is not None
        client.in_flight.clear()
        before = client.retries
        start(gateway_rejected)
        await asyncio.wait_for(client.in_flight.wait(), 60)
        return lambda: client.retries - before

    async def send_poison(p: Poison) -> None:
        sent.append((p, await drive.upstream.send_raw(p.topic, p.value, b"chaos-poison")))

    async def produce() -> None:
        n = 0
        while not stop.is_set():
            start(SCENARIOS[n % len(SCENARIOS)])
            if n % 5 == 2 and n // 5 < len(poison):
                tasks.append(asyncio.create_task(send_poison(poison[n // 5])))
            n += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), profile.interval)

    t0 = time.monotonic()
    producer = asyncio.create_task(produce())
    injected: list[Injected] = []
    target.gateway_request = gateway_request
    try:
        await asyncio.sleep(profile.warmup)
        for fault in profile.faults:
            say(f"fault {len(injected) + 1}/{len(profile.faults)}: {fault.label()}")
            injected.append(await inject(fault, target, t0))
            await asyncio.sleep(profile.gap)
        await asyncio.sleep(profile.tail)
    finally:
        stop.set()
        await producer
    say(f"stream stopped after {len(played)} orders; waiting for their drivers")
    await asyncio.gather(*tasks)
    return played, injected, sent


async def settle(watcher: Watcher, orders: list[Expected], timeout: float) -> None:
    """Wait until every expected email is announced, then until nothing new comes."""

    def missing() -> int:
        count = 0
        for e in orders:
            sent = [
                x for x in watcher.events(e.order_id, topics.NOTIFICATIONS_EVENTS)
                if x.get("type") in ("EmailSent", "EmailFailed")
            ]  # fmt: skip
            count += max(sum(e.emails.values()) - len(sent), 0)
        return count

    def about_orders() -> int:
        # Not every event: bill-cycle runs come every few seconds whatever happens.
        return sum(len(watcher.events(e.order_id)) for e in orders)

    with contextlib.suppress(TimeoutError):
        await watcher.follower.wait(lambda: not missing(), timeout)
    loop = asyncio.get_running_loop()
    # A late copy or a second effect would show up now: wait for 6 s without news.
    quiet_since, seen, give_up = loop.time(), about_orders(), loop.time() + 30
    while loop.time() - quiet_since < 6 and loop.time() < give_up:
        await asyncio.sleep(0.5)
        if about_orders() != seen:
            quiet_since, seen = loop.time(), about_orders()


def start_gateway(launcher: Launcher, stack: PrivateStack) -> asyncio.Task[None]:
    """The gateway, started beside the stream rather than before it (it takes the longest
    to start, and only its own fault needs it); the task ends once its API answers."""
    gateway = launcher.spawn(GATEWAY, {**stack_env(stack.endpoints), **launcher.env})

    async def ready() -> None:
        await gateway.wait_healthy(timeout=180)
        assert launcher.gateway_url is not None
        await wait_for_api(launcher.gateway_url, timeout=180)

    return asyncio.create_task(ready())


def token(party_id: str, role: str) -> str:
    """A bearer token the run's gateway takes (the launcher gives it the demo secret)."""
    from gateway.auth import issue
    from gateway.config import GatewaySettings
    from gateway.domain import Caller

    settings = GatewaySettings.model_validate({"jwt_secret": DEMO_JWT_SECRET})
    return issue(settings, Caller(id=party_id, role=role), datetime.now(UTC), timedelta(hours=2))


def smtp_windows(injected: list[Injected]) -> list[tuple[datetime, datetime]]:
    """When an email may fail of an SMTP fault: from the fault to the end of the retry
    budget of an email whose first attempt came just before the fault was undone."""
    budget = timedelta(seconds=EMAIL_BUDGET)
    return [(i.began, i.undone + budget) for i in injected if i.fault.smtp]


async def run(profile: Profile) -> Report:
    """One chaos run on a stack of its own; the stack is gone afterwards (kept on failure)."""
    started = time.monotonic()
    run_id, code = f"c{secrets.token_hex(4)}", code_version()
    prefix, database = f"{run_id}.", f"orderflow_{run_id}"
    say(f"run {run_id} ({profile.name}, {len(profile.faults)} faults) on {machine()}")
    prune()
    stack = await PrivateStack.up(run_id)
    say(f"own stack up in {stack.config.root}: {stack.endpoints.as_env()}")
    calendar = InvoiceCalendar(origin=datetime.now(UTC).replace(microsecond=0), day=DAY, lead=LEAD)
    env = {
        **CHAOS_DURATIONS,
        **calendar.env(),
        "ORDERFLOW_TOPIC_PREFIX": prefix,
        "ORDERFLOW_DATABASE": database,
    }
    launcher = Launcher(logs=stack.config.root / "services", env=env, fixed_ports=False)
    restarts: list[str] = []
    supervisor: asyncio.Task[None] | None = None
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(stack.endpoints.mongodb_uri)
    report: Report | None = None
    try:
        await launcher.start(stack.endpoints, [s for s in profile.services if s != GATEWAY])
        gateway_ready = start_gateway(launcher, stack) if GATEWAY in profile.services else None
        say(f"services up: {', '.join(p.module for p in launcher.processes)}")
        supervisor = asyncio.create_task(supervise(launcher, restarts, time.monotonic()))
        bootstrap = stack.endpoints.kafka_bootstrap
        upstream_retrying = Upstream(bootstrap, prefix, retry_for=300.0)
        async with upstream_retrying as upstream, Watcher(bootstrap, prefix) as watcher:
            accounts = await open_accounts(upstream, mongo, database, run_id)
            member = c.party(f"member-{run_id}", Role.MEMBER, f"member@{run_id}.chaos.example.com")
            drive = Drive(upstream, watcher, run_id, calendar, member, accounts, profile.scenario_timeout, profile.appointment_lead)  # fmt: skip
            if launcher.gateway_url is not None:
                drive.gateway = GatewayClient(launcher.gateway_url, token, profile.scenario_timeout)
            played, injected, poison = await stream(
                profile,
                drive,
                Target(launcher, stack, gateway_ready=gateway_ready),
                poisons(f"chaos-{run_id}", GATEWAY in profile.services),
            )
            orders = [p.expected for p in played if p.expected is not None]
            say("settling: waiting for the last emails and for quiet")
            await settle(watcher, orders, profile.settle_timeout)
            await all_healthy(launcher)
            retries = upstream.retries
            gateway_retries = drive.gateway.retries if drive.gateway else 0
        say("checking topics, store and Maildir")
        everything = [*topics.ALL, *(topics.dlq(t) for t in topics.ALL)]
        records = await read_topics(bootstrap, everything, prefix, timeout=120.0)
        mails = smtp.messages(stack.endpoints.maildir)
        verdict = await check_all(
            lambda service: mongo[service_database(database, service)],
            records,
            orders,
            mails,
            prefix,
            poison,
            smtp_windows(injected),
        )
        report = Report(
            profile.name,
            run_id,
            played,
            injected,
            verdict,
            retries,
            time.monotonic() - started,
            code=code,
            gateway_retries=gateway_retries,
            processes=[p.log_path.stem for p in launcher.processes],
            restarts=restarts,
        )
        return report
    finally:
        if supervisor is not None:
            supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await supervisor
        await launcher.stop()
        await mongo.close()
        keep = report is None or not report.ok
        await stack.close(keep=keep)
        if report is not None:
            report.seconds = time.monotonic() - started
            report.kept = stack.config.root if keep else None


def main(argv: list[str] | None = None, out: Callable[[str], None] = print) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.chaos", description="One chaos run (see docs/chaos.md)."
    )
    parser.add_argument(
        "profile", nargs="?", default="full", choices=sorted(PROFILES),
        help="full (make chaos, 10-20 min), short (what CI runs), calm (no faults)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(name)s %(levelname)s %(message)s")
    # The clients log every refused connection while a server is down on purpose.
    for noisy in ("aiokafka", "kafka"):
        logging.getLogger(noisy).setLevel(logging.CRITICAL)
    report = asyncio.run(run(PROFILES[args.profile]))
    out(report.table())
    return 0 if report.ok else 1
