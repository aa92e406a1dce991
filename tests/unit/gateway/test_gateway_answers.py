"""X-09 through the gateway: a command's answer is what its service said, recorded once."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from contracts.envelope import SYSTEM, Party, Role
from contracts.orders import OrderCommandRejected, OrderWithdrawn
from gateway.domain import Answer, Outcome, cause_of, idempotency_id, record

NOW = datetime(2026, 3, 2, tzinfo=UTC)
COMMAND = uuid.UUID(int=7)
ORDER = uuid.UUID(int=9)


def pending() -> Answer:
    return Answer(
        command_id=COMMAND,
        command_type="WithdrawOrder",
        topic="orders.commands",
        key=str(ORDER),
        caller="member-1",
        fingerprint="f",
        submitted_at=NOW,
    )


def withdrawn() -> OrderWithdrawn:
    return OrderWithdrawn.model_validate(
        {
            "message_id": uuid.UUID(int=11),
            "occurred_at": NOW,
            "correlation_id": COMMAND,
            "causation_id": COMMAND,
            "actor": Party(id="member-1", role=Role.MEMBER),
            "order_id": ORDER,
            "flow": "managed",
            "status": "draft",
        }
    )


def refused() -> OrderCommandRejected:
    return OrderCommandRejected.model_validate(
        {
            "message_id": uuid.UUID(int=12),
            "occurred_at": NOW,
            "correlation_id": COMMAND,
            "actor": SYSTEM,
            "order_id": ORDER,
            "command_type": "WithdrawOrder",
            "command_id": COMMAND,
            "reason": "not_allowed_in_status",
            "message": "not in review",
        }
    )


def test_an_effect_answers_the_command_it_was_caused_by() -> None:
    assert cause_of(withdrawn()) == COMMAND
    answer = record(pending(), withdrawn())
    assert answer.outcome is Outcome.ACCEPTED
    assert answer.events == [
        {"message_id": str(uuid.UUID(int=11)), "type": "OrderWithdrawn", "status": "draft"}
    ]


def test_a_rejection_answers_with_its_reason() -> None:
    assert cause_of(refused()) == COMMAND
    answer = record(pending(), refused())
    assert (answer.outcome, answer.reason) == (Outcome.REJECTED, "not_allowed_in_status")


def test_X09_a_redelivered_event_changes_no_answer_and_the_first_outcome_stays() -> None:
    once = record(pending(), withdrawn())
    assert record(once, withdrawn()) is once
    assert record(once, refused()).outcome is Outcome.ACCEPTED


def test_an_idempotency_key_names_one_message_id_per_caller() -> None:
    assert idempotency_id("member-1", "k") == idempotency_id("member-1", "k")
    assert idempotency_id("member-1", "k") != idempotency_id("member-2", "k")
