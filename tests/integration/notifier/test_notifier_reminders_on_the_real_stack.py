"""X-12 on the real stack: the notifier and the timer service as processes, the real broker,
store and SMTP catcher. A reminder is scheduled, fires and is sent once; another is
cancelled because the party acted, and its absence is proven by a later reminder's email
(a marker due after it), never by a sleep.

Events are published as ordering and payments publish them. The P-02 lead is compressed
to seconds (`ORDERFLOW_REMINDER_LEAD_P02`), as every window is in the tests.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import pytest

from contracts import topics
from contracts.envelope import Event, Role
from contracts.orders import (
    Flow,
    OrderConfirmed,
    OrderCreated,
    OrderParty,
    OrderStatus,
    PostpaidTerms,
)
from contracts.payments import PayoutPaid, PayoutStatus
from devstack.services import ServiceProcess
from tests.integration.notifier.notifier_mail import (
    address,
    mails_to,
    text_of,
    wait_for_template,
)
from tests.support.kafka import Upstream
from tests.support.services import service_env, start
from tests.unit.notifier import notifier_kit as k

pytestmark = pytest.mark.timeout(180)

#: The P-02 reminder comes this many seconds before the window closes.
LEAD = 3
S = OrderStatus


@pytest.fixture(scope="module")
def prefix(topic_prefix: str) -> str:
    return topic_prefix + "ntrem."


@pytest.fixture(scope="module")
async def services(
    stack: Any, prefix: str, database_name: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[dict[str, ServiceProcess]]:
    env = service_env(
        stack,
        prefix,
        database_name,
        SMTP_URL=stack.smtp_url,
        ORDERFLOW_REMINDER_LEAD_P02=str(LEAD),
    )
    logs = tmp_path_factory.mktemp("logs")
    started: dict[str, ServiceProcess] = {}
    try:
        for name in ("timers", "notifier"):
            started[name] = await start(name, env, logs, f"{name}-reminders")
        yield started
    finally:
        for process in started.values():
            process.terminate()


@pytest.fixture(scope="module")
async def ready(
    services: dict[str, ServiceProcess], stack: Any, prefix: str, run_id: str
) -> dict[str, ServiceProcess]:
    """The notifier consuming: a reminder is timed from the event's creation, and a
    consumer still joining its group would eat a compressed window's seconds."""
    customer, supplier = person(run_id, Role.CUSTOMER), person(run_id, Role.SUPPLIER)
    await publish(stack, prefix, topics.ORDERS_EVENTS, new_order(customer, supplier, 3600))
    await wait_for_template(
        stack.maildir, email_of(supplier), "order_awaiting_confirmation", timeout=60
    )
    return services


async def publish(stack: Any, prefix: str, topic: str, *events: Event) -> None:
    async with Upstream(stack.kafka_bootstrap, prefix) as upstream:
        await upstream.send(topic, *events)


def person(run_id: str, role: Role) -> OrderParty:
    return k.party(f"{role.value}-{uuid.uuid4().hex[:6]}", role, address(run_id, role.value))


def email_of(p: OrderParty) -> str:
    assert p.contact is not None
    return str(p.contact.email)


def envelope(actor: OrderParty) -> dict[str, Any]:
    return {
        "message_id": uuid.uuid4(),
        "occurred_at": datetime.now(UTC),
        "correlation_id": uuid.uuid4(),
        "actor": actor.party,
    }


def new_order(customer: OrderParty, supplier: OrderParty, respond_in: float) -> OrderCreated:
    """P-02: the customer books; the supplier must answer within `respond_in` seconds."""
    now = datetime.now(UTC)
    return OrderCreated(
        **envelope(customer),
        order_id=uuid.uuid4(),
        flow=Flow.POSTPAID,
        status=S.CONFIRMATION,
        parties=[customer, supplier],
        terms=k.postpaid_terms(
            appointment_start=now + timedelta(days=2),
            appointment_end=now + timedelta(days=2, hours=1),
        ),
        respond_by=now + timedelta(seconds=respond_in),
    )


def reminders(mails: list[EmailMessage]) -> list[EmailMessage]:
    return [m for m in mails if m["X-Orderflow-Template"] == "reminder_respond"]


async def test_X12_a_reminder_is_scheduled_fired_and_sent_once(
    ready: dict[str, ServiceProcess], stack: Any, prefix: str, run_id: str
) -> None:
    customer, supplier = person(run_id, Role.CUSTOMER), person(run_id, Role.SUPPLIER)
    created = new_order(customer, supplier, respond_in=LEAD + 6)
    await publish(stack, prefix, topics.ORDERS_EVENTS, created, created)  # and redelivered

    [reminder] = await wait_for_template(stack.maildir, email_of(supplier), "reminder_respond")
    assert reminder["Subject"].startswith("Reminder: please answer by ")
    body = text_of(reminder)
    assert f"order {created.order_id}" in body
    assert "cancelled automatically" in body

    # A later email to the same supplier: once it is in, a second reminder would be too.
    marker = PayoutPaid(
        **envelope(supplier),
        order_id=created.order_id,
        payout_id="payout-marker",
        status=PayoutStatus.PAID,
        supplier=supplier,
        net=k.money("1"),
        reference="TRX-MARKER",
    )
    await publish(stack, prefix, topics.PAYMENTS_EVENTS, marker)
    await wait_for_template(stack.maildir, email_of(supplier), "payout_sent")
    assert len(reminders(mails_to(stack.maildir, email_of(supplier)))) == 1


async def test_X12_a_reminder_is_cancelled_when_the_party_acts(
    ready: dict[str, ServiceProcess], stack: Any, prefix: str, run_id: str
) -> None:
    customer, supplier = person(run_id, Role.CUSTOMER), person(run_id, Role.SUPPLIER)
    answered = new_order(customer, supplier, respond_in=LEAD + 2)
    assert isinstance(answered.terms, PostpaidTerms)
    confirmed = OrderConfirmed(
        **envelope(supplier),
        order_id=answered.order_id,
        flow=Flow.POSTPAID,
        status=S.IN_PROGRESS,
        terms=answered.terms,
        auto_done_at=datetime.now(UTC) + timedelta(days=3),
    )
    await publish(stack, prefix, topics.ORDERS_EVENTS, answered, confirmed)
    # The customer hears of the confirmation: the notifier has handled it.
    await wait_for_template(stack.maildir, email_of(customer), "order_confirmed")

    # The marker: another order of the same supplier whose reminder falls due later.
    unanswered = new_order(customer, supplier, respond_in=LEAD + 8)
    await publish(stack, prefix, topics.ORDERS_EVENTS, unanswered)
    await wait_for_template(stack.maildir, email_of(supplier), "reminder_respond", timeout=40)

    [only] = reminders(mails_to(stack.maildir, email_of(supplier)))
    assert f"order {unanswered.order_id}" in text_of(only)
    assert f"order {answered.order_id}" not in text_of(only)
