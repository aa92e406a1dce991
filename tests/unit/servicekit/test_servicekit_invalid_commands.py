"""X-13: a command whose envelope reads but whose content does not gets a rejection.

The consumer guard asks the topic's `InvalidCommands` (given by each service's composition
root) for the answer; no answer means the envelope does not read and the message is
dead-lettered. These tests need no broker: they build each service's runtime and ask it.
"""

from __future__ import annotations

import importlib
import json
import re
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from contracts import topics
from contracts.envelope import EMAIL_PATTERN, Contact, FieldError
from contracts.orders import CreateOrder
from orderflow import commands as c
from servicekit.config import ServiceSettings
from servicekit.invalid import InvalidCommands, answer_invalid

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

#: service -> (its command topic, its rejection type, the key fields of an answer)
COMMAND_TOPICS = {
    "ordering": (topics.ORDERS_COMMANDS, "OrderCommandRejected"),
    "payments": (topics.PAYMENTS_COMMANDS, "PaymentCommandRejected"),
    "invoicing": (topics.INVOICING_COMMANDS, "InvoicingCommandRejected"),
    "timers": (topics.TIMERS_COMMANDS, "TimerCommandRejected"),
}

#: A command of each service's topic, with one field wrong.
INVALID_BODIES: dict[str, dict[str, Any]] = {
    "ordering": {"type": "SubmitOrder", "order_id": str(uuid.uuid4()), "admin": True},
    "payments": {
        "type": "RecordPayment",
        "order_id": str(uuid.uuid4()),
        "amount": {"amount": "-5", "currency": "EUR"},
    },
    "invoicing": {"type": "RunBillCycle", "account_id": "acct-1", "extra": 1},
    "timers": {
        "type": "ScheduleDeadline",
        "deadline_id": "d-1",
        "order_id": str(uuid.uuid4()),
        "owner": "Not A Valid Owner",
        "kind": "k",
        "due_at": NOW.isoformat(),
    },
}


def envelope(**body: Any) -> dict[str, Any]:
    return {
        "message_id": str(uuid.uuid4()),
        "occurred_at": NOW.isoformat(),
        "correlation_id": str(uuid.uuid4()),
        "actor": {"id": "upstream-1", "role": "member"},
        **body,
    }


def policy_of(service: str) -> InvalidCommands:
    app = importlib.import_module(f"{service}.app")
    runtime = app.build(ServiceSettings(max_message_bytes=64 * 1024))
    return runtime.guard.invalid_commands[COMMAND_TOPICS[service][0]]  # type: ignore[no-any-return]


@pytest.mark.parametrize("service", sorted(COMMAND_TOPICS))
def test_X13_every_service_that_takes_commands_answers_an_invalid_one_with_its_own_rejection(
    service: str,
) -> None:
    body = envelope(**INVALID_BODIES[service])
    answer = answer_invalid(policy_of(service), body, NOW, max_bytes=64 * 1024)

    assert answer is not None
    assert answer.type == COMMAND_TOPICS[service][1]
    data = json.loads(answer.model_dump_json())
    assert data["reason"] == "invalid"
    assert data["command_id"] == body["message_id"]
    assert data["command_type"] == body["type"]
    assert data["causation_id"] == body["message_id"]
    assert data["correlation_id"] == body["correlation_id"]
    assert data["errors"], "the field errors, machine-readable"
    assert all(set(e) == {"field", "code", "message"} for e in data["errors"])


@pytest.mark.parametrize("service", ["ordering", "invoicing", "payments", "notifier", "timers"])
def test_X13_every_command_topic_a_service_reads_has_an_answer_for_invalid_commands(
    service: str,
) -> None:
    runtime = importlib.import_module(f"{service}.app").build(ServiceSettings())
    commands = {t for t in runtime.consumed_topics if t.endswith(".commands")}
    assert commands == set(runtime.guard.invalid_commands)
    if service in COMMAND_TOPICS:
        assert COMMAND_TOPICS[service][0] in commands


def test_X13_the_answer_names_each_wrong_field_with_a_stable_code() -> None:
    body = envelope(type="SubmitOrder", order_id=str(uuid.uuid4()), admin=True)
    answer = answer_invalid(policy_of("ordering"), body, NOW, max_bytes=64 * 1024)
    assert answer is not None
    assert answer.errors == [  # type: ignore[attr-defined]
        FieldError(field="admin", code="extra_forbidden", message="Extra inputs are not permitted")
    ]
    assert answer.message == "1 invalid field(s): admin"  # type: ignore[attr-defined]
    assert answer.kafka_key() == body["order_id"].encode(), "keyed as the command"


def test_X13_an_unknown_command_type_is_answered_as_invalid_in_its_type_field() -> None:
    body = envelope(type="SubmitOrdr", order_id=str(uuid.uuid4()))
    answer = answer_invalid(policy_of("ordering"), body, NOW, max_bytes=64 * 1024)
    assert answer is not None
    assert [(e.field, e.code) for e in answer.errors] == [("type", "unknown_type")]  # type: ignore[attr-defined]


def test_X13_the_same_invalid_command_gets_the_same_answer_id_when_delivered_again() -> None:
    body = envelope(type="SubmitOrder", order_id=str(uuid.uuid4()), admin=True)
    policy = policy_of("ordering")
    first = answer_invalid(policy, body, NOW, max_bytes=64 * 1024)
    again = answer_invalid(policy, body, NOW, max_bytes=64 * 1024)
    assert first is not None and again is not None
    assert first.message_id == again.message_id != uuid.UUID(body["message_id"])


@pytest.mark.parametrize(
    "broken",
    [
        {"message_id": "not-a-uuid"},
        {"actor": {"id": "x", "role": "emperor"}},
        {"actor": None},
        {"order_id": "not-a-uuid"},
        {"order_id": None},
    ],
    ids=["message_id", "actor_role", "actor", "order_id", "no_order_id"],
)
def test_X13_a_command_whose_envelope_does_not_read_has_no_answer_and_is_dead_lettered(
    broken: dict[str, Any],
) -> None:
    body = envelope(type="SubmitOrder", order_id=str(uuid.uuid4()), admin=True) | broken
    assert answer_invalid(policy_of("ordering"), body, NOW, max_bytes=64 * 1024) is None


def test_X13_a_body_that_is_not_an_object_has_no_answer() -> None:
    assert answer_invalid(policy_of("ordering"), ["SubmitOrder"], NOW, max_bytes=64 * 1024) is None


def test_X13_a_valid_command_that_failed_in_its_handler_is_not_answered_as_invalid() -> None:
    member = c.member()
    valid = c.command(
        CreateOrder, member.party, order_id=uuid.uuid4(), parties=[member, c.client()],
        terms=c.managed_terms(),
    )  # fmt: skip
    body = json.loads(valid.model_dump_json())
    assert answer_invalid(policy_of("ordering"), body, NOW, max_bytes=64 * 1024) is None


def test_X13_an_answer_is_never_larger_than_the_message_limit_however_many_fields_are_wrong() -> (
    None
):
    member = c.member()
    create = json.loads(
        c.command(
            CreateOrder, member.party, order_id=uuid.uuid4(), parties=[member, c.client()],
            terms=c.managed_terms(),
        ).model_dump_json()
    )  # fmt: skip
    create.update({f"unknown_field_{n:04d}_{'x' * 150}": n for n in range(2000)})
    limit = 8 * 1024
    answer = answer_invalid(policy_of("ordering"), create, NOW, max_bytes=limit)

    assert answer is not None
    assert len(answer.model_dump_json().encode()) <= limit
    assert 0 < len(answer.errors) < 2000  # type: ignore[attr-defined]
    assert "2000 invalid field(s)" in answer.message  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "address",
    ["member@example.test", "ops@host.local", "a@localhost", "x@shop.invalid", "b@example.com"],
)
def test_X13_an_email_on_a_reserved_domain_is_valid_as_the_published_schema_says(
    address: str,
) -> None:
    assert Contact(email=address).email == address
    assert re.fullmatch(Contact.model_json_schema()["properties"]["email"]["pattern"], address)


@pytest.mark.parametrize("address", ["no-at-sign", "a@", "a b@example.com", "a@-bad.com", "@x.com"])
def test_X13_an_address_the_schema_refuses_is_refused_by_the_code_too(address: str) -> None:
    schema = Contact.model_json_schema()["properties"]["email"]
    assert schema["format"] == "email" and schema["pattern"] == EMAIL_PATTERN
    assert not re.fullmatch(schema["pattern"], address)
    with pytest.raises(ValidationError):
        Contact(email=address)
