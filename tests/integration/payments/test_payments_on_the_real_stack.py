"""payments on the real broker and store, with ordering and the timer service as
processes, driven the way upstream drives them: customers and suppliers send ordering's
commands, the payment gateway sends payments' commands (a plain aiokafka producer).

Windows are seconds here: `ORDERFLOW_PAYMENT_WINDOW=8`, `ORDERFLOW_PAYOUT_DELAY=1`,
`ORDERFLOW_CLAIM_REOPEN_WINDOW=3`.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from contracts import topics
from contracts.envelope import Party, Role
from contracts.orders import (
    CancelOrder,
    ConfirmExecution,
    ConfirmOrder,
    CreateOrder,
    MarkServiceDone,
    Money,
)
from contracts.payments import ConfirmPayoutSent, OpenClaim, RecordPayment, WithdrawClaim
from devstack.services import ServiceProcess
from orderflow import commands as c
from servicekit.config import service_database
from tests.support.kafka import Record, Upstream, eventually, read_topic
from tests.support.services import service_env, start

pytestmark = pytest.mark.timeout(300)

GATEWAY = Party(id="gateway", role=Role.SYSTEM)
WINDOW_SECONDS = 8
REOPEN_SECONDS = 3


@dataclass
class Stack:
    kafka: str
    prefix: str
    mongodb_uri: str
    database: str
    payments: ServiceProcess

    async def send(self, topic: str, *messages: Any) -> None:
        async with Upstream(self.kafka, self.prefix) as upstream:
            await upstream.send(topic, *messages)

    async def wait_for(
        self,
        topic: str,
        order_id: uuid.UUID,
        until: Callable[[list[dict[str, Any]]], bool],
        timeout: float = 60.0,
    ) -> list[dict[str, Any]]:
        """The messages about `order_id` on `topic`, once `until` holds for them."""

        def done(records: Sequence[Record]) -> bool:
            return until(about(records, order_id))

        records = await read_topic(self.kafka, self.prefix + topic, done, timeout=timeout)
        found = about(records, order_id)
        assert until(found), f"{topic}: {[m['type'] for m in found]}"
        return found


def about(records: Sequence[Record], order_id: uuid.UUID) -> list[dict[str, Any]]:
    return [r.json() for r in records if r.key == str(order_id).encode()]


def has(*types: str) -> Callable[[list[dict[str, Any]]], bool]:
    """`until`: every one of `types` has arrived."""
    return lambda messages: set(types) <= {m["type"] for m in messages}


def of_type(messages: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [m for m in messages if m["type"] == kind]


@pytest.fixture(scope="module")
async def stack_with_services(
    stack: Any, topic_prefix: str, database_name: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Stack]:
    logs = tmp_path_factory.mktemp("payments-logs")
    env = service_env(stack, topic_prefix, database_name)
    ordering = await start("ordering", env, logs)
    timers = await start("timers", env, logs)
    payments = await start(
        "payments",
        {
            **env,
            "ORDERFLOW_PAYMENT_WINDOW": str(WINDOW_SECONDS),
            "ORDERFLOW_PAYOUT_DELAY": "1",
            "ORDERFLOW_CLAIM_REOPEN_WINDOW": str(REOPEN_SECONDS),
            "ORDERFLOW_OVERDUE_REFRESH_SECONDS": "0.5",
        },
        logs,
    )
    yield Stack(stack.kafka_bootstrap, topic_prefix, stack.mongodb_uri, database_name, payments)
    for process in (payments, timers, ordering):
        process.terminate()


async def order_in_progress(
    s: Stack, start: datetime, price: str = "60.00"
) -> tuple[uuid.UUID, Any, Any]:
    """A post-paid order the supplier confirmed, through ordering."""
    order_id, correlation = uuid.uuid4(), uuid.uuid4()
    customer, supplier = c.customer(), c.supplier()
    terms = c.postpaid_terms(
        appointment_start=start,
        appointment_end=start + timedelta(seconds=1),
        price=Money(amount=Decimal(price), currency="EUR"),
    )
    await s.send(
        topics.ORDERS_COMMANDS,
        c.command(
            CreateOrder,
            customer.party,
            correlation,
            order_id=order_id,
            parties=[customer, supplier],
            terms=terms,
        ),
        c.command(ConfirmOrder, supplier.party, correlation, order_id=order_id),
    )
    await s.wait_for(topics.ORDERS_EVENTS, order_id, has("OrderConfirmed"))
    return order_id, customer, supplier


async def order_in_payment(s: Stack) -> tuple[uuid.UUID, dict[str, Any]]:
    """A post-paid order with a payment stage, done and confirmed: payments asks for the
    price. Returns the order id and the `PaymentRequested` event."""
    # The appointment must still be ahead when ordering reads the order (P-02), and
    # have begun when the supplier marks it done (P-12).
    start = datetime.now(UTC) + timedelta(seconds=10)
    order_id, customer, supplier = await order_in_progress(s, start)
    await asyncio.sleep(max((start - datetime.now(UTC)).total_seconds(), 0) + 0.5)
    await s.send(
        topics.ORDERS_COMMANDS,
        c.command(MarkServiceDone, supplier.party, order_id=order_id),
        c.command(ConfirmExecution, customer.party, order_id=order_id),
    )
    events = await s.wait_for(topics.PAYMENTS_EVENTS, order_id, has("PaymentRequested"))
    return order_id, of_type(events, "PaymentRequested")[0]


def pay(order_id: uuid.UUID, amount: str, payment_id: str) -> RecordPayment:
    return c.command(
        RecordPayment,
        GATEWAY,
        order_id=order_id,
        payment_id=payment_id,
        amount=Money(amount=Decimal(amount), currency="EUR"),
    )


async def test_P15_paid_inside_the_window_closes_the_order(stack_with_services: Stack) -> None:
    s = stack_with_services
    order_id, requested = await order_in_payment(s)
    assert requested["amount"] == {"amount": "60.00", "currency": "EUR"}
    assert requested["customer"]["contact"]["email"] == "customer1@example.com"

    await s.send(topics.PAYMENTS_COMMANDS, pay(order_id, "60.00", "gw-paid-1"))

    events = await s.wait_for(topics.PAYMENTS_EVENTS, order_id, has("PaymentSettled"))
    assert of_type(events, "PaymentSettled")[0]["payment_id"] == "gw-paid-1"
    assert of_type(events, "PaymentOverdue") == []
    (mark,) = of_type(
        await s.wait_for(topics.ORDERS_COMMANDS, order_id, has("MarkOrderPaid")), "MarkOrderPaid"
    )
    assert mark["actor"] == {"id": "payments", "role": "system"}
    order_events = await s.wait_for(topics.ORDERS_EVENTS, order_id, has("OrderPaid"))
    (paid,) = of_type(order_events, "OrderPaid")
    assert (paid["status"], paid["payment_id"]) == ("closed", "gw-paid-1")


async def test_P16_unpaid_past_the_window_allows_a_claim_and_only_then(
    stack_with_services: Stack,
) -> None:
    s = stack_with_services
    order_id, requested = await order_in_payment(s)
    supplier = c.supplier().party
    early = c.command(OpenClaim, supplier, order_id=order_id, reason="Not paid yet")
    await s.send(topics.PAYMENTS_COMMANDS, early)
    events = await s.wait_for(topics.PAYMENTS_EVENTS, order_id, has("PaymentCommandRejected"))
    (refused,) = of_type(events, "PaymentCommandRejected")
    assert (refused["reason"], refused["command_id"]) == ("too_early", str(early.message_id))

    events = await s.wait_for(
        topics.PAYMENTS_EVENTS, order_id, has("PaymentOverdue"), timeout=WINDOW_SECONDS + 60
    )
    (overdue,) = of_type(events, "PaymentOverdue")
    assert overdue["outstanding"] == {"amount": "60.00", "currency": "EUR"}
    assert overdue["supplier"]["contact"]["email"] == "supplier1@example.com"
    assert datetime.fromisoformat(overdue["occurred_at"]) >= datetime.fromisoformat(
        requested["due_at"]
    )

    claim = c.command(OpenClaim, supplier, order_id=order_id, reason="Unpaid after 72 hours")
    await s.send(topics.PAYMENTS_COMMANDS, claim)
    events = await s.wait_for(topics.PAYMENTS_EVENTS, order_id, has("ClaimOpened"))
    (opened,) = of_type(events, "ClaimOpened")
    assert (opened["status"], opened["causation_id"]) == ("opened", str(claim.message_id))
    assert len(of_type(events, "PaymentCommandRejected")) == 1


async def test_P21_a_withdrawn_claim_not_opened_again_lapses_and_payments_marks_the_order_unpaid(
    stack_with_services: Stack,
) -> None:
    s = stack_with_services
    order_id, _ = await order_in_payment(s)
    supplier = c.supplier().party
    await s.wait_for(
        topics.PAYMENTS_EVENTS, order_id, has("PaymentOverdue"), timeout=WINDOW_SECONDS + 60
    )
    await s.send(
        topics.PAYMENTS_COMMANDS,
        c.command(OpenClaim, supplier, order_id=order_id, reason="Unpaid after 72 hours"),
    )
    events = await s.wait_for(topics.PAYMENTS_EVENTS, order_id, has("ClaimOpened"))
    (opened,) = of_type(events, "ClaimOpened")
    withdraw = c.command(WithdrawClaim, supplier, order_id=order_id, claim_id=opened["claim_id"])
    await s.send(topics.PAYMENTS_COMMANDS, withdraw)

    # The reopen window is a durable timer of the timer service: it fires and lapses it.
    events = await s.wait_for(topics.PAYMENTS_EVENTS, order_id, has("ClaimLapsed"))
    (withdrawn,) = of_type(events, "ClaimWithdrawn")
    (lapsed,) = of_type(events, "ClaimLapsed")
    reopen_until = datetime.fromisoformat(withdrawn["reopen_until"])
    assert reopen_until == datetime.fromisoformat(withdrawn["occurred_at"]) + timedelta(
        seconds=REOPEN_SECONDS
    )
    assert (lapsed["claim_id"], lapsed["status"]) == (opened["claim_id"], "lapsed")
    assert datetime.fromisoformat(lapsed["occurred_at"]) >= reopen_until
    commands = await s.wait_for(topics.ORDERS_COMMANDS, order_id, has("MarkOrderUnpaid"))
    (unpaid,) = of_type(commands, "MarkOrderUnpaid")
    assert (unpaid["claim_id"], unpaid["cause"]) == (opened["claim_id"], "claim_withdrawn")
    assert unpaid["actor"] == {"id": "payments", "role": "system"}
    timers = await s.wait_for(topics.TIMERS_COMMANDS, order_id, has("ScheduleDeadline"))
    assert any(t.get("kind") == "claim_reopen_window" for t in timers)


async def test_P11_a_late_customer_cancellation_charges_the_policys_fee(
    stack_with_services: Stack,
) -> None:
    s = stack_with_services
    # The default policy: free until 24 hours before the appointment, then 50%.
    start = datetime.now(UTC) + timedelta(hours=5)
    order_id, customer, _ = await order_in_progress(s, start, price="45.50")
    await s.send(
        topics.ORDERS_COMMANDS,
        c.command(CancelOrder, customer.party, order_id=order_id, reason="Something came up"),
    )
    events = await s.wait_for(
        topics.PAYMENTS_EVENTS, order_id, has("CancellationFeeAssessed", "ChargeRequested")
    )
    (assessed,) = of_type(events, "CancellationFeeAssessed")
    computation = assessed["computation"]
    assert computation["amount"] == {"amount": "22.75", "currency": "EUR"}
    assert (computation["percent"], computation["policy_source"]) == ("50", "default")
    assert computation["applied_tier"] == {"within_hours": 24, "percent": "50"}
    assert Decimal(computation["hours_before"]) > 4
    (charge,) = of_type(events, "ChargeRequested")
    assert (charge["purpose"], charge["amount"]["amount"]) == ("cancellation_fee", "22.75")
    assert charge["customer"]["id"] == customer.id


async def test_P18_a_payout_is_scheduled_and_progresses_to_paid(
    stack_with_services: Stack,
) -> None:
    s = stack_with_services
    order_id, _ = await order_in_payment(s)
    await s.send(topics.PAYMENTS_COMMANDS, pay(order_id, "60.00", "gw-payout-1"))

    events = await s.wait_for(topics.PAYMENTS_EVENTS, order_id, has("PayoutRequested"))
    (scheduled,) = of_type(events, "PayoutScheduled")
    assert scheduled["status"] == "scheduled"
    assert (scheduled["gross"]["amount"], scheduled["fee"]["amount"]) == ("60.00", "6.00")
    assert scheduled["net"]["amount"] == "54.00"
    (requested,) = of_type(events, "PayoutRequested")
    assert (requested["status"], requested["net"]["amount"]) == ("processing", "54.00")
    assert datetime.fromisoformat(requested["expected_by"]) > datetime.now(UTC)

    confirm = c.command(
        ConfirmPayoutSent,
        GATEWAY,
        order_id=order_id,
        payout_id=scheduled["payout_id"],
        reference="transfer-1",
    )
    await s.send(topics.PAYMENTS_COMMANDS, confirm)
    events = await s.wait_for(topics.PAYMENTS_EVENTS, order_id, has("PayoutPaid"))
    (paid,) = of_type(events, "PayoutPaid")
    assert (paid["status"], paid["reference"]) == ("paid", "transfer-1")

    # The read side follows the events: the snapshot is written after they are published.
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(s.mongodb_uri)
    try:

        async def paid_in_the_read_side() -> dict[str, Any] | None:
            snapshot = await mongo[service_database(s.database, "payments")]["payments"].find_one(
                {"_id": str(order_id)}
            )
            if snapshot and (snapshot["payout_status"], snapshot["request_status"]) == (
                "paid",
                "paid",
            ):
                return snapshot
            return None

        assert await eventually(paid_in_the_read_side)
    finally:
        await mongo.close()


async def test_P15_duplicate_payment_confirmations_count_once(
    stack_with_services: Stack,
) -> None:
    s = stack_with_services
    order_id, _ = await order_in_payment(s)
    first = pay(order_id, "60.00", "gw-dup-1")
    same_key = pay(order_id, "60.00", "gw-dup-1")  # the gateway retried with a new message
    await s.send(topics.PAYMENTS_COMMANDS, first, first, same_key)

    events = await s.wait_for(
        topics.PAYMENTS_EVENTS, order_id, has("PaymentSettled", "PaymentCommandRejected")
    )
    await asyncio.sleep(2)  # anything a double count would add has time to arrive
    events = await s.wait_for(topics.PAYMENTS_EVENTS, order_id, has("PaymentSettled"))
    # the copy of `first` is answered again with the same events: count them by id.
    events = list({e["message_id"]: e for e in events}.values())
    assert len(of_type(events, "PaymentReceived")) == 1
    assert len(of_type(events, "PaymentSettled")) == 1
    assert len(of_type(events, "PayoutScheduled")) == 1
    (refused,) = of_type(events, "PaymentCommandRejected")
    assert (refused["reason"], refused["command_id"]) == (
        "duplicate_payment",
        str(same_key.message_id),
    )
    marks = await s.wait_for(topics.ORDERS_COMMANDS, order_id, has("MarkOrderPaid"))
    assert len(of_type(marks, "MarkOrderPaid")) == 1
    order_events = await s.wait_for(topics.ORDERS_EVENTS, order_id, has("OrderPaid"))
    assert len(of_type(order_events, "OrderPaid")) == 1
    assert of_type(order_events, "OrderCommandRejected") == []


def test_payments_logs_are_json_with_no_email_addresses(stack_with_services: Stack) -> None:
    text = Path(stack_with_services.payments.log_path).read_text()
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]
    handled = [line for line in lines if line.get("msg") == "handled"]
    assert handled, "the service logged its messages"
    assert all(line["service"] == "payments" for line in handled)
    assert "@example.com" not in text


async def test_P16_ops_see_overdue_requests_and_rejections_by_reason_on_metrics(
    stack_with_services: Stack,
) -> None:
    """X-08: the gauge ops alert on counts the request once its window passed unpaid."""
    s = stack_with_services
    order_id, _ = await order_in_payment(s)
    early = c.command(OpenClaim, c.supplier().party, order_id=order_id, reason="Not paid yet")
    await s.send(topics.PAYMENTS_COMMANDS, early)
    await s.wait_for(
        topics.PAYMENTS_EVENTS, order_id, has("PaymentOverdue"), timeout=WINDOW_SECONDS + 60
    )

    async def overdue_counted() -> bool:
        page = s.payments.metrics()
        gauge = [
            ln for ln in page.splitlines() if ln.startswith("orderflow_payment_requests_overdue ")
        ]
        return bool(gauge) and float(gauge[0].split()[1]) >= 1

    await eventually(overdue_counted, timeout=30)
    page = s.payments.metrics()
    assert 'orderflow_commands_rejected_total{reason="too_early",service="payments"}' in page
    assert "orderflow_payouts_overdue " in page
