"""`make bench`: orderflow's figures on the local real stack, each beside a baseline.

    python -m bench.run [--only baseline,ordering,latency,notifier,memory,growth,timers,gateway,
                                lifecycles]
                        [--quick] [--write docs/benchmarks.md] [size flags, see --help]

Sections (goals of issue 10 in brackets):

    baseline  a bare aiokafka consume → produce loop, same broker, same message sizes
    ordering  commands per second end to end, command sent → its event read back
              [>= 2,000 /s], and the ratio to the baseline; --replicas N runs N processes
    latency   p50/p99 from command to event at half that rate, and at 1,000 /s [p99 < 100 ms]
    notifier  emails per second to the local SMTP catcher [>= 300 /s]
    memory    peak RSS of each service under load [< 200 MB each]
    growth    ordering's throughput (new and existing orders) and the store's size at
              10k .. 1M orders preloaded
    timers    bench/timers_bench.py: fired per second, lateness, claim cost at 10k and 1M
    gateway   bench/gateway_bench.py: one order's view at 200 requests/s open loop
              [p99 < 20 ms], projection lag while ordering runs at its full rate [p99 < 500 ms]
    lifecycles  bench/lifecycles.py: whole post-paid (booked to paid out) and managed
              (draft to completed) orders per second with all five services, CPU ms per
              lifecycle by process beside the same processes idle, peak RSS [< 200 MB]

Uses the stack `devstack` points at (the default one, or ORDERFLOW_DEVSTACK_*); every
topic and database is named after the run and dropped at the end. Figures on a shared
machine are noisy: the report says the load average before and after.
"""

from __future__ import annotations

import argparse
import asyncio
import shlex
import sys
import time
from datetime import datetime
from pathlib import Path

import devstack
from bench import (
    baseline,
    gateway_bench,
    growth,
    lifecycles,
    ordering_bench,
    system_bench,
    timers_bench,
)
from bench.report import Row, Section, document, load_average
from bench.rig import Run
from devstack.ferretdb import FERRETDB_VERSION
from devstack.kafka import KAFKA_VERSION

SECTIONS = (
    "baseline",
    "ordering",
    "latency",
    "notifier",
    "memory",
    "growth",
    "timers",
    "gateway",
    "lifecycles",
)

#: --quick: sizes for a run of a few minutes (figures only roughly comparable).
QUICK = {
    "commands": 3000,
    "warmup": 200,
    "latency_seconds": 10.0,
    "emails": 1000,
    "load": 500,
    "growth_sizes": "10000,100000",
    "growth_commands": 2000,
    "timers_burst": 10_000,
    "timers_burst_lead": 20.0,
    "timers_rate": 200,
    "timers_seconds": 10,
    "timers_steady_lead": 40.0,
    "timers_pending": "2000,20000",
    "timers_claim_count": 1000,
    "timers_settle": 3.0,
    "gateway_seconds": 10.0,
    "gateway_orders": 200,
    "lifecycle_count": 60,
    "lifecycle_concurrency": 20,
    "lifecycle_warmup": 3,
    "lifecycle_idle": 5.0,
}

HOW = {
    "baseline": "A bare aiokafka loop in its own process (`bench/baseline.py`) reads a topic "
    "in a consumer group and writes each message, padded to the size of ordering's "
    "`OrderCreated`, to another topic; offsets committed after the acknowledgements. "
    "`acked` waits for each send like a handler that publishes; `pipelined` per batch. "
    "Figure: messages over the time from the first sent to the last read back.",
    "ordering": "Managed-order `CreateOrder` commands (one `OrderCreated` each, no deadline, no "
    "account lookup) are sent at once to orders.commands; figure: commands over the time "
    "from the first sent to the last event read back, each matched by `causation_id`. "
    "After a warm-up. The service runs as `python -m ordering` with its normal settings.",
    "latency": "The same commands paced at a fixed rate; latency: send time to the time "
    "its event was read back.",
    "notifier": "Post-paid `OrderCreated` events (each emails the supplier, P-02) are "
    "published at once on orders.events as ordering publishes them, with all five services "
    "running; figure: emails over the time from the first event sent to the last `EmailSent` "
    "read on notifications.events. The catcher's Maildir is counted too.",
    "memory": "VmHWM (peak resident memory) of each service process, read from "
    "/proc/<pid>/status after the load sections; all five services run during the "
    "notifier section and a mixed load through ordering.",
    "growth": "The ordering store is preloaded in bulk with copies of what the service "
    "wrote for one real order (bench/growth.py), then new orders (`CreateOrder`) and "
    "commands to preloaded orders (`EditDraft`) are measured as in *ordering*.",
    "timers": "`bench/timers_bench.py` (burst, steady, claims); its docstring says how.",
    "gateway": "`bench/gateway_bench.py`: GET /v1/orders/{id} driven open-loop at a fixed "
    "rate (latency from each request's due time), beside a bare FastAPI route on uvicorn and "
    "the gateway's /livez on the same schedule; then the gateway's own projection-lag "
    "histogram over `--commands` "
    "CreateOrder sent at once. Its docstring says how.",
    "lifecycles": "`bench/lifecycles.py`: each lifecycle is played by `orderflow.scenarios`' "
    "steps on one `orderflow.bus.Bus`, all five services running with the waits compressed "
    "(appointment 3 s after booking, payout 1 s after it, invoicing days of 2 s). Workers "
    "start the next lifecycle as theirs ends (`--lifecycle-concurrency` in flight). CPU: "
    "/proc/<pid>/stat of each process before and after, beside the same processes idle for "
    "as long (Kafka and FerretDB serve other runs too). The ceiling: the baseline loop's "
    "rate over the Kafka records one lifecycle writes. Its docstring says how.",
}


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--only", default=",".join(SECTIONS), help="sections, comma separated")
    p.add_argument("--quick", action="store_true", help="small sizes (see QUICK)")
    p.add_argument("--write", type=Path, help="write the report (markdown) to this file")
    p.add_argument("--invoked-as", help="the command the report names (default: this one)")
    p.add_argument("--commands", type=int, default=20_000, help="ordering/baseline messages")
    p.add_argument("--warmup", type=int, default=500, help="commands before measuring")
    p.add_argument("--replicas", type=int, default=1, help="ordering processes")
    p.add_argument("--latency-seconds", type=float, default=30.0)
    p.add_argument("--latency-rates", default="half,1000", help='"half" or commands/s')
    p.add_argument("--emails", type=int, default=5000, help="notifier: events, one email each")
    p.add_argument("--load", type=int, default=1000, help="memory: orders per kind")
    p.add_argument("--growth-sizes", default="10000,1000000", help="orders preloaded")
    p.add_argument("--growth-commands", type=int, default=5000, help="per kind, per size")
    p.add_argument("--timers-burst", type=int, default=100_000)
    p.add_argument("--timers-burst-lead", type=float, default=60.0)
    p.add_argument("--timers-rate", type=int, default=1000)
    p.add_argument("--timers-seconds", type=int, default=60)
    p.add_argument("--timers-steady-lead", type=float, default=30.0)
    p.add_argument("--timers-pending", default="10000,1000000")
    p.add_argument("--timers-claim-count", type=int, default=5000)
    p.add_argument("--timers-settle", type=float, default=15.0)
    p.add_argument("--gateway-rate", type=float, default=200.0, help="view requests/s")
    p.add_argument("--gateway-seconds", type=float, default=30.0, help="view: open loop")
    p.add_argument("--gateway-orders", type=int, default=1000, help="view: orders read")
    p.add_argument("--lifecycles", default="postpaid,managed", help="lifecycles: which kinds")
    p.add_argument("--lifecycle-count", type=int, default=500, help="lifecycles: per kind")
    p.add_argument("--lifecycle-concurrency", type=int, default=60, help="lifecycles in flight")
    p.add_argument("--lifecycle-warmup", type=int, default=10, help="lifecycles: per kind")
    p.add_argument("--lifecycle-idle", type=float, default=20.0, help="idle baseline, seconds")
    args = p.parse_args(argv)
    if args.quick:
        given = {a.split("=")[0].lstrip("-").replace("-", "_") for a in argv if a.startswith("--")}
        for name, value in QUICK.items():
            if name not in given:
                setattr(args, name, value)
    unknown = set(args.only.split(",")) - set(SECTIONS)
    if unknown:
        p.error(f"unknown sections {sorted(unknown)}; known: {', '.join(SECTIONS)}")
    return args


async def timers(run: Run, args: argparse.Namespace, section: Section) -> None:
    """The timers issue's figures, by bench/timers_bench.py's own functions."""
    options = argparse.Namespace(
        mongodb_uri=run.stack.mongodb_uri,
        kafka=run.stack.kafka_bootstrap,
        burst=args.timers_burst,
        burst_lead=args.timers_burst_lead,
        batch=1000,
        rate=args.timers_rate,
        seconds=args.timers_seconds,
        steady_lead=args.timers_steady_lead,
        pending=args.timers_pending,
        claim_count=args.timers_claim_count,
        claim_batch=500,
        settle=args.timers_settle,
    )
    table: list[tuple[str, str]] = []
    figures: timers_bench.Figures = {}
    await timers_bench.burst(options, table, figures)
    await timers_bench.steady(options, table, figures)
    await timers_bench.claims(options, table, figures)
    per_s = figures["burst_per_s"]
    section.add(
        f"fired per second, {args.timers_burst:,} due at once",
        f"{per_s:,.0f} /s",
        ">= 5,000 /s",
        per_s >= 5000 and figures["burst_published"] == args.timers_burst,
    )
    p99 = figures["steady_p99_ms"]
    section.add(
        f"lateness p99 at {args.timers_rate:,} /s for {args.timers_seconds} s",
        f"{p99:,.0f} ms",
        "< 1 s",
        p99 < 1000 and figures["steady_published"] == args.timers_rate * args.timers_seconds,
    )
    sizes = sorted(int(s) for s in args.timers_pending.split(","))
    small, large = figures[f"claim_ms_{sizes[0]}"], figures[f"claim_ms_{sizes[-1]}"]
    section.add(
        f"claim cost of a batch of 500, {sizes[-1]:,} vs {sizes[0]:,} pending",
        f"{large:.1f} vs {small:.1f} ms ({large / small:.2f}x)",
        "flat (at most 2x)",
        large <= 2 * small,
    )
    section.rows += [Row(k, v) for k, v in table]


async def main(argv: list[str]) -> int:
    args = parse(argv)
    chosen = [s for s in SECTIONS if s in args.only.split(",")]
    config = devstack.StackConfig.from_env()
    run = Run(devstack.endpoints(config), config.ferretdb_dir / "data")
    started_at = datetime.now().astimezone()
    loads = [load_average()]
    sections = {name: Section(name, HOW[name]) for name in chosen}
    print(f"bench run {run.run_id}: {', '.join(chosen)}; service logs in {run.logs}", flush=True)
    done: list[Section] = []

    def finish(names: list[str], started: float) -> None:
        for name in names:
            sections[name].seconds = time.perf_counter() - started
            done.append(sections[name])
            print(sections[name].console(), flush=True)

    rates: dict[str, float] = {}
    peaks: list[tuple[str, float]] = []
    try:
        if "baseline" in sections:
            started = time.perf_counter()
            rates = await baseline.measure(run, sections["baseline"], args.commands, args.warmup)
            finish(["baseline"], started)
        if names := [n for n in ("ordering", "latency") if n in sections]:
            started = time.perf_counter()
            peaks += await ordering_bench.run_section(
                run,
                sections.get("ordering"),
                sections.get("latency"),
                args.commands,
                args.warmup,
                args.replicas,
                args.latency_seconds,
                args.latency_rates.split(","),
                rates,
            )
            finish(names, started)
        if names := [n for n in ("notifier", "memory") if n in sections]:
            started = time.perf_counter()
            await system_bench.run_section(
                run, sections.get("notifier"), sections.get("memory"), args.emails, args.load, peaks
            )
            finish(names, started)
        if "growth" in sections:
            started = time.perf_counter()
            sizes = [int(s) for s in args.growth_sizes.split(",")]
            await growth.run_section(
                run, sections["growth"], sizes, args.growth_commands, args.warmup, args.replicas
            )
            finish(["growth"], started)
        if "timers" in sections:
            started = time.perf_counter()
            await timers(run, args, sections["timers"])
            finish(["timers"], started)
        if "gateway" in sections:
            started = time.perf_counter()
            await gateway_bench.run_section(
                run,
                sections["gateway"],
                args.gateway_orders,
                args.gateway_rate,
                args.gateway_seconds,
                args.commands,
            )
            finish(["gateway"], started)
        if "lifecycles" in sections:
            started = time.perf_counter()
            kinds = lifecycles.kinds_of(args.lifecycles)
            if not rates:  # the ceiling's baseline, from this run
                n = min(args.commands, 3000)
                rates = await baseline.measure(run, sections["lifecycles"], n, args.warmup)
            peaks += await lifecycles.run_section(
                run,
                sections["lifecycles"],
                {kind: args.lifecycle_count for kind in kinds},
                args.lifecycle_concurrency,
                args.lifecycle_warmup,
                args.lifecycle_idle,
                rates,
            )
            finish(["lifecycles"], started)
    finally:
        await run.cleanup()
    loads.append(load_average())
    if args.write:
        command = args.invoked_as or shlex.join(["python", "-m", "bench.run", *argv])
        stack = [
            (
                "stack",
                f"Kafka {KAFKA_VERSION}, FerretDB {FERRETDB_VERSION} (SQLite), "
                "aiosmtpd catcher: the local devstack, one broker",
            ),
        ]
        text = document(done, started_at, command, stack, (loads[0], loads[1]))
        args.write.write_text(text)
        print(f"wrote {args.write}")
    missed = [r for s in done for r in s.rows if r.met is False]
    print(f"{len(missed)} goal(s) not met" if missed else "no goal missed", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
