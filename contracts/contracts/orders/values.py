"""The value types of order messages: flows, statuses, reason codes, money, parties, terms."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from contracts.envelope import Contact, Party, Role
from contracts.reasons import published_codes

Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
Text = Annotated[str, Field(max_length=2000)]
Reason = Annotated[str, Field(min_length=1, max_length=2000)]
Name = Annotated[str, Field(min_length=1, max_length=100)]
Rating = Annotated[int, Field(ge=1, le=5)]


class Flow(StrEnum):
    MANAGED = "managed"
    POSTPAID = "postpaid"
    ACCOUNT = "account"


class OrderStatus(StrEnum):
    """Every status of every flow; each flow's transition table says which it uses."""

    DRAFT = "draft"
    OPERATOR_REVIEW = "operator_review"
    CLIENT_CONFIRMATION = "client_confirmation"
    ACTIVE = "active"
    CANCELLATION_REQUESTED = "cancellation_requested"
    REJECTED = "rejected"
    CONFIRMATION = "confirmation"
    IN_PROGRESS = "in_progress"
    EXECUTION_CONFIRMATION = "execution_confirmation"
    PAYMENT = "payment"
    CLOSED = "closed"
    APPROVED = "approved"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    #: M-19: a draft its member discarded; kept, seen by the member only, never changed.
    DISCARDED = "discarded"


class RejectionReason(StrEnum):
    """The stable, machine-readable codes of `OrderCommandRejected.reason`."""

    UNKNOWN_ORDER = "unknown_order"
    ALREADY_EXISTS = "already_exists"
    NOT_ALLOWED_IN_STATUS = "not_allowed_in_status"
    NOT_AUTHORIZED = "not_authorized"
    INVALID = "invalid"
    WINDOW_CLOSED = "window_closed"
    OFFER_EXPIRED = "offer_expired"
    CONFIRMATION_WINDOW_TOO_SHORT = "confirmation_window_too_short"
    INVALID_TOKEN = "invalid_token"
    NOT_YOUR_TURN = "not_your_turn"
    TOO_EARLY = "too_early"
    STALE_PROPOSAL = "stale_proposal"
    UNKNOWN_ACCOUNT = "unknown_account"
    MISSING_PREREQUISITE = "missing_prerequisite"
    BACKDATED_TOO_FAR = "backdated_too_far"
    CONFIGURATION_MISSING = "configuration_missing"
    #: P-19: the supplier's new price waits for the customer's explicit acceptance.
    PRICE_NOT_ACCEPTED = "price_not_accepted"
    #: P-19: the price the customer accepts is no longer the price on the order.
    STALE_PRICE = "stale_price"
    #: P-20: the service has been provided; the supplier can no longer cancel.
    SERVICE_ALREADY_PROVIDED = "service_already_provided"


#: What each `RejectionReason` means (published with the code in docs/asyncapi and docs/schemas).
REJECTION_REASON_MEANINGS: dict[str, str] = {
    RejectionReason.UNKNOWN_ORDER: "No order has this `order_id` (it was never created).",
    RejectionReason.ALREADY_EXISTS: (
        "The order exists already (a second CreateOrder for one id), or it was reviewed already."
    ),
    RejectionReason.NOT_ALLOWED_IN_STATUS: (
        "The command is not one the order's flow takes in its current status."
    ),
    RejectionReason.NOT_AUTHORIZED: (
        "The actor is not a party of the order, does not act in a role that may send this "
        "command, or may not change what the command changes."
    ),
    RejectionReason.INVALID: (
        "The content breaks a rule of the flow (wrong terms for the flow, a party missing, "
        "dates in the wrong order, a reason too short); `message` says which."
    ),
    RejectionReason.WINDOW_CLOSED: (
        "The window for this action has closed (the appointment has started, the proposal "
        "lapsed, the offer or confirmation window passed)."
    ),
    RejectionReason.OFFER_EXPIRED: "M-07: the order's `offer_valid_until` has already passed.",
    RejectionReason.CONFIRMATION_WINDOW_TOO_SHORT: (
        "M-07: the client would have less than the configured minimum time to confirm."
    ),
    RejectionReason.INVALID_TOKEN: (
        "M-08: the client's confirmation token is not valid for this order and client, or "
        "has expired."
    ),
    RejectionReason.NOT_YOUR_TURN: (
        "P-05: the order waits for the other party's answer to the last edit."
    ),
    RejectionReason.TOO_EARLY: "The action needs a moment not yet reached (the appointment start).",
    RejectionReason.STALE_PROPOSAL: "P-09: the proposal named is not the pending one.",
    RejectionReason.UNKNOWN_ACCOUNT: (
        "A-01: no account of this id has been opened on accounts.events (or ordering has not "
        "registered it yet: wait for AccountRegistered)."
    ),
    RejectionReason.MISSING_PREREQUISITE: (
        "A-04: the currency, the payment method (for that currency) or a product is not "
        "configured or not available in the catalogue; `message` names the missing piece."
    ),
    RejectionReason.BACKDATED_TOO_FAR: (
        "A-05: the order date is before the account's creation date or the start of its "
        "oldest open bill cycle."
    ),
    RejectionReason.CONFIGURATION_MISSING: (
        "A-06: an item lacks a configuration its product requires; `message` lists them."
    ),
    RejectionReason.PRICE_NOT_ACCEPTED: (
        "P-19: the supplier's new price waits for the customer's explicit acceptance; "
        "the order cannot go on until the customer accepts it or the supplier withdraws it."
    ),
    RejectionReason.STALE_PRICE: (
        "P-19: the price the customer accepts is no longer the price on the order."
    ),
    RejectionReason.SERVICE_ALREADY_PROVIDED: (
        "P-20: the service counts as provided (the appointment has ended or it was marked "
        "done): the supplier can no longer cancel."
    ),
}
ReasonCode = Annotated[str, published_codes(RejectionReason, REJECTION_REASON_MEANINGS)]


class Value(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Money(Value):
    amount: Annotated[Decimal, Field(ge=0, allow_inf_nan=False)]
    currency: Currency


class OrderParty(Value):
    """A party of the order and how to reach it, so that emails need no other lookup."""

    id: Name
    role: Role
    contact: Contact | None = None

    @property
    def party(self) -> Party:
        return Party(id=self.id, role=self.role)


class PlannedInvoice(Value):
    """M-10: one planned invoice of a managed order."""

    invoice_date: date
    amount: Money


class ManagedTerms(Value):
    flow: Literal["managed"] = "managed"
    description: Text = ""
    offer_valid_until: AwareDatetime
    service_start: date
    service_end: date
    planned_invoices: Annotated[list[PlannedInvoice], Field(max_length=240)] = []
    skip_client_confirmation: bool = False
    #: M-06: a reference to an uploaded proof that the client agreed elsewhere.
    proof_document: Annotated[str, Field(min_length=1, max_length=500)] | None = None


Percent = Annotated[Decimal, Field(ge=0, le=100, allow_inf_nan=False)]


class FeeTier(Value):
    """P-11: cancelling less than `within_hours` before the appointment costs `percent`."""

    within_hours: Annotated[int, Field(ge=1, le=24 * 366)]
    percent: Percent


class CancellationPolicy(Value):
    """A supplier's cancellation policy: free outside every tier; inside, the tier with
    the fewest hours (the one closest to the appointment) applies. Defined here, beside
    the terms that carry it (P-11); `contracts.payments` exports it too."""

    tiers: Annotated[list[FeeTier], Field(max_length=20)] = []

    @model_validator(mode="after")
    def _one_tier_per_window(self) -> CancellationPolicy:
        hours = [t.within_hours for t in self.tiers]
        if len(hours) != len(set(hours)):
            raise ValueError("two tiers with the same within_hours")
        return self

    def __str__(self) -> str:
        """The JSON form, as the setting ``ORDERFLOW_CANCELLATION_POLICY`` takes it."""
        return self.model_dump_json()


class PostpaidTerms(Value):
    flow: Literal["postpaid"] = "postpaid"
    service: Text = ""
    appointment_start: AwareDatetime
    appointment_end: AwareDatetime
    price: Money
    payment_method: Name
    #: P-14: seed 001 has a payment stage, seed 004 takes the payment automatically.
    #: Left out (None) on a CreateOrder, the supplier's settings decide, else true; on
    #: every event ordering publishes it is set.
    payment_stage: bool | None = None
    #: P-11: the supplier's cancellation policy in force when the order was booked, stamped
    #: by ordering from the supplier's settings; None: payments applies its default.
    cancellation_policy: CancellationPolicy | None = None


class OrderItem(Value):
    """A-03: a product, service or add-on with its pricing option, price and quantity."""

    product_id: Name
    kind: Literal["product", "service", "addon"] = "product"
    pricing_option: Name
    unit_price: Annotated[Decimal, Field(ge=0, allow_inf_nan=False)]
    quantity: Annotated[int, Field(ge=1)] = 1
    configurations: dict[Name, Text] = {}


class AccountTerms(Value):
    flow: Literal["account"] = "account"
    account_id: Name
    order_date: date
    currency: Currency
    payment_method: Name
    items: Annotated[list[OrderItem], Field(max_length=500)] = []
    notes: Text = ""
    #: A-15: whom to invoice (A-11); absent, the account's own contact.
    bill_to: Contact | None = None
    #: A-15: whom to contact with other customer communication, the receipt (A-10)
    #: among it; absent, the account's own contact.
    contact: Contact | None = None


Terms = Annotated[ManagedTerms | PostpaidTerms | AccountTerms, Field(discriminator="flow")]
DraftTerms = Annotated[ManagedTerms | AccountTerms, Field(discriminator="flow")]


class TermsChange(Value):
    """P-03/P-04/P-09: what an edit changes; a field left out stays as it is."""

    appointment_start: AwareDatetime | None = None
    appointment_end: AwareDatetime | None = None
    price: Money | None = None
    payment_method: Name | None = None
