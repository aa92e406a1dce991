"""The chaos run's definitions of a copy, a duplicate and a deliberate dead letter
(tests/chaos/checks.py), on records made up here: no server needed."""

from __future__ import annotations

import json
import uuid
from typing import Any

from contracts import topics
from orderflow.kafka import Record, Sent
from servicekit.deadletters import DLQ_REASON, DLQ_SERVICE, DLQ_SOURCE
from tests.chaos.checks import Events, Verdict, check_dead_letters, check_numbers, check_payments
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


def dead_letter(source: str, service: str, reason: str) -> Record:
    headers = {DLQ_SOURCE: source, DLQ_SERVICE: service, DLQ_REASON: reason}
    return Record("orders.commands.dlq", 0, 0, b"k", b"{", headers)


def test_dead_letters_must_be_the_deliberate_poison_each_once_per_consuming_service() -> None:
    poison = Poison(topics.ORDERS_COMMANDS, b"{", "malformed", ("ordering",))
    sent = [(poison, Sent(topics.ORDERS_COMMANDS, 0, 4))]
    again = dead_letter("p.orders.commands/0/4", "ordering", "malformed")
    verdict = Verdict()
    check_dead_letters(verdict, [again, again], "p.", sent)
    assert verdict.ok and verdict.dead_letters_found == 1

    other = dead_letter("p.orders.commands/0/9", "ordering", "handler_failed")
    verdict = Verdict()
    check_dead_letters(verdict, [other], "p.", sent)
    assert sorted(f.detail.split(",")[0] for f in verdict.findings) == [
        "deliberate poison not dead-lettered by ordering",
        "unexpected",
    ]
