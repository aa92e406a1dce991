"""`evolve` on its own: tolerant of new event types, strict about whose event it is."""

from __future__ import annotations

import uuid
from typing import Literal

import pytest

from contracts.envelope import SYSTEM
from contracts.orders import Flow, OrderEvent, OrderStatus
from ordering.domain import EventMismatchError, evolve
from tests.unit.ordering.ordering_kit import T0
from tests.unit.ordering.ordering_states import managed_in


class OrderArchived(OrderEvent):
    """An event type a newer producer might add."""

    type: Literal["OrderArchived"] = "OrderArchived"


def event_for(order_id: uuid.UUID, status: OrderStatus) -> OrderArchived:
    return OrderArchived(
        message_id=uuid.uuid4(),
        occurred_at=T0,
        correlation_id=uuid.uuid4(),
        actor=SYSTEM,
        order_id=order_id,
        flow=Flow.MANAGED,
        status=status,
    )


def test_an_unknown_event_type_still_moves_status_version_and_timeline() -> None:
    order = managed_in(OrderStatus.DRAFT).current
    after = evolve(order, event_for(order.order_id, OrderStatus.DRAFT))
    assert after.version == order.version + 1
    assert after.timeline[-1].type == "OrderArchived"
    assert after.details == order.details


def test_an_event_of_another_order_is_refused() -> None:
    order = managed_in(OrderStatus.DRAFT).current
    with pytest.raises(EventMismatchError):
        evolve(order, event_for(uuid.uuid4(), OrderStatus.DRAFT))


def test_an_order_is_created_once() -> None:
    sc = managed_in(OrderStatus.DRAFT)
    with pytest.raises(EventMismatchError):
        evolve(sc.current, sc.history[0])
    with pytest.raises(EventMismatchError):
        evolve(None, event_for(sc.current.order_id, OrderStatus.DRAFT))


def test_evolve_never_changes_the_state_it_is_given() -> None:
    sc = managed_in(OrderStatus.ACTIVE)
    before = sc.current
    snapshot = (before.status, before.version, before.timeline, before.deadlines)
    evolve(before, event_for(before.order_id, OrderStatus.ACTIVE))
    assert (before.status, before.version, before.timeline, before.deadlines) == snapshot
