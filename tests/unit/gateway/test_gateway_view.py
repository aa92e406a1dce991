"""The gateway's order view is a pure fold: idempotent, order-independent across topics,
and it shows what M-17 asks for (status, flags, deadlines, one timeline with actors)."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from contracts.envelope import Event, Party, Role
from contracts.invoicing import InvoiceChangesRequested, InvoiceDrafted, InvoiceIssued
from contracts.notifications import EmailSent
from contracts.orders import (
    ManagedTerms,
    Money,
    OperatorReviewOverdue,
    OrderActivated,
    OrderCommandRejected,
    OrderCreated,
    OrderParty,
    OrderSentToClient,
    OrderSubmitted,
    PlannedInvoice,
)
from contracts.timers import DeadlineExpired
from gateway.domain import OrderView, Position, apply, approval_queue, review_queue
from gateway.domain.queues import report

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ORDER = uuid.UUID("00000000-0000-4000-8000-000000000001")
MEMBER = Party(id="m-1", role=Role.MEMBER)
OPERATOR = Party(id="op-1", role=Role.OPERATOR)
CLIENT = OrderParty(id="c-1", role=Role.CLIENT)
_ids = itertools.count(1)
E = TypeVar("E", bound=Event)


def make(cls: type[E], *args: Any, **fields: Any) -> E:
    """An event from loose test data, validated as the topic would be."""
    for part in args:
        fields = {**part, **fields}
    return cls.model_validate(fields)


def envelope(minutes: int, actor: Party = MEMBER) -> dict[str, Any]:
    return {
        "message_id": uuid.UUID(int=next(_ids)),
        "occurred_at": T0 + timedelta(minutes=minutes),
        "correlation_id": ORDER,
        "actor": actor,
        "order_id": ORDER,
    }


def terms() -> ManagedTerms:
    return ManagedTerms(
        offer_valid_until=T0 + timedelta(days=10),
        service_start=date(2026, 4, 1),
        service_end=date(2026, 4, 30),
        planned_invoices=[
            PlannedInvoice(
                invoice_date=date(2026, 4, 1), amount=Money(amount=Decimal("100"), currency="EUR")
            ),
            PlannedInvoice(
                invoice_date=date(2026, 4, 15), amount=Money(amount=Decimal("50"), currency="EUR")
            ),
        ],
    )


def managed_story() -> list[tuple[str, Event]]:
    """A managed order from creation to activation, with an invoice and an email."""
    flow = {"flow": "managed"}
    return [
        (
            "orders.events",
            make(
                OrderCreated,
                **envelope(0),
                **flow,
                status="draft",
                parties=[OrderParty(id="m-1", role=Role.MEMBER), CLIENT],
                terms=terms(),
            ),
        ),
        (
            "orders.events",
            make(
                OrderSubmitted,
                **envelope(5),
                **flow,
                status="operator_review",
                offer_valid_until=T0 + timedelta(days=10),
                review_due_at=T0 + timedelta(days=1),
            ),
        ),
        (
            "orders.events",
            make(
                OperatorReviewOverdue,
                **envelope(60 * 25, Party(id="system", role=Role.SYSTEM)),
                **flow,
                status="operator_review",
                review_due_at=T0 + timedelta(days=1),
            ),
        ),
        (
            "orders.events",
            make(
                OrderSentToClient,
                **envelope(60 * 26, OPERATOR),
                **flow,
                status="client_confirmation",
                client=CLIENT,
                confirmation_token="secret-token",
                offer_valid_until=T0 + timedelta(days=10),
            ),
        ),
        (
            "orders.events",
            make(
                OrderActivated,
                **envelope(60 * 27, Party(id="c-1", role=Role.CLIENT)),
                **flow,
                status="active",
                confirmed_by=Role.CLIENT,
                no_payment_guarantee=False,
                planned_invoices=terms().planned_invoices,
                service_start=date(2026, 4, 1),
                service_end=date(2026, 4, 30),
                service_ends_at=datetime(2026, 4, 30, 23, 59, tzinfo=UTC),
            ),
        ),
        (
            "invoicing.events",
            make(
                InvoiceDrafted,
                **envelope(60 * 28, Party(id="system", role=Role.SYSTEM)),
                invoice_id=f"order/{ORDER}/1",
                status="draft",
                member=OrderParty(id="m-1", role=Role.MEMBER),
                invoice_date=date(2026, 4, 1),
                lines=[],
                total=Money(amount=Decimal("100"), currency="EUR"),
                changes_until=datetime(2026, 4, 1, tzinfo=UTC),
            ),
        ),
        (
            "notifications.events",
            make(
                EmailSent,
                **envelope(60 * 27 + 1, Party(id="system", role=Role.SYSTEM)),
                delivery_id=uuid.uuid4(),
                cause_id=uuid.uuid4(),
                cause_type="OrderActivated",
                template="order_activated",
                recipient_role=Role.MEMBER,
                recipient_id="m-1",
                rules=["M-05"],
                attempts=1,
                email_message_id="<x@y>",
                sent_at=T0,
            ),
        ),
    ]


def fold(story: list[tuple[str, Event]]) -> OrderView | None:
    """Each topic's events get consecutive offsets in the order they appear."""
    offsets: dict[str, int] = {}
    view: OrderView | None = None
    positioned = []
    for topic, event in story:
        offsets[topic] = offsets.get(topic, -1) + 1
        positioned.append((Position(topic=topic, partition=3, offset=offsets[topic]), event))
    for at, event in positioned:
        view = apply(view, event, at)
    return view


def test_M17_the_view_shows_status_parties_and_one_timeline_with_each_actor() -> None:
    view = fold(managed_story())
    assert view is not None
    assert view.status == "active"
    assert view.party_ids() == {"m-1", "c-1"}
    assert [e.type for e in view.timeline] == [
        "OrderCreated", "OrderSubmitted", "OperatorReviewOverdue", "OrderSentToClient",
        "OrderActivated", "EmailSent", "InvoiceDrafted",
    ]  # fmt: skip
    assert view.timeline[3].actor == OPERATOR
    assert view.invoices[f"order/{ORDER}/1"]["status"] == "draft"
    assert view.emails[0]["template"] == "order_activated"


def test_the_confirmation_token_never_reaches_the_timeline() -> None:
    view = fold(managed_story())
    assert view is not None
    assert "secret-token" not in view.model_dump_json()


def test_M04_review_due_time_and_overdue_flag_until_the_review() -> None:
    story = managed_story()
    view = fold(story[:3])
    assert view is not None
    assert view.deadlines["operator_review"] == T0 + timedelta(days=1)
    assert "review_overdue" in view.flags
    queue = review_queue([view], T0 + timedelta(days=2))
    assert queue["reviews"][0]["overdue"] is True
    assert queue["reviews"][0]["due_at"] == T0 + timedelta(days=1)
    after = fold(story[:5])
    assert after is not None
    assert "operator_review" not in after.deadlines
    assert "review_overdue" not in after.flags


def test_an_event_applied_twice_changes_nothing() -> None:
    story = managed_story()
    view = fold(story)
    assert view is not None
    at = view.position("notifications.events")
    assert at is not None
    again = apply(view, story[-1][1], at)
    assert again is view


def test_each_view_names_the_position_it_is_consistent_with() -> None:
    view = fold(managed_story())
    assert view is not None
    assert [(p.topic, p.offset) for p in view.consistent_with()] == [
        ("invoicing.events", 0),
        ("notifications.events", 0),
        ("orders.events", 4),
    ]


def test_replaying_the_topics_in_any_interleaving_gives_the_same_view() -> None:
    story = managed_story()
    orders = [s for s in story if s[0] == "orders.events"]
    others = [s for s in story if s[0] != "orders.events"]
    expected = fold(story)
    # Other topics' events first (the gateway read them before OrderCreated), then orders.
    assert fold(others + orders) == expected
    assert fold(orders[:2] + others + orders[2:]) == expected


def test_a_rejection_is_an_answer_not_a_timeline_entry() -> None:
    view = fold(managed_story()[:1])
    rejected = make(
        OrderCommandRejected,
        **envelope(3, Party(id="system", role=Role.SYSTEM)),
        command_type="SubmitOrder",
        command_id=uuid.uuid4(),
        reason="invalid",
        message="no",
    )
    assert apply(view, rejected, Position(topic="orders.events", partition=3, offset=9)) is view


def test_a_timer_event_starts_no_view_of_its_own() -> None:
    fired = make(
        DeadlineExpired,
        message_id=uuid.uuid4(),
        occurred_at=T0,
        correlation_id=uuid.uuid4(),
        actor=Party(id="system", role=Role.SYSTEM),
        deadline_id="payout",
        order_id=str(uuid.uuid4()),
        owner="payments",
        kind="payout",
        generation=1,
        due_at=T0,
        fired_at=T0,
        lateness_ms=0,
        late=False,
    )
    assert apply(None, fired, Position(topic="timers.events", partition=0, offset=0)) is None


def test_M11_an_invoice_change_request_is_in_the_operators_queue() -> None:
    story = managed_story()
    request = make(
        InvoiceChangesRequested,
        **envelope(60 * 29),
        invoice_id=f"order/{ORDER}/1",
        status="changes_requested",
        message="wrong address",
    )
    view = fold([*story, ("invoicing.events", request)])
    assert view is not None
    queue = review_queue([view], T0)
    assert queue["invoice_change_requests"] == [
        {"order_id": str(ORDER), "invoice_id": f"order/{ORDER}/1", "status": "changes_requested"}
    ]


def test_A12_report_counts_and_totals_per_currency_by_status() -> None:
    active = fold(managed_story())
    draft = fold(managed_story()[:1])
    assert active is not None and draft is not None
    rows = report([active, draft], "status")
    assert rows == [
        {"status": "active", "currency": "EUR", "count": 1, "total": "150"},
        {"status": "draft", "currency": "EUR", "count": 1, "total": "150"},
    ]
    issued = make(
        InvoiceIssued,
        **envelope(60 * 30, Party(id="system", role=Role.SYSTEM)),
        invoice_id=f"order/{ORDER}/1",
        status="issued",
        issuer_id="i",
        number=7,
        issued_at=T0,
        invoice_date=date(2026, 4, 1),
        client=CLIENT,
        lines=[],
        total=Money(amount=Decimal("100"), currency="EUR"),
    )
    assert report([active], "period")[0]["period"] == "2026-03"
    view = fold([*managed_story(), ("invoicing.events", issued)])
    assert view is not None
    assert view.invoices[f"order/{ORDER}/1"]["number"] == 7


def test_A07_A13_the_approval_queue_lists_placed_orders_oldest_due_first() -> None:
    due = T0 + timedelta(hours=4)

    def placed(order: uuid.UUID, hours: int) -> OrderView:
        view = OrderView(order_id=order, flow="account", status="in_progress")
        view.deadlines["approval"] = T0 + timedelta(hours=hours)
        return view

    late, early = uuid.UUID(int=2), uuid.UUID(int=3)
    queue = approval_queue([placed(late, 8), placed(early, 4)], now=due + timedelta(minutes=1))
    assert [(q["order_id"], q["overdue"]) for q in queue] == [
        (str(early), True),
        (str(late), False),
    ]
    settled = OrderView(order_id=uuid.UUID(int=4), flow="account", status="in_progress")
    assert approval_queue([settled], now=T0) == []
