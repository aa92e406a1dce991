"""servicekit's deadline windows and decision builders, written once for every domain
(issue 18): the window reconcile (X-02), which window a fired deadline closes, a refused
command's Decision (X-07) and the step of deciding a cause."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import ClassVar

from contracts.envelope import SYSTEM, derived_id
from contracts.orders import OrderCommandRejected, RejectionReason, SubmitOrder
from servicekit.deadlines import DeadlineFired, Window, fired_window, reconcile
from servicekit.decisions import refuse, rejected, step_for

KEY = uuid.UUID(int=7)
AT = datetime(2026, 1, 5, 9, tzinfo=UTC)


class Kind(StrEnum):
    FIRST = "first"
    SECOND = "second"


@dataclass(frozen=True)
class Timer(Window[Kind]):
    prefix: ClassVar[str] = "svc:"
    kind: Kind


def test_X02_reconcile_keeps_restarts_opens_and_closes_each_kind() -> None:
    kept, moved = Timer(Kind.FIRST, 0, AT), Timer(Kind.SECOND, 2, AT)
    assert reconcile(Timer, Kind, (kept, moved), {Kind.FIRST: AT}) == (
        kept,
        Timer(Kind.SECOND, 2, AT, open=False),
    )
    later = AT + timedelta(hours=1)
    assert reconcile(Timer, Kind, (kept,), {Kind.FIRST: later, Kind.SECOND: AT}) == (
        Timer(Kind.FIRST, 1, later),
        Timer(Kind.SECOND, 0, AT),
    )
    closed = Timer(Kind.FIRST, 3, AT, open=False)
    assert reconcile(Timer, Kind, (closed,), {Kind.FIRST: AT}) == (Timer(Kind.FIRST, 4, AT),)
    assert Timer(Kind.FIRST, 4, AT).id(KEY) == f"svc:{KEY}:first:4"


def test_X02_a_fired_deadline_closes_only_its_own_open_window() -> None:
    window = Timer(Kind.FIRST, 1, AT)

    def fired(deadline_id: str, key: uuid.UUID = KEY) -> DeadlineFired:
        return DeadlineFired(deadline_id, "first", key, AT, uuid.uuid4())

    assert fired_window((window,), KEY, fired(window.id(KEY))) == window
    assert fired_window((window,), KEY, fired(Timer(Kind.FIRST, 0, AT).id(KEY))) is None
    assert fired_window((window,), KEY, fired(window.id(KEY), uuid.UUID(int=8))) is None
    closed = Timer(Kind.FIRST, 1, AT, open=False)
    assert fired_window((closed,), KEY, fired(window.id(KEY))) is None


def test_X07_a_refused_command_gets_its_rejection_event_with_the_first_derived_id() -> None:
    command = SubmitOrder(
        message_id=uuid.uuid4(),
        occurred_at=AT,
        correlation_id=uuid.uuid4(),
        actor=SYSTEM,
        order_id=KEY,
    )
    why = refuse(RejectionReason.UNKNOWN_ORDER, "no such order")
    decision = rejected(OrderCommandRejected, command, why, now=AT, actor=SYSTEM, order_id=KEY)
    answer = decision.rejection_event
    assert not decision.accepted and decision.rejection == why and not decision.events
    assert isinstance(answer, OrderCommandRejected)
    assert answer.message_id == derived_id(command.message_id, 0)
    assert (answer.order_id, answer.reason, answer.command_id) == (
        KEY,
        "unknown_order",
        command.message_id,
    )
    assert answer.correlation_id == command.correlation_id


def test_a_step_stamps_its_cause_and_subject_and_takes_pinned_ids() -> None:
    fired = DeadlineFired("d", "first", KEY, AT, uuid.uuid4())
    step = step_for(fired, now=AT, actor=SYSTEM, ctx=None, subject={"order_id": KEY})
    stamped = step.stamp(extra=1)
    assert stamped["correlation_id"] == fired.message_id == stamped["causation_id"]
    assert stamped["message_id"] == derived_id(fired.message_id, 0)
    assert (stamped["order_id"], stamped["extra"]) == (KEY, 1)
    pinned = step_for(fired, now=AT, actor=SYSTEM, ctx=None, subject={}, new_id=lambda i: KEY)
    assert pinned.next_id() == KEY
