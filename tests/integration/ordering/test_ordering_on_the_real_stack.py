"""ordering as a process on the real broker and store, driven like upstream drives it.

A plain aiokafka producer publishes commands; the events are read back from
`orders.events` and the orders from the document store.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from contracts import topics
from contracts.envelope import Message
from contracts.orders import CreateOrder, PlaceOrder, SubmitOrder
from devstack.services import ServiceProcess
from orderflow import commands as c
from servicekit.aggregates import AggregateStore
from servicekit.config import service_database
from tests.support.kafka import Record, Upstream, eventually, read_topic

pytestmark = pytest.mark.timeout(240)


async def snapshot(stack: Any, database: str, order_id: uuid.UUID, status: str) -> dict[str, Any]:
    """The order's stored snapshot once it shows `status` (it is written after the events)."""
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(stack.mongodb_uri)
    collection = mongo[service_database(database, "ordering")]["orders"]

    async def check() -> dict[str, Any] | None:
        doc = await collection.find_one({"_id": str(order_id)})
        return doc if doc is not None and doc["status"] == status else None

    try:
        doc = dict(await eventually(check))
        # The snapshot holds the state; the events are in the commits (issue 18).
        events = await AggregateStore(collection.database, "orders").events(str(order_id))
        return doc | {"events": events}
    finally:
        await mongo.close()


def of_order(order_id: uuid.UUID, n: int) -> Any:
    def until(records: Sequence[Record]) -> bool:
        return len(for_order(records, order_id)) >= n

    return until


def for_order(records: Sequence[Record], order_id: uuid.UUID) -> list[dict[str, Any]]:
    return [r.json() for r in records if r.key == str(order_id).encode()]


def create_managed(order_id: uuid.UUID) -> CreateOrder:
    member, client = c.member(), c.client()
    return c.command(
        CreateOrder,
        member.party,
        order_id=order_id,
        parties=[member, client],
        terms=c.managed_terms(),
    )


async def exchange(
    stack: Any,
    prefix: str,
    order_id: uuid.UUID,
    *commands: Message,
    answers: int,
    topic: str = topics.ORDERS_EVENTS,
) -> list[dict[str, Any]]:
    """Send commands as upstream does; return the order's first `answers` messages on `topic`."""
    async with Upstream(stack.kafka_bootstrap, prefix) as upstream:
        await upstream.send(topics.ORDERS_COMMANDS, *commands)
    records = await read_topic(stack.kafka_bootstrap, prefix + topic, of_order(order_id, answers))
    return for_order(records, order_id)


async def test_a_create_command_from_a_plain_producer_yields_order_created_and_a_stored_order(
    ordering: ServiceProcess, stack: Any, topic_prefix: str, database_name: str
) -> None:
    order_id = uuid.uuid4()
    create = create_managed(order_id)
    [event] = await exchange(stack, topic_prefix, order_id, create, answers=1)
    assert event["type"] == "OrderCreated"
    assert event["status"] == "draft"
    assert event["causation_id"] == str(create.message_id)
    assert event["correlation_id"] == str(create.correlation_id)

    stored = await snapshot(stack, database_name, order_id, "draft")
    assert stored["parties"] == ["client-1", "member-1"]


async def test_the_same_create_command_delivered_twice_creates_one_order_and_one_event_set(
    ordering: ServiceProcess, stack: Any, topic_prefix: str, database_name: str
) -> None:
    order_id = uuid.uuid4()
    create = create_managed(order_id)
    submit = c.command(SubmitOrder, create.actor, order_id=order_id)
    # each copy is answered again, with the same events (the same ids).
    answers = await exchange(
        stack, topic_prefix, order_id, create, create, submit, submit, answers=4
    )
    events = list({e["message_id"]: e for e in answers}.values())
    assert [e["type"] for e in events] == ["OrderCreated", "OrderSubmitted"]

    await snapshot(stack, database_name, order_id, "operator_review")
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(stack.mongodb_uri)
    commits = await mongo[service_database(database_name, "ordering")][
        "orders_commits"
    ].count_documents({"aggregate_id": str(order_id)})
    await mongo.close()
    assert commits == 2, "one commit per distinct command"


async def test_a_command_from_a_party_not_on_the_order_is_rejected_and_changes_nothing(
    ordering: ServiceProcess, stack: Any, topic_prefix: str, database_name: str
) -> None:
    order_id = uuid.uuid4()
    intruder = c.command(SubmitOrder, c.member("9").party, order_id=order_id)
    created, rejected = await exchange(
        stack, topic_prefix, order_id, create_managed(order_id), intruder, answers=2
    )
    assert created["type"] == "OrderCreated", (created.get("reason"), created.get("message"))
    assert rejected["type"] == "OrderCommandRejected"
    assert rejected["reason"] == "not_authorized"
    assert rejected["causation_id"] == str(intruder.message_id)

    stored = await snapshot(stack, database_name, order_id, "draft")
    assert [e["type"] for e in stored["events"]] == ["OrderCreated"], (
        "the rejection changed nothing"
    )


async def test_a_command_for_an_unknown_order_is_rejected_with_unknown_order(
    ordering: ServiceProcess, stack: Any, topic_prefix: str
) -> None:
    order_id = uuid.uuid4()
    submit = c.command(SubmitOrder, c.member().party, order_id=order_id)
    [rejected] = await exchange(stack, topic_prefix, order_id, submit, answers=1)
    assert (rejected["type"], rejected["reason"]) == ("OrderCommandRejected", "unknown_order")


async def test_P02_a_new_postpaid_order_asks_the_timer_service_for_its_24h_window(
    ordering: ServiceProcess, stack: Any, topic_prefix: str
) -> None:
    order_id = uuid.uuid4()
    customer, supplier = c.customer(), c.supplier()
    create = c.command(
        CreateOrder, customer.party, order_id=order_id, parties=[customer, supplier],
        terms=c.postpaid_terms(),
    )  # fmt: skip
    [schedule] = await exchange(
        stack, topic_prefix, order_id, create, answers=1, topic=topics.TIMERS_COMMANDS
    )
    assert schedule["type"] == "ScheduleDeadline"
    assert schedule["owner"] == "ordering"
    assert schedule["deadline_id"].startswith(f"{order_id}:confirmation_window:")


async def account_known(stack: Any, database: str, account_id: str) -> None:
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(stack.mongodb_uri)
    try:
        await eventually(
            lambda: mongo[service_database(database, "ordering")]["accounts"].find_one(
                {"_id": account_id}
            )
        )
    finally:
        await mongo.close()


async def test_A01_an_account_order_is_placed_once_its_account_is_known(
    ordering: ServiceProcess, stack: Any, topic_prefix: str, database_name: str
) -> None:
    account_id, agent = f"acc-{uuid.uuid4().hex[:8]}", c.agent()
    early, order_id = uuid.uuid4(), uuid.uuid4()
    async with Upstream(stack.kafka_bootstrap, topic_prefix) as upstream:
        create_early = c.command(
            CreateOrder,
            agent.party,
            order_id=early,
            parties=[agent],
            terms=c.account_terms(account_id),
        )
        await upstream.send(topics.ORDERS_COMMANDS, create_early)
        await read_topic(
            stack.kafka_bootstrap, topic_prefix + topics.ORDERS_EVENTS, of_order(early, 1)
        )
        await upstream.send(
            topics.ACCOUNTS_EVENTS, c.account_opened(account_id, "billing@acme.example")
        )
        await account_known(stack, database_name, account_id)  # as the billing system would
        await upstream.send(
            topics.ORDERS_COMMANDS,
            c.command(
                CreateOrder,
                agent.party,
                order_id=order_id,
                parties=[agent],
                terms=c.account_terms(account_id),
            ),
            c.command(PlaceOrder, agent.party, order_id=order_id),
        )
    records = await read_topic(
        stack.kafka_bootstrap, topic_prefix + topics.ORDERS_EVENTS, of_order(order_id, 2)
    )
    [refused] = for_order(records, early)
    assert (refused["type"], refused["reason"]) == ("OrderCommandRejected", "unknown_account")
    created, placed = for_order(records, order_id)[:2]
    assert created["type"] == "OrderCreated", (created.get("reason"), created.get("message"))
    assert placed["type"] in {"OrderPlaced", "OrderCompleted"}, placed


def test_log_lines_are_json_with_message_position_and_outcome_and_no_email(
    ordering: ServiceProcess,
) -> None:
    text = Path(ordering.log_path).read_text()
    handled = [json.loads(line) for line in text.splitlines() if '"msg": "handled"' in line]
    assert handled, "the service logged its messages"
    for line in handled:
        assert line["service"] == "ordering"
        for key in ("message_id", "correlation_id", "topic", "partition", "offset", "outcome"):
            assert key in line, key
        aggregate = "account_id" if line["topic"].endswith("accounts.events") else "order_id"
        assert aggregate in line, line
    assert "@example.com" not in text and "@acme.example" not in text


async def test_A01_an_account_opened_upstream_is_answered_on_accounts_answers_then_orders_against_it_are_taken(
    ordering: ServiceProcess, stack: Any, topic_prefix: str
) -> None:
    account_id = f"acc-{uuid.uuid4().hex[:8]}"
    opened = c.account_opened(account_id, "billing@example.com")
    forged = opened.model_copy(
        update={
            "message_id": uuid.uuid4(),
            "account_id": f"{account_id}-forged",
            "actor": c.agent().party,
        }
    )
    async with Upstream(stack.kafka_bootstrap, topic_prefix) as upstream:
        await upstream.send(topics.ACCOUNTS_EVENTS, opened, forged)

    def answered(records: Sequence[Record]) -> bool:
        ids = {r.json().get("event_id") for r in records}
        return {str(opened.message_id), str(forged.message_id)} <= ids

    records = await read_topic(
        stack.kafka_bootstrap, topic_prefix + topics.ACCOUNTS_ANSWERS, answered
    )
    answers = {r.json()["event_id"]: r for r in records}
    registered, rejected = answers[str(opened.message_id)], answers[str(forged.message_id)]
    assert registered.key == account_id.encode()
    assert registered.json()["type"] == "AccountRegistered"
    assert registered.json()["correlation_id"] == str(opened.correlation_id)
    assert rejected.json()["type"] == "AccountRejected"
    assert rejected.json()["reason"] == "not_authorized"

    # Once registered, an order for the account is taken at once: no sleep upstream.
    order_id = uuid.uuid4()
    agent = c.agent()
    create = c.command(
        CreateOrder,
        agent.party,
        order_id=order_id,
        parties=[agent],
        terms=c.account_terms(account_id),
    )
    [created] = await exchange(stack, topic_prefix, order_id, create, answers=1)
    assert created["type"] == "OrderCreated", created.get("reason")
