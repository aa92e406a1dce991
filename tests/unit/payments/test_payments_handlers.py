"""What the handlers store and publish for a decision, without a broker or a store:
the ledger round-trips exactly, every effect goes to its topic, and a redelivered
message re-produces the same ids."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

from contracts.envelope import MessageUnion
from contracts.orders import ORDER_COMMANDS, MarkOrderPaid
from contracts.payments import PAYMENT_EVENTS, PaymentCommandRejected, RecordPayment
from contracts.timers import TIMER_COMMANDS, CancelDeadline, ScheduleDeadline
from contracts.topics import ORDERS_COMMANDS, PAYMENTS_EVENTS, TIMERS_COMMANDS
from payments.domain import DecisionContext, decide
from payments.handlers import change
from payments.store import index_fields, rebuild, to_document
from servicekit.aggregates import Stored
from tests.unit.payments.payments_kit import GATEWAY, T0, awaiting_payment, command, payment


def test_X05_the_ledger_round_trips_through_the_store_exactly() -> None:
    sc = awaiting_payment()
    sc.pay("33.33", "gw-1")
    document = json.loads(json.dumps(to_document(sc.current)))
    stored = Stored(id=str(sc.current.order_id), revision=1, state=document, processed=[])
    assert rebuild(stored) == sc.current
    request = sc.current.request
    assert request is not None
    assert document["request"]["receipts"][0]["amount"]["amount"] == "33.33"


def test_P15_a_settling_payment_publishes_events_the_command_for_ordering_and_timers() -> None:
    sc = awaiting_payment()
    cmd = command(RecordPayment, GATEWAY, **payment("60.00", "gw-1"))
    decision = decide(sc.current, cmd, sc.now, sc.ctx)
    stored = change(decision, cmd, sc.now)
    assert stored is not None
    by_topic: dict[str, list[str]] = {}
    for entry in stored.outbox:
        by_topic.setdefault(entry["topic"], []).append(entry["type"])
        assert entry["key"] == str(sc.current.order_id)
    assert by_topic == {
        PAYMENTS_EVENTS: ["PaymentReceived", "PaymentSettled", "PayoutScheduled"],
        ORDERS_COMMANDS: ["MarkOrderPaid"],
        TIMERS_COMMANDS: ["CancelDeadline", "ScheduleDeadline"],
    }
    unions: dict[str, MessageUnion[Any]] = {
        PAYMENTS_EVENTS: PAYMENT_EVENTS,
        ORDERS_COMMANDS: ORDER_COMMANDS,
        TIMERS_COMMANDS: TIMER_COMMANDS,
    }
    for entry in stored.outbox:
        parsed = unions[entry["topic"]].parse(entry["value"])
        if isinstance(parsed, ScheduleDeadline | CancelDeadline):
            assert parsed.deadline_id.startswith(f"payments:{sc.current.order_id}:")
        if isinstance(parsed, ScheduleDeadline):
            assert parsed.owner == "payments" and parsed.kind == "payout_release"
        if isinstance(parsed, MarkOrderPaid):
            assert parsed.actor.id == "payments" and parsed.payment_id == "gw-1"
    assert stored.index["request_status"] == "paid"
    assert stored.index["payout_status"] == "scheduled"
    assert stored.index["supplier_id"] == "supplier-1"


def test_X05_a_redelivered_message_is_decided_into_the_same_ids() -> None:
    sc = awaiting_payment()
    cmd = command(RecordPayment, GATEWAY, **payment("60.00"))
    first = change(decide(sc.current, cmd, sc.now, sc.ctx), cmd, sc.now)
    later = sc.now + timedelta(minutes=5)
    again = change(
        decide(sc.current, cmd, later, DecisionContext(policy=sc.ctx.policy)), cmd, later
    )
    assert first is not None and again is not None
    ids = [json.loads(e["value"])["message_id"] for e in first.outbox]
    assert ids == [json.loads(e["value"])["message_id"] for e in again.outbox]
    assert len(set(ids)) == len(ids)


def test_X07_a_rejection_stores_nothing() -> None:
    sc = awaiting_payment()
    cmd = command(RecordPayment, GATEWAY, **payment("60.00", currency="USD"))
    decision = decide(sc.current, cmd, sc.now, sc.ctx)
    assert isinstance(decision.rejection_event, PaymentCommandRejected)
    assert decision.rejection_event.reason == "currency_mismatch"
    assert change(decision, cmd, sc.now) is None


def test_X05_the_index_names_the_parties_by_id_only() -> None:
    sc = awaiting_payment()
    fields = index_fields(sc.current, T0)
    assert fields["customer_id"] == "customer-1"
    assert "@" not in json.dumps(fields, default=str)
    assert uuid.UUID(str(sc.current.order_id))
