"""The notifier as a process on the real broker, store and SMTP server (X-06).

Events are published as ordering, invoicing and payments publish them (a plain aiokafka
producer); mail is read back from the SMTP catcher's Maildir and the outcomes from
`notifications.events`. Every recipient is unique to its test and this run.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from contracts import topics
from contracts.envelope import Event, Role
from contracts.orders import Flow, OrderCreated, OrderParty
from devstack import smtp
from devstack.services import ServiceProcess, metric_value
from notifier.config import NotifierSettings
from notifier.domain import CATALOGUE, learn, plan
from notifier.queries import deliveries_of_order
from notifier.rendering import Renderer
from servicekit.config import service_database
from tests.integration.notifier.notifier_mail import (
    address,
    html_of,
    mails_to,
    text_of,
    wait_for_mails,
    wait_for_template,
)
from tests.support.kafka import Record, Upstream, read_topic
from tests.support.services import service_env, start
from tests.unit.notifier import notifier_kit as k
from tests.unit.notifier.test_notifier_rendering import SAMPLES

pytestmark = pytest.mark.timeout(240)

MAX_ATTEMPTS = 4
CONFIRM_URL = "https://confirm.example.test/c?order={order_id}&token={token}"


@pytest.fixture(scope="module")
def prefix(topic_prefix: str) -> str:
    return topic_prefix + "nt."


@pytest.fixture(scope="module")
async def notifier(
    stack: Any, prefix: str, database_name: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[ServiceProcess]:
    env = service_env(
        stack,
        prefix,
        database_name,
        SMTP_URL=stack.smtp_url,
        ORDERFLOW_EMAIL_MAX_ATTEMPTS=str(MAX_ATTEMPTS),
        ORDERFLOW_EMAIL_RETRY_FIRST_DELAY="0.2",
        ORDERFLOW_EMAIL_RETRY_MAX_DELAY="0.5",
        ORDERFLOW_EMAIL_RETRY_WITHIN="20",
        ORDERFLOW_EMAIL_RECOVERY_INTERVAL="1",
        ORDERFLOW_CONFIRMATION_URL=CONFIRM_URL,
    )
    process = await start("notifier", env, tmp_path_factory.mktemp("logs"))
    yield process
    assert process.terminate() == 0


async def publish(stack: Any, prefix: str, topic: str, *events: Event) -> None:
    async with Upstream(stack.kafka_bootstrap, prefix) as upstream:
        await upstream.send(topic, *events)


async def outcomes(
    stack: Any, prefix: str, cause: uuid.UUID, n: int = 1, timeout: float = 30.0
) -> list[dict[str, Any]]:
    def about(records: Sequence[Record]) -> list[dict[str, Any]]:
        return [r.json() for r in records if r.json().get("cause_id") == str(cause)]

    records = await read_topic(
        stack.kafka_bootstrap,
        prefix + topics.NOTIFICATIONS_EVENTS,
        lambda rs: len(about(rs)) >= n,
        timeout=timeout,
    )
    return about(records)


def person(run_id: str, pid: str, role: Role, name: str = "") -> OrderParty:
    return k.party(pid, role, address(run_id, role.value), name)


def email_of(p: OrderParty) -> str:
    assert p.contact is not None
    return str(p.contact.email)


async def test_M05_M08_the_client_receives_the_confirmation_link_by_email(
    notifier: ServiceProcess, stack: Any, prefix: str, run_id: str
) -> None:
    client = person(run_id, "client-7", Role.CLIENT, "Clara Client")
    event = k.sent_to_client(client)
    await publish(stack, prefix, topics.ORDERS_EVENTS, event)

    [mail] = await wait_for_mails(stack.maildir, email_of(client))
    assert mail["To"].addresses[0].addr_spec == email_of(client)
    assert mail["Subject"] == "Please confirm your order"
    token = event.confirmation_token
    link = f"https://confirm.example.test/c?order={event.order_id}&token={token}"
    assert link in text_of(mail)
    assert link.replace("&", "&amp;") in html_of(mail)
    assert "Hello Clara Client," in text_of(mail)

    [sent] = await outcomes(stack, prefix, event.message_id)
    assert sent["type"] == "EmailSent"
    assert (sent["template"], sent["recipient_role"], sent["recipient_id"]) == (
        "client_confirmation_request",
        "client",
        "client-7",
    )
    assert sent["email_message_id"] == mail["Message-ID"]
    assert sent["causation_id"] == str(event.message_id)
    assert sent["correlation_id"] == str(event.correlation_id)


async def test_X06_a_duplicate_event_sends_nothing_more(
    notifier: ServiceProcess, stack: Any, prefix: str, run_id: str
) -> None:
    customer = person(run_id, "customer-d", Role.CUSTOMER)
    event = k.wire(k.receipt_resent().model_copy(update={"receipt_to": customer.contact}))
    await publish(stack, prefix, topics.ORDERS_EVENTS, event, event)
    await wait_for_mails(stack.maildir, email_of(customer))
    await publish(stack, prefix, topics.ORDERS_EVENTS, event)  # and once more, much later
    await outcomes(stack, prefix, event.message_id)
    await asyncio.sleep(3)
    assert len(mails_to(stack.maildir, email_of(customer))) == 1
    assert len(await outcomes(stack, prefix, event.message_id, timeout=2)) == 1


async def test_X06_a_server_refusing_for_a_while_gets_retries_and_the_mail_arrives_once(
    notifier: ServiceProcess, stack: Any, prefix: str, run_id: str
) -> None:
    customer = person(run_id, "customer-r", Role.CUSTOMER)
    smtp.refuse_next(2, stack.maildir, rcpt_contains=email_of(customer))
    event = k.wire(k.receipt_resent().model_copy(update={"receipt_to": customer.contact}))
    await publish(stack, prefix, topics.ORDERS_EVENTS, event)

    [sent] = await outcomes(stack, prefix, event.message_id)
    assert (sent["type"], sent["attempts"]) == ("EmailSent", 3)
    assert len(mails_to(stack.maildir, email_of(customer))) == 1
    assert smtp.pending_refusals(stack.maildir, rcpt_contains=email_of(customer)) == 0


async def test_X06_a_server_that_keeps_refusing_yields_email_failed(
    notifier: ServiceProcess, stack: Any, prefix: str, run_id: str
) -> None:
    customer = person(run_id, "customer-f", Role.CUSTOMER)
    smtp.refuse_next(MAX_ATTEMPTS, stack.maildir, rcpt_contains=email_of(customer))
    event = k.wire(k.receipt_resent().model_copy(update={"receipt_to": customer.contact}))
    await publish(stack, prefix, topics.ORDERS_EVENTS, event)

    [failed] = await outcomes(stack, prefix, event.message_id)
    assert failed["type"] == "EmailFailed"
    assert (failed["reason"], failed["attempts"], failed["smtp_code"]) == (
        "retries_exhausted",
        MAX_ATTEMPTS,
        451,
    )
    assert email_of(customer) not in json.dumps(failed)
    assert mails_to(stack.maildir, email_of(customer)) == []
    assert smtp.pending_refusals(stack.maildir, rcpt_contains=email_of(customer)) == 0


async def test_X06_a_name_carrying_a_bcc_header_reaches_its_recipient_and_nobody_else(
    notifier: ServiceProcess, stack: Any, prefix: str, run_id: str
) -> None:
    evil = address(run_id, "evil")
    client = person(run_id, "client-e", Role.CLIENT, f"Eve\r\nBcc: {evil}")
    event = k.sent_to_client(client)
    await publish(stack, prefix, topics.ORDERS_EVENTS, event)

    [mail] = await wait_for_mails(stack.maildir, email_of(client))
    assert mail[smtp.ENVELOPE_TO_HEADER] == email_of(client)
    assert mail["Bcc"] is None
    assert [a.addr_spec for a in mail["To"].addresses] == [email_of(client)]
    await outcomes(stack, prefix, event.message_id)
    assert mails_to(stack.maildir, evil) == []


async def test_P02_P05_P13_postpaid_emails_go_to_the_parties_the_order_was_created_with(
    notifier: ServiceProcess, stack: Any, prefix: str, run_id: str, database_name: str
) -> None:
    order_id = uuid.uuid4()
    customer = person(run_id, "customer-p", Role.CUSTOMER, "Cora")
    supplier = person(run_id, "supplier-p", Role.SUPPLIER, "Sam")
    on_order = {"order_id": order_id}
    created = k.wire(k.postpaid_created(customer, supplier).model_copy(update=on_order))
    edited = k.wire(k.edited(Role.CUSTOMER).model_copy(update=on_order))
    done = k.wire(k.service_done().model_copy(update=on_order))
    await publish(stack, prefix, topics.ORDERS_EVENTS, created, edited, done)

    [new_order] = await wait_for_mails(stack.maildir, email_of(supplier))
    assert new_order["Subject"] == "New order to confirm: Piano lesson"
    assert "Please confirm the order or edit it by" in text_of(new_order)
    edit, execution = await wait_for_mails(stack.maildir, email_of(customer), count=2)
    assert {edit["Subject"], execution["Subject"]} == {
        "Order changed, please confirm: Piano lesson",
        "Please confirm the service was provided: Piano lesson",
    }
    await outcomes(stack, prefix, done.message_id)

    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(stack.mongodb_uri, tz_aware=True)
    try:
        views = await deliveries_of_order(
            client[service_database(database_name, "notifier")], order_id
        )
    finally:
        await client.close()
    assert sorted((v.template, v.recipient_id, v.status) for v in views) == [
        ("execution_to_confirm", "customer-p", "sent"),
        ("order_awaiting_confirmation", "supplier-p", "sent"),
        ("order_edit_awaiting_confirmation", "customer-p", "sent"),
    ]


async def test_X06_an_email_for_an_order_the_notifier_never_learned_fails_without_a_guess(
    notifier: ServiceProcess, stack: Any, prefix: str
) -> None:
    event = k.wire(k.rejected().model_copy(update={"order_id": uuid.uuid4()}))
    await publish(stack, prefix, topics.ORDERS_EVENTS, event)
    [failed] = await outcomes(stack, prefix, event.message_id)
    assert (failed["type"], failed["reason"], failed["recipient_role"]) == (
        "EmailFailed",
        "no_recipient_address",
        "member",
    )


async def test_P16_an_overdue_payment_emails_the_customer_and_the_supplier(
    notifier: ServiceProcess, stack: Any, prefix: str, run_id: str
) -> None:
    customer = person(run_id, "customer-o", Role.CUSTOMER)
    supplier = person(run_id, "supplier-o", Role.SUPPLIER)
    event = k.wire(
        k.payment_overdue().model_copy(update={"customer": customer, "supplier": supplier})
    )
    await publish(stack, prefix, topics.PAYMENTS_EVENTS, event)
    [to_customer] = await wait_for_mails(stack.maildir, email_of(customer))
    [to_supplier] = await wait_for_mails(stack.maildir, email_of(supplier))
    assert to_customer["Subject"] == "Payment overdue: 40.00 EUR"
    assert to_supplier["Subject"] == "Payment overdue: you may open a claim"
    assert len(await outcomes(stack, prefix, event.message_id, n=2)) == 2


async def test_M12_an_issued_invoice_is_emailed_to_the_client(
    notifier: ServiceProcess, stack: Any, prefix: str, run_id: str
) -> None:
    client = person(run_id, "client-i", Role.CLIENT)
    event = k.wire(k.invoice_issued().model_copy(update={"client": client}))
    await publish(stack, prefix, topics.INVOICING_EVENTS, event)
    [mail] = await wait_for_mails(stack.maildir, email_of(client))
    assert mail["Subject"].startswith("Invoice 42")
    assert "Total: 100.00 EUR" in text_of(mail)


def test_X06_logs_name_neither_addresses_nor_tokens(notifier: ServiceProcess, run_id: str) -> None:
    text = Path(notifier.log_path).read_text()
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    assert any(line.get("msg") == "email sent" for line in lines)
    assert f"@{run_id}.example.com" not in text
    assert "token=" not in text
    assert "confirm.example.test" not in text


def test_X06_metrics_count_sent_failed_and_retried_emails(notifier: ServiceProcess) -> None:
    text = notifier.metrics()
    assert metric_value(text, "orderflow_emails_sent_total") >= 1
    assert metric_value(text, "orderflow_emails_failed_total", reason="retries_exhausted") >= 1
    assert metric_value(text, "orderflow_email_attempts_total", outcome="temporary") >= 1


def relabel(event: Event, order_id: uuid.UUID, parties: dict[Role, OrderParty]) -> Event:
    """`event` about another order, its parties swapped for this test's unique ones."""
    update: dict[str, Any] = {"order_id": order_id}
    for field in ("client", "member", "customer", "supplier"):
        value = getattr(event, field, None)
        if isinstance(value, OrderParty):
            update[field] = parties[value.role]
    if getattr(event, "receipt_to", None) is not None:
        update["receipt_to"] = parties[Role.CUSTOMER].contact
    if isinstance(getattr(event, "parties", None), list):
        update["parties"] = [parties.get(p.role, p) for p in event.parties]  # type: ignore[attr-defined]
    if hasattr(event, "invoice_id"):
        update["invoice_id"] = f"order/{order_id}/1"
    return k.wire(event.model_copy(update=update))


async def facts_known(stack: Any, database: str, order_id: uuid.UUID) -> None:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(stack.mongodb_uri)
    try:
        async with asyncio.timeout(30):
            while (
                await client[service_database(database, "notifier")]["order_facts"].find_one(
                    {"_id": str(order_id)}
                )
                is None
            ):
                await asyncio.sleep(0.1)
    finally:
        await client.close()


CREATED: dict[Flow, Callable[[], OrderCreated]] = {
    Flow.MANAGED: k.managed_created,
    Flow.POSTPAID: k.postpaid_created,
    Flow.ACCOUNT: k.account_created,
}
TOPIC_OF = {row.event_type: row.topic for row in CATALOGUE.notices}


@pytest.mark.parametrize("event_type", sorted(TOPIC_OF))
async def test_X06_every_email_of_the_table_arrives_with_its_recipient_subject_and_text(
    notifier: ServiceProcess,
    stack: Any,
    prefix: str,
    run_id: str,
    database_name: str,
    event_type: str,
) -> None:
    order_id = uuid.uuid4()
    parties = {
        role: person(run_id, f"{role.value}-x", role, f"{role.value.title()} Tester")
        for role in (Role.MEMBER, Role.CLIENT, Role.SUPPLIER, Role.CUSTOMER, Role.AGENT)
    }
    sample, _ = SAMPLES[event_type]()
    event = relabel(sample, order_id, parties)
    flow = getattr(
        event, "flow", Flow.POSTPAID if TOPIC_OF[event_type] == "payments.events" else Flow.MANAGED
    )
    created = relabel(CREATED[flow](), order_id, parties)
    assert isinstance(created, OrderCreated)
    if event_type != "OrderCreated":
        await publish(stack, prefix, topics.ORDERS_EVENTS, created)
        # Another topic than ordering's has no order with it: wait until the facts are in.
        await facts_known(stack, database_name, order_id)
    await publish(stack, prefix, TOPIC_OF[event_type], event)

    facts = learn(created)
    # The notifier process's own settings: the same defaults (the review link's secret and
    # validity among them) and the confirmation URL it was started with.
    policy = NotifierSettings(confirmation_url=CONFIRM_URL).policy()
    expected = plan(event, facts, policy)
    assert expected, "the sample plans at least one email"
    for email in expected:
        assert email.recipient.address is not None
        rendered = Renderer().render(email)
        [mail] = await wait_for_template(stack.maildir, email.recipient.address, email.template)
        assert mail["X-Orderflow-Template"] == email.template
        assert mail["To"].addresses[0].addr_spec == email.recipient.address
        assert mail["Subject"] == rendered.subject
        assert text_of(mail) == rendered.text
    outcomes_seen = await outcomes(stack, prefix, event.message_id, n=len(expected))
    assert {o["type"] for o in outcomes_seen} == {"EmailSent"}
