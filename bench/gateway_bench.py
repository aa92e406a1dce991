"""gateway: one order's view at a fixed request rate, and the projection's lag.

ordering and the gateway run as processes (`python -m`) on the section's own topics and
database; the gateway's API listens on a free loopback port, with an HS256 secret of the
run's own.

view   `orders` managed orders are created through orders.commands and the bench waits
       until the gateway serves each view. Then GET /v1/orders/{id} (the drafting
       member's bearer token, the orders in turn) is driven *open-loop* at a fixed rate:
       request i is due at start + i / rate whatever happened before, and its latency runs
       from that due time to its response, so a server that falls behind shows its queue
       in the figures (no coordinated omission). Bounded: rate x seconds requests, each
       with a timeout, all given up `DRAIN` seconds after the last is due. Baselines, same
       schedule and client: a bare FastAPI route returning a constant, served by uvicorn
       configured as the gateway's (`python -m bench.gateway_bench`: HTTP, the framework,
       the event loop and the client, no token, no store), and /livez on the gateway's
       own ops port (the same process, servicekit's small server: one connection each).
       The client's own CPU per request is reported: on a loaded machine it is part of
       what is measured.
lag    `commands` CreateOrder sent at once, as in *ordering* (ordering at its full rate).
       The gateway's own histogram `orderflow_gateway_projection_lag_seconds` (each
       event's `occurred_at` to its view written) is read from /metrics before and after;
       the percentiles of the difference are interpolated within its buckets (as
       Prometheus's `histogram_quantile`), and the share within 500 ms is exact at a
       bucket bound. Polling the views instead would load the process it measures.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import secrets
import sys
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import uvicorn
from fastapi import FastAPI

from bench.ordering_bench import answer_key, check, drive, new_orders
from bench.report import Section, load_average
from bench.rig import CpuMeter, Reader, Run, Services, percentile, pid_of, producer
from contracts import topics
from devstack.services import ROOT, ServiceProcess, free_port
from gateway.auth import issue
from gateway.config import GatewaySettings
from gateway.domain import Caller
from orderflow import commands as c
from orderflow.kafka import Producer
from orderflow.launcher import wait_for_api

LAG_METRIC = "orderflow_gateway_projection_lag_seconds"
#: The issue's goal (p99 < 20 ms) is for this rate; slower runs are reported, not judged.
GOAL_RATE = 200.0
#: Seconds a request may take, and the open loop waits after the last one is due.
REQUEST_TIMEOUT = 5.0
DRAIN = 10.0
#: Connections the client may open (requests beyond wait for one, and that wait counts).
CONNECTIONS = 64

Buckets = dict[float, float]


# -- pure helpers (tests/unit/test_bench_gateway.py) -----------------------------------------


def due_times(rate: float, count: int) -> list[float]:
    """Offsets (seconds from the start) at which each of `count` requests is due."""
    if rate <= 0:
        raise ValueError("rate must be positive")
    return [i / rate for i in range(count)]


def histogram(text: str, name: str) -> Buckets:
    """Cumulative bucket counts (upper bound -> count) of `name`, summed over its labels."""
    buckets: Buckets = {}
    for line in text.splitlines():
        if not line.startswith(name + "_bucket{"):
            continue
        head, _, value = line.rpartition(" ")
        le = head.split('le="', 1)[1].split('"', 1)[0]
        bound = math.inf if le == "+Inf" else float(le)
        buckets[bound] = buckets.get(bound, 0.0) + float(value)
    return buckets


def difference(after: Buckets, before: Buckets) -> Buckets:
    """What was observed between two snapshots of one histogram."""
    return {b: n - before.get(b, 0.0) for b, n in after.items()}


def bucket_quantile(q: float, buckets: Buckets) -> float:
    """The q-quantile (0..1) by linear interpolation within a bucket (histogram_quantile).

    Beyond the highest finite bound the answer is that bound (a lower limit); no
    observations give NaN.
    """
    bounds = sorted(buckets)
    total = buckets[bounds[-1]] if bounds else 0.0
    if total <= 0:
        return math.nan
    rank = q * total
    lower, below = 0.0, 0.0
    for bound in bounds:
        count = buckets[bound]
        if count >= rank:
            if math.isinf(bound):
                return lower
            if count == below:
                return bound
            return lower + (bound - lower) * (rank - below) / (count - below)
        lower, below = bound, count
    return lower


def share_within(buckets: Buckets, bound: float) -> float:
    """The share of observations at or under `bound`, which must be a bucket's bound."""
    total = buckets.get(math.inf, 0.0)
    return buckets[bound] / total if total > 0 else math.nan


# -- the open loop -------------------------------------------------------------------------


@dataclass(frozen=True)
class Paced:
    """What an open-loop run got: latencies from each request's due time, in seconds."""

    sent: int
    latencies: list[float]
    seconds: float  # the first request due to the last response

    @property
    def answered(self) -> int:
        return len(self.latencies)

    @property
    def rate(self) -> float:
        """Requests answered per second (the achieved rate)."""
        return self.answered / self.seconds if self.seconds > 0 else math.nan

    def figures(self) -> str:
        ms = [percentile(self.latencies, p) * 1000 for p in (50, 95, 99)]
        worst = max(self.latencies, default=math.nan) * 1000
        return " / ".join(f"{v:.1f}" for v in [*ms, worst]) + " ms"


async def open_loop(client: httpx.AsyncClient, urls: Sequence[str], rate: float) -> Paced:
    """GET each of `urls` at its due time (`due_times`), not waiting for earlier answers.

    Only 200s count as answered; failures and requests unanswered `DRAIN` seconds after
    the last is due count as sent and not answered.
    """
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.05
    latencies: list[float] = []
    last = start
    # Late requests queue here, not in httpx's pool, whose bookkeeping grows with its queue
    # and would slow the client itself down exactly when the server falls behind.
    connections = asyncio.Semaphore(CONNECTIONS)

    async def one(url: str, due: float) -> None:
        nonlocal last
        try:
            async with connections:
                response = await client.get(url)
        except httpx.HTTPError:
            return
        if response.status_code == 200:
            now = loop.time()
            latencies.append(now - due)
            last = max(last, now)

    tasks = []
    for url, offset in zip(urls, due_times(rate, len(urls)), strict=True):
        due = start + offset
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(url, due)))
    _, pending = await asyncio.wait(tasks, timeout=DRAIN)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    return Paced(sent=len(urls), latencies=latencies, seconds=last - start)


# -- the bare baseline --------------------------------------------------------------------


def hello() -> FastAPI:
    """The baseline's app: one route answering a constant, nothing else."""
    app = FastAPI()

    @app.get("/hello")
    async def constant() -> dict[str, str]:
        return {"hello": "world"}

    return app


def serve_hello(port: int) -> None:
    """Serve `hello` the way the gateway serves its API (uvicorn, no log config, no access log)."""
    config = uvicorn.Config(hello(), host="127.0.0.1", port=port, log_config=None, access_log=False)
    uvicorn.Server(config).run()


@contextlib.asynccontextmanager
async def hello_server(client: httpx.AsyncClient) -> AsyncIterator[str]:
    """`python -m bench.gateway_bench PORT` as a process; yields the route's URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/hello"
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.gateway_bench", str(port), cwd=ROOT
    )
    try:
        deadline = time.perf_counter() + 60
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(url)).status_code == 200:
                    break
            if time.perf_counter() > deadline or process.returncode is not None:
                raise RuntimeError("the baseline's hello server did not start")
            await asyncio.sleep(0.2)
        yield url
    finally:
        if process.returncode is None:
            process.terminate()
        await asyncio.wait_for(process.wait(), 10)


# -- the section ---------------------------------------------------------------------------


async def run_section(
    run: Run, section: Section, orders: int, rate: float, seconds: float, commands: int
) -> None:
    """Both figures on one ordering and one gateway process."""
    secret = secrets.token_urlsafe(32)
    api_port = free_port()
    services = Services(
        run, "gateway", ORDERFLOW_API_PORT=str(api_port), ORDERFLOW_JWT_SECRET=secret
    )
    section.add("load average (1/5/15 min) at the section's start", load_average())
    await services.start({"ordering": 1, "gateway": 1})
    api = f"http://127.0.0.1:{api_port}"
    gateway = services.of("gateway")[0]
    bootstrap = run.stack.kafka_bootstrap
    try:
        await wait_for_api(api, timeout=90)
        settings = GatewaySettings.model_validate({"jwt_secret": secret})
        token = issue(
            settings, Caller(id=c.member().id, role=c.member().role.value), datetime.now(UTC)
        )
        async with (
            Reader(bootstrap, services.topic(topics.ORDERS_EVENTS), answer_key) as reader,
            httpx.AsyncClient(
                headers={"Authorization": f"Bearer {token}"},
                timeout=REQUEST_TIMEOUT,
                limits=httpx.Limits(
                    max_connections=CONNECTIONS, max_keepalive_connections=CONNECTIONS
                ),
            ) as client,
        ):
            out = producer(bootstrap)
            await out.start()
            try:
                source = services.topic(topics.ORDERS_COMMANDS)
                created = new_orders(orders)
                check(await drive(reader, out, source, created, timeout=120), "orders")
                ids = [cmd.order_id for cmd in created]
                await _views_served(client, api, ids, timeout=120)
                await _view_latency(section, client, api, gateway, ids, rate, seconds)
                await _projection_lag(section, reader, out, source, gateway, commands)
            finally:
                await out.stop()
    finally:
        await services.stop()


async def _views_served(
    client: httpx.AsyncClient, api: str, ids: Sequence[uuid.UUID], timeout: float
) -> None:
    """Until the gateway serves the view of every order in `ids`."""
    deadline = time.perf_counter() + timeout
    for order_id in ids:
        while (await client.get(f"{api}/v1/orders/{order_id}")).status_code != 200:
            if time.perf_counter() > deadline:
                raise TimeoutError(f"the gateway never served order {order_id}")
            await asyncio.sleep(0.1)


async def _view_latency(
    section: Section,
    client: httpx.AsyncClient,
    api: str,
    gateway: ServiceProcess,
    ids: Sequence[uuid.UUID],
    rate: float,
    seconds: float,
) -> None:
    count = max(1, round(rate * seconds))
    views = [f"{api}/v1/orders/{ids[i % len(ids)]}" for i in range(count)]
    livez = [f"http://127.0.0.1:{gateway.port}/livez"] * count
    await open_loop(client, views[: min(count, 200)], rate)  # warm the connections
    meter = CpuMeter({"gateway": [pid_of(gateway)]})
    meter.start()
    view = await open_loop(client, views, rate)
    meter.stop()
    async with hello_server(client) as url:
        await open_loop(client, [url] * min(count, 200), rate)
        bare = await open_loop(client, [url] * count, rate)
    base = await open_loop(client, livez, rate)
    section.add(
        f"GET /v1/orders/{{id}} p50 / p95 / p99 / max, open loop at {rate:,.0f} /s for "
        f"{seconds:.0f} s ({len(ids):,} orders in turn), {view.answered:,} of {view.sent:,} "
        "answered 200",
        view.figures(),
        "p99 < 20 ms" if rate >= GOAL_RATE else "",
        (percentile(view.latencies, 99) < 0.020 and view.answered == view.sent)
        if rate >= GOAL_RATE
        else None,
    )
    section.add(
        "baseline: a bare FastAPI route on uvicorn (own process), same schedule and client, "
        f"{bare.answered:,} of {bare.sent:,} answered",
        bare.figures(),
    )
    section.add(
        "baseline: GET /livez on the gateway's ops port, same schedule and client, "
        f"{base.answered:,} of {base.sent:,} answered",
        base.figures(),
    )
    section.add(
        "achieved rate: view / bare route / livez",
        f"{view.rate:,.1f} / {bare.rate:,.1f} / {base.rate:,.1f} requests/s",
    )
    per = {k: v / max(1, view.answered) * 1000 for k, v in meter.used.items()}
    section.add(
        "CPU per view request: gateway, bench (the client)",
        f"{per.get('gateway', math.nan):.2f}, {per.get('bench', math.nan):.2f} ms",
    )


async def _projection_lag(
    section: Section,
    reader: Reader,
    out: Producer,
    source: str,
    gateway: ServiceProcess,
    n: int,
) -> None:
    await asyncio.sleep(2)  # let the view run's tail settle
    before = histogram(await asyncio.to_thread(gateway.metrics), LAG_METRIC)
    outcome = await drive(reader, out, source, new_orders(n))
    check(outcome, "lag run")
    answered_at = time.perf_counter()
    observed: Buckets = {}
    deadline = answered_at + 120
    while time.perf_counter() < deadline:
        after = histogram(await asyncio.to_thread(gateway.metrics), LAG_METRIC)
        observed = difference(after, before)
        if observed.get(math.inf, 0.0) >= outcome.answered:
            break
        await asyncio.sleep(0.1)
    behind = time.perf_counter() - answered_at
    count = int(observed.get(math.inf, 0.0))
    p50, p99 = (bucket_quantile(q, observed) * 1000 for q in (0.5, 0.99))
    within = share_within(observed, 0.5) if count else math.nan
    section.add(
        f"projection lag p50 / p99, {count:,} of {n:,} OrderCreated projected while "
        f"ordering ran at its full rate ({outcome.rate:,.0f} commands/s)",
        f"{p50:.0f} / {p99:.0f} ms (interpolated in the histogram's buckets)",
        "p99 < 500 ms",
        within >= 0.99 and count >= n,
    )
    section.add("share of those events projected within 500 ms", f"{within:.1%}")
    p50, p99 = (percentile(outcome.latencies, p) * 1000 for p in (50, 99))
    section.add(
        "baseline: ordering's own latency in that run, command sent to event read back, p50 / p99",
        f"{p50:.0f} / {p99:.0f} ms",
    )
    section.add(
        "last view written after the last CreateOrder's event was read back",
        f"<= {behind:.1f} s",
    )


if __name__ == "__main__":
    serve_hello(int(sys.argv[1]))
