"""Builders for ordering's domain tests: parties, terms, snapshots, and a `Scenario` that
drives one order through commands and fired deadlines the way the handler would."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from contracts.envelope import SYSTEM, Contact, Party, Role
from contracts.orders import (
    AccountTerms,
    Flow,
    ManagedTerms,
    Money,
    OrderCommand,
    OrderEvent,
    OrderItem,
    OrderParty,
    OrderStatus,
    PlannedInvoice,
    PostpaidTerms,
)
from ordering.domain import (
    AccountDirectory,
    AccountRecord,
    Catalogue,
    DeadlineFired,
    DeadlineKind,
    Decision,
    DecisionContext,
    Order,
    Policy,
    Product,
    by_order,
    decide,
    evolve,
    on_deadline,
)
from servicekit.tables import Row, Table, Via

C = TypeVar("C", bound=OrderCommand)
S = OrderStatus

#: A Monday morning: weekday arithmetic in the tests is easy to follow from here.
T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
SECRET = b"unit-test-secret"
ORDER_ID = uuid.UUID("00000000-0000-4000-8000-000000000001")
DUPLICATE_ID = uuid.UUID("00000000-0000-4000-8000-000000000002")


def transitions(table: Table[OrderStatus]) -> list[Row[OrderStatus]]:
    """The rows of `table` a command about an existing order takes."""
    return [r for r in table.rows if r.via is Via.COMMAND and r.source is not None]


def timeouts(table: Table[OrderStatus]) -> list[Row[OrderStatus]]:
    """The rows of `table` a deadline falling due takes."""
    return [r for r in table.rows if r.via is Via.DEADLINE]


def party(pid: str, role: Role, email: str | None = None) -> OrderParty:
    return OrderParty(id=pid, role=role, contact=Contact(email=email) if email else None)


MEMBER = party("member-1", Role.MEMBER, "member@example.com")
CLIENT = party("client-1", Role.CLIENT, "client@example.com")
SUPPLIER = party("supplier-1", Role.SUPPLIER, "supplier@example.com")
CUSTOMER = party("customer-1", Role.CUSTOMER, "customer@example.com")
AGENT = party("agent-1", Role.AGENT, "agent@example.com")
OPERATOR = Party(id="operator-1", role=Role.OPERATOR)
APPROVER = Party(id="approver-1", role=Role.APPROVER)
ACCOUNT_CONTACT = Contact(email="billing@acme.example", name="Acme")

PARTIES = {
    Flow.MANAGED: [MEMBER.party, CLIENT.party, OPERATOR, SYSTEM],
    Flow.POSTPAID: [SUPPLIER.party, CUSTOMER.party, SYSTEM],
    Flow.ACCOUNT: [AGENT.party, APPROVER, SYSTEM],
}
#: People with a plausible role who are not on the order (nor its flow's staff).
OUTSIDERS = [
    Party(id="member-2", role=Role.MEMBER),
    Party(id="client-2", role=Role.CLIENT),
    Party(id="supplier-2", role=Role.SUPPLIER),
    Party(id="customer-2", role=Role.CUSTOMER),
    Party(id="agent-2", role=Role.AGENT),
]

DIRECTORY = AccountDirectory(
    {
        "acc-1": AccountRecord(
            "acc-1", "Acme Corp", ACCOUNT_CONTACT, date(2024, 1, 15), date(2025, 2, 1)
        ),
        "acc-2": AccountRecord(
            "acc-2", "Globex", Contact(email="ap@globex.example"), date(2025, 1, 10)
        ),
    }
)


def catalogue(**changes: Any) -> Catalogue:
    products = {
        "router": Product("router", required_configurations=frozenset({"serial"})),
        "support": Product("support", needs_approval=True),
        "retired": Product("retired", available=False),
    }
    base: dict[str, Any] = {
        "products": products,
        "currencies": frozenset({"EUR", "USD"}),
        "payment_methods": {"card": frozenset({"EUR"}), "invoice": frozenset({"EUR", "USD"})},
    }
    return Catalogue(**{**base, **changes})


def new_order_ids() -> Callable[[], uuid.UUID]:
    """Fresh order ids for DuplicateOrder: DUPLICATE_ID first, then the next ones."""
    counter = itertools.count(2)
    return lambda: uuid.UUID(f"00000000-0000-4000-8000-{next(counter):012d}")


def context(**changes: Any) -> DecisionContext:
    base: dict[str, Any] = {
        "policy": Policy(),
        "token_secret": SECRET,
        "accounts": DIRECTORY,
        "catalogue": catalogue(),
        "new_order_id": new_order_ids(),
    }
    return DecisionContext(**{**base, **changes})


def eur(amount: str) -> Money:
    return Money(amount=Decimal(amount), currency="EUR")


def managed_terms(**changes: Any) -> ManagedTerms:
    base: dict[str, Any] = {
        "description": "Website redesign",
        "offer_valid_until": T0 + timedelta(days=10),
        "service_start": date(2025, 3, 10),
        "service_end": date(2025, 4, 30),
        "planned_invoices": [
            PlannedInvoice(invoice_date=date(2025, 3, 31), amount=eur("1500.00")),
            PlannedInvoice(invoice_date=date(2025, 4, 30), amount=eur("1500.00")),
        ],
    }
    return ManagedTerms(**{**base, **changes})


def postpaid_terms(**changes: Any) -> PostpaidTerms:
    base: dict[str, Any] = {
        "service": "Piano lesson",
        "appointment_start": T0 + timedelta(days=3),
        "appointment_end": T0 + timedelta(days=3, hours=1),
        "price": eur("60.00"),
        "payment_method": "card",
    }
    return PostpaidTerms(**{**base, **changes})


ROUTER = OrderItem(
    product_id="router",
    pricing_option="monthly",
    unit_price=Decimal("19.90"),
    quantity=2,
    configurations={"serial": "SN-1"},
)
SUPPORT = OrderItem(
    product_id="support", kind="service", pricing_option="yearly", unit_price=Decimal("100")
)


def account_terms(**changes: Any) -> AccountTerms:
    base: dict[str, Any] = {
        "account_id": "acc-1",
        "order_date": date(2025, 3, 3),
        "currency": "EUR",
        "payment_method": "card",
        "items": [ROUTER, SUPPORT],
    }
    return AccountTerms(**{**base, **changes})


def command(cls: type[C], actor: Party, order_id: uuid.UUID = ORDER_ID, **fields: Any) -> C:
    return cls(
        message_id=uuid.uuid4(),
        occurred_at=T0,
        correlation_id=uuid.uuid4(),
        actor=actor,
        order_id=order_id,
        **fields,
    )


class RefusedError(AssertionError):
    """A scenario step that was meant to succeed was refused."""


class Scenario:
    """One order at one moment, moved along by commands and fired deadlines."""

    def __init__(self, ctx: DecisionContext | None = None, now: datetime = T0) -> None:
        self.ctx = ctx or context()
        self.now = now
        self.order: Order | None = None
        self.others: dict[uuid.UUID, Order] = {}
        #: Every event folded into `order`, in order.
        self.history: list[OrderEvent] = []

    @property
    def current(self) -> Order:
        assert self.order is not None
        return self.order

    def status(self) -> OrderStatus:
        # A call, not an attribute: mypy must not narrow it from one assert to the next.
        return self.current.status

    def at(self, moment: datetime) -> Scenario:
        self.now = moment
        return self

    def later(self, span: timedelta) -> Scenario:
        return self.at(self.now + span)

    def decide(self, cls: type[C], actor: Party, **fields: Any) -> Decision:
        """Decide and, if accepted, fold: what the handler does."""
        decision = decide(self.order, command(cls, actor, **fields), self.now, self.ctx)
        self._fold(decision)
        return decision

    def do(self, cls: type[C], actor: Party, **fields: Any) -> Scenario:
        """Like `decide`, for a step that must be accepted."""
        decision = self.decide(cls, actor, **fields)
        if decision.rejection is not None:
            raise RefusedError(f"{cls.__name__}: {decision.rejection}")
        return self

    def fire(self, kind: DeadlineKind, *, at: datetime | None = None) -> Decision:
        """The open deadline of `kind` falls due (at its due time unless `at`)."""
        deadline = self.current.open_deadline(kind)
        assert deadline is not None, f"no open {kind} deadline"
        return self.fire_id(deadline.id(self.current.order_id), kind, at or deadline.due_at)

    def fire_id(self, deadline_id: str, kind: str, at: datetime) -> Decision:
        self.now = max(self.now, at)
        fired = DeadlineFired(deadline_id, kind, self.current.order_id, at, uuid.uuid4())
        decision = on_deadline(self.order, fired, self.now, self.ctx)
        self._fold(decision)
        return decision

    def _fold(self, decision: Decision) -> None:
        for order_id, events in by_order(decision.events).items():
            for event in events:
                if self.order is None or order_id == self.current.order_id:
                    self.order = evolve(self.order, event)
                    self.history.append(event)
                else:
                    self.others[order_id] = evolve(self.others.get(order_id), event)
