"""Issue 20: replaying what each service consumed, into an empty store, gives the same
states and the same event ids (determinism).

The recording: ordering, payments, invoicing, the notifier and timers run as processes (as in the
end-to-end tests) with `ORDERFLOW_CLOCK=record`, so that a handler's `now` is the Kafka
timestamp of the record it handles, and a mix of lifecycles plays (paid and paid out,
lapsed, cancelled with a fee, haggled, managed and sent to the client, an account order
billed). Once every service has handled everything, they stop; what each consumed is the
records of its topics below its group's committed offsets (orders.commands,
timers.events, accounts.events, orders.events, ...), in their partitions' order.

The replay: each of ordering, payments and invoicing starts alone, on an empty database
and a topic prefix of its own (so that it hears only its recorded inputs, none of the
others' live outputs), and its inputs are produced again, each to the partition it was
on, with its timestamp and headers, in the order the service finished handling them in
the recording: each service writes that order to its consumption log
(`ORDERFLOW_CONSUMPTION_LOG`). A service reads its topics side by side and an aggregate
may hear from several (invoicing's account ledger: accounts.events, orders.events,
timers.events), so under load it may handle a later-stamped record of one topic before
an earlier one of another; only its log says which came first. The first record on
another topic waits until the service has handled (committed) every record before it.

    recorded == replayed, per service:
        aggregates   each aggregate's snapshot (its state, revision, handled message
                     ids), without what the store notes about its own writing
        commits      per aggregate, each revision's message id and the ids of its events
        outputs      per Kafka key, the ids of the messages the service published

The notifier stores no aggregates: its "aggregates" are the documents of its collections
(NOTIFIER_STATE: claims, outcomes, reminder windows, order facts), without what its
dispatcher writes in wall time (when claimed, the leases, when finished: it schedules
sends, so it keeps the wall clock). Its emails go out asynchronously, so the recording and
its replay each wait until no delivery is unfinished before they are read.

The timer service is not replayed: its input is its own clock (its `timers.events` are
inputs of the others, replayed as recorded).
"""

from __future__ import annotations

import asyncio
import heapq
import importlib
import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pymongo import AsyncMongoClient

import devstack
from contracts import topics
from contracts.envelope import Role
from contracts.orders import (
    AcceptProposal,
    CancelOrder,
    ConfirmExecution,
    EditOrder,
    OrderItem,
    TermsChange,
)
from orderflow import commands as c
from orderflow import scenarios
from orderflow.bus import Bus
from orderflow.kafka import Record, committed, end_offsets, producer, read_topics
from orderflow.launcher import Launcher
from orderflow.scenarios import eur
from servicekit.aggregates import readable_form
from servicekit.config import ServiceSettings, service_database
from tests.e2e.conftest import E2E_DURATIONS, System, dead_letters
from tests.e2e.timeline import (
    InvoiceCalendar,
    accepted,
    handled,
    person,
    reads,
    send,
    starting_now,
    until,
    wait_for,
)
from timers.config import TimersSettings
from timers.store import MongoScheduleStore

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]

#: The services replayed, and the collection of their aggregates (servicekit.aggregates).
AGGREGATES = {"ordering": "orders", "payments": "payments", "invoicing": "invoice_ledgers"}
#: The notifier's collections compared, each without the fields its dispatcher writes in
#: wall time (the email's own event is compared as the notifier's output, by id).
NOTIFIER_STATE = {
    "deliveries": frozenset({"claimed_at", "lease_until", "owner"}),
    "delivery_outcomes": frozenset({"finished_at", "event"}),
    "reminder_windows": frozenset(),
    "order_facts": frozenset(),
}
#: The services replayed.
REPLAYED = [*AGGREGATES, "notifier"]
#: The recording runs these; the timer service keeps the deadlines the flows set.
RECORDED = [*REPLAYED, "timers"]
CALENDAR = InvoiceCalendar(origin=starting_now(), day=6.0, lead=3.0)
ENV = {
    **E2E_DURATIONS,
    **CALENDAR.env(),
    "ORDERFLOW_BILL_CYCLE_EVERY": "6",
    "ORDERFLOW_CLOCK": "record",
    # P-02: room for the supplier's confirmation on a busy machine (the lapsed order waits).
    "ORDERFLOW_CONFIRMATION_WINDOW": "15",
}
#: What a store writes about its own writing (when, whether published), not about the
#: aggregate: left out of the comparison.
STORAGE_METADATA = frozenset({"committed_at", "published", "updated_at", "created_at"})

Document = dict[str, Any]
#: How long a wait for a deadline may take on a busy machine (seconds).
TIMERS_READY = 60


# -- the lifecycles ------------------------------------------------------------------------


async def paid_and_paid_out(system: System) -> None:
    """P-06, P-12, P-13, P-15, P-18: done by itself, confirmed, paid, paid out."""
    customer, supplier = person(Role.CUSTOMER, system), person(Role.SUPPLIER, system)
    start = datetime.now(UTC) + timedelta(seconds=5)
    terms = c.postpaid_terms(appointment_start=start, appointment_end=start + timedelta(seconds=1))
    order_id = await scenarios.in_progress(system.bus, customer, supplier, terms)
    await wait_for(system, order_id, "ServiceMarkedDone", timeout=TIMERS_READY)
    await send(
        system,
        topics.ORDERS_COMMANDS,
        c.command(ConfirmExecution, customer.party, order_id=order_id),
    )
    await scenarios.pay_what_is_asked(system.bus, order_id, "PaymentRequested", timeout=30)
    await wait_for(system, order_id, "PayoutRequested", timeout=TIMERS_READY)


async def lapsed(system: System) -> None:
    """P-02: nobody confirms; the deadline cancels."""
    customer, supplier = person(Role.CUSTOMER, system), person(Role.SUPPLIER, system)
    order_id = uuid.uuid4()
    await send(
        system,
        topics.ORDERS_COMMANDS,
        scenarios.booking(customer, supplier, order_id, c.postpaid_terms()),
    )
    await wait_for(system, order_id, "OrderCancelled", timeout=TIMERS_READY)


async def cancelled_with_a_fee(system: System) -> None:
    """P-11, P-14: cancelled two hours ahead; the fee asked and paid."""
    customer, supplier = person(Role.CUSTOMER, system), person(Role.SUPPLIER, system)
    start = datetime.now(UTC) + timedelta(hours=2)
    terms = c.postpaid_terms(appointment_start=start, appointment_end=start + timedelta(hours=1))
    order_id = await scenarios.in_progress(system.bus, customer, supplier, terms)
    cancel = c.command(CancelOrder, customer.party, order_id=order_id, reason="Plans changed")
    await accepted(system, topics.ORDERS_COMMANDS, cancel, "OrderCancelled")
    await scenarios.pay_what_is_asked(system.bus, order_id, "ChargeRequested", timeout=30)
    await wait_for(system, order_id, "PaymentSettled", timeout=30)


async def haggled(system: System) -> None:
    """P-03, P-19, X-07: the price raised, a stale answer refused, then cancelled."""
    customer, supplier = person(Role.CUSTOMER, system), person(Role.SUPPLIER, system)
    order_id = uuid.uuid4()
    # Sent at once, as a client queues them: whatever each answer, the replay must repeat it.
    await send(
        system,
        topics.ORDERS_COMMANDS,
        scenarios.booking(customer, supplier, order_id, c.postpaid_terms()),
        c.command(
            EditOrder, supplier.party, order_id=order_id, changes=TermsChange(price=eur("55.00"))
        ),
        c.command(AcceptProposal, customer.party, order_id=order_id, proposal=7),
    )
    cancel = c.command(CancelOrder, customer.party, order_id=order_id, reason="Too dear")
    await accepted(system, topics.ORDERS_COMMANDS, cancel, "OrderCancelled")


async def managed(system: System) -> None:
    """M-01, M-03, M-05: created, submitted, confirmed by the operator, sent to the client."""
    member, client = person(Role.MEMBER, system), person(Role.CLIENT, system)
    await scenarios.submitted_and_reviewed(
        system.bus, member, client, uuid.uuid4(), c.managed_terms()
    )


async def billed_account(system: System) -> None:
    """A-01, A-06, A-07, A-10, A-11: opened, an order completed, billed by the cycle."""
    agent = person(Role.AGENT, system)
    account_id = f"acc-{uuid.uuid4().hex[:8]}"
    address = f"billing-{uuid.uuid4().hex[:8]}@{system.run_id}.e2e.example.com"
    await scenarios.opened_account(system.bus, account_id, address)
    item = OrderItem(product_id="support-plan", pricing_option="yearly", unit_price=Decimal("99"))
    await scenarios.placed_approved_and_completed(
        system.bus, agent, uuid.uuid4(), account_id, [item], configure={0: {"tier": "silver"}}
    )
    await until(
        system,
        account_id,
        lambda found: any(e["type"] == "InvoiceIssued" for e in found),
        TIMERS_READY,
        "the bill-cycle invoice",
    )


LIFECYCLES = (paid_and_paid_out, lapsed, cancelled_with_a_fee, haggled, managed, billed_account)


async def prepared_timers(mongo: AsyncMongoClient[Document], database: str) -> None:
    """Create the timer service's collections before it starts (timers' own `prepare`).

    On a new store the service creates its fixed set (222 collections) one by one before
    its first firing, and does not say when it is done: measured 45 s and more at load 20,
    while the lifecycles' deadlines wait. Prepared here, the test waits for it instead.
    """
    config = TimersSettings(database=database)
    store = MongoScheduleStore(
        mongo[service_database(database, "timers")], mongo[config.wheel_database_name], config
    )
    await store.prepare()


# -- what a service consumed, published and stored -----------------------------------------


@dataclass
class Outcome:
    """What one service made of its inputs (see the module docstring)."""

    aggregates: dict[str, Document] = field(default_factory=dict)
    commits: dict[str, list[tuple[str, list[str]]]] = field(default_factory=dict)
    outputs: dict[str, list[str]] = field(default_factory=dict)


def writes(service: str) -> list[str]:
    """The topics `service` publishes to (its dead-letter topics aside)."""
    runtime = importlib.import_module(f"{service}.app").build(ServiceSettings(topic_prefix=""))
    written = [name for kind, name, op in runtime.kafka_acls() if kind == "TOPIC" and op == "WRITE"]
    return [t for t in written if not t.endswith(topics.DLQ_SUFFIX)]


async def consumed(bootstrap: str, service: str, prefix: str) -> list[Record]:
    """The records `service`'s group consumed (below its committed offsets), by topic."""
    group, names = reads(service)
    done = await committed(bootstrap, prefix + group, prefix)
    records = await read_topics(bootstrap, names, prefix)
    return [r for r in records if r.offset < done.get((r.topic, r.partition), 0)]


def without_metadata(doc: Any) -> Any:
    if isinstance(doc, dict):
        return {k: without_metadata(v) for k, v in doc.items() if k not in STORAGE_METADATA}
    if isinstance(doc, list):
        return [without_metadata(v) for v in doc]
    return doc


async def outcome(
    stack: devstack.StackEndpoints,
    mongo: AsyncMongoClient[Document],
    service: str,
    prefix: str,
    database: str,
) -> Outcome:
    """What `service` stored and published under `prefix` and `database`."""
    found = Outcome()
    db = mongo[service_database(database, service)]
    if service == "notifier":
        for collection, left_out in NOTIFIER_STATE.items():
            async for doc in db[collection].find():
                kept = {k: v for k, v in doc.items() if k not in left_out}
                found.aggregates[f"{collection} {doc['_id']}"] = readable_form(kept)
        # Its emails are sent side by side, so each is announced when its send ends: the
        # order of one order's EmailSent is the SMTP server's timing, not a decision.
        outputs = await outputs_of(stack, service, prefix)
        found.outputs = {key: sorted(ids) for key, ids in outputs.items()}
        return found
    name = AGGREGATES[service]
    async for doc in db[name].find():
        found.aggregates[str(doc["_id"])] = without_metadata(readable_form(doc))
    by_aggregate: dict[str, list[tuple[int, str, list[str]]]] = defaultdict(list)
    async for doc in db[f"{name}_commits"].find():
        commit = readable_form(doc)
        aggregate, revision = str(commit["_id"]).rsplit("@", 1)
        events = [str(e.get("message_id")) for e in commit.get("events") or []]
        by_aggregate[aggregate].append((int(revision), str(commit.get("message_id")), events))
    found.commits = {a: [(m, e) for _, m, e in sorted(cs)] for a, cs in by_aggregate.items()}
    found.outputs = await outputs_of(stack, service, prefix)
    return found


async def outputs_of(
    stack: devstack.StackEndpoints, service: str, prefix: str
) -> dict[str, list[str]]:
    """Per Kafka key, the ids of the messages `service` published under `prefix`."""
    source = f"/orderflow/{service}"
    outputs: dict[str, list[str]] = defaultdict(list)
    for record in await read_topics(stack.kafka_bootstrap, writes(service), prefix):
        if record.headers.get("ce_source") == source:
            key = f"{record.topic} {(record.key or b'').decode()}"
            message_id = str(record.body().get("message_id"))
            if message_id not in outputs[key]:
                outputs[key].append(message_id)
    return dict(outputs)


async def emails_settled(mongo: AsyncMongoClient[Document], database: str) -> None:
    """Wait until the notifier has no unfinished delivery (each email's outcome stored and
    announced): the later marker that its asynchronous sending is over."""
    pending = mongo[service_database(database, "notifier")]["deliveries_pending"]
    async with asyncio.timeout(TIMERS_READY):
        while await pending.count_documents({}, limit=1):
            await asyncio.sleep(0.2)


def differ(service: str, before: Outcome, after: Outcome) -> list[str]:
    """One line per aggregate (or output key) whose replay differs from its recording."""
    lines = []
    for part in ("aggregates", "commits", "outputs"):
        was, now = getattr(before, part), getattr(after, part)
        for key in sorted(set(was) | set(now)):
            if was.get(key) != now.get(key):
                lines.append(
                    f"{service} {part} {key}:\n  recorded {was.get(key)}\n  replayed {now.get(key)}"
                )
    return lines


# -- the replay ----------------------------------------------------------------------------


def recorded_order(records: Iterable[Record]) -> Iterator[Record]:
    """Every partition's records in offset order, the partitions merged by timestamp."""
    queues: dict[tuple[str, int], list[Record]] = defaultdict(list)
    for record in sorted(records, key=lambda r: r.offset):
        queues[(record.topic, record.partition)].append(record)
    heads = [(q[0].timestamp, tp, 0) for tp, q in queues.items()]
    heapq.heapify(heads)
    while heads:
        _, tp, i = heapq.heappop(heads)
        yield queues[tp][i]
        if i + 1 < len(queues[tp]):
            heapq.heappush(heads, (queues[tp][i + 1].timestamp, tp, i + 1))


def consumption_log(path: Path, prefix: str) -> dict[tuple[str, int, int], int]:
    """The service's consumption log: each record's place in the order it was handled
    (the first time, if it was handled again after a rebalance)."""
    order: dict[tuple[str, int, int], int] = {}
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    for place, line in enumerate(lines):
        topic, partition, offset = line.split("\t")
        order.setdefault((topic.removeprefix(prefix), int(partition), int(offset)), place)
    return order


def consumption_order(
    records: Iterable[Record], handled: Mapping[tuple[str, int, int], int]
) -> list[Record]:
    """`records` in the order the service handled them. Every one must be in its log:
    they are below its committed offsets, so it handled them all."""
    missing = [(r.topic, r.partition, r.offset) for r in records if (r.topic, r.partition, r.offset) not in handled]  # fmt: skip
    assert not missing, f"handled but not in the consumption log: {missing[:5]}"
    return sorted(records, key=lambda r: handled[(r.topic, r.partition, r.offset)])


async def handled_up_to(
    bootstrap: str,
    group: str,
    prefix: str,
    wanted: dict[tuple[str, int], int],
    timeout: float = 30.0,
) -> None:
    """Wait until `group` has committed at least `wanted` offsets."""
    async with asyncio.timeout(timeout):
        while True:
            done = await committed(bootstrap, group, prefix)
            if all(done.get(tp, 0) >= end for tp, end in wanted.items()):
                return
            await asyncio.sleep(0.1)


async def replay(
    stack: devstack.StackEndpoints,
    service: str,
    inputs: list[Record],
    prefix: str,
    database: str,
    logs: Path,
    handled: Mapping[tuple[str, int, int], int],
    mongo: AsyncMongoClient[Document],
) -> None:
    """Start `service` alone on `prefix` and `database`, produce `inputs` again (see the
    module docstring), wait until it has handled them all, and stop it."""
    bootstrap = stack.kafka_bootstrap
    logs.mkdir(parents=True, exist_ok=True)
    launcher = Launcher(
        logs=logs,
        env={**ENV, "ORDERFLOW_TOPIC_PREFIX": prefix, "ORDERFLOW_DATABASE": database},
        fixed_ports=False,
    )
    group = prefix + reads(service)[0]
    try:
        await launcher.start(stack, [service])
        sending = producer(bootstrap)
        await sending.start()
        try:
            produced: dict[tuple[str, int], int] = {}
            topic = ""
            for record in consumption_order(inputs, handled):
                if record.topic != topic:
                    await handled_up_to(bootstrap, group, prefix, produced)
                    topic = record.topic
                sent = await sending.send_and_wait(
                    prefix + record.topic,
                    record.value,
                    key=record.key,
                    partition=record.partition,
                    timestamp_ms=record.timestamp,
                    headers=[(k, v.encode()) for k, v in record.headers.items()],
                )
                produced[(record.topic, record.partition)] = sent.offset + 1
        finally:
            await sending.stop()
        ends = await end_offsets(bootstrap, reads(service)[1], prefix)
        await handled_up_to(bootstrap, group, prefix, {tp: e for tp, e in ends.items() if e}, 60)
        if service == "notifier":
            await emails_settled(mongo, database)
    finally:
        await launcher.stop()


# -- the test ------------------------------------------------------------------------------


async def test_X02_replaying_what_each_service_consumed_gives_the_same_states_and_event_ids(
    stack: devstack.StackEndpoints,
    topic_prefix: str,
    database_name: str,
    run_id: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    bootstrap = stack.kafka_bootstrap
    prefix, database = f"{topic_prefix}replay.", f"{database_name}_replay"
    logs = tmp_path_factory.mktemp("logs-replay")
    mongo: AsyncMongoClient[Document] = AsyncMongoClient(stack.mongodb_uri, tz_aware=True)
    databases = [service_database(database, s) for s in RECORDED] + [f"{database}_wheel"]
    try:
        # The recording.
        launcher = Launcher(
            logs=logs,
            env={
                **ENV,
                "ORDERFLOW_TOPIC_PREFIX": prefix,
                "ORDERFLOW_DATABASE": database,
                "ORDERFLOW_CONSUMPTION_LOG": str(logs / "consumed-{service}.tsv"),
            },
            fixed_ports=False,
        )
        try:
            await asyncio.gather(
                launcher.start(stack, list(REPLAYED)), prepared_timers(mongo, database)
            )
            await launcher.start(stack, ["timers"])
            async with Bus(bootstrap, prefix, from_beginning=True) as bus:
                system = System(stack, launcher, bus, prefix, database, logs, run_id, mongo)
                await asyncio.gather(*(lifecycle(system) for lifecycle in LIFECYCLES))
                await handled(system)
                await emails_settled(mongo, database)
        finally:
            await launcher.stop()
        assert await dead_letters(bootstrap, prefix) == []
        inputs = {s: await consumed(bootstrap, s, prefix) for s in REPLAYED}
        recorded = {s: await outcome(stack, mongo, s, prefix, database) for s in REPLAYED}

        # The replay: each service alone, on an empty store and topics of its own.
        again = {s: (f"{prefix}{s}.", f"{database}_{s[:3]}") for s in REPLAYED}
        databases += [service_database(d, s) for s, (_, d) in again.items()]
        await asyncio.gather(
            *(
                replay(
                    stack,
                    s,
                    inputs[s],
                    p,
                    d,
                    logs / f"replay-{s}",
                    consumption_log(logs / f"consumed-{s}.tsv", prefix),
                    mongo,
                )
                for s, (p, d) in again.items()
            )
        )
        replayed = {s: await outcome(stack, mongo, s, p, d) for s, (p, d) in again.items()}

        for service in REPLAYED:
            assert recorded[service].aggregates, f"{service} stored nothing"
            assert recorded[service].outputs, f"{service} published nothing"
        assert len(recorded["ordering"].aggregates) >= len(LIFECYCLES)
        differences = [d for s in REPLAYED for d in differ(s, recorded[s], replayed[s])]
        assert differences == [], "\n".join(differences)
    finally:
        for name in databases:
            await mongo.drop_database(name)
        await mongo.close()
