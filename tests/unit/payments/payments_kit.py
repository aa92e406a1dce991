"""Builders for payments' domain tests: parties, ordering's events for one post-paid
order, payment commands, and a `Scenario` that drives one ledger the way the handlers
would (order events, commands, fired timers)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from contracts.envelope import Contact, Party, Role
from contracts.orders import (
    ExecutionConfirmed,
    Flow,
    Money,
    OrderCancelled,
    OrderConfirmed,
    OrderCreated,
    OrderEvent,
    OrderParty,
    OrderStatus,
    PostpaidTerms,
)
from contracts.payments import PaymentCommand, PaymentEvent, RecordPayment
from payments.domain import (
    DeadlineFired,
    DeadlineKind,
    DeadlineRequest,
    Decision,
    DecisionContext,
    Ledger,
    Policy,
    decide,
    on_deadline,
    on_order_event,
)

C = TypeVar("C", bound=PaymentCommand)
E = TypeVar("E", bound=OrderEvent)
S = OrderStatus

#: A Monday morning: business-day arithmetic in the tests is easy to follow from here.
T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
ORDER_ID = uuid.UUID("00000000-0000-4000-8000-00000000000a")
START = T0 + timedelta(days=3)
END = START + timedelta(hours=1)

SUPPLIER = OrderParty(
    id="supplier-1", role=Role.SUPPLIER, contact=Contact(email="supplier@example.com")
)
CUSTOMER = OrderParty(
    id="customer-1", role=Role.CUSTOMER, contact=Contact(email="customer@example.com")
)
GATEWAY = Party(id="gateway", role=Role.SYSTEM)
OPERATOR = Party(id="operator-1", role=Role.OPERATOR)
ORDERING = Party(id="ordering", role=Role.SYSTEM)


def eur(amount: str) -> Money:
    return Money(amount=Decimal(amount), currency="EUR")


def terms(**changes: Any) -> PostpaidTerms:
    base: dict[str, Any] = {
        "service": "Piano lesson",
        "appointment_start": START,
        "appointment_end": END,
        "price": eur("60.00"),
        "payment_method": "card",
    }
    return PostpaidTerms(**{**base, **changes})


def order_event(cls: type[E], status: OrderStatus, at: datetime, **fields: Any) -> E:
    """One of ordering's events about the order, as ordering publishes it."""
    return cls(
        message_id=uuid.uuid4(),
        occurred_at=at,
        correlation_id=uuid.uuid4(),
        actor=fields.pop("actor", ORDERING),
        order_id=fields.pop("order_id", ORDER_ID),
        flow=fields.pop("flow", Flow.POSTPAID),
        status=status,
        **fields,
    )


def created(at: datetime = T0, **term_changes: Any) -> OrderCreated:
    return order_event(
        OrderCreated,
        S.CONFIRMATION,
        at,
        actor=CUSTOMER.party,
        parties=[CUSTOMER, SUPPLIER],
        terms=terms(**term_changes),
    )


def confirmed(current: PostpaidTerms, at: datetime) -> OrderConfirmed:
    return order_event(
        OrderConfirmed,
        S.IN_PROGRESS,
        at,
        actor=SUPPLIER.party,
        terms=current,
        auto_done_at=current.appointment_end + timedelta(hours=72),
    )


def execution_confirmed(
    at: datetime, *, payment_stage: bool = True, price: Money | None = None
) -> ExecutionConfirmed:
    return order_event(
        ExecutionConfirmed,
        S.PAYMENT if payment_stage else S.CLOSED,
        at,
        actor=CUSTOMER.party,
        automatic=False,
        price=price or eur("60.00"),
        payment_method="card",
    )


def cancelled_by_customer(at: datetime) -> OrderCancelled:
    return order_event(
        OrderCancelled,
        S.CANCELLED,
        at,
        actor=CUSTOMER.party,
        reason="Something came up",
        previous_status=S.IN_PROGRESS,
        fee_may_apply=True,
    )


def command(cls: type[C], actor: Party, at: datetime = T0, **fields: Any) -> C:
    return cls(
        message_id=uuid.uuid4(),
        occurred_at=at,
        correlation_id=uuid.uuid4(),
        actor=actor,
        order_id=fields.pop("order_id", ORDER_ID),
        **fields,
    )


def payment(amount: str, payment_id: str = "pay-1", currency: str = "EUR") -> dict[str, Any]:
    """The fields of a `RecordPayment`."""
    return {"payment_id": payment_id, "amount": Money(amount=Decimal(amount), currency=currency)}


class RefusedError(AssertionError):
    """A scenario step that was meant to succeed was refused."""


class Scenario:
    """One order's ledger at one moment, moved along by ordering's events, commands and
    fired timers, exactly as the handlers do it (decide, then keep `after`)."""

    def __init__(
        self,
        policy: Policy | None = None,
        now: datetime = T0,
        ctx: DecisionContext | None = None,
    ) -> None:
        self.ctx = ctx or DecisionContext(policy=policy or Policy())
        self.now = now
        self.ledger: Ledger | None = None
        #: Everything published, in order.
        self.events: list[PaymentEvent] = []
        self.commands: list[Any] = []
        self.deadlines: list[DeadlineRequest] = []

    @property
    def current(self) -> Ledger:
        assert self.ledger is not None
        return self.ledger

    def at(self, moment: datetime) -> Scenario:
        self.now = moment
        return self

    def later(self, span: timedelta) -> Scenario:
        return self.at(self.now + span)

    def order(self, event: OrderEvent) -> Decision:
        """Ordering's `event` arrives."""
        self.now = max(self.now, event.occurred_at)
        return self._keep(on_order_event(self.ledger, event, self.now, self.ctx))

    def decide(self, cls: type[C], actor: Party, **fields: Any) -> Decision:
        return self.send(command(cls, actor, self.now, **fields))

    def send(self, cmd: PaymentCommand) -> Decision:
        return self._keep(decide(self.ledger, cmd, self.now, self.ctx))

    def do(self, cls: type[C], actor: Party, **fields: Any) -> Scenario:
        """Like `decide`, for a step that must be accepted."""
        decision = self.decide(cls, actor, **fields)
        if decision.rejection is not None:
            raise RefusedError(f"{cls.__name__}: {decision.rejection}")
        return self

    def pay(self, amount: str, payment_id: str = "pay-1") -> Decision:
        return self.decide(RecordPayment, GATEWAY, **payment(amount, payment_id))

    def fire(self, kind: DeadlineKind, *, at: datetime | None = None) -> Decision:
        """The open timer of `kind` falls due (at its due time unless `at`)."""
        deadline = self.current.open_deadline(kind)
        assert deadline is not None, f"no open {kind} timer"
        return self.fire_id(deadline.id(self.current.order_id), kind, at or deadline.due_at)

    def fire_id(self, deadline_id: str, kind: str, at: datetime) -> Decision:
        self.now = max(self.now, at)
        fired = DeadlineFired(deadline_id, kind, self.current.order_id, at, uuid.uuid4())
        return self._keep(on_deadline(self.ledger, fired, self.now, self.ctx))

    def _keep(self, decision: Decision) -> Decision:
        if decision.changed:
            self.ledger = decision.after
        self.events += decision.events
        self.commands += decision.commands
        self.deadlines += decision.deadlines
        return decision

    def types(self) -> list[str]:
        return [e.type for e in self.events]


def in_progress(policy: Policy | None = None, **term_changes: Any) -> Scenario:
    """An order the supplier confirmed: payments knows its parties and terms."""
    sc = Scenario(policy)
    sc.order(created(**term_changes))
    sc.order(confirmed(sc.current.facts.terms, T0 + timedelta(hours=1)))
    return sc


def awaiting_payment(policy: Policy | None = None, *, payment_stage: bool = True) -> Scenario:
    """The execution was confirmed a day after the appointment: the request is open."""
    sc = in_progress(policy)
    sc.order(execution_confirmed(END + timedelta(days=1), payment_stage=payment_stage))
    return sc


def overdue(policy: Policy | None = None) -> Scenario:
    sc = awaiting_payment(policy)
    sc.fire(DeadlineKind.PAYMENT_WINDOW)
    return sc
