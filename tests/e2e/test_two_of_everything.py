"""Two of everything: two processes of each service, in the same consumer groups.

A mixed handful of scenarios runs at once (a managed order confirmed through the email
link and invoiced twice, a post-paid order paid twice by the gateway and paid out, one
left to lapse, an account order approved, completed and billed) while every service has
a twin sharing its partitions and its store. The results must be those of one process
each (the same milestones, the same emails) and every effect must happen once:

- one event per effect on each topic (counted by message id: a copy published again
  after a rebalance has the same id and is the same event);
- one InvoiceIssued per invoice and gap-free numbers per issuer, however many processes
  take numbers;
- one PaymentSettled per payment request;
- one email per (event, recipient, template): one delivery announced, one email caught.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from contracts import topics
from contracts.envelope import Role
from contracts.orders import (
    ConfirmExecution,
    OrderItem,
    PlannedInvoice,
)
from contracts.payments import ConfirmPayoutSent
from orderflow import commands as c
from orderflow import scenarios
from orderflow.scenarios import eur
from tests.e2e.conftest import System
from tests.e2e.inbox import DELIVERY, expect_templates, text_of, token_in, wait_for_mail
from tests.e2e.timeline import (
    InvoiceCalendar,
    accepted,
    email,
    events,
    handled,
    person,
    send,
    starting_now,
    types_of,
    until,
    wait_for,
)

pytestmark = pytest.mark.timeout(240)

REPLICAS = 2
CALENDAR = InvoiceCalendar(origin=starting_now(), day=6.0, lead=3.0)
EXTRA_ENV = {**CALENDAR.env(), "ORDERFLOW_BILL_CYCLE_EVERY": "6"}

ORDERS = topics.ORDERS_COMMANDS


class Scenario:
    """One order's story: its id, the milestones it must reach, its parties' emails."""

    def __init__(self, key: object, milestones: list[str], mail: dict[str, list[str]]) -> None:
        self.key, self.milestones, self.mail = str(key), milestones, mail


async def managed(system: System) -> Scenario:
    """M-05, M-08, M-10, M-12, M-16: confirmed by operator and client, invoiced twice."""
    member, client = person(Role.MEMBER, system), person(Role.CLIENT, system)
    order_id, first = uuid.uuid4(), CALENDAR.first_day(10)
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    terms = c.managed_terms(
        description="Two of everything",
        service_start=yesterday,
        service_end=yesterday,
        planned_invoices=[
            PlannedInvoice(invoice_date=first, amount=eur("10.00")),
            PlannedInvoice(invoice_date=first + timedelta(days=1), amount=eur("20.00")),
        ],
    )
    await scenarios.submitted_and_reviewed(system.bus, member, client, order_id, terms)
    [mail] = await wait_for_mail(system.maildir, email(client), "client_confirmation_request")
    token = token_in(text_of(mail), order_id)
    await scenarios.confirmed_by_client(system.bus, client, order_id, token)
    await wait_for(system, order_id, "OrderCompleted", timeout=90)
    return Scenario(
        order_id,
        [
            "OrderCreated",
            "OrderSubmitted",
            "OrderSentToClient",
            "OrderActivated",
            "ServicePeriodEnded",
            "InvoicingCompleted",
            "OrderCompleted",
        ],
        {
            email(member): ["invoice_draft_ready", "invoice_draft_ready", "order_activated"],
            email(client): ["client_confirmation_request", "invoice_issued", "invoice_issued"],
        },
    )


async def postpaid(system: System) -> Scenario:
    """P-06, P-12, P-13, P-15, P-18: paid twice by the gateway (once counted), paid out."""
    customer, supplier = person(Role.CUSTOMER, system), person(Role.SUPPLIER, system)
    start = datetime.now(UTC) + timedelta(seconds=8)
    terms = c.postpaid_terms(appointment_start=start, appointment_end=start + timedelta(seconds=1))
    order_id = await scenarios.in_progress(system.bus, customer, supplier, terms)
    await wait_for(system, order_id, "ServiceMarkedDone", timeout=60)
    await send(system, ORDERS, c.command(ConfirmExecution, customer.party, order_id=order_id))
    await wait_for(system, order_id, "PaymentRequested", timeout=30)
    payment = scenarios.gateway_payment(order_id, "40")
    await send(system, topics.PAYMENTS_COMMANDS, payment, payment)
    await wait_for(system, order_id, "OrderPaid", timeout=30)
    [released] = await wait_for(system, order_id, "PayoutRequested", timeout=30)
    sent = c.command(
        ConfirmPayoutSent,
        c.GATEWAY,
        order_id=order_id,
        payout_id=released["payout_id"],
        reference="tr-2",
    )
    await accepted(system, topics.PAYMENTS_COMMANDS, sent, "PayoutPaid")
    return Scenario(
        order_id,
        [
            "OrderCreated",
            "OrderConfirmed",
            "ServiceMarkedDone",
            "ExecutionConfirmed",
            "OrderPaid",
        ],
        {
            email(customer): [
                "execution_to_confirm",
                "order_confirmed",  # the supplier confirmed
                "payment_due",
                "payment_settled",
                "review_invitation",
            ],
            email(supplier): [
                "order_awaiting_confirmation",
                "payment_settled",
                "payout_scheduled",
                "payout_sent",
            ],
        },
    )


async def lapsed(system: System) -> Scenario:
    """P-02: nobody answers; the deadline (which two timer processes keep) cancels once."""
    customer, supplier = person(Role.CUSTOMER, system), person(Role.SUPPLIER, system)
    order_id = uuid.uuid4()
    create = scenarios.booking(customer, supplier, order_id, c.postpaid_terms())
    await send(system, ORDERS, create)
    await wait_for(system, order_id, "OrderCancelled", timeout=60)
    return Scenario(
        order_id,
        ["OrderCreated", "OrderCancelled"],
        {  # the automatic cancellation reaches both parties
            email(customer): ["order_cancelled"],
            email(supplier): ["order_awaiting_confirmation", "order_cancelled"],
        },
    )


async def account(system: System) -> tuple[Scenario, Scenario]:
    """A-06, A-07, A-10, A-11: configured, approved, completed, receipt, billed."""
    agent = person(Role.AGENT, system)
    account_id = f"acc-{uuid.uuid4().hex[:8]}"
    address = f"billing-{uuid.uuid4().hex[:8]}@{system.run_id}.e2e.example.com"
    await scenarios.opened_account(system.bus, account_id, address)
    order_id = uuid.uuid4()
    item = OrderItem(product_id="support-plan", pricing_option="yearly", unit_price=Decimal("99"))
    await scenarios.placed_approved_and_completed(
        system.bus, agent, order_id, account_id, [item], configure={0: {"tier": "silver"}}
    )
    await until(
        system,
        account_id,
        lambda found: any(e["type"] == "InvoiceIssued" for e in found),
        45,
        "the bill-cycle invoice",
    )
    return (
        Scenario(
            order_id,
            ["OrderCreated", "ItemConfigured", "OrderPlaced", "OrderApproved", "OrderCompleted"],
            {email(agent): [], address: ["invoice_issued", "receipt"]},
        ),
        Scenario(account_id, [], {}),
    )


def once(found: list[dict[str, Any]], field: str) -> dict[str, int]:
    """How many distinct events there are per value of `field` (should be 1 each)."""
    return dict(Counter(str(e[field]) for e in found))


async def test_X01_X02_X06_two_processes_of_each_service_give_the_same_results_each_effect_once(
    system: System,
) -> None:
    assert len(system.launcher.processes) == 2 * 5
    a_managed, a_postpaid, a_lapsed, (an_account, its_bills) = await asyncio.gather(
        managed(system), postpaid(system), lapsed(system), account(system)
    )
    stories = [a_managed, a_postpaid, a_lapsed, an_account, its_bills]
    await handled(system)  # every process handled all there is: a duplicate would be out

    # The same results as one process each: the same milestones...
    for story in stories:
        assert types_of(system, story.key, topics.ORDERS_EVENTS) == story.milestones

    # ...one InvoiceIssued per invoice, numbered 1..N per issuer, no gap, no repeat...
    everything = [e for story in stories for e in events(system, story.key)]
    issued = [e for e in everything if e["type"] == "InvoiceIssued"]
    assert len(issued) == 3 and set(once(issued, "invoice_id").values()) == {1}
    numbers: dict[str, list[int]] = defaultdict(list)
    for invoice in issued:
        numbers[invoice["issuer_id"]].append(invoice["number"])
    assert sorted(numbers["billing"]) == [1]
    assert sorted(n for issuer, ns in numbers.items() if issuer != "billing" for n in ns) == [1, 2]

    # ...one settlement although the gateway said it twice, one payout, one bill per cycle...
    settled = [e for e in everything if e["type"] == "PaymentSettled"]
    assert once(settled, "request_id") == {f"{a_postpaid.key}:payment": 1}
    for kind in ("PaymentRequested", "PayoutScheduled", "PayoutRequested", "PayoutPaid"):
        assert len([e for e in everything if e["type"] == kind]) == 1, kind
    runs = [e for e in everything if e["type"] == "BillCycleRun"]
    assert len({e["cycle"] for e in runs}) == len(runs)
    assert [e["order_ids"] for e in runs if e["order_ids"]] == [[an_account.key]]

    # ...and one email per (event, recipient, template): one email caught per delivery,
    # and one delivery announced per key.
    caught: Counter[str] = Counter()
    for story in stories:
        for address, expected in story.mail.items():
            mails = await expect_templates(system.maildir, address, expected)
            caught.update(str(m[DELIVERY]) for m in mails)
    assert set(caught.values()) <= {1}, f"an email sent twice: {caught}"

    def outcomes() -> list[dict[str, Any]]:
        found = [e for story in stories for e in events(system, story.key)]
        return [e for e in found if e["type"] in ("EmailSent", "EmailFailed")]

    async with asyncio.timeout(30):  # EmailSent follows the SMTP server's answer
        while not set(caught) <= {str(e["delivery_id"]) for e in outcomes()}:
            await asyncio.sleep(0.2)
    assert [e["reason"] for e in outcomes() if e["type"] == "EmailFailed"] == []
    deliveries = Counter(
        (e["cause_id"], e["recipient_role"], e["recipient_id"], e["template"]) for e in outcomes()
    )
    assert set(deliveries.values()) == {1}, [k for k, n in deliveries.items() if n > 1]
    assert len(deliveries) == sum(caught.values())
