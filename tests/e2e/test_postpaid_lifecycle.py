"""Post-paid service orders end to end (seeds 001 and 004), every service a process."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from contracts import topics
from contracts.orders import (
    ConfirmExecution,
    ConfirmOrder,
    CreateOrder,
    EditOrder,
    LeaveReview,
    MarkServiceDone,
    Money,
    TermsChange,
)
from contracts.payments import OpenClaim, RecordPayment
from orderflow import commands as c
from tests.e2e.conftest import System

pytestmark = pytest.mark.timeout(240)


def types(system: System, order_id: uuid.UUID, topic: str) -> list[str]:
    return [s.type for s in system.bus.history[str(order_id)] if s.topic == topic]


async def test_P01_to_P17_edited_back_and_forth_confirmed_done_paid_closed_and_reviewed(
    system: System,
) -> None:
    bus = system.bus
    order_id, flow = uuid.uuid4(), uuid.uuid4()
    customer, supplier = c.customer("e1"), c.supplier("e1")
    now = datetime.now(UTC)
    start = now + timedelta(seconds=20)
    terms = c.postpaid_terms(appointment_start=start, appointment_end=start + timedelta(seconds=1))
    await bus.send(
        topics.ORDERS_COMMANDS,
        c.command(CreateOrder, customer.party, flow, order_id=order_id, parties=[customer, supplier], terms=terms),
        # P-03: the supplier raises the price; P-05: the customer moves the time back...
        c.command(
            EditOrder, supplier.party, flow, order_id=order_id,
            changes=TermsChange(price=Money(amount=Decimal("55.00"), currency="EUR")),
        ),
        c.command(
            EditOrder, customer.party, flow, order_id=order_id,
            changes=TermsChange(appointment_start=start + timedelta(seconds=2), appointment_end=start + timedelta(seconds=3)),
        ),
        # ...and the supplier confirms the customer's counter-proposal (P-06).
        c.command(ConfirmOrder, supplier.party, flow, order_id=order_id),
    )  # fmt: skip
    confirmed = await bus.wait_for(order_id, ["OrderConfirmed", "OrderCommandRejected"])
    assert confirmed.type == "OrderConfirmed", confirmed.body
    assert confirmed.body["status"] == "in_progress"

    await bus.wait_for(order_id, ["ServiceMarkedDone"], timeout=60)  # waits for the start
    await bus.send(
        topics.ORDERS_COMMANDS,
        c.command(
            MarkServiceDone, supplier.party, flow, order_id=order_id
        ),  # already done: refused
        c.command(ConfirmExecution, customer.party, flow, order_id=order_id),
    )
    requested = await bus.wait_for(order_id, ["PaymentRequested"], timeout=30)
    amount = requested.body["amount"]
    assert amount == {"amount": "55.00", "currency": "EUR"}

    payment = c.command(
        RecordPayment, c.GATEWAY, flow, order_id=order_id, payment_id=f"pay-{order_id}",
        amount=Money(amount=Decimal("55.00"), currency="EUR"),
    )  # fmt: skip
    await bus.send(topics.PAYMENTS_COMMANDS, payment, payment)  # the gateway says it twice
    paid = await bus.wait_for(order_id, ["OrderPaid"], timeout=30)
    assert paid.body["status"] == "closed"
    await bus.send(
        topics.ORDERS_COMMANDS,
        c.command(
            LeaveReview,
            customer.party,
            flow,
            order_id=order_id,
            service_rating=5,
            supplier_rating=4,
        ),
    )
    await bus.wait_for(order_id, ["ReviewLeft"])
    await bus.wait_for(order_id, ["PayoutScheduled"], timeout=30)

    order_events = types(system, order_id, topics.ORDERS_EVENTS)
    assert order_events[:3] == ["OrderCreated", "OrderEdited", "OrderEdited"]
    assert order_events.count("OrderPaid") == 1
    payment_events = types(system, order_id, topics.PAYMENTS_EVENTS)
    assert payment_events.count("PaymentSettled") == 1, "the repeated confirmation counted once"


async def test_P02_P12_P13_P16_every_window_left_to_expire_ends_in_a_claim(system: System) -> None:
    bus = system.bus
    # P-02: nobody answers the new order: cancelled automatically.
    lapsed = uuid.uuid4()
    customer, supplier = c.customer("e2"), c.supplier("e2")
    await bus.send(
        topics.ORDERS_COMMANDS,
        c.command(
            CreateOrder,
            customer.party,
            order_id=lapsed,
            parties=[customer, supplier],
            terms=c.postpaid_terms(),
        ),
    )
    cancelled = await bus.wait_for(lapsed, ["OrderCancelled"], timeout=60)
    assert cancelled.body["status"] == "cancelled"

    # P-12, P-13: confirmed, then done and confirmed by the clock; P-15/P-16 unpaid: a claim.
    order_id = uuid.uuid4()
    start = datetime.now(UTC) + timedelta(seconds=15)
    terms = c.postpaid_terms(appointment_start=start, appointment_end=start + timedelta(seconds=1))
    await bus.send(
        topics.ORDERS_COMMANDS,
        c.command(
            CreateOrder,
            customer.party,
            order_id=order_id,
            parties=[customer, supplier],
            terms=terms,
        ),
        c.command(ConfirmOrder, supplier.party, order_id=order_id),
    )
    await bus.wait_for(order_id, ["PaymentRequested"], timeout=90)
    early = c.command(
        OpenClaim, supplier.party, order_id=order_id, reason="The customer has not paid"
    )
    await bus.send(topics.PAYMENTS_COMMANDS, early)
    refused = await bus.wait_for(order_id, ["PaymentCommandRejected"], timeout=30)
    assert refused.body["reason"] == "too_early"

    await bus.wait_for(order_id, ["PaymentOverdue"], timeout=60)
    await bus.send(
        topics.PAYMENTS_COMMANDS,
        c.command(OpenClaim, supplier.party, order_id=order_id, reason="The customer has not paid"),
    )
    claim = await bus.wait_for(order_id, ["ClaimOpened"], timeout=30)
    assert claim.body["status"] == "opened"
    order_events = types(system, order_id, topics.ORDERS_EVENTS)
    assert "ServiceMarkedDone" in order_events and "ExecutionConfirmed" in order_events
    done = next(s for s in bus.history[str(order_id)] if s.type == "ServiceMarkedDone")
    assert done.body["actor"]["role"] == "system", "P-12: confirmed automatically"


async def test_P14_without_a_payment_stage_the_order_closes_and_the_charge_is_captured(
    system: System,
) -> None:
    bus = system.bus
    order_id = uuid.uuid4()
    customer, supplier = c.customer("e3"), c.supplier("e3")
    start = datetime.now(UTC) + timedelta(seconds=15)
    terms = c.postpaid_terms(
        appointment_start=start, appointment_end=start + timedelta(seconds=1), payment_stage=False
    )
    await bus.send(
        topics.ORDERS_COMMANDS,
        c.command(
            CreateOrder,
            customer.party,
            order_id=order_id,
            parties=[customer, supplier],
            terms=terms,
        ),
        c.command(ConfirmOrder, supplier.party, order_id=order_id),
    )
    confirmed = await bus.wait_for(order_id, ["ExecutionConfirmed"], timeout=90)
    assert confirmed.body["status"] == "closed"
    charge = await bus.wait_for(order_id, ["ChargeRequested"], timeout=30)
    assert charge.body["amount"] == {"amount": "40.00", "currency": "EUR"}
