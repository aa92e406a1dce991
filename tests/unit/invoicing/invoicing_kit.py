"""Builders for invoicing's domain tests: ordering's events, commands, and a `Scenario`
that drives one ledger the way the handlers do, numbers included."""

from __future__ import annotations

import itertools
import uuid
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from contracts.accounts import AccountOpened
from contracts.envelope import Command, Contact, Event, Message, Party, Role
from contracts.invoicing import InvoiceStatus
from contracts.orders import (
    AccountTerms,
    Flow,
    ManagedTerms,
    Money,
    OrderActivated,
    OrderCancelled,
    OrderCompleted,
    OrderCreated,
    OrderItem,
    OrderParty,
    OrderRejected,
    OrderStatus,
    PlannedInvoice,
)
from invoicing.domain import (
    CancelDeadline,
    DeadlineFired,
    DeadlineKind,
    Decision,
    DecisionContext,
    Invoice,
    Ledger,
    NumberTaken,
    Policy,
    ScheduleDeadline,
    account_ledger_id,
    fold,
    on_account_event,
    on_command,
    on_deadline,
    on_number,
    on_order_event,
    order_ledger_id,
    pending_numbers,
    published,
    queue_account_order,
)

C = TypeVar("C", bound=Command)
S = InvoiceStatus

#: A Monday morning.
T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
ORDER_ID = uuid.UUID("00000000-0000-4000-8000-000000000001")
LEDGER = order_ledger_id(ORDER_ID)


def party(pid: str, role: Role, email: str | None = None) -> OrderParty:
    return OrderParty(id=pid, role=role, contact=Contact(email=email) if email else None)


MEMBER = party("member-1", Role.MEMBER, "member@example.com")
CLIENT = party("client-1", Role.CLIENT, "client@example.com")
OPERATOR = Party(id="operator-1", role=Role.OPERATOR)
PAYMENTS = Party(id="payments", role=Role.SYSTEM)
AGENT = party("agent-1", Role.AGENT, "agent@example.com")
ACCOUNT_CONTACT = Contact(email="billing@acme.example", name="Acme")


def eur(amount: str) -> Money:
    return Money(amount=Decimal(amount), currency="EUR")


def invoice_id(n: int, order_id: uuid.UUID = ORDER_ID) -> str:
    return f"{order_ledger_id(order_id)}/{n}"


def envelope(actor: Party | None = None, at: datetime = T0) -> dict[str, Any]:
    return {
        "message_id": uuid.uuid4(),
        "occurred_at": at,
        "correlation_id": uuid.uuid4(),
        "actor": actor or Party(id="ordering", role=Role.SYSTEM),
    }


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


def order_created(
    terms: ManagedTerms | AccountTerms | None = None,
    parties: list[OrderParty] | None = None,
    order_id: uuid.UUID = ORDER_ID,
) -> OrderCreated:
    terms = terms or managed_terms()
    flow = Flow.MANAGED if isinstance(terms, ManagedTerms) else Flow.ACCOUNT
    return OrderCreated(
        **envelope(),
        order_id=order_id,
        flow=flow,
        status=OrderStatus.DRAFT,
        parties=parties or ([MEMBER, CLIENT] if flow is Flow.MANAGED else [AGENT]),
        terms=terms,
    )


def order_activated(
    planned: list[PlannedInvoice] | None = None, order_id: uuid.UUID = ORDER_ID
) -> OrderActivated:
    terms = managed_terms()
    return OrderActivated(
        **envelope(),
        order_id=order_id,
        flow=Flow.MANAGED,
        status=OrderStatus.ACTIVE,
        confirmed_by=Role.CLIENT,
        no_payment_guarantee=False,
        planned_invoices=terms.planned_invoices if planned is None else planned,
        service_start=terms.service_start,
        service_end=terms.service_end,
        service_ends_at=datetime(2025, 5, 1, tzinfo=UTC),
    )


def order_cancelled(order_id: uuid.UUID = ORDER_ID) -> OrderCancelled:
    return OrderCancelled(
        **envelope(),
        order_id=order_id,
        flow=Flow.MANAGED,
        status=OrderStatus.CANCELLED,
        reason="The client went out of business",
        previous_status=OrderStatus.CANCELLATION_REQUESTED,
    )


def order_rejected(order_id: uuid.UUID = ORDER_ID) -> OrderRejected:
    return OrderRejected(
        **envelope(),
        order_id=order_id,
        flow=Flow.MANAGED,
        status=OrderStatus.REJECTED,
        cause="operator",
        reason="no",
    )


def item(product: str, price: str, quantity: int = 1) -> OrderItem:
    return OrderItem(
        product_id=product, pricing_option="monthly", unit_price=Decimal(price), quantity=quantity
    )


def account_terms(account_id: str = "acc-1", currency: str = "EUR", **changes: Any) -> AccountTerms:
    base: dict[str, Any] = {
        "account_id": account_id,
        "order_date": date(2025, 3, 3),
        "currency": currency,
        "payment_method": "card",
        "items": [item("router", "19.90", 2), item("support", "100")],
    }
    return AccountTerms(**{**base, **changes})


def account_opened(account_id: str = "acc-1", bill_cycle_day: int = 5) -> AccountOpened:
    return AccountOpened(
        **envelope(Party(id="billing-system", role=Role.SYSTEM)),
        account_id=account_id,
        name="Acme Corp",
        contact=ACCOUNT_CONTACT,
        created_on=date(2024, 1, 15),
        bill_cycle_day=bill_cycle_day,
    )


def order_completed(order_id: uuid.UUID, total: Money | None = None) -> OrderCompleted:
    return OrderCompleted(
        **envelope(),
        order_id=order_id,
        flow=Flow.ACCOUNT,
        status=OrderStatus.COMPLETED,
        receipt_to=ACCOUNT_CONTACT,
        total=total,
    )


def command(cls: type[C], actor: Party, **fields: Any) -> C:
    return cls(**envelope(actor), **fields)


_order_ids = itertools.count(100)


def new_order_id() -> uuid.UUID:
    return uuid.UUID(f"00000000-0000-4000-8000-{next(_order_ids):012d}")


class Scenario:
    """One ledger at one moment, moved along by messages, deadlines and numbers the way
    the handlers move it: every decision folded, its numbers taken at once."""

    def __init__(self, ledger_id: str = LEDGER, policy: Policy | None = None, now: datetime = T0):
        self.ledger = Ledger(ledger_id)
        self.policy = policy or Policy()
        self.now = now
        #: Everything published on invoicing.events, in order.
        self.published: list[Event] = []
        #: Commands for ordering (MarkInvoicingComplete).
        self.commands: list[Message] = []
        #: Pending deadlines by id, as the timer service would hold them.
        self.deadlines: dict[str, ScheduleDeadline] = {}
        self.cancelled: list[str] = []
        self.rejections: list[Message] = []
        self.numbers: dict[str, dict[str, int]] = defaultdict(dict)
        #: Every event the ledger stored (published ones and records), in order.
        self.stored: list[Event] = []

    @property
    def ctx(self) -> DecisionContext:
        return DecisionContext(policy=self.policy)

    def apply(self, decision: Decision) -> Decision:
        self.ledger = fold(decision.events, self.ledger)
        self.stored += decision.events
        self.published += published(decision)
        self.commands += decision.commands
        if decision.rejection_event is not None:
            self.rejections.append(decision.rejection_event)
        for request in decision.deadlines:
            if isinstance(request, CancelDeadline):
                self.deadlines.pop(request.deadline_id, None)
                self.cancelled.append(request.deadline_id)
            else:
                self.deadlines[request.deadline_id] = request
        self.number_pending()
        return decision

    def order(self, event: Event) -> Decision:
        return self.apply(on_order_event(self.ledger, event, self.now, self.ctx))

    def do(self, command: Command) -> Decision:
        return self.apply(on_command(self.ledger, command, self.now, self.ctx))

    def account(self, event: AccountOpened) -> Decision:
        return self.apply(on_account_event(self.ledger, event, self.now, self.ctx))

    def queue(self, created: OrderCreated, completed: OrderCompleted) -> Decision:
        recorded = on_order_event(Ledger("x"), created, self.now, self.ctx).events
        facts = fold(recorded, Ledger("x")).order
        assert facts is not None
        decision = queue_account_order(self.ledger, completed, self.now, self.ctx, facts=facts)
        return self.apply(decision)

    def fire(self, deadline_id: str, *, move_clock: bool = True) -> Decision:
        """The timer service fires the deadline (at its due time, unless told not to)."""
        request = self.deadlines.get(deadline_id)
        assert request is not None, f"{deadline_id} is not pending"
        if move_clock:
            self.now = max(self.now, request.due_at)
        return self.fire_again(request)

    def fire_again(self, request: ScheduleDeadline) -> Decision:
        """Deliver an expiry of `request` whether or not it is still pending."""
        fired = DeadlineFired(
            deadline_id=request.deadline_id,
            kind=request.kind,
            order_id=request.order_id,
            due_at=request.due_at,
            message_id=uuid.uuid4(),
            correlation_id=uuid.uuid4(),
            payload=request.payload,
        )
        self.deadlines.pop(request.deadline_id, None)
        return self.apply(on_deadline(self.ledger, fired, self.now, self.ctx))

    def number_pending(self) -> None:
        for _ in range(100):
            pending = pending_numbers(self.ledger)
            if not pending:
                return
            request = pending[0]
            taken = self.numbers[request.series]
            number = taken.setdefault(request.document_id, len(taken) + 1)
            numbered = NumberTaken(request.document_id, number)
            decision = on_number(self.ledger, numbered, self.now, self.ctx)
            self.ledger = fold(decision.events, self.ledger)
            self.stored += decision.events
            self.published += published(decision)
            self.commands += decision.commands

    # -- reading ---------------------------------------------------------------------------

    def invoice(self, n: int | str) -> Invoice:
        found = self.ledger.invoice(n if isinstance(n, str) else invoice_id(n))
        assert found is not None
        return found

    def types(self) -> list[str]:
        return [e.type for e in self.published]

    def last_rejection(self) -> str:
        assert self.rejections, "nothing was rejected"
        return str(getattr(self.rejections[-1], "reason", ""))


def draft_deadline(n: int) -> str:
    return f"{invoice_id(n)}:draft"


def issue_deadline(n: int) -> str:
    return f"{invoice_id(n)}:issue"


def active_scenario(planned: list[PlannedInvoice] | None = None, **kwargs: Any) -> Scenario:
    """A managed order's ledger right after the order became active."""
    sc = Scenario(**kwargs)
    sc.order(order_created())
    sc.order(order_activated(planned))
    return sc


def account_scenario(account_id: str = "acc-1", **kwargs: Any) -> Scenario:
    return Scenario(ledger_id=account_ledger_id(account_id), **kwargs)


__all__ = ["DeadlineKind", "S"]
