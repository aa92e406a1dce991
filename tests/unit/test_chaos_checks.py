"""The chaos run's definitions of a copy, a duplicate and a deliberate dead letter
(tests/chaos/checks.py), on records made up here: no server needed."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from contracts import topics
from orderflow.kafka import Record, Sent
from servicekit.deadletters import DLQ_REASON, DLQ_SERVICE, DLQ_SOURCE
from tests.chaos.checks import (
    Events,
    Verdict,
    check_dead_letters,
    check_emails,
    check_numbers,
    check_payments,
)
from tests.chaos.scenarios import Poison


def record(topic: str, offset: int, body: dict[str, Any]) -> Record:
    return Record(topic, 0, offset, b"k", json.dumps(body).encode(), {})


def settled(message_id: str, request: str = "o1:payment") -> Record:
    body: dict[str, Any] = {
        "message_id": message_id,
        "type": "PaymentSettled",
        "request_id": request,
    }
    return record(topics.PAYMENTS_EVENTS, 0, body)


def test_the_same_event_twice_on_a_topic_is_a_copy_not_a_duplicate() -> None:
    same = str(uuid.uuid4())
    events = Events([settled(same), settled(same)])
    verdict = Verdict()
    check_payments(verdict, events)
    assert events.copies == 1 and verdict.ok


def test_two_distinct_settlements_of_one_request_are_a_duplicate() -> None:
    verdict = Verdict()
    check_payments(verdict, Events([settled(str(uuid.uuid4())), settled(str(uuid.uuid4()))]))
    assert [f.kind for f in verdict.findings] == ["duplicate"]


def issued(number: int) -> Record:
    body: dict[str, Any] = {
        "message_id": str(uuid.uuid4()),
        "type": "InvoiceIssued",
        "invoice_id": f"order/{uuid.uuid4()}/1",
        "issuer_id": "member-1",
        "number": number,
    }
    return record(topics.INVOICING_EVENTS, number, body)


def test_an_invoice_number_given_twice_is_a_duplicate_and_a_gap_is_a_loss() -> None:
    twice, gap = Verdict(), Verdict()
    check_numbers(twice, Events([issued(1), issued(2), issued(2)]))
    check_numbers(gap, Events([issued(1), issued(3)]))
    assert [f.kind for f in twice.findings] == ["duplicate"]
    assert [f.kind for f in gap.findings] == ["lost"]


def dead_letter(source: str, service: str, reason: str, value: bytes = b"{") -> Record:
    headers = {DLQ_SOURCE: source, DLQ_SERVICE: service, DLQ_REASON: reason}
    return Record("orders.commands.dlq", 0, 0, b"k", value, headers)


def test_dead_letters_must_be_the_deliberate_poison_each_once_per_consuming_service() -> None:
    poison = Poison(topics.ORDERS_COMMANDS, b"{", "malformed", ("ordering",))
    sent = [(poison, Sent(topics.ORDERS_COMMANDS, 0, 4))]
    again = dead_letter("p.orders.commands/0/4", "ordering", "malformed")
    verdict = Verdict()
    check_dead_letters(verdict, [again, again], "p.", sent)
    assert verdict.ok and verdict.dead_letters_found == 1

    other = dead_letter("p.orders.commands/0/9", "ordering", "handler_failed", b'{"a": 1}')
    verdict = Verdict()
    check_dead_letters(verdict, [other], "p.", sent)
    assert sorted(f.detail.split(",")[0] for f in verdict.findings) == [
        "deliberate poison not dead-lettered by ordering",
        "unexpected",
    ]


def test_a_copy_of_the_poison_the_upstream_retry_left_is_the_same_poison() -> None:
    """A dead letter keeps the original bytes: the poison is known by them, so a second
    record of it (a retried upstream send that had landed) is not a finding."""
    poison = Poison(topics.ORDERS_COMMANDS, b"{", "malformed", ("ordering",))
    sent = [(poison, Sent(topics.ORDERS_COMMANDS, 0, 4))]
    first = dead_letter("p.orders.commands/0/4", "ordering", "malformed")
    copy = dead_letter("p.orders.commands/0/5", "ordering", "malformed")
    verdict = Verdict()
    check_dead_letters(verdict, [first, copy], "p.", sent)
    assert verdict.ok and verdict.dead_letters_found == verdict.dead_letters_expected == 1


def outcome(kind: str, delivery: str, at: str, reason: str = "refused") -> Record:
    body: dict[str, Any] = {
        "message_id": str(uuid.uuid4()),
        "type": kind,
        "delivery_id": delivery,
        "order_id": "o1",
        "template": "receipt",
        "recipient_role": "customer",
    }
    if kind == "EmailFailed":
        body |= {"reason": reason, "failed_at": at}
    return record(topics.NOTIFICATIONS_EVENTS, 0, body)


async def test_X06_an_email_failed_during_an_smtp_fault_is_counted_failed_not_lost() -> None:
    begin = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    window = [(begin, begin + timedelta(seconds=60))]
    inside, outside = "2026-01-01T12:00:30+00:00", "2026-01-01T12:05:00+00:00"

    def db(service: str) -> Any:
        raise AssertionError("no order, no store read")

    verdict = Verdict()
    events = Events([outcome("EmailFailed", "d1", inside)])
    await check_emails(verdict, db, events, [], [], window)
    assert verdict.ok and verdict.emails_failed == 1

    verdict = Verdict()
    events = Events([outcome("EmailFailed", "d1", outside)])
    await check_emails(verdict, db, events, [], [], window)
    assert [f.kind for f in verdict.findings] == ["lost"]

    verdict = Verdict()
    events = Events([outcome("EmailFailed", "d1", inside, "abandoned")])
    await check_emails(verdict, db, events, [], [], window)
    assert [f.kind for f in verdict.findings] == ["lost"]


async def test_X06_one_delivery_both_sent_and_failed_is_a_duplicate() -> None:
    begin = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    window = [(begin, begin + timedelta(seconds=60))]

    def db(service: str) -> Any:
        raise AssertionError("no order, no store read")

    verdict = Verdict()
    events = Events(
        [
            outcome("EmailFailed", "d1", "2026-01-01T12:00:30+00:00"),
            outcome("EmailSent", "d1", ""),
        ]
    )
    await check_emails(verdict, db, events, [], [], window)
    assert "duplicate" in [f.kind for f in verdict.findings]
