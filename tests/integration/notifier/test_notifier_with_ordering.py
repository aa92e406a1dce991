"""ordering and the notifier (and timers, for M-09) as processes: commands in, emails out.

Upstream publishes commands as it would; ordering decides; the notifier emails the
parties ordering's events name, through the real SMTP server. The client's confirmation
link from the email is used to confirm the order, as the client would.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from pymongo import AsyncMongoClient

from contracts import topics
from contracts.accounts import AccountOpened
from contracts.envelope import SYSTEM, Contact, Party, Role
from contracts.orders import (
    AccountTerms,
    ConfirmAsClient,
    ConfirmOrder,
    CreateOrder,
    OrderItem,
    OrderParty,
    PlaceOrder,
    RejectOrder,
    ResendReceipt,
    SubmitOrder,
)
from devstack.services import ServiceProcess
from orderflow import commands as c
from servicekit.config import service_database
from tests.integration.notifier.notifier_mail import address, text_of, wait_for_mails
from tests.support.kafka import Record, Upstream, read_topic
from tests.support.services import service_env, start

pytestmark = pytest.mark.timeout(300)

CONFIRM_URL = "https://confirm.example.test/c?order={order_id}&token={token}"


@pytest.fixture(scope="module")
def prefix(topic_prefix: str) -> str:
    return topic_prefix + "ntflow."


@pytest.fixture(scope="module")
def env(stack: Any, prefix: str, database_name: str) -> dict[str, str]:
    return service_env(
        stack,
        prefix,
        database_name,
        SMTP_URL=stack.smtp_url,
        ORDERFLOW_CONFIRMATION_URL=CONFIRM_URL,
        ORDERFLOW_MIN_CLIENT_CONFIRMATION="1",  # M-07, so that an offer can expire in seconds
    )


@pytest.fixture(scope="module")
async def services(
    env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[dict[str, ServiceProcess]]:
    logs = tmp_path_factory.mktemp("logs")
    started: dict[str, ServiceProcess] = {}
    try:
        for name in ("ordering", "notifier"):
            started[name] = await start(name, env, logs)
        yield started
    finally:
        for process in started.values():
            process.terminate()


@pytest.fixture(scope="module")
async def timers(
    env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[ServiceProcess]:
    """The timer service, for the flows that wait for a deadline."""
    process = await start("timers", env, tmp_path_factory.mktemp("timers-logs"))
    yield process
    process.terminate()


def member(run_id: str) -> OrderParty:
    return c.party(f"member-{uuid.uuid4().hex[:6]}", Role.MEMBER, address(run_id, "member"))


def client(run_id: str) -> OrderParty:
    return c.party(f"client-{uuid.uuid4().hex[:6]}", Role.CLIENT, address(run_id, "client"))


def email_of(p: OrderParty) -> str:
    assert p.contact is not None
    return str(p.contact.email)


async def send(stack: Any, prefix: str, topic: str, *messages: Any) -> None:
    async with Upstream(stack.kafka_bootstrap, prefix) as upstream:
        await upstream.send(topic, *messages)


async def order_events(
    stack: Any, prefix: str, order_id: uuid.UUID, *wanted: str, timeout: float = 30
) -> list[dict[str, Any]]:
    def of_order(records: Sequence[Record]) -> list[dict[str, Any]]:
        return [r.json() for r in records if r.key == str(order_id).encode()]

    records = await read_topic(
        stack.kafka_bootstrap,
        prefix + topics.ORDERS_EVENTS,
        lambda rs: any(e["type"] in wanted for e in of_order(rs)),
        timeout=timeout,
    )
    return of_order(records)


async def test_M05_M08_the_link_in_the_client_s_email_confirms_the_order(
    services: dict[str, ServiceProcess], stack: Any, prefix: str, run_id: str
) -> None:
    order_id, owner, buyer = uuid.uuid4(), member(run_id), client(run_id)
    await send(
        stack,
        prefix,
        topics.ORDERS_COMMANDS,
        c.command(
            CreateOrder,
            owner.party,
            order_id=order_id,
            parties=[owner, buyer],
            terms=c.managed_terms(),
        ),
        c.command(SubmitOrder, owner.party, order_id=order_id),
        c.command(ConfirmOrder, c.OPERATOR, order_id=order_id),
    )
    [mail] = await wait_for_mails(stack.maildir, email_of(buyer), timeout=60)
    assert mail["Subject"] == "Please confirm your order: Quarterly maintenance"
    [link] = re.findall(r"https://confirm\.example\.test/\S+", text_of(mail))
    query = parse_qs(urlsplit(link).query)
    assert query["order"] == [str(order_id)]

    confirm = c.command(ConfirmAsClient, buyer.party, order_id=order_id, token=query["token"][0])
    await send(stack, prefix, topics.ORDERS_COMMANDS, confirm)
    events = await order_events(stack, prefix, order_id, "OrderActivated")
    assert events[-1]["type"] == "OrderActivated"
    assert events[-1]["confirmed_by"] == "client"


async def test_M05_M15_a_rejected_order_emails_its_member(
    services: dict[str, ServiceProcess], stack: Any, prefix: str, run_id: str
) -> None:
    order_id, owner, buyer = uuid.uuid4(), member(run_id), client(run_id)
    await send(
        stack,
        prefix,
        topics.ORDERS_COMMANDS,
        c.command(
            CreateOrder,
            owner.party,
            order_id=order_id,
            parties=[owner, buyer],
            terms=c.managed_terms(),
        ),
        c.command(SubmitOrder, owner.party, order_id=order_id),
        c.command(RejectOrder, c.OPERATOR, order_id=order_id, reason="Client unknown to us"),
    )
    [mail] = await wait_for_mails(stack.maildir, email_of(owner), timeout=60)
    assert mail["Subject"] == "Order rejected: Quarterly maintenance"
    assert "Client unknown to us" in text_of(mail)
    assert "duplicate it into a new draft" in text_of(mail)


async def test_M09_an_offer_that_expires_unanswered_emails_the_member_through_the_timers(
    services: dict[str, ServiceProcess],
    timers: ServiceProcess,
    stack: Any,
    prefix: str,
    run_id: str,
) -> None:
    order_id, owner, buyer = uuid.uuid4(), member(run_id), client(run_id)
    terms = c.managed_terms(offer_valid_until=datetime.now(UTC) + timedelta(seconds=8))
    await send(
        stack,
        prefix,
        topics.ORDERS_COMMANDS,
        c.command(CreateOrder, owner.party, order_id=order_id, parties=[owner, buyer], terms=terms),
        c.command(SubmitOrder, owner.party, order_id=order_id),
        c.command(ConfirmOrder, c.OPERATOR, order_id=order_id),
    )
    await wait_for_mails(stack.maildir, email_of(buyer), timeout=60)
    [mail] = await wait_for_mails(stack.maildir, email_of(owner), timeout=60)
    assert mail["Subject"] == "Order rejected: Quarterly maintenance"
    assert "the offer's validity passed without the client's answer" in text_of(mail)


async def test_P02_a_new_postpaid_order_emails_the_supplier(
    services: dict[str, ServiceProcess], stack: Any, prefix: str, run_id: str
) -> None:
    order_id = uuid.uuid4()
    customer = c.party("customer-f", Role.CUSTOMER, address(run_id, "customer"))
    supplier = c.party("supplier-f", Role.SUPPLIER, address(run_id, "supplier"))
    create = c.command(
        CreateOrder,
        customer.party,
        order_id=order_id,
        parties=[customer, supplier],
        terms=c.postpaid_terms(),
    )
    await send(stack, prefix, topics.ORDERS_COMMANDS, create)
    [mail] = await wait_for_mails(stack.maildir, email_of(supplier), timeout=60)
    assert mail["Subject"] == "New order to confirm: Piano lesson"
    assert "Price: 40.00 EUR" in text_of(mail)


async def account_known(stack: Any, database: str, account_id: str) -> None:
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(stack.mongodb_uri)
    try:
        async with asyncio.timeout(30):
            while (
                await mongo[service_database(database, "ordering")]["accounts"].find_one(
                    {"_id": account_id}
                )
                is None
            ):
                await asyncio.sleep(0.2)
    finally:
        await mongo.close()


async def test_A10_a_completed_account_order_emails_its_receipt_and_its_copy(
    services: dict[str, ServiceProcess],
    stack: Any,
    prefix: str,
    run_id: str,
    database_name: str,
) -> None:
    account_id, order_id = f"acc-{uuid.uuid4().hex[:8]}", uuid.uuid4()
    billing = address(run_id, "billing")
    opened = AccountOpened(
        message_id=uuid.uuid4(),
        occurred_at=datetime.now(UTC),
        correlation_id=uuid.uuid4(),
        actor=SYSTEM,
        account_id=account_id,
        name="Acme Ltd",
        contact=Contact(email=billing, name="Acme billing"),
        created_on=datetime.now(UTC).date() - timedelta(days=30),
    )
    await send(stack, prefix, topics.ACCOUNTS_EVENTS, opened)
    await account_known(stack, database_name, account_id)  # another topic, no order
    agent = OrderParty(id="agent-1", role=Role.AGENT)
    terms = AccountTerms(
        account_id=account_id,
        order_date=datetime.now(UTC).date(),
        currency="EUR",
        payment_method="card",
        items=[
            OrderItem(
                product_id="hosting",
                pricing_option="monthly",
                unit_price=Decimal("19.99"),
                quantity=3,
            )
        ],
    )
    acting = Party(id="agent-1", role=Role.AGENT)
    await send(
        stack,
        prefix,
        topics.ORDERS_COMMANDS,
        c.command(CreateOrder, acting, order_id=order_id, parties=[agent], terms=terms),
        c.command(PlaceOrder, acting, order_id=order_id),
    )
    events = await order_events(stack, prefix, order_id, "OrderCompleted", "OrderCommandRejected")
    assert [e["type"] for e in events if e["type"] == "OrderCommandRejected"] == []
    [receipt] = await wait_for_mails(stack.maildir, billing, timeout=60)
    assert receipt["Subject"] == f"Your receipt for order {order_id}"
    assert "Total: 59.97 EUR" in text_of(receipt)
    assert "Hello Acme billing," in text_of(receipt)

    await send(
        stack, prefix, topics.ORDERS_COMMANDS, c.command(ResendReceipt, acting, order_id=order_id)
    )
    _, copy = await wait_for_mails(stack.maildir, billing, count=2, timeout=60)
    assert copy["Subject"] == f"Your receipt for order {order_id} (copy)"
    assert "Total: 59.97 EUR" in text_of(copy)
