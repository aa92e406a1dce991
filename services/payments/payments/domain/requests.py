"""The payment request: what the customer owes for one order, and the money received
against it (Rules P-01, P-11, P-14, P-15). The TABLE at the bottom is its lifecycle.

    ExecutionConfirmed  in `payment`: PaymentRequested, the customer has 72 hours (P-15);
                        closed at once (no payment stage): ChargeRequested (P-14)
    OrderCancelled      a customer's cancellation in progress: the policy's fee (P-11)
    RecordPayment       applied to what is outstanding; a partial payment keeps the request
                        open, an excess is flagged for refund; a payment in full settles
                        it, pays the claim, schedules the payout and tells ordering
"""

from __future__ import annotations

from contracts.envelope import Role
from contracts.orders import ExecutionConfirmed, OrderCancelled, OrderStatus
from contracts.payments import (
    CancellationFeeAssessed,
    ChargeFailed,
    ChargeRequested,
    PaymentOverdue,
    PaymentReceived,
    PaymentRejectionReason,
    PaymentRequested,
    PaymentSettled,
    Purpose,
    RecordChargeFailure,
    RecordPayment,
    RefundCause,
    RefundRequested,
    RequestStatus,
    WriteOffClaim,
)
from payments.domain import claims, payouts
from payments.domain.context import (
    STAFF,
    DeadlineFired,
    Effect,
    Outcome,
    Step,
    mark_order_paid,
    refuse,
)
from payments.domain.fees import cancellation_fee, policy_for
from payments.domain.model import DeadlineKind, Entity, Ledger, PaymentRequest
from payments.domain.money import is_exact, minus, normalized, plus, smaller, zero
from servicekit.decisions import carry
from servicekit.tables import Table, Via, after, follows, on, when

S = RequestStatus
R = PaymentRejectionReason


def request_id(ledger: Ledger) -> str:
    """One request per order: for its price, or for the fee of its cancellation."""
    return f"{ledger.order_id}:payment"


def open_request(ledger: Ledger, event: ExecutionConfirmed, step: Step) -> Outcome:
    """The execution is confirmed: with a payment stage the customer has the payment
    window to pay (Rule P-15); without one the price is captured at once (Rule P-14)."""
    facts = ledger.facts
    opened = {
        **step.stamp(),
        "request_id": request_id(ledger),
        "purpose": Purpose.ORDER_PRICE,
        "status": S.OPEN,
        "amount": normalized(event.price),
        "due_at": event.occurred_at + step.ctx.policy.payment_window,
        "payment_method": event.payment_method,
        "customer": facts.customer,
    }
    if event.status is OrderStatus.PAYMENT:
        return [PaymentRequested(**opened, supplier=facts.supplier)]
    return [ChargeRequested(**opened)]


def charge_cancellation_fee(ledger: Ledger, event: OrderCancelled, step: Step) -> Outcome:
    """The customer cancelled in progress: the fee follows the supplier's cancellation
    policy, is shown with its computation, and is charged when above zero (Rule P-11)."""
    if not event.fee_may_apply:
        return []
    facts = ledger.facts
    policy, source = policy_for(facts.supplier.id, step.ctx.policy, facts.terms.cancellation_policy)
    computation = cancellation_fee(
        facts.terms.price, facts.terms.appointment_start, event.occurred_at, policy, source
    )
    charged = computation.amount.amount > 0
    effects: list[Effect] = [
        CancellationFeeAssessed(
            **step.stamp(),
            request_id=request_id(ledger) if charged else None,
            computation=computation,
            **carry(facts, "customer supplier"),
        )
    ]
    if charged:
        effects.append(
            ChargeRequested(
                **step.stamp(),
                request_id=request_id(ledger),
                purpose=Purpose.CANCELLATION_FEE,
                status=S.OPEN,
                amount=computation.amount,
                due_at=event.occurred_at + step.ctx.policy.payment_window,
                payment_method=facts.terms.payment_method,
                customer=facts.customer,
            )
        )
    return effects


def record_payment(ledger: Ledger, cmd: RecordPayment, step: Step) -> Outcome:
    """The gateway confirmed money: applied to what is outstanding, once per payment id
    (Rule P-15). A partial payment keeps the request in its status with the rest
    outstanding; whatever is not owed is recorded and flagged for refund, never lost."""
    request = _request(ledger)
    if cmd.amount.amount <= 0 or not is_exact(cmd.amount):
        return refuse(R.INVALID_AMOUNT, "a payment is above zero and exact to the minor unit")
    amount = normalized(cmd.amount)
    known = request.receipt(cmd.payment_id)
    if known is not None:
        if known.amount == amount:
            return refuse(
                R.DUPLICATE_PAYMENT, f"{cmd.payment_id} is recorded already: it counts once"
            )
        return refuse(R.PAYMENT_ID_CONFLICT, f"{cmd.payment_id} was recorded with another amount")
    if amount.currency != request.amount.currency:
        return refuse(R.CURRENCY_MISMATCH, f"the request is in {request.amount.currency}")
    was_paid = request.status is S.PAID
    owed = zero(amount.currency) if was_paid else request.outstanding
    applied = smaller(amount, owed)
    excess = minus(amount, applied)
    settles = not was_paid and applied == owed
    effects: list[Effect] = [
        PaymentReceived(
            **step.stamp(status=S.PAID if settles else request.status),
            **carry(request, "request_id purpose"),
            payment_id=cmd.payment_id,
            amount=amount,
            applied=applied,
            excess=excess,
            paid_total=plus(request.paid_total, applied),
            outstanding=minus(owed, applied),
        )
    ]
    if excess.amount > 0:
        cause = RefundCause.ALREADY_PAID if was_paid else RefundCause.OVERPAID
        effects.append(
            RefundRequested(
                **step.stamp(),
                payment_id=cmd.payment_id,
                amount=excess,
                cause=cause,
                customer=ledger.facts.customer,
            )
        )
    if settles:
        effects += _settle(ledger, request, cmd.payment_id, step)
    return effects


def _settle(ledger: Ledger, request: PaymentRequest, payment_id: str, step: Step) -> list[Effect]:
    """Paid in full: the claim is paid (P-16), the payout scheduled (P-18), and ordering
    told when the order waits in `payment` for it (P-15)."""
    effects: list[Effect] = [
        PaymentSettled(
            **step.stamp(status=S.PAID, payment_id=payment_id),
            **carry(request, "request_id purpose amount"),
            **carry(ledger.facts, "customer supplier"),
        ),
        *claims.paid_by(ledger, payment_id, step),
        payouts.schedule(ledger, request, step),
    ]
    if not request.automatic:
        effects.append(mark_order_paid(step, payment_id))
    return effects


def charge_failed(ledger: Ledger, cmd: RecordChargeFailure, step: Step) -> Outcome:
    """The gateway could not capture the charge: the request stays as it is, the customer
    is told, and the window goes on (Rules P-11, P-14)."""
    request = _request(ledger)
    if cmd.request_id != request.request_id:
        return refuse(R.UNKNOWN_REQUEST, f"the order's payment request is {request.request_id}")
    if not request.automatic:
        return refuse(R.NOT_A_CHARGE, "the customer pays this request: nothing was charged")
    return [
        ChargeFailed(
            **step.stamp(failure_code=cmd.failure_code, customer=ledger.facts.customer),
            **carry(request, "request_id purpose status outstanding due_at"),
        )
    ]


def window_passed(ledger: Ledger, fired: DeadlineFired, step: Step) -> Outcome:
    """The window passed unpaid: the request is overdue and the supplier may open a
    claim (Rules P-15, P-16)."""
    request = _request(ledger)
    return [
        PaymentOverdue(
            **step.stamp(status=S.OVERDUE),
            **carry(request, "request_id purpose outstanding due_at"),
            **carry(ledger.facts, "customer supplier"),
        )
    ]


def _request(ledger: Ledger) -> PaymentRequest:
    # The table only routes here when the request exists.
    assert ledger.request is not None, "no payment request"
    return ledger.request


PAID_OR_STAYS = "paid once nothing is outstanding; a partial payment keeps the status"

# fmt: off
TABLE: Table[S] = Table(
    name=Entity.REQUEST,
    statuses=(S.OPEN, S.OVERDUE, S.PAID, S.WRITTEN_OFF),
    # written off may still be left, when the debt is recovered after all (P-16).
    ends=frozenset({S.PAID}),
    staff=STAFF,
    missing=R.NO_PAYMENT_REQUEST,
    rows=(
        *when(None, ExecutionConfirmed, open_request, to=S.OPEN, rules="P-01 P-14 P-15",
              guard="payment stage: the customer pays; none: captured"),
        *when(None, OrderCancelled, charge_cancellation_fee, to=(None, S.OPEN),
              rules="P-11", guard="a customer's cancellation in progress; a fee above zero"),
        *on(S.OPEN, RecordPayment, record_payment, by=Role.SYSTEM, to=(S.OPEN, S.PAID),
            rules="P-15", guard=PAID_OR_STAYS),
        *on(S.OVERDUE, RecordPayment, record_payment, by=Role.SYSTEM,
            to=(S.OVERDUE, S.PAID), rules="P-15 P-16", guard=PAID_OR_STAYS),
        *on(S.WRITTEN_OFF, RecordPayment, record_payment, by=Role.SYSTEM,
            to=(S.WRITTEN_OFF, S.PAID), rules="P-16", guard="a written-off debt recovered"),
        *on(S.PAID, RecordPayment, record_payment, by=Role.SYSTEM, rules="P-15",
            guard="all of it flagged for refund"),
        *on((S.OPEN, S.OVERDUE), RecordChargeFailure, charge_failed, by=Role.SYSTEM,
            rules="P-11 P-14", guard="automatic charges; the window goes on"),
        *after(S.OPEN, DeadlineKind.PAYMENT_WINDOW, window_passed, to=S.OVERDUE,
               rules="P-15 P-16"),
        *follows(S.OVERDUE, WriteOffClaim, via=Via.COMMAND, by=(Role.OPERATOR, Role.SYSTEM),
                 to=S.WRITTEN_OFF, rules="P-16 P-21",
                 guard="writing the claim off writes the debt off"),
        *follows(S.OVERDUE, DeadlineKind.CLAIM_REOPEN, via=Via.DEADLINE,
                 to=S.WRITTEN_OFF, rules="P-21", guard="a withdrawn claim lapsed"),
    ),
)
# fmt: on
