"""The money side of one post-paid order: immutable, changed only by `evolve` and `track`.

    Ledger                 one per order (the aggregate; its id is the order id)
    ├── facts              what payments knows of the order: parties, terms, status
    ├── request            PaymentRequest: what the customer owes, and its receipts
    ├── cancellation_fee   FeeComputation of a late cancellation (P-11), if any
    ├── claims             Claim, oldest first; the last one is the current one (P-16)
    ├── payout             Payout to the supplier (P-18)
    ├── refunds            money to give back (over-payments)
    └── deadlines          the timers the state needs (see `deadlines`)

Pydantic models, frozen: the ledger round-trips through the store as JSON, Decimals
as text, so no amount ever passes through a float.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import ClassVar

from pydantic import BaseModel, ConfigDict

from contracts.envelope import Party, Role
from contracts.orders import Money, OrderParty, OrderStatus, PostpaidTerms
from contracts.payments import (
    ClaimStatus,
    FeeComputation,
    PayoutStatus,
    Purpose,
    RefundCause,
    RequestStatus,
)
from payments.domain.money import minus, total
from servicekit.deadlines import Window

__all__ = [
    "Claim",
    "ClaimStatus",
    "Deadline",
    "DeadlineKind",
    "Entity",
    "Ledger",
    "OrderFacts",
    "PaymentRequest",
    "Payout",
    "PayoutStatus",
    "Purpose",
    "Receipt",
    "Refund",
    "RequestStatus",
]


class Entity(StrEnum):
    """What each of payments' tables is about: the name of its lifecycle."""

    REQUEST = "payment request"
    CLAIM = "claim"
    PAYOUT = "payout"


class DeadlineKind(StrEnum):
    PAYMENT_WINDOW = "payment_window"  # P-15
    PAYOUT_RELEASE = "payout_release"  # P-18
    PAYOUT_OVERDUE = "payout_overdue"  # P-18
    CLAIM_REOPEN = "claim_reopen_window"  # P-21


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


@dataclass(frozen=True)
class Deadline(Window[DeadlineKind]):
    """The latest timer of one kind: open while the ledger still waits for it; its id
    `payments:{order_id}:{kind}:{n}`, apart from ordering's."""

    prefix: ClassVar[str] = "payments:"
    kind: DeadlineKind


class OrderFacts(Frozen):
    """What ordering told payments about the order (from orders.events)."""

    supplier: OrderParty
    customer: OrderParty
    terms: PostpaidTerms
    order_status: OrderStatus


class Receipt(Frozen):
    """One payment the gateway confirmed, under its idempotency key."""

    payment_id: str
    amount: Money
    applied: Money
    excess: Money
    received_at: datetime


class PaymentRequest(Frozen):
    """What the customer owes: the price (P-15, P-14) or a cancellation fee (P-11)."""

    request_id: str
    purpose: Purpose
    #: Captured by the gateway (`ChargeRequested`) rather than paid by the customer.
    automatic: bool
    amount: Money
    status: RequestStatus
    opened_at: datetime
    due_at: datetime
    receipts: tuple[Receipt, ...] = ()
    charge_failures: int = 0
    settled_at: datetime | None = None

    @property
    def paid_total(self) -> Money:
        return total((r.applied for r in self.receipts), self.amount.currency)

    @property
    def outstanding(self) -> Money:
        return minus(self.amount, self.paid_total)

    def receipt(self, payment_id: str) -> Receipt | None:
        return next((r for r in self.receipts if r.payment_id == payment_id), None)


class Claim(Frozen):
    """P-16: the supplier's demand for an overdue payment."""

    claim_id: str
    number: int
    status: ClaimStatus
    amount: Money
    reason: str
    opened_at: datetime
    closed_at: datetime | None = None
    #: P-21: withdrawn, it may be opened again until then; None before this rule.
    reopen_until: datetime | None = None


class Payout(Frozen):
    """P-18: the supplier's share of money collected for the order."""

    payout_id: str
    status: PayoutStatus
    gross: Money
    fee: Money
    fee_percent: Decimal
    net: Money
    service_at: datetime
    scheduled_for: datetime
    expected_by: datetime
    requested_at: datetime | None = None
    overdue: bool = False
    paid_at: datetime | None = None
    reference: str = ""


class Refund(Frozen):
    payment_id: str
    amount: Money
    cause: RefundCause


class Ledger(Frozen):
    order_id: uuid.UUID
    facts: OrderFacts
    request: PaymentRequest | None = None
    cancellation_fee: FeeComputation | None = None
    claims: tuple[Claim, ...] = ()
    payout: Payout | None = None
    refunds: tuple[Refund, ...] = ()
    deadlines: tuple[Deadline, ...] = ()
    version: int = 0
    updated_at: datetime

    @property
    def claim(self) -> Claim | None:
        """The current claim: the latest one, whatever its status."""
        return self.claims[-1] if self.claims else None

    def party_of(self, role: Role) -> OrderParty | None:
        facts = self.facts
        return {Role.SUPPLIER: facts.supplier, Role.CUSTOMER: facts.customer}.get(role)

    def is_party(self, actor: Party) -> bool:
        """Whether `actor` is this order's supplier or customer (not staff)."""
        own = self.party_of(actor.role)
        return own is not None and own.id == actor.id

    def open_deadline(self, kind: DeadlineKind) -> Deadline | None:
        return next((d for d in self.deadlines if d.kind is kind and d.open), None)
