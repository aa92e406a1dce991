"""Messages of the payments service: money owed, received, claimed and paid out (X-05).

    PaymentCommand (Command)     on payments.commands; strict; keyed by `order_id`
    ├── from the gateway         RecordPayment (its idempotency key is `payment_id`),
    │   (upstream, role system)  RecordChargeFailure, ConfirmPayoutSent
    ├── from the supplier        OpenClaim, WithdrawClaim                        (P-16)
    └── from platform staff      WriteOffClaim
    PaymentEvent (Event)         on payments.events; tolerant; keyed by `order_id`
    ├── payment request          PaymentRequested (the customer pays, P-15),
    │                            ChargeRequested (capture it, P-11/P-14), ChargeFailed,
    │                            CancellationFeeAssessed, PaymentReceived, PaymentSettled,
    │                            PaymentOverdue, RefundRequested
    ├── claim                    ClaimOpened, ClaimWithdrawn, ClaimPaid, ClaimWrittenOff,
    │                            ClaimLapsed (P-21)
    └── payout                   PayoutScheduled, PayoutRequested, PayoutOverdue, PayoutPaid
    PaymentCommandRejected       the answer to a refused command, with a reason code

`...Requested` events ask someone to act: the customer to pay (`PaymentRequested`), the
gateway to charge, refund or pay out. Events a person should hear about carry that
person's party with its contact (`customer`, `supplier`), so the notifier needs no lookup.
`status` on an event is the status, after the event, of the thing it is about (the
payment request, the claim or the payout). Money is a `Decimal` exact to the currency's
minor unit, with an ISO 4217 code.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AwareDatetime

from contracts.envelope import Command, Event, FieldError, MessageUnion

# Re-exported: the policy travels on the order's terms too, so it is defined there.
from contracts.orders.values import CancellationPolicy as CancellationPolicy
from contracts.orders.values import FeeTier as FeeTier
from contracts.orders.values import (
    Money,
    Name,
    OrderParty,
    Percent,
    Reason,
    Text,
    Value,
)
from contracts.reasons import published_codes


class RequestStatus(StrEnum):
    """A payment request: what the customer owes for one order."""

    OPEN = "open"
    OVERDUE = "overdue"
    PAID = "paid"
    WRITTEN_OFF = "written_off"


class ClaimStatus(StrEnum):
    OPENED = "opened"
    PAID = "paid"
    WITHDRAWN = "withdrawn"
    WRITTEN_OFF = "written_off"
    #: P-21: withdrawn and not opened again within the reopen window; the debt is given up.
    LAPSED = "lapsed"


class PayoutStatus(StrEnum):
    SCHEDULED = "scheduled"
    PROCESSING = "processing"
    PAID = "paid"


class Purpose(StrEnum):
    """What a payment request is for."""

    ORDER_PRICE = "order_price"
    CANCELLATION_FEE = "cancellation_fee"


class RefundCause(StrEnum):
    """Why received money is to be given back."""

    OVERPAID = "overpaid"
    ALREADY_PAID = "already_paid"


class PaymentRejectionReason(StrEnum):
    """The stable, machine-readable codes of `PaymentCommandRejected.reason`."""

    UNKNOWN_ORDER = "unknown_order"
    NOT_AUTHORIZED = "not_authorized"
    NOT_ALLOWED_IN_STATUS = "not_allowed_in_status"
    NO_PAYMENT_REQUEST = "no_payment_request"
    UNKNOWN_REQUEST = "unknown_request"
    UNKNOWN_CLAIM = "unknown_claim"
    UNKNOWN_PAYOUT = "unknown_payout"
    TOO_EARLY = "too_early"
    DUPLICATE_PAYMENT = "duplicate_payment"
    PAYMENT_ID_CONFLICT = "payment_id_conflict"
    CURRENCY_MISMATCH = "currency_mismatch"
    INVALID_AMOUNT = "invalid_amount"
    NOT_A_CHARGE = "not_a_charge"
    INVALID = "invalid"


#: What each `PaymentRejectionReason` means (published with the code in docs/asyncapi).
PAYMENT_REJECTION_REASON_MEANINGS: dict[str, str] = {
    PaymentRejectionReason.UNKNOWN_ORDER: "payments knows no order of this id (no event of it yet).",
    PaymentRejectionReason.NOT_AUTHORIZED: (
        "The actor's role may not send this command, or the actor is not the order's party."
    ),
    PaymentRejectionReason.NOT_ALLOWED_IN_STATUS: (
        "The payment request, claim or payout is not in a status that takes this command."
    ),
    PaymentRejectionReason.NO_PAYMENT_REQUEST: "Nothing is owed for this order (no payment request).",
    PaymentRejectionReason.UNKNOWN_REQUEST: "The payment request named is not the order's.",
    PaymentRejectionReason.UNKNOWN_CLAIM: "The claim named is not the order's current claim.",
    PaymentRejectionReason.UNKNOWN_PAYOUT: "The payout named is not the order's.",
    PaymentRejectionReason.TOO_EARLY: (
        "P-16: a claim may be opened only once the customer's time to pay has passed."
    ),
    PaymentRejectionReason.DUPLICATE_PAYMENT: (
        "This `payment_id` is recorded already with this amount: it counts once."
    ),
    PaymentRejectionReason.PAYMENT_ID_CONFLICT: (
        "This `payment_id` was recorded already with another amount."
    ),
    PaymentRejectionReason.CURRENCY_MISMATCH: "The amount is not in the request's currency.",
    PaymentRejectionReason.INVALID_AMOUNT: (
        "A payment must be above zero and exact to the currency's minor unit."
    ),
    PaymentRejectionReason.NOT_A_CHARGE: (
        "The customer pays this request themselves: no automatic charge was made to fail."
    ),
    # the content of a command whose envelope reads is invalid; `errors` lists why.
    "invalid": "X-13: the command's content does not match its schema; `errors` says where.",
}
PaymentReasonCode = Annotated[
    str, published_codes(PaymentRejectionReason, PAYMENT_REJECTION_REASON_MEANINGS)
]


class FeeComputation(Value):
    """How a cancellation fee was worked out, to show the customer (P-11)."""

    price: Money
    appointment_start: AwareDatetime
    cancelled_at: AwareDatetime
    #: Time left before the appointment, in hours, rounded down to the hundredth.
    hours_before: Decimal
    policy_source: Literal["supplier", "default"]
    policy: CancellationPolicy
    applied_tier: FeeTier | None
    percent: Percent
    amount: Money
    rounding: Literal["ROUND_HALF_UP"] = "ROUND_HALF_UP"


# --- commands ---------------------------------------------------------------------------


class PaymentCommand(Command):
    order_id: uuid.UUID


class RecordPayment(PaymentCommand):
    """The gateway received `amount` for the order; `payment_id` is its idempotency key:
    the same key twice counts once (P-15)."""

    type: Literal["RecordPayment"] = "RecordPayment"
    payment_id: Name
    amount: Money


class RecordChargeFailure(PaymentCommand):
    """The gateway could not capture a `ChargeRequested`; the request stays open."""

    type: Literal["RecordChargeFailure"] = "RecordChargeFailure"
    request_id: Name
    failure_code: Name


class OpenClaim(PaymentCommand):
    """P-16: the supplier demands an overdue payment (only once the window has passed)."""

    type: Literal["OpenClaim"] = "OpenClaim"
    reason: Reason


class WithdrawClaim(PaymentCommand):
    type: Literal["WithdrawClaim"] = "WithdrawClaim"
    claim_id: Name
    reason: Text = ""


class WriteOffClaim(PaymentCommand):
    """Platform staff give the debt up: the claim and the payment request are written off."""

    type: Literal["WriteOffClaim"] = "WriteOffClaim"
    claim_id: Name
    reason: Reason


class ConfirmPayoutSent(PaymentCommand):
    """P-18: the gateway credited the supplier; `reference` is its transfer's id."""

    type: Literal["ConfirmPayoutSent"] = "ConfirmPayoutSent"
    payout_id: Name
    reference: Name


# --- events -----------------------------------------------------------------------------


class PaymentEvent(Event):
    order_id: uuid.UUID


class RequestEvent(PaymentEvent):
    request_id: str
    purpose: Purpose
    status: RequestStatus


class PaymentRequested(RequestEvent):
    """P-15: the order is in `payment`; the customer has until `due_at` to pay."""

    type: Literal["PaymentRequested"] = "PaymentRequested"
    amount: Money
    due_at: AwareDatetime
    payment_method: str
    customer: OrderParty
    supplier: OrderParty


class ChargeRequested(RequestEvent):
    """Asks the gateway to capture `amount` with the order's payment method: the price of
    an order without a payment stage (P-14, seed 004), or a cancellation fee (P-11)."""

    type: Literal["ChargeRequested"] = "ChargeRequested"
    amount: Money
    due_at: AwareDatetime
    payment_method: str
    customer: OrderParty


class ChargeFailed(RequestEvent):
    type: Literal["ChargeFailed"] = "ChargeFailed"
    failure_code: str
    outstanding: Money
    due_at: AwareDatetime
    customer: OrderParty


class CancellationFeeAssessed(PaymentEvent):
    """P-11: the fee of a customer's late cancellation and how it was computed; a zero
    fee is assessed too, and then nothing is charged (`request_id` is None)."""

    type: Literal["CancellationFeeAssessed"] = "CancellationFeeAssessed"
    request_id: str | None
    computation: FeeComputation
    customer: OrderParty
    supplier: OrderParty


class PaymentReceived(RequestEvent):
    """Money the gateway confirmed, and how it was applied: `applied` to the request,
    `excess` to be refunded. A partial payment leaves `outstanding` above zero."""

    type: Literal["PaymentReceived"] = "PaymentReceived"
    payment_id: str
    amount: Money
    applied: Money
    excess: Money
    paid_total: Money
    outstanding: Money


class PaymentSettled(RequestEvent):
    type: Literal["PaymentSettled"] = "PaymentSettled"
    payment_id: str
    amount: Money
    customer: OrderParty
    supplier: OrderParty


class PaymentOverdue(RequestEvent):
    """P-16: the window passed unpaid; the supplier may now open a claim."""

    type: Literal["PaymentOverdue"] = "PaymentOverdue"
    outstanding: Money
    due_at: AwareDatetime
    customer: OrderParty
    supplier: OrderParty


class RefundRequested(PaymentEvent):
    """Asks the gateway to give back money that is not owed (it is never kept or lost)."""

    type: Literal["RefundRequested"] = "RefundRequested"
    payment_id: str
    amount: Money
    cause: RefundCause
    customer: OrderParty


class ClaimEvent(PaymentEvent):
    claim_id: str
    status: ClaimStatus
    supplier: OrderParty


class ClaimOpened(ClaimEvent):
    type: Literal["ClaimOpened"] = "ClaimOpened"
    number: int
    request_id: str
    amount: Money
    reason: str
    customer: OrderParty


class ClaimWithdrawn(ClaimEvent):
    """The supplier may open a claim again until `reopen_until`; after it the debt is
    given up (`ClaimLapsed`, P-21). None on events older than the window."""

    type: Literal["ClaimWithdrawn"] = "ClaimWithdrawn"
    reason: str = ""
    reopen_until: AwareDatetime | None = None


class ClaimPaid(ClaimEvent):
    type: Literal["ClaimPaid"] = "ClaimPaid"
    payment_id: str
    amount: Money


class ClaimWrittenOff(ClaimEvent):
    """The debt is given up: the payment request is `written_off` too."""

    type: Literal["ClaimWrittenOff"] = "ClaimWrittenOff"
    request_id: str
    amount: Money
    reason: str


class ClaimLapsed(ClaimEvent):
    """P-21: the withdrawn claim was not opened again by `reopen_until`: the debt is
    given up, the payment request is `written_off` and the order ends unpaid."""

    type: Literal["ClaimLapsed"] = "ClaimLapsed"
    request_id: str
    amount: Money
    reopen_until: AwareDatetime
    customer: OrderParty


class PayoutEvent(PaymentEvent):
    payout_id: str
    status: PayoutStatus
    supplier: OrderParty


class PayoutScheduled(PayoutEvent):
    """P-18: `net` = `gross` - `fee` goes to the supplier; it is released at
    `scheduled_for` and should be credited by `expected_by`."""

    type: Literal["PayoutScheduled"] = "PayoutScheduled"
    gross: Money
    fee: Money
    fee_percent: Decimal
    net: Money
    service_at: AwareDatetime
    scheduled_for: AwareDatetime
    expected_by: AwareDatetime


class PayoutRequested(PayoutEvent):
    """Asks the gateway to send `net` to the supplier; the payout is `processing`."""

    type: Literal["PayoutRequested"] = "PayoutRequested"
    net: Money
    expected_by: AwareDatetime


class PayoutOverdue(PayoutEvent):
    """A signal for ops: processing took longer than the business days allowed."""

    type: Literal["PayoutOverdue"] = "PayoutOverdue"
    expected_by: AwareDatetime


class PayoutPaid(PayoutEvent):
    type: Literal["PayoutPaid"] = "PayoutPaid"
    net: Money
    reference: str


class PaymentCommandRejected(Event):
    """X-07: a command was refused; `reason` is a `PaymentRejectionReason` value."""

    type: Literal["PaymentCommandRejected"] = "PaymentCommandRejected"
    order_id: uuid.UUID
    command_type: str
    command_id: uuid.UUID
    reason: PaymentReasonCode
    message: str
    #: X-13: reason `invalid`: what is wrong with the command, field by field.
    errors: list[FieldError] = []


PAYMENT_COMMANDS: MessageUnion[PaymentCommand] = MessageUnion(
    RecordPayment, RecordChargeFailure, OpenClaim, WithdrawClaim, WriteOffClaim,
    ConfirmPayoutSent,
)  # fmt: skip
PAYMENT_EVENTS: MessageUnion[Event] = MessageUnion(
    PaymentRequested, ChargeRequested, ChargeFailed, CancellationFeeAssessed, PaymentReceived,
    PaymentSettled, PaymentOverdue, RefundRequested, ClaimOpened, ClaimWithdrawn, ClaimPaid,
    ClaimWrittenOff, PayoutScheduled, PayoutRequested, PayoutOverdue, PayoutPaid,
    PaymentCommandRejected, ClaimLapsed,
)  # fmt: skip
