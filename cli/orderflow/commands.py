"""Commands as an upstream system builds them: fresh ids, the current time, plausible
terms. Used by the demo, `orderflow send` and the integration and end-to-end tests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from contracts.envelope import Command, Contact, Party, Role
from contracts.orders import ManagedTerms, Money, OrderParty, PlannedInvoice, PostpaidTerms

C = TypeVar("C", bound=Command)


def party(pid: str, role: Role, email: str | None = None) -> OrderParty:
    return OrderParty(id=pid, role=role, contact=Contact(email=email) if email else None)


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
