"""ordering answers every account event (X-07): registered, or rejected with a reason."""

from __future__ import annotations

from datetime import UTC, date, datetime

from contracts.accounts import (
    AccountOpened,
    AccountRegistered,
    AccountRejected,
    AccountUpdated,
)
from contracts.envelope import Party, Role
from contracts.examples import example
from ordering.domain.registration import register

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
ORDERING = Party(id="ordering", role=Role.SYSTEM)


def opened(**changes: object) -> AccountOpened:
    found = example(AccountOpened)
    assert isinstance(found, AccountOpened)
    return found.model_copy(update=changes)


def test_A01_an_account_opened_by_the_billing_system_is_registered_with_its_earliest_order_date() -> (
    None
):
    event = opened(oldest_open_cycle_start=date(2026, 2, 5))
    answer = register(event, NOW, ORDERING)
    assert isinstance(answer, AccountRegistered)
    assert answer.account_id == event.account_id
    assert answer.kafka_key() == event.account_id.encode()
    assert (answer.event_id, answer.event_type) == (event.message_id, "AccountOpened")
    assert answer.causation_id == event.message_id
    assert answer.correlation_id == event.correlation_id
    assert answer.earliest_order_date == date(2026, 2, 5)  # the later of the two


def test_A01_an_account_stated_by_anyone_but_a_system_party_is_rejected_as_not_authorized() -> None:
    answer = register(opened(actor=Party(id="agent-1", role=Role.AGENT)), NOW, ORDERING)
    assert isinstance(answer, AccountRejected)
    assert answer.reason == "not_authorized"
    assert "system" in answer.message


def test_X09_the_same_account_event_gets_the_same_answer_with_the_same_id() -> None:
    event = opened()
    first, again = register(event, NOW, ORDERING), register(event, NOW, ORDERING)
    assert first.message_id == again.message_id
    assert first == again


def test_an_account_update_is_answered_like_an_opening() -> None:
    found = example(AccountUpdated)
    assert isinstance(found, AccountUpdated)
    answer = register(found, NOW, ORDERING)
    assert isinstance(answer, AccountRegistered)
    assert answer.event_type == "AccountUpdated"
