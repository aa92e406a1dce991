"""invoicing as a process on the real broker and store, with ordering and the timer
service as processes too, driven the way upstream drives them.

The invoicing calendar is compressed (a day lasts DAY seconds, a draft comes LEAD seconds
before its date), so "seven days before the invoice date" and "on the invoice date" are
seconds away; every date below is a day of that calendar.
"""

from __future__ import annotations

import asyncio
import json
import math
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from contracts import topics
from contracts.accounts import AccountOpened
from contracts.envelope import Contact, Party, Role
from contracts.invoicing import (
    DeclineInvoiceChanges,
    RequestInvoiceChanges,
    RunBillCycle,
)
from contracts.orders import (
    AccountTerms,
    ApproveCancellation,
    ConfirmOrder,
    CreateOrder,
    Flow,
    Money,
    OrderCompleted,
    OrderCreated,
    OrderItem,
    OrderParty,
    OrderStatus,
    PlannedInvoice,
    RefuseCancellation,
    RequestCancellation,
    SubmitOrder,
)
from devstack.services import ServiceProcess
from invoicing.domain import account_ledger_id
from invoicing.queries import ledger_view, order_invoices
from orderflow import commands as c
from servicekit.config import service_database
from tests.support.kafka import Record, Upstream, read_topic
from tests.support.services import service_env, start

pytestmark = pytest.mark.timeout(300)

DAY = 5.0  # seconds in a day of the compressed calendar
LEAD = 3.0  # the draft comes this long before its invoice date
CYCLE = 12.0  # bill cycles run this often
SLACK = 4.0  # how late a timer may fire and still count as "on time" here


@dataclass(frozen=True)
class Stack:
    kafka: str
    prefix: str
    mongodb_uri: str
    database: str
    origin: datetime
    invoicing: ServiceProcess

    def day(self, seconds_from_now: float) -> date:
        """The first calendar day whose draft comes at least `seconds_from_now` from now."""
        elapsed = (datetime.now(UTC) - self.origin).total_seconds()
        return self.origin.date() + timedelta(
            days=math.ceil((elapsed + seconds_from_now + LEAD) / DAY)
        )

    def starts(self, day: date) -> datetime:
        return self.origin + (day - self.origin.date()).days * timedelta(seconds=DAY)


@pytest.fixture(scope="module")
async def stack_up(
    stack: Any, topic_prefix: str, database_name: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Stack]:
    logs = tmp_path_factory.mktemp("invoicing-logs")
    origin = datetime.now(UTC).replace(microsecond=0)
    env = service_env(stack, topic_prefix, database_name)
    invoicing_env = {
        **env,
        "ORDERFLOW_INVOICE_CALENDAR_ORIGIN": origin.isoformat(),
        "ORDERFLOW_INVOICE_CALENDAR_DAY": str(DAY),
        "ORDERFLOW_INVOICE_DRAFT_LEAD": str(LEAD),
        "ORDERFLOW_BILL_CYCLE_EVERY": str(CYCLE),
        "ORDERFLOW_NUMBERING_REPAIR_SECONDS": "5",
    }
    processes = [
        await start("timers", env, logs),
        await start("ordering", env, logs),
        await start("invoicing", invoicing_env, logs),
    ]
    yield Stack(
        stack.kafka_bootstrap, topic_prefix, stack.mongodb_uri, database_name, origin, processes[-1]
    )
    for process in reversed(processes):
        process.terminate()


def keyed(key: object, records: Sequence[Record]) -> list[dict[str, Any]]:
    return [r.json() for r in records if r.key == str(key).encode()]


def of_type(events: Sequence[dict[str, Any]], *types: str) -> list[dict[str, Any]]:
    return [e for e in events if e["type"] in types]


async def events_of(
    s: Stack,
    topic: str,
    key: object,
    until: Callable[[list[dict[str, Any]]], bool],
    timeout: float = 60.0,
) -> list[dict[str, Any]]:
    records = await read_topic(
        s.kafka, s.prefix + topic, lambda rs: until(keyed(key, rs)), timeout=timeout
    )
    return keyed(key, records)


def count(n: int, *types: str) -> Callable[[list[dict[str, Any]]], bool]:
    return lambda events: len(of_type(events, *types)) >= n


def at(value: str) -> datetime:
    return datetime.fromisoformat(value)


async def active_order(s: Stack, planned: list[tuple[date, str]]) -> tuple[uuid.UUID, Any]:
    """A managed order made active through ordering (operator confirms, client skipped)."""
    order_id, member, client = uuid.uuid4(), c.member(uuid.uuid4().hex[:6]), c.client()
    terms = c.managed_terms(
        skip_client_confirmation=True,
        service_start=s.origin.date(),
        service_end=s.origin.date() + timedelta(days=90),
        planned_invoices=[
            PlannedInvoice(invoice_date=d, amount=Money(amount=Decimal(a), currency="EUR"))
            for d, a in planned
        ],
    )
    correlation = uuid.uuid4()
    async with Upstream(s.kafka, s.prefix) as upstream:
        await upstream.send(
            topics.ORDERS_COMMANDS,
            c.command(
                CreateOrder,
                member.party,
                correlation,
                order_id=order_id,
                parties=[member, client],
                terms=terms,
            ),
            c.command(SubmitOrder, member.party, correlation, order_id=order_id),
            c.command(ConfirmOrder, c.OPERATOR, correlation, order_id=order_id),
        )
    await events_of(s, topics.ORDERS_EVENTS, order_id, count(1, "OrderActivated"))
    return order_id, member


async def send(s: Stack, topic: str, *messages: Any) -> None:
    async with Upstream(s.kafka, s.prefix) as upstream:
        await upstream.send(topic, *messages)


def invoice_id(order_id: uuid.UUID, n: int) -> str:
    return f"order/{order_id}/{n}"


# -- M-10, M-12, M-16 ----------------------------------------------------------------------


async def test_M10_M12_two_planned_invoices_are_drafted_then_issued_at_their_compressed_times(
    stack_up: Stack,
) -> None:
    s = stack_up
    first = s.day(5)
    second = first + timedelta(days=1)
    order_id, member = await active_order(s, [(first, "100.00"), (second, "250.50")])

    events = await events_of(
        s, topics.INVOICING_EVENTS, order_id, count(2, "InvoiceIssued"), timeout=90
    )
    planned = of_type(events, "InvoicePlanned")
    drafted = of_type(events, "InvoiceDrafted")
    issued = of_type(events, "InvoiceIssued")
    assert [p["invoice_id"] for p in planned] == [invoice_id(order_id, 1), invoice_id(order_id, 2)]
    assert [at(p["issue_at"]) for p in planned] == [s.starts(first), s.starts(second)]
    for plan, draft, issue in zip(planned, drafted, issued, strict=True):
        draft_at, issue_at = at(plan["draft_at"]), at(plan["issue_at"])
        assert draft_at == issue_at - timedelta(seconds=LEAD)
        assert draft_at <= at(draft["occurred_at"]) < draft_at + timedelta(seconds=SLACK)
        assert issue_at <= at(issue["issued_at"]) < issue_at + timedelta(seconds=SLACK)
        assert draft["member"]["contact"]["email"] == member.contact.email
        assert issue["client"]["contact"]["email"] == "client1@example.com"
    assert [i["number"] for i in issued] == [1, 2], "the member's gap-free sequence"
    assert {i["issuer_id"] for i in issued} == {member.id}
    assert [i["total"] for i in issued] == [
        {"amount": "100.00", "currency": "EUR"},
        {"amount": "250.50", "currency": "EUR"},
    ]

    # M-16: invoicing told ordering, which recorded it (the service period goes on).
    order_events = await events_of(
        s, topics.ORDERS_EVENTS, order_id, count(1, "InvoicingCompleted")
    )
    assert of_type(order_events, "InvoicingCompleted")[0]["status"] == "active"
    commands = await events_of(
        s, topics.ORDERS_COMMANDS, order_id, count(1, "MarkInvoicingComplete")
    )
    [mark] = of_type(commands, "MarkInvoicingComplete")
    assert mark["actor"] == {"id": "invoicing", "role": "system"}


# -- M-11 ----------------------------------------------------------------------------------


async def test_M11_a_change_request_holds_the_issue_until_the_operator_settles_it(
    stack_up: Stack,
) -> None:
    s = stack_up
    day = s.day(3)
    order_id, member = await active_order(s, [(day, "80.00")])
    invoice = invoice_id(order_id, 1)
    await events_of(s, topics.INVOICING_EVENTS, order_id, count(1, "InvoiceDrafted"))
    request = c.command(
        RequestInvoiceChanges, member.party, invoice_id=invoice, message="Please add our PO 42"
    )
    await send(s, topics.INVOICING_COMMANDS, request, request)  # delivered twice

    # Past the invoice date (and the timer's slack), the invoice is still held.
    hold_until = s.starts(day) + timedelta(seconds=SLACK)
    events = await events_of(
        s,
        topics.INVOICING_EVENTS,
        order_id,
        lambda _: datetime.now(UTC) >= hold_until,
        timeout=(hold_until - datetime.now(UTC)).total_seconds() + 5,
    )
    # the copy is answered again with the same event: count it by message id.
    requested = {e["message_id"] for e in of_type(events, "InvoiceChangesRequested")}
    assert len(requested) == 1, "the duplicate changed nothing"
    assert of_type(events, "InvoiceIssued") == []

    decline = c.command(
        DeclineInvoiceChanges, c.OPERATOR, invoice_id=invoice, reason="The PO is on the order"
    )
    await send(s, topics.INVOICING_COMMANDS, decline)
    events = await events_of(s, topics.INVOICING_EVENTS, order_id, count(1, "InvoiceIssued"))
    [declined] = of_type(events, "InvoiceChangesDeclined")
    [issued] = of_type(events, "InvoiceIssued")
    assert declined["member"]["id"] == member.id
    assert at(issued["issued_at"]) >= hold_until and issued["number"] == 1


# -- M-14 ----------------------------------------------------------------------------------


async def test_M14_cancelling_the_order_voids_what_was_issued_and_cancels_the_rest(
    stack_up: Stack,
) -> None:
    s = stack_up
    soon = s.day(2)
    order_id, member = await active_order(
        s, [(soon, "300.00"), (soon + timedelta(days=40), "300.00")]
    )
    await events_of(s, topics.INVOICING_EVENTS, order_id, count(1, "InvoiceIssued"))

    reason = "The client closed the project for good"
    await send(
        s,
        topics.ORDERS_COMMANDS,
        c.command(RequestCancellation, member.party, order_id=order_id, reason=reason),
        c.command(ApproveCancellation, c.OPERATOR, order_id=order_id),
    )
    events = await events_of(
        s, topics.INVOICING_EVENTS, order_id, count(2, "InvoiceVoided", "InvoiceCancelled")
    )
    [voided] = of_type(events, "InvoiceVoided")
    [cancelled] = of_type(events, "InvoiceCancelled")
    note = voided["credit_note"]
    assert voided["invoice_id"] == invoice_id(order_id, 1) and voided["status"] == "voided"
    assert (note["invoice_id"], note["invoice_number"], note["number"]) == (
        voided["invoice_id"],
        1,
        1,
    )
    assert note["total"] == {"amount": "300.00", "currency": "EUR"}
    assert cancelled["invoice_id"] == invoice_id(order_id, 2) and cancelled["reason"] == reason

    ours = f"order/{order_id}/"
    timer_commands = await events_of(
        s,
        topics.TIMERS_COMMANDS,
        order_id,
        lambda ts: len([t for t in of_type(ts, "CancelDeadline") if ours in t["deadline_id"]]) >= 2,
    )
    assert {
        t["deadline_id"]
        for t in of_type(timer_commands, "CancelDeadline")
        if t["actor"]["id"] == "invoicing"
    } == {f"{invoice_id(order_id, 2)}:draft", f"{invoice_id(order_id, 2)}:issue"}

    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(s.mongodb_uri)
    invoices = await order_invoices(mongo[service_database(s.database, "invoicing")], order_id)
    await mongo.close()
    assert [i.status.value for i in invoices] == ["voided", "cancelled"], "nothing deleted"


# -- M-20 ----------------------------------------------------------------------------------


async def handled_by_invoicing(s: Stack, message_id: str, timeout: float = 30.0) -> None:
    """Wait until invoicing's log shows `message_id` handled (its commit is stored)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        lines = Path(s.invoicing.log_path).read_text().splitlines()
        if any(
            '"handled"' in line and json.loads(line).get("message_id") == message_id
            for line in lines
        ):
            return
        assert loop.time() < deadline, f"invoicing did not handle {message_id}"
        await asyncio.sleep(0.2)


async def test_M20_an_invoice_date_passing_during_a_cancellation_request_issues_nothing_until_the_refusal(
    stack_up: Stack,
) -> None:
    s = stack_up
    day = s.day(8)
    order_id, member = await active_order(s, [(day, "120.00")])
    invoice = invoice_id(order_id, 1)
    reason = "The client asks to stop the project after the first phase"
    await send(
        s,
        topics.ORDERS_COMMANDS,
        c.command(RequestCancellation, member.party, order_id=order_id, reason=reason),
    )
    orders = await events_of(s, topics.ORDERS_EVENTS, order_id, count(1, "CancellationRequested"))
    [pending] = of_type(orders, "CancellationRequested")
    assert at(pending["occurred_at"]) < s.starts(day), "the request came after the date"

    # The invoice date passes: the timer fires and invoicing handles it, issuing nothing.
    fired = await read_topic(
        s.kafka,
        s.prefix + topics.TIMERS_EVENTS,
        lambda rs: any(r.json().get("deadline_id") == f"{invoice}:issue" for r in rs),
        timeout=60,
    )
    [expiry] = [r.json() for r in fired if r.json().get("deadline_id") == f"{invoice}:issue"]
    await handled_by_invoicing(s, expiry["message_id"])
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(s.mongodb_uri)
    db = mongo[service_database(s.database, "invoicing")]
    [held] = await order_invoices(db, order_id)
    assert held.status.value == "draft" and held.number is None
    events = await events_of(s, topics.INVOICING_EVENTS, order_id, count(1, "InvoiceDrafted"))
    assert of_type(events, "InvoiceIssued") == []

    # The operator refuses: the held invoice, past its date, is issued at once.
    await send(
        s,
        topics.ORDERS_COMMANDS,
        c.command(RefuseCancellation, c.OPERATOR, order_id=order_id, reason="Runs to the end"),
    )
    orders = await events_of(s, topics.ORDERS_EVENTS, order_id, count(1, "CancellationRefused"))
    [refusal] = of_type(orders, "CancellationRefused")
    events = await events_of(s, topics.INVOICING_EVENTS, order_id, count(1, "InvoiceIssued"))
    [issued] = of_type(events, "InvoiceIssued")
    assert issued["invoice_id"] == invoice and issued["number"] == 1
    assert issued["invoice_date"] == day.isoformat()
    assert at(issued["issued_at"]) >= at(refusal["occurred_at"]) > s.starts(day)
    [released] = await order_invoices(db, order_id)
    await mongo.close()
    assert released.status.value == "issued"


# -- duplicates ----------------------------------------------------------------------------


async def until_handled_twice(s: Stack, message_ids: list[str], timeout: float = 30.0) -> None:
    """Wait until invoicing's log shows each message handled twice (original and copy)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        lines = Path(s.invoicing.log_path).read_text().splitlines()
        handled = [json.loads(line).get("message_id") for line in lines if '"handled"' in line]
        if all(handled.count(m) >= 2 for m in message_ids):
            return
        assert loop.time() < deadline, "invoicing did not handle every copy"
        await asyncio.sleep(0.2)


async def test_duplicate_deliveries_of_ordering_events_and_deadlines_change_nothing(
    stack_up: Stack,
) -> None:
    s = stack_up
    order_id, _ = await active_order(s, [(s.day(5), "42.00")])
    before = await events_of(s, topics.INVOICING_EVENTS, order_id, count(1, "InvoiceIssued"))
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(s.mongodb_uri)
    commits = mongo[service_database(s.database, "invoicing")]["invoice_ledgers_commits"]
    ledger = f"order/{order_id}"
    revisions = await commits.count_documents({"aggregate_id": ledger})

    # Deliver again what invoicing consumed: ordering's events and the deadlines fired.
    orders = await read_topic(s.kafka, s.prefix + topics.ORDERS_EVENTS, lambda _: False, timeout=3)
    deadlines = await read_topic(
        s.kafka, s.prefix + topics.TIMERS_EVENTS, lambda _: False, timeout=3
    )
    key = str(order_id).encode()
    again_orders = [r for r in orders if r.key == key]
    again_deadlines = [
        r for r in deadlines if r.key == key and r.json().get("owner") == "invoicing"
    ]
    assert len(again_deadlines) >= 2
    async with Upstream(s.kafka, s.prefix) as upstream:
        for record in again_orders:
            await upstream.send_raw(topics.ORDERS_EVENTS, record.value, key=record.key)
        for record in again_deadlines:
            await upstream.send_raw(topics.TIMERS_EVENTS, record.value, key=record.key)

    # Once invoicing has handled every copy, nothing has changed.
    copies = [r.json()["message_id"] for r in again_orders + again_deadlines]
    await until_handled_twice(s, copies)
    after = await events_of(s, topics.INVOICING_EVENTS, order_id, lambda _: False, timeout=3)
    assert [e["message_id"] for e in after] == [e["message_id"] for e in before]
    assert await commits.count_documents({"aggregate_id": ledger}) == revisions
    await mongo.close()


# -- A-11 ----------------------------------------------------------------------------------


async def completed_account_order(s: Stack, account_id: str) -> uuid.UUID:
    """An account order created and completed, told on orders.events as ordering tells it.

    Published here rather than driven through ordering: ordering refuses `PlaceOrder`
    for every account order today (it looks the account up from the command's terms,
    and `PlaceOrder` has none), so no account order completes there yet.
    """
    agent = c.party(f"agent-{uuid.uuid4().hex[:6]}", Role.AGENT, "agent@example.com")
    customer = OrderParty(
        id=account_id, role=Role.CUSTOMER, contact=Contact(email="billing@acme.example")
    )
    order_id, correlation = uuid.uuid4(), uuid.uuid4()
    terms = AccountTerms(
        account_id=account_id,
        order_date=datetime.now(UTC).date(),
        currency="EUR",
        payment_method="card",
        items=[
            OrderItem(
                product_id="hosting",
                pricing_option="monthly",
                unit_price=Decimal("9.99"),
                quantity=3,
            )
        ],
    )
    ordering: dict[str, Any] = {
        "occurred_at": datetime.now(UTC),
        "correlation_id": correlation,
        "actor": agent.party,
        "order_id": order_id,
        "flow": Flow.ACCOUNT,
    }
    created = OrderCreated(
        message_id=uuid.uuid4(),
        status=OrderStatus.DRAFT,
        parties=[agent, customer],
        terms=terms,
        **ordering,
    )
    completed = OrderCompleted(
        message_id=uuid.uuid4(),
        status=OrderStatus.COMPLETED,
        receipt_to=customer.contact,
        total=Money(amount=Decimal("29.97"), currency="EUR"),
        **ordering,
    )
    await send(s, topics.ORDERS_EVENTS, created, completed)
    return order_id


async def open_account(s: Stack) -> str:
    account_id = f"acc-{uuid.uuid4().hex[:8]}"
    opened = AccountOpened(
        message_id=uuid.uuid4(),
        occurred_at=datetime.now(UTC),
        correlation_id=uuid.uuid4(),
        actor=Party(id="billing-system", role=Role.SYSTEM),
        account_id=account_id,
        name="Acme Corp",
        contact=Contact(email="billing@acme.example"),
        created_on=datetime.now(UTC).date() - timedelta(days=30),
        bill_cycle_day=1,
    )
    await send(s, topics.ACCOUNTS_EVENTS, opened)
    return account_id


async def until_queued(s: Stack, account_id: str, order_id: uuid.UUID) -> None:
    """Wait until invoicing holds the completed order for the account's next run."""
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(s.mongodb_uri)
    try:
        for _ in range(100):
            ledger = await ledger_view(
                mongo[service_database(s.database, "invoicing")], account_ledger_id(account_id)
            )
            if (
                ledger
                and ledger.account
                and any(q.order_id == order_id for q in ledger.account.queued)
            ):
                return
            await asyncio.sleep(0.1)
        raise AssertionError("invoicing never queued the completed order")
    finally:
        await mongo.close()


async def test_A11_run_bill_cycle_invoices_the_accounts_completed_orders_once(
    stack_up: Stack,
) -> None:
    s = stack_up
    account_id = await open_account(s)
    order_id = await completed_account_order(s, account_id)
    await until_queued(s, account_id, order_id)
    run = c.command(RunBillCycle, c.OPERATOR, account_id=account_id)
    await send(s, topics.INVOICING_COMMANDS, run, run)  # delivered twice
    events = await events_of(s, topics.INVOICING_EVENTS, account_id, count(1, "InvoiceIssued"))
    [cycle] = of_type(events, "BillCycleRun")
    [invoice] = of_type(events, "InvoiceIssued")
    assert cycle["causation_id"] == str(run.message_id) and cycle["cycle"] == 1
    assert cycle["order_ids"] == [str(order_id)] and cycle["invoice_ids"] == [invoice["invoice_id"]]
    assert invoice["account_id"] == account_id and invoice["issuer_id"] == "billing"
    assert invoice["total"] == {"amount": "29.97", "currency": "EUR"}
    assert [line["order_id"] for line in invoice["lines"]] == [str(order_id)]
    assert invoice["client"]["contact"]["email"] == "billing@acme.example"


async def test_A11_the_scheduled_bill_cycle_run_invoices_orders_completed_since_the_last_run(
    stack_up: Stack,
) -> None:
    s = stack_up
    account_id = await open_account(s)
    order_id = await completed_account_order(s, account_id)
    events = await events_of(
        s,
        topics.INVOICING_EVENTS,
        account_id,
        lambda es: any(str(order_id) in r["order_ids"] for r in of_type(es, "BillCycleRun")),
        timeout=3 * CYCLE + 10,
    )
    runs = of_type(events, "BillCycleRun")
    billing = [r for r in runs if str(order_id) in r["order_ids"]]
    assert len(billing) == 1 and len(billing[0]["invoice_ids"]) == 1
    assert [r["cycle"] for r in runs] == list(range(1, len(runs) + 1))


def test_invoicing_logs_carry_no_email_address(stack_up: Stack) -> None:
    text = Path(stack_up.invoicing.log_path).read_text()
    assert '"msg": "handled"' in text
    assert "@example.com" not in text and "@acme.example" not in text
