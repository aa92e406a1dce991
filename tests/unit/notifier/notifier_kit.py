"""Builders for the notifier's tests: real events as ordering, invoicing and payments
publish them (through their contract classes and a JSON round trip), the order facts the
notifier learns, and in-memory stand-ins for the delivery store and the SMTP server."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal, TypeVar

from contracts.envelope import SYSTEM, Contact, Event, Party, Role
from contracts.invoicing import (
    INVOICING_EVENTS,
    CreditNote,
    InvoiceChangesDeclined,
    InvoiceDrafted,
    InvoiceDraftRevised,
    InvoiceIssued,
    InvoiceLine,
    InvoiceStatus,
    InvoiceVoided,
)
from contracts.orders import (
    ORDER_EVENTS,
    AccountTerms,
    CancellationRefused,
    ChangeProposed,
    DraftEdited,
    ExecutionConfirmed,
    Flow,
    ManagedTerms,
    Money,
    OrderCancelled,
    OrderCompleted,
    OrderCreated,
    OrderEdited,
    OrderItem,
    OrderPaid,
    OrderParty,
    OrderRejected,
    OrderSentToClient,
    OrderStatus,
    PlannedInvoice,
    PostpaidTerms,
    ReceiptResent,
    ServiceMarkedDone,
    TermsChange,
)
from contracts.payments import (
    PAYMENT_EVENTS,
    ClaimOpened,
    ClaimStatus,
    PaymentOverdue,
    PaymentRequested,
    PayoutPaid,
    PayoutStatus,
    Purpose,
    RequestStatus,
)
from notifier.domain import Email, EmailPolicy, Failure, OrderFacts, learn
from notifier.mail import Mail
from notifier.smtp import SendError
from notifier.store import Lease, Outcome, Pending
from ordering.domain import issue_token

E = TypeVar("E", bound=Event)

#: A Monday morning.
T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
ORDER_ID = uuid.UUID("00000000-0000-4000-8000-00000000000a")
SECRET = b"notifier-unit-test-secret"
POLICY = EmailPolicy()

S = OrderStatus


def party(pid: str, role: Role, email: str | None, name: str = "") -> OrderParty:
    contact = Contact(email=email, name=name) if email else None
    return OrderParty(id=pid, role=role, contact=contact)


MEMBER = party("member-1", Role.MEMBER, "member@example.com", "Mona Member")
CLIENT = party("client-1", Role.CLIENT, "client@example.com", "Clara Client")
SUPPLIER = party("supplier-1", Role.SUPPLIER, "supplier@example.com", "Sam Supplier")
CUSTOMER = party("customer-1", Role.CUSTOMER, "customer@example.com", "Cora Customer")
AGENT = party("agent-1", Role.AGENT, None)
ACCOUNT = party("acc-1", Role.CUSTOMER, "billing@example.com", "Acme Ltd")
OPERATOR = Party(id="operator-1", role=Role.OPERATOR)

_ids = itertools.count(1)


def envelope(actor: Party = SYSTEM, at: datetime = T0) -> dict[str, Any]:
    return {
        "message_id": uuid.uuid5(uuid.NAMESPACE_URL, f"notifier-kit-{next(_ids)}"),
        "occurred_at": at,
        "correlation_id": uuid.uuid5(uuid.NAMESPACE_URL, "notifier-kit-correlation"),
        "actor": actor,
    }


def wire(event: E) -> E:
    """The event as a consumer reads it off the topic: JSON and back."""
    for union in (ORDER_EVENTS, INVOICING_EVENTS, PAYMENT_EVENTS):
        if event.type in union.classes:
            parsed = union.parse(event.model_dump_json())
            assert type(parsed) is type(event)
            return parsed  # type: ignore[return-value]
    raise LookupError(event.type)


def order(flow: Flow, status: OrderStatus, order_id: uuid.UUID = ORDER_ID) -> dict[str, Any]:
    return {"order_id": order_id, "flow": flow, "status": status}


def money(amount: str, currency: str = "EUR") -> Money:
    return Money(amount=Decimal(amount), currency=currency)


def managed_terms(**changes: Any) -> ManagedTerms:
    terms: dict[str, Any] = {
        "description": "Quarterly maintenance",
        "offer_valid_until": T0 + timedelta(days=7),
        "service_start": date(2025, 3, 10),
        "service_end": date(2025, 5, 31),
        "planned_invoices": [PlannedInvoice(invoice_date=date(2025, 4, 1), amount=money("100"))],
    }
    return ManagedTerms(**(terms | changes))


def postpaid_terms(**changes: Any) -> PostpaidTerms:
    terms: dict[str, Any] = {
        "service": "Piano lesson",
        "appointment_start": T0 + timedelta(days=2),
        "appointment_end": T0 + timedelta(days=2, hours=1),
        "price": money("40"),
        "payment_method": "card",
    }
    return PostpaidTerms(**(terms | changes))


def account_terms() -> AccountTerms:
    return AccountTerms(
        account_id="acc-1",
        order_date=date(2025, 3, 3),
        currency="EUR",
        payment_method="card",
        items=[
            OrderItem(
                product_id="hosting",
                pricing_option="monthly",
                unit_price=Decimal("19.99"),
                quantity=3,
            ),
            OrderItem(product_id="support", pricing_option="yearly", unit_price=Decimal("0.05")),
        ],
    )


# -- ordering's events ---------------------------------------------------------------------


def managed_created() -> OrderCreated:
    return wire(
        OrderCreated(
            **envelope(MEMBER.party),
            **order(Flow.MANAGED, S.DRAFT),
            parties=[MEMBER, CLIENT],
            terms=managed_terms(),
        )
    )


def postpaid_created(
    customer: OrderParty = CUSTOMER, supplier: OrderParty = SUPPLIER
) -> OrderCreated:
    return wire(
        OrderCreated(
            **envelope(customer.party),
            **order(Flow.POSTPAID, S.CONFIRMATION),
            parties=[customer, supplier],
            terms=postpaid_terms(),
            respond_by=T0 + timedelta(hours=24),
        )
    )


def account_created() -> OrderCreated:
    return wire(
        OrderCreated(
            **envelope(Party(id="agent-1", role=Role.AGENT)),
            **order(Flow.ACCOUNT, S.DRAFT),
            parties=[AGENT, ACCOUNT],
            terms=account_terms(),
        )
    )


def draft_edited(client: OrderParty) -> DraftEdited:
    return wire(
        DraftEdited(
            **envelope(MEMBER.party),
            **order(Flow.MANAGED, S.DRAFT),
            parties=[MEMBER, client],
            terms=managed_terms(description="Yearly maintenance"),
        )
    )


def sent_to_client(client: OrderParty = CLIENT, secret: bytes = SECRET) -> OrderSentToClient:
    until = T0 + timedelta(days=7)
    return wire(
        OrderSentToClient(
            **envelope(OPERATOR),
            **order(Flow.MANAGED, S.CLIENT_CONFIRMATION),
            client=client,
            confirmation_token=issue_token(secret, ORDER_ID, client.id, until),
            offer_valid_until=until,
        )
    )


Cause = Literal["operator", "client", "offer_expired"]


def rejected(cause: Cause = "operator", reason: str = "The client is not on file") -> OrderRejected:
    actor = {"operator": OPERATOR, "client": CLIENT.party}.get(cause, SYSTEM)
    return wire(
        OrderRejected(
            **envelope(actor), **order(Flow.MANAGED, S.REJECTED), cause=cause, reason=reason
        )
    )


def cancelled(
    flow: Flow = Flow.MANAGED, previous: OrderStatus = S.CANCELLATION_REQUESTED
) -> OrderCancelled:
    return wire(
        OrderCancelled(
            **envelope(OPERATOR),
            **order(flow, S.CANCELLED),
            reason="The client closed its office for good",
            previous_status=previous,
        )
    )


def cancellation_refused() -> CancellationRefused:
    return wire(
        CancellationRefused(
            **envelope(OPERATOR), **order(Flow.MANAGED, S.ACTIVE), reason="Invoices already sent"
        )
    )


def edited(awaiting: Role = Role.CUSTOMER, comment: str = "Can we move it a day?") -> OrderEdited:
    actor = SUPPLIER.party if awaiting is Role.CUSTOMER else CUSTOMER.party
    return wire(
        OrderEdited(
            **envelope(actor),
            **order(Flow.POSTPAID, S.CONFIRMATION),
            changes=TermsChange(
                appointment_start=T0 + timedelta(days=3),
                appointment_end=T0 + timedelta(days=3, hours=1),
                price=money("45.50") if awaiting is Role.CUSTOMER else None,
            ),
            comment=comment,
            awaiting=awaiting,
            respond_by=T0 + timedelta(hours=24),
        )
    )


def change_proposed() -> ChangeProposed:
    return wire(
        ChangeProposed(
            **envelope(SUPPLIER.party),
            **order(Flow.POSTPAID, S.IN_PROGRESS),
            proposal=1,
            changes=TermsChange(payment_method="cash"),
            comment="Card reader broke",
            lapses_at=T0 + timedelta(hours=24),
        )
    )


def service_done(automatic: bool = False) -> ServiceMarkedDone:
    return wire(
        ServiceMarkedDone(
            **envelope(SYSTEM if automatic else SUPPLIER.party),
            **order(Flow.POSTPAID, S.EXECUTION_CONFIRMATION),
            automatic=automatic,
            confirm_by=T0 + timedelta(days=5),
        )
    )


def execution_confirmed(status: OrderStatus = S.CLOSED) -> ExecutionConfirmed:
    return wire(
        ExecutionConfirmed(
            **envelope(CUSTOMER.party),
            **order(Flow.POSTPAID, status),
            automatic=False,
            price=money("40"),
            payment_method="card",
        )
    )


def order_paid() -> OrderPaid:
    return wire(OrderPaid(**envelope(), **order(Flow.POSTPAID, S.CLOSED), payment_id="pay-1"))


def completed(receipt_to: Contact | None = None, flow: Flow = Flow.ACCOUNT) -> OrderCompleted:
    return wire(
        OrderCompleted(
            **envelope(Party(id="agent-1", role=Role.AGENT)),
            **order(flow, S.COMPLETED),
            receipt_to=receipt_to,
            total=money("60.02") if receipt_to else None,
        )
    )


def receipt_resent() -> ReceiptResent:
    assert ACCOUNT.contact is not None
    return wire(
        ReceiptResent(
            **envelope(Party(id="agent-1", role=Role.AGENT)),
            **order(Flow.ACCOUNT, S.COMPLETED),
            receipt_to=ACCOUNT.contact,
        )
    )


# -- invoicing's and payments' events ------------------------------------------------------

INVOICE_ID = f"order/{ORDER_ID}/1"
LINES = [
    InvoiceLine(
        description="Maintenance, April",
        quantity=2,
        unit_price=Decimal("50"),
        amount=Decimal("100"),
    ),
]


def invoice(status: InvoiceStatus) -> dict[str, Any]:
    return {"invoice_id": INVOICE_ID, "order_id": ORDER_ID, "status": status}


def invoice_drafted() -> InvoiceDrafted:
    return wire(
        InvoiceDrafted(
            **envelope(),
            **invoice(InvoiceStatus.DRAFT),
            member=MEMBER,
            invoice_date=date(2025, 4, 1),
            lines=LINES,
            total=money("100"),
            changes_until=datetime(2025, 4, 1, tzinfo=UTC),
        )
    )


def invoice_revised() -> InvoiceDraftRevised:
    return wire(
        InvoiceDraftRevised(
            **envelope(OPERATOR),
            **invoice(InvoiceStatus.DRAFT),
            member=MEMBER,
            lines=LINES,
            total=money("100"),
            comment="Quantity fixed",
        )
    )


def invoice_declined() -> InvoiceChangesDeclined:
    return wire(
        InvoiceChangesDeclined(
            **envelope(OPERATOR), **invoice(InvoiceStatus.DRAFT), member=MEMBER, reason="As agreed"
        )
    )


def invoice_issued() -> InvoiceIssued:
    return wire(
        InvoiceIssued(
            **envelope(),
            **invoice(InvoiceStatus.ISSUED),
            issuer_id="member-1",
            number=42,
            issued_at=datetime(2025, 4, 1, 6, tzinfo=UTC),
            invoice_date=date(2025, 4, 1),
            client=CLIENT,
            lines=LINES,
            total=money("100"),
        )
    )


def invoice_voided() -> InvoiceVoided:
    return wire(
        InvoiceVoided(
            **envelope(),
            **invoice(InvoiceStatus.VOIDED),
            credit_note=CreditNote(
                credit_note_id="cn-1",
                number=7,
                issuer_id="member-1",
                invoice_id=INVOICE_ID,
                invoice_number=42,
                total=money("100"),
                issued_at=datetime(2025, 4, 2, tzinfo=UTC),
            ),
            client=CLIENT,
            reason="order cancelled",
        )
    )


def payment(status: RequestStatus = RequestStatus.OPEN) -> dict[str, Any]:
    return {
        "order_id": ORDER_ID,
        "request_id": "req-1",
        "purpose": Purpose.ORDER_PRICE,
        "status": status,
    }


def payment_requested() -> PaymentRequested:
    return wire(
        PaymentRequested(
            **envelope(),
            **payment(),
            amount=money("40"),
            due_at=T0 + timedelta(hours=72),
            payment_method="card",
            customer=CUSTOMER,
            supplier=SUPPLIER,
        )
    )


def payment_overdue() -> PaymentOverdue:
    return wire(
        PaymentOverdue(
            **envelope(),
            **payment(RequestStatus.OVERDUE),
            outstanding=money("40"),
            due_at=T0 + timedelta(hours=72),
            customer=CUSTOMER,
            supplier=SUPPLIER,
        )
    )


def claim_opened() -> ClaimOpened:
    return wire(
        ClaimOpened(
            **envelope(SUPPLIER.party),
            order_id=ORDER_ID,
            claim_id="claim-1",
            status=ClaimStatus.OPENED,
            supplier=SUPPLIER,
            number=1,
            request_id="req-1",
            amount=money("40"),
            reason="Three reminders went unanswered",
            customer=CUSTOMER,
        )
    )


def payout_paid() -> PayoutPaid:
    return wire(
        PayoutPaid(
            **envelope(),
            order_id=ORDER_ID,
            payout_id="payout-1",
            status=PayoutStatus.PAID,
            supplier=SUPPLIER,
            net=money("36.40"),
            reference="TRX-2025-0042",
        )
    )


def facts_of(event: OrderCreated | DraftEdited) -> OrderFacts:
    return learn(event)


def learn_for(order_id: uuid.UUID, event: OrderCreated | DraftEdited) -> OrderFacts:
    """The facts `event` teaches, for another order (tests sharing a store stay apart)."""
    return dataclasses.replace(learn(event), order_id=order_id)


MANAGED_FACTS = learn(managed_created())
POSTPAID_FACTS = learn(postpaid_created())
ACCOUNT_FACTS = learn(account_created())


# -- stand-ins for the store and the SMTP server ---------------------------------------------


class MemoryDeliveries:
    """The `DeliveryStore` protocol on dicts, with the same first-insert-wins semantics."""

    def __init__(self) -> None:
        self.claims: dict[str, tuple[Email, Lease]] = {}
        self.leases: dict[str, Lease] = {}
        self.outcomes: dict[str, Outcome] = {}
        self.unfinished: dict[str, datetime] = {}

    async def claim(
        self, emails: Sequence[Email], lease_until: datetime, owner: str, now: datetime
    ) -> list[bool]:
        pending = [self.unfinished.setdefault(e.key, now) is now for e in emails]
        claimed = []
        for email in emails:
            new = email.key not in self.claims
            if new:
                self.claims[email.key] = (email, Lease(1, lease_until, owner))
            claimed.append(new)
        for email, p, c in zip(emails, pending, claimed, strict=True):
            if p and not c and email.key in self.outcomes:
                self.unfinished.pop(email.key, None)
        return claimed

    async def claimed(self, key: str) -> Email | None:
        found = self.claims.get(key)
        return found[0] if found else None

    async def lease(self, key: str) -> Lease | None:
        found = self.claims.get(key)
        if found is None:
            return None
        current = found[1]
        while (newer := self.leases.get(f"{key}#{current.generation + 1}")) is not None:
            current = newer
        return current

    async def take_over(self, key: str, generation: int, until: datetime, owner: str) -> bool:
        lease_id = f"{key}#{generation}"
        if lease_id in self.leases:
            return False
        self.leases[lease_id] = Lease(generation, until, owner)
        return True

    async def record(self, outcomes: Sequence[Outcome]) -> list[bool]:
        firsts = []
        for outcome in outcomes:
            first = outcome.key not in self.outcomes
            if first:
                self.outcomes[outcome.key] = outcome
            firsts.append(first)
        return firsts

    async def outcome(self, key: str) -> Outcome | None:
        return self.outcomes.get(key)

    async def finish(self, keys: Sequence[str]) -> None:
        for key in keys:
            self.unfinished.pop(key, None)

    async def pending(self, limit: int) -> list[Pending]:
        return [Pending(k, v) for k, v in list(self.unfinished.items())[:limit]]


@dataclass
class FakeSmtp:
    """Accepts every email, after refusing the first `refusals` with `code`."""

    refusals: int = 0
    code: int = 451
    accepted: list[tuple[Mail, str, str]] = field(default_factory=list)
    attempts: int = 0
    delay: float = 0.0
    closed: bool = False

    async def send(self, message: Mail, sender: str, recipient: str) -> str:
        self.attempts += 1
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.refusals > 0:
            self.refusals -= 1
            temporary = 400 <= self.code < 500
            raise SendError(Failure(temporary, self.code, f"{self.code} refused on purpose"))
        self.accepted.append((message, sender, recipient))
        return "250 OK"

    async def close(self) -> None:
        self.closed = True


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, by: timedelta) -> None:
        self.now += by
