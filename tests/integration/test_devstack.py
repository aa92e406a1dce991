"""The real servers answer like the services will use them: Kafka, FerretDB, SMTP catcher."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from pymongo import AsyncMongoClient, MongoClient

from devstack import StackEndpoints, smtp


def _mail(to: str, subject: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "orders@orderflow.test"
    message["To"] = to
    message["Subject"] = subject
    message.set_content(f"body of {subject}")
    return message


async def test_kafka_answers_a_metadata_call(stack: StackEndpoints) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=stack.kafka_bootstrap)
    await admin.start()
    try:
        cluster = await admin.describe_cluster()
    finally:
        await admin.close()
    assert cluster["brokers"], cluster
    assert cluster["controller_id"] >= 0


async def test_kafka_round_trips_a_message_through_a_topic(
    stack: StackEndpoints, topic_prefix: str, run_id: str
) -> None:
    topic = f"{topic_prefix}devstack.round-trip"
    admin = AIOKafkaAdminClient(bootstrap_servers=stack.kafka_bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
    finally:
        await admin.close()

    producer = AIOKafkaProducer(bootstrap_servers=stack.kafka_bootstrap, enable_idempotence=True)
    await producer.start()
    try:
        await producer.send_and_wait(topic, key=b"order-1", value=b"placed")
    finally:
        await producer.stop()

    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=stack.kafka_bootstrap,
        group_id=f"{run_id}.devstack-test",
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        record = await consumer.getone()
    finally:
        await consumer.stop()
    assert (record.key, record.value) == (b"order-1", b"placed")


async def test_ferretdb_stores_a_document_and_reads_it_back(
    stack: StackEndpoints, database_name: str
) -> None:
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(stack.mongodb_uri)
    try:
        orders = client[database_name]["devstack_check"]
        await orders.insert_one({"_id": "order-1", "status": "placed", "total_cents": 1250})
        found = await orders.find_one({"_id": "order-1"})
    finally:
        await client.close()
    assert found == {"_id": "order-1", "status": "placed", "total_cents": 1250}


def test_smtp_catcher_stores_a_sent_mail_in_the_maildir(stack: StackEndpoints, run_id: str) -> None:
    recipient = f"{run_id}.stored@customer.test"
    with smtplib.SMTP(stack.smtp_host, stack.smtp_port, timeout=10) as client:
        client.send_message(_mail(recipient, f"{run_id} stored"))

    # The catcher writes the file before it answers 250, so no waiting is needed.
    stored = [m for m in smtp.messages(stack.maildir) if smtp.sent_to(m, recipient)]
    assert len(stored) == 1
    assert stored[0]["Subject"] == f"{run_id} stored"
    assert stored[0].get_content().strip() == f"body of {run_id} stored"


def test_smtp_catcher_refuses_the_next_n_mails_with_a_4xx_then_accepts_again(
    stack: StackEndpoints, run_id: str
) -> None:
    recipient = f"{run_id}.refused@customer.test"
    # Scoped to this run's recipient, so other runs sharing the catcher are unaffected.
    smtp.refuse_next(2, stack.maildir, rcpt_contains=recipient)

    codes: list[int] = []
    for attempt in range(2):
        with (
            smtplib.SMTP(stack.smtp_host, stack.smtp_port, timeout=10) as client,
            pytest.raises(smtplib.SMTPDataError) as refused,
        ):
            client.send_message(_mail(recipient, f"{run_id} attempt {attempt}"))
        codes.append(refused.value.smtp_code)
    with smtplib.SMTP(stack.smtp_host, stack.smtp_port, timeout=10) as client:
        client.send_message(_mail(recipient, f"{run_id} attempt 2"))

    assert codes == [451, 451]
    assert smtp.pending_refusals(stack.maildir, rcpt_contains=recipient) == 0
    stored = [m["Subject"] for m in smtp.messages(stack.maildir) if smtp.sent_to(m, recipient)]
    assert stored == [f"{run_id} attempt 2"]


def test_ferretdb_looks_documents_up_by_id_through_its_index_not_a_scan(
    stack: StackEndpoints, database_name: str
) -> None:
    """devstack's FerretDB build carries the one-line fix of docs/ferretdb.md."""
    client: MongoClient[dict[str, Any]] = MongoClient(stack.mongodb_uri)
    with client:
        db = client[database_name]
        if "ferretdbVersion" not in db.command("buildInfo"):
            pytest.skip("the store is not FerretDB: MongoDB plans _id lookups its own way")
        db["probe_ids"].insert_one({"_id": "probe"})
        plan = db.command("explain", {"find": "probe_ids", "filter": {"_id": "probe"}})
    steps = " ".join(plan["queryPlanner"]["Plan"])
    assert "USING INDEX" in steps, steps
