"""Commands as an upstream system builds them: fresh ids, the current time, plausible
terms. Used by the demo, `orderflow send` and the integration and end-to-end tests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from contracts.accounts import AccountOpened
from contracts.envelope import Command, Contact, Party, Role
from contracts.orders import (
    AccountTerms,
    ManagedTerms,
    Money,
    OrderItem,
    OrderParty,
    PlannedInvoice,
    PostpaidTerms,
)

C = TypeVar("C", bound=Command)


def party(pid: str, role: Role, email: str | None = None) -> OrderParty:
    return OrderParty(id=pid, role=role, contact=Contact(email=email) if email else None)


def agent(n: str = "1") -> OrderParty:
    return party(f"agent-{n}", Role.AGENT, f"agent{n}@example.com")


APPROVER = Party(id="approver-1", role=Role.APPROVER)


def member(n: str = "1") -> OrderParty:
    return party(f"member-{n}", Role.MEMBER, f"member{n}@example.com")


def client(n: str = "1") -> OrderParty:
    return party(f"client-{n}", Role.CLIENT, f"client{n}@example.com")


def supplier(n: str = "1") -> OrderParty:
    return party(f"supplier-{n}", Role.SUPPLIER, f"supplier{n}@example.com")


def customer(n: str = "1") -> OrderParty:
    return party(f"customer-{n}", Role.CUSTOMER, f"customer{n}@example.com")


OPERATOR = Party(id="operator-1", role=Role.OPERATOR)
#: The payment gateway confirming what it received (an upstream system).
GATEWAY = Party(id="gateway", role=Role.SYSTEM)


def command(
    cls: type[C], actor: Party, correlation_id: uuid.UUID | None = None, **fields: Any
) -> C:
    """A command with a fresh message id, sent now (one correlation id per scenario)."""
    return cls(
        message_id=uuid.uuid4(),
        occurred_at=datetime.now(UTC),
        correlation_id=correlation_id or uuid.uuid4(),
        actor=actor,
        **fields,
    )


def managed_terms(now: datetime | None = None, **changes: Any) -> ManagedTerms:
    now = now or datetime.now(UTC)
    start = (now + timedelta(days=10)).date()
    terms: dict[str, Any] = {
        "description": "Quarterly maintenance",
        "offer_valid_until": now + timedelta(days=7),
        "service_start": start,
        "service_end": start + timedelta(days=60),
        "planned_invoices": [
            PlannedInvoice(
                invoice_date=start, amount=Money(amount=Decimal("100.00"), currency="EUR")
            ),
        ],
    }
    return ManagedTerms(**(terms | changes))


def postpaid_terms(now: datetime | None = None, **changes: Any) -> PostpaidTerms:
    now = now or datetime.now(UTC)
    terms: dict[str, Any] = {
        "service": "Piano lesson",
        "appointment_start": now + timedelta(days=2),
        "appointment_end": now + timedelta(days=2, hours=1),
        "price": Money(amount=Decimal("40.00"), currency="EUR"),
        "payment_method": "card",
    }
    return PostpaidTerms(**(terms | changes))


def account_opened(account_id: str, email: str, created_days_ago: int = 30) -> AccountOpened:
    """An account as the billing system publishes it on accounts.events."""
    today = datetime.now(UTC).date()
    return AccountOpened(
        message_id=uuid.uuid4(),
        occurred_at=datetime.now(UTC),
        correlation_id=uuid.uuid4(),
        actor=Party(id="billing", role=Role.SYSTEM),
        account_id=account_id,
        name=f"Account {account_id}",
        contact=Contact(email=email),
        created_on=today - timedelta(days=created_days_ago),
        bill_cycle_day=1,
    )


def account_terms(account_id: str, **changes: Any) -> AccountTerms:
    """An order of the demo catalogue's plain product (ordering.config.DEMO_CATALOGUE)."""
    terms: dict[str, Any] = {
        "account_id": account_id,
        "order_date": datetime.now(UTC).date(),
        "currency": "EUR",
        "payment_method": "card",
        "items": [
            OrderItem(
                product_id="hosting",
                pricing_option="monthly",
                unit_price=Decimal("20.00"),
                quantity=2,
            )
        ],
    }
    return AccountTerms(**(terms | changes))
