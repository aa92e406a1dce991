"""What an integrator sees of ordering on the real broker, with nothing but the contract.

X-13: an invalid command whose envelope reads is answered on `orders.events` with
`OrderCommandRejected` (reason `invalid`, its field errors); only an unreadable envelope
goes to `orders.commands.dlq`. Every event carries CloudEvents binary-mode headers.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import pytest

from contracts import topics
from contracts.envelope import Role
from contracts.orders import CreateOrder
from devstack.services import ServiceProcess
from orderflow import commands as c
from tests.support.kafka import Record, Upstream, count, read_topic
from tests.support.services import service_env

pytestmark = pytest.mark.timeout(240)


@pytest.fixture(scope="module")
def prefix(topic_prefix: str) -> str:
    return f"{topic_prefix}contract."


@pytest.fixture(scope="module")
def ordering_env(stack: Any, prefix: str, database_name: str) -> dict[str, str]:
    return service_env(stack, prefix, f"{database_name}_contract")


def create(order_id: uuid.UUID, client_email: str = "client1@example.com") -> CreateOrder:
    member = c.member()
    client = c.party("client-1", Role.CLIENT, client_email)
    return c.command(
        CreateOrder, member.party, order_id=order_id, parties=[member, client],
        terms=c.managed_terms(),
    )  # fmt: skip


def keyed(order_id: uuid.UUID, n: int = 1) -> Any:
    def until(records: Sequence[Record]) -> bool:
        return len([r for r in records if r.key == str(order_id).encode()]) >= n

    return until


async def events_of(stack: Any, prefix: str, order_id: uuid.UUID, n: int = 1) -> list[Record]:
    records = await read_topic(
        stack.kafka_bootstrap, prefix + topics.ORDERS_EVENTS, keyed(order_id, n)
    )
    return [r for r in records if r.key == str(order_id).encode()]


async def test_X13_an_invalid_command_is_answered_with_its_field_errors_and_not_dead_lettered(
    ordering: ServiceProcess, stack: Any, prefix: str
) -> None:
    order_id = uuid.uuid4()
    body = json.loads(create(order_id).model_dump_json())
    body["terms"]["offer_valid_until"] = "next tuesday"
    body["admin"] = True
    unreadable = {**body, "message_id": "not-a-uuid", "order_id": str(order_id)}
    async with Upstream(stack.kafka_bootstrap, prefix) as upstream:
        await upstream.send_raw(
            topics.ORDERS_COMMANDS, json.dumps(unreadable).encode(), key=str(order_id).encode()
        )
        await upstream.send_raw(
            topics.ORDERS_COMMANDS, json.dumps(body).encode(), key=str(order_id).encode()
        )

    [answer] = await events_of(stack, prefix, order_id)
    rejected = answer.json()
    assert rejected["type"] == "OrderCommandRejected"
    assert rejected["reason"] == "invalid"
    assert rejected["command_id"] == body["message_id"]
    assert rejected["command_type"] == "CreateOrder"
    assert {(e["field"], e["code"]) for e in rejected["errors"]} >= {("admin", "extra_forbidden")}
    assert any(e["field"].endswith("offer_valid_until") for e in rejected["errors"])

    letters = await read_topic(
        stack.kafka_bootstrap, prefix + topics.dlq(topics.ORDERS_COMMANDS), count(1)
    )
    assert [json.loads(r.value)["message_id"] for r in letters] == ["not-a-uuid"], (
        "only the unreadable envelope is a dead letter"
    )


async def test_X13_a_client_email_on_a_reserved_domain_is_accepted_as_the_schema_says(
    ordering: ServiceProcess, stack: Any, prefix: str
) -> None:
    order_id = uuid.uuid4()
    async with Upstream(stack.kafka_bootstrap, prefix) as upstream:
        await upstream.send(topics.ORDERS_COMMANDS, create(order_id, "client@shop.example.test"))
    [event] = await events_of(stack, prefix, order_id)
    assert event.json()["type"] == "OrderCreated"


async def test_every_event_ordering_publishes_carries_cloudevents_binary_mode_headers(
    ordering: ServiceProcess, stack: Any, prefix: str
) -> None:
    order_id = uuid.uuid4()
    async with Upstream(stack.kafka_bootstrap, prefix) as upstream:
        await upstream.send(topics.ORDERS_COMMANDS, create(order_id))
    [event] = await events_of(stack, prefix, order_id)
    body = event.json()
    headers = event.headers

    assert headers["ce_specversion"] == "1.0"
    assert headers["ce_id"] == body["message_id"]
    assert headers["ce_source"] == "/orderflow/ordering"
    assert headers["ce_type"] == "orderflow.orders.events.OrderCreated"
    assert headers["ce_time"].endswith("Z")
    assert datetime.fromisoformat(headers["ce_time"]) == datetime.fromisoformat(body["occurred_at"])
    assert headers["content-type"] == "application/json"
    assert headers["message-type"] == "OrderCreated", "the existing headers are kept"
