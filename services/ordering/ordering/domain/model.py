"""An order's state: immutable, built only by folding its events (see `evolve`).

Order                    what every flow has: id, flow, status, parties, timeline,
│                        version, and the deadlines its status needs
└── details              one of:
    ├── ManagedDetails   M-xx: terms, review and service-period facts
    ├── PostpaidDetails  P-xx: terms, whose turn it is, the pending proposal
    └── AccountDetails   A-xx: terms, whether approval is needed
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from contracts.envelope import Party, Role
from contracts.orders import (
    AccountTerms,
    Flow,
    ManagedTerms,
    Money,
    OrderStatus,
    PostpaidTerms,
    TermsChange,
)
from servicekit.deadlines import Window
from servicekit.decisions import OrderCore

__all__ = [
    "AccountDetails",
    "Deadline",
    "DeadlineKind",
    "Flow",
    "ManagedDetails",
    "Order",
    "OrderStatus",
    "PostpaidDetails",
    "Proposal",
    "TimelineEntry",
    "account_details",
    "apply_change",
    "deadline_id",
    "managed_details",
    "postpaid_details",
]


class DeadlineKind(StrEnum):
    REVIEW_OVERDUE = "review_overdue"  # M-04
    OFFER_EXPIRY = "offer_expiry"  # M-09
    SERVICE_END = "service_end"  # M-16
    CONFIRMATION_WINDOW = "confirmation_window"  # P-02
    PROPOSAL_LAPSE = "proposal_lapse"  # P-09
    AUTO_DONE = "auto_done"  # P-12
    AUTO_CONFIRM = "auto_confirm"  # P-13
    APPROVAL_OVERDUE = "approval_overdue"


def deadline_id(order_id: uuid.UUID, kind: DeadlineKind, n: int) -> str:
    """Deterministic: the n-th window of `kind` of an order; a restart takes n + 1."""
    return f"{order_id}:{kind.value}:{n}"


@dataclass(frozen=True)
class Deadline(Window[DeadlineKind]):
    """The latest window of one kind: open while the order still waits for it."""

    kind: DeadlineKind


@dataclass(frozen=True)
class TimelineEntry:
    """M-17: who did what, when."""

    type: str
    actor: Party
    at: datetime
    status: OrderStatus


@dataclass(frozen=True)
class ManagedDetails:
    terms: ManagedTerms
    duplicated_from: uuid.UUID | None = None
    duplicates: tuple[uuid.UUID, ...] = ()
    submitted_at: datetime | None = None
    review_due_at: datetime | None = None
    review_overdue: bool = False
    service_ends_at: datetime | None = None
    service_ended: bool = False
    invoicing_complete: bool = False
    cancellation_reason: str = ""
    rejection_cause: str | None = None
    #: M-18: the operator's question when the order was last returned to its member.
    returned_comment: str | None = None

    @property
    def no_payment_guarantee(self) -> bool:
        """M-06: skipped client confirmation without a proof document."""
        return self.terms.skip_client_confirmation and self.terms.proof_document is None


@dataclass(frozen=True)
class Proposal:
    """P-09: a change the supplier proposed while in progress, not applied yet."""

    number: int
    changes: TermsChange
    comment: str
    lapses_at: datetime


@dataclass(frozen=True)
class PostpaidDetails:
    terms: PostpaidTerms
    #: P-05: whose confirmation the order waits for, during `confirmation`.
    awaiting: Role | None = Role.SUPPLIER
    respond_by: datetime | None = None
    auto_done_at: datetime | None = None
    proposal: Proposal | None = None
    proposals_made: int = 0
    confirm_by: datetime | None = None
    reviewed: bool = False
    #: P-19: the price the customer has agreed to; None until the first edit (the
    #: booked price). A price on the terms other than this one waits for the customer.
    agreed_price: Money | None = None
    #: P-21: closed without the money being collected (a claim written off or withdrawn).
    unpaid: bool = False

    @property
    def pending_price(self) -> Money | None:
        """P-19: the supplier's new price the customer has not accepted, if any."""
        agreed = self.agreed_price
        return None if agreed is None or agreed == self.terms.price else self.terms.price


@dataclass(frozen=True)
class AccountDetails:
    terms: AccountTerms
    needs_approval: bool = False
    receipts_sent: int = 0
    #: A-13: when the pending approval becomes overdue, and whether it has.
    approval_due_at: datetime | None = None
    approval_overdue: bool = False


Details = ManagedDetails | PostpaidDetails | AccountDetails


@dataclass(frozen=True)
class Order(OrderCore):
    details: Details
    created_at: datetime
    updated_at: datetime
    version: int = 1
    timeline: tuple[TimelineEntry, ...] = ()
    deadlines: tuple[Deadline, ...] = ()

    def has_party(self, party: Party) -> bool:
        """Whether `party` is one of this order's own parties (not staff)."""
        return any(p.id == party.id and p.role is party.role for p in self.parties)

    def open_deadline(self, kind: DeadlineKind) -> Deadline | None:
        return next((d for d in self.deadlines if d.kind is kind and d.open), None)


def managed_details(order: Order) -> ManagedDetails:
    if not isinstance(order.details, ManagedDetails):
        raise TypeError(f"order {order.order_id} is a {order.flow} order")
    return order.details


def postpaid_details(order: Order) -> PostpaidDetails:
    if not isinstance(order.details, PostpaidDetails):
        raise TypeError(f"order {order.order_id} is a {order.flow} order")
    return order.details


def account_details(order: Order) -> AccountDetails:
    if not isinstance(order.details, AccountDetails):
        raise TypeError(f"order {order.order_id} is a {order.flow} order")
    return order.details


def apply_change(terms: PostpaidTerms, change: TermsChange) -> PostpaidTerms:
    """The terms after `change` (P-03, P-04, P-09): absent fields stay as they are."""
    update = change.model_dump(exclude_none=True)
    return terms.model_copy(update={k: getattr(change, k) for k in update})
