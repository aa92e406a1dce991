"""docs/asyncapi and docs/schemas are the whole contract, and they say what the code does.

Keys, headers, correlation, rejection reasons with their meanings, examples, and the
schema mode (what the services accept, or what they write) are checked against the
models and `contracts.channels`, the data they are generated from.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any

import pytest

from contracts import accounts, invoicing, notifications, payments, timers, topics
from contracts.channels import CHANNELS, key_of
from contracts.envelope import Message
from contracts.examples import example
from contracts.orders import ORDER_COMMANDS
from contracts.orders import values as order_values
from contracts.orders.events import OrderCommandRejected
from servicekit import asyncapi, schemas

#: Each rejection event, its reason codes and their meanings.
REASONS: list[tuple[type[Message], type[StrEnum], dict[str, str]]] = [
    (OrderCommandRejected, order_values.RejectionReason, order_values.REJECTION_REASON_MEANINGS),
    (
        payments.PaymentCommandRejected,
        payments.PaymentRejectionReason,
        payments.PAYMENT_REJECTION_REASON_MEANINGS,
    ),
    (
        invoicing.InvoicingCommandRejected,
        invoicing.InvoicingRejectionReason,
        invoicing.INVOICING_REJECTION_REASON_MEANINGS,
    ),
    (
        timers.TimerCommandRejected,
        timers.TimerRejectionReason,
        timers.TIMER_REJECTION_REASON_MEANINGS,
    ),
    (
        notifications.EmailFailed,
        notifications.EmailFailureReason,
        notifications.EMAIL_FAILURE_REASON_MEANINGS,
    ),
    (
        accounts.AccountRejected,
        accounts.AccountRejectionReason,
        accounts.ACCOUNT_REJECTION_REASON_MEANINGS,
    ),
]

UPSTREAM = [
    (channel, cls)
    for channel in CHANNELS
    if channel.upstream
    for cls in channel.messages.classes.values()
]


def test_the_committed_json_schemas_are_what_the_contracts_generate_now() -> None:
    fresh = schemas.files()
    for path, text in fresh.items():
        on_disk = schemas.DOCS / path
        assert on_disk.exists(), f"missing {on_disk}; run: make docs"
        assert on_disk.read_text() == text, f"{on_disk} is stale; run: make docs"
    committed = {p.relative_to(schemas.DOCS).as_posix() for p in schemas.DOCS.rglob("*.json")}
    assert committed == set(fresh), "docs/schemas has files no message needs; run: make docs"


def test_every_message_of_every_topic_has_its_schema_file_listed_in_the_index() -> None:
    index = json.loads((schemas.DOCS / "index.json").read_text())
    for channel in CHANNELS:
        listed = index["topics"][channel.topic]["messages"]
        assert sorted(listed) == channel.messages.names()
        for entry in listed.values():
            assert (schemas.DOCS / entry["schema"]).exists()


@pytest.mark.parametrize(
    ("event", "codes", "meanings"), REASONS, ids=[r[0].__name__ for r in REASONS]
)
def test_every_rejection_reason_of_every_service_is_published_as_an_enum_with_its_meaning(
    event: type[Message], codes: type[StrEnum], meanings: dict[str, str]
) -> None:
    assert all(meanings.get(code, "").strip() for code in codes), (
        f"{codes.__name__} lacks a meaning"
    )
    reason = event.model_json_schema(mode="serialization")["properties"]["reason"]
    assert reason["enum"] == [c.value for c in codes]
    assert [o["const"] for o in reason["oneOf"]] == reason["enum"]
    assert all(o["description"] == meanings[o["const"]] for o in reason["oneOf"])


def test_a_rejection_with_a_code_added_later_is_still_read_by_older_consumers() -> None:
    raw = example(accounts.AccountOpened)
    assert raw is not None
    rejected = accounts.AccountRejected(
        message_id=raw.message_id,
        occurred_at=raw.occurred_at,
        correlation_id=raw.correlation_id,
        actor=raw.actor,
        account_id="acc-1",
        event_id=raw.message_id,
        event_type="AccountOpened",
        reason="a_code_from_the_future",
        message="",
    )
    read = accounts.ACCOUNT_ANSWERS.parse(rejected.model_dump_json())
    assert isinstance(read, accounts.AccountRejected)
    assert read.reason == "a_code_from_the_future"


@pytest.mark.parametrize(("channel", "cls"), UPSTREAM, ids=[c.__name__ for _, c in UPSTREAM])
def test_every_message_upstream_writes_has_an_example_the_services_accept(
    channel: Any, cls: type[Message]
) -> None:
    found = example(cls)
    assert found is not None, f"no example of {cls.__name__}"
    assert channel.messages.parse(found.model_dump_json()) == found


def test_every_command_a_service_sends_another_has_an_example_too() -> None:
    commands = [
        c for ch in CHANNELS if "commands" in ch.topic for c in ch.messages.classes.values()
    ]
    assert all(example(c) is not None for c in commands)


@pytest.mark.parametrize(("channel", "cls"), UPSTREAM, ids=[c.__name__ for _, c in UPSTREAM])
def test_the_key_the_contract_states_is_the_key_the_message_is_published_with(
    channel: Any, cls: type[Message]
) -> None:
    found = example(cls)
    assert found is not None
    key = key_of(cls)
    if key.fields == ("invoice_id",):  # the owner of the invoice: the order id in its id
        assert f"/{found.kafka_key().decode()}/" in str(getattr(found, "invoice_id"))  # noqa: B009
    else:
        assert found.kafka_key() == str(getattr(found, key.fields[0])).encode()


def test_every_class_with_its_own_kafka_key_has_its_key_said_in_words() -> None:
    for channel in CHANNELS:
        for cls in channel.messages.classes.values():
            if cls.kafka_key is not Message.kafka_key:
                assert len(key_of(cls).fields) > 1 or key_of(cls).short, cls.__name__


def test_upstream_topics_publish_what_the_services_accept_and_the_others_what_they_write() -> None:
    create = json.loads((schemas.DOCS / "orders.commands/CreateOrder.json").read_text())
    activated = json.loads((schemas.DOCS / "orders.events/OrderActivated.json").read_text())
    accepted = create["$defs"]["Money"]["properties"]["amount"]
    written = activated["$defs"]["Money"]["properties"]["amount"]
    assert {"number", "string"} == {option["type"] for option in accepted["anyOf"]}
    assert written["type"] == "string"
    assert "decimal" in written["description"]


@pytest.mark.parametrize("service", asyncapi.SERVICES)
def test_every_asyncapi_message_has_its_key_binding_headers_and_the_payloads_correlation_id(
    service: str,
) -> None:
    spec = json.loads((asyncapi.DOCS / f"{service}.json").read_text())
    messages = spec["components"]["messages"]
    assert messages
    for message_id, message in messages.items():
        topic, name = message_id.split(":")
        assert message["name"] == name
        assert message["bindings"]["kafka"]["key"]["description"]
        assert message["correlationId"]["location"] == "$message.payload#/correlation_id"
        assert message["headers"]["type"] == "object"
        if not next(c for c in CHANNELS if c.topic == topic).upstream:
            assert {"ce_id", "ce_source", "ce_type", "ce_time", "ce_specversion"} <= set(
                message["headers"]["properties"]
            )
    for channel in spec["channels"].values():
        for ref in channel["messages"].values():
            assert ref["$ref"].rsplit("/", 1)[-1] in messages


def test_every_command_in_an_asyncapi_document_carries_an_example() -> None:
    for service in asyncapi.SERVICES:
        spec = json.loads((asyncapi.DOCS / f"{service}.json").read_text())
        for message_id, message in spec["components"]["messages"].items():
            if ".commands:" in message_id:
                assert message["examples"][0]["payload"]["type"] == message["name"]


def test_every_order_command_says_in_which_flow_and_status_and_from_whom_it_is_taken() -> None:
    spec = json.loads((asyncapi.DOCS / "ordering.json").read_text())
    for name in ORDER_COMMANDS.names():
        description = spec["components"]["messages"][f"orders.commands:{name}"]["description"]
        assert "sent by `" in description, name


def test_every_topic_is_published_with_its_messages_and_key() -> None:
    missing = set(topics.ALL) - {channel.topic for channel in CHANNELS}
    assert not missing, f"add a Channel for {sorted(missing)} to contracts/channels.py"
