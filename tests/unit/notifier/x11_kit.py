"""Builders for the events X-11 and X-12 added to the notifier's table: real events as
ordering and payments publish them (through their contract classes and a JSON round trip)."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from contracts.envelope import SYSTEM, Contact, Party, Role
from contracts.orders import (
    ApprovalOverdue,
    ApprovalRefused,
    DraftDiscarded,
    Flow,
    OrderActivated,
    OrderCancelled,
    OrderClosedUnpaid,
    OrderConfirmed,
    OrderParty,
    OrderRejected,
    OrderReturned,
    OrderStatus,
    OrderWithdrawn,
    PlannedInvoice,
    ProposalAccepted,
    ProposalLapsed,
    ProposalRejected,
    TermsChange,
)
from contracts.payments import (
    CancellationFeeAssessed,
    CancellationPolicy,
    ChargeFailed,
    ChargeRequested,
    ClaimLapsed,
    ClaimPaid,
    ClaimStatus,
    ClaimWithdrawn,
    ClaimWrittenOff,
    FeeComputation,
    FeeTier,
    PaymentReceived,
    PaymentSettled,
    PayoutScheduled,
    PayoutStatus,
    Purpose,
    RefundCause,
    RefundRequested,
    RequestStatus,
)
from notifier.domain import learn
from tests.unit.notifier.notifier_kit import (
    AGENT,
    CLIENT,
    CUSTOMER,
    MEMBER,
    OPERATOR,
    ORDER_ID,
    SUPPLIER,
    T0,
    account_created,
    envelope,
    money,
    order,
    payment,
    postpaid_created,
    postpaid_terms,
    wire,
)

S = OrderStatus
#: A customer whose contact names a zone: deadlines read in Paris time (X-11).
PARIS = OrderParty(
    id="customer-p",
    role=Role.CUSTOMER,
    contact=Contact(email="paris@example.com", name="Pia Paris", timezone="Europe/Paris"),
)
PARIS_FACTS = learn(postpaid_created(customer=PARIS))


def activated(confirmed_by: Role = Role.CLIENT, guarantee: bool = True) -> OrderActivated:
    return wire(
        OrderActivated(
            **envelope(CLIENT.party if confirmed_by is Role.CLIENT else OPERATOR),
            **order(Flow.MANAGED, S.ACTIVE),
            confirmed_by=confirmed_by,
            no_payment_guarantee=not guarantee,
            planned_invoices=[PlannedInvoice(invoice_date=date(2025, 4, 1), amount=money("100"))],
            service_start=date(2025, 3, 10),
            service_end=date(2025, 5, 31),
            service_ends_at=T0 + timedelta(days=90),
        )
    )


def expired(previous: OrderStatus | None) -> OrderRejected:
    return wire(
        OrderRejected(
            **envelope(SYSTEM),
            **order(Flow.MANAGED, S.REJECTED),
            cause="offer_expired",
            previous_status=previous,
        )
    )


def postpaid_cancelled(
    actor: OrderParty | None = None,
    previous: OrderStatus = S.CONFIRMATION,
    fee: bool = False,
    reason: str = "nobody confirmed the order within the confirmation window",
) -> OrderCancelled:
    return wire(
        OrderCancelled(
            **envelope(actor.party if actor else SYSTEM),
            **order(Flow.POSTPAID, S.CANCELLED),
            reason=reason,
            previous_status=previous,
            fee_may_apply=fee,
        )
    )


def confirmed(by: OrderParty = SUPPLIER) -> OrderConfirmed:
    return wire(
        OrderConfirmed(
            **envelope(by.party),
            **order(Flow.POSTPAID, S.IN_PROGRESS),
            terms=postpaid_terms(),
            auto_done_at=T0 + timedelta(days=5),
        )
    )


def proposal_accepted() -> ProposalAccepted:
    return wire(
        ProposalAccepted(
            **envelope(CUSTOMER.party),
            **order(Flow.POSTPAID, S.IN_PROGRESS),
            proposal=1,
            changes=TermsChange(price=money("55")),
            auto_done_at=T0 + timedelta(days=5),
        )
    )


def proposal_rejected() -> ProposalRejected:
    return wire(
        ProposalRejected(
            **envelope(CUSTOMER.party),
            **order(Flow.POSTPAID, S.IN_PROGRESS),
            proposal=1,
            comment="Too dear",
        )
    )


def proposal_lapsed() -> ProposalLapsed:
    return wire(
        ProposalLapsed(**envelope(SYSTEM), **order(Flow.POSTPAID, S.IN_PROGRESS), proposal=1)
    )


def charge_requested(purpose: Purpose = Purpose.ORDER_PRICE) -> ChargeRequested:
    return wire(
        ChargeRequested(
            **envelope(),
            **(payment() | {"purpose": purpose}),
            amount=money("40"),
            due_at=T0 + timedelta(hours=72),
            payment_method="card",
            customer=CUSTOMER,
        )
    )


def charge_failed(customer: OrderParty = CUSTOMER) -> ChargeFailed:
    return wire(
        ChargeFailed(
            **envelope(),
            **payment(),
            failure_code="card_declined",
            outstanding=money("40"),
            due_at=T0 + timedelta(hours=72),
            customer=customer,
        )
    )


def fee_assessed(customer: OrderParty = CUSTOMER) -> CancellationFeeAssessed:
    tiers = [
        FeeTier(within_hours=24, percent=Decimal("50")),
        FeeTier(within_hours=48, percent=Decimal("20")),
    ]
    return wire(
        CancellationFeeAssessed(
            **envelope(),
            order_id=ORDER_ID,
            request_id="req-fee",
            computation=FeeComputation(
                price=money("40"),
                appointment_start=T0 + timedelta(days=2),
                cancelled_at=T0 + timedelta(hours=12),
                hours_before=Decimal("36.00"),
                policy_source="supplier",
                policy=CancellationPolicy(tiers=tiers),
                applied_tier=tiers[1],
                percent=Decimal("20"),
                amount=money("8.00"),
            ),
            customer=customer,
            supplier=SUPPLIER,
        )
    )


def settled() -> PaymentSettled:
    return wire(
        PaymentSettled(
            **envelope(),
            **payment(RequestStatus.PAID),
            payment_id="pay-1",
            amount=money("40"),
            customer=CUSTOMER,
            supplier=SUPPLIER,
        )
    )


def received(outstanding: str = "15") -> PaymentReceived:
    return wire(
        PaymentReceived(
            **envelope(),
            **payment(),
            payment_id="pay-1",
            amount=money("25"),
            applied=money("25"),
            excess=money("0"),
            paid_total=money("25"),
            outstanding=money(outstanding),
        )
    )


def refund() -> RefundRequested:
    return wire(
        RefundRequested(
            **envelope(),
            order_id=ORDER_ID,
            payment_id="pay-2",
            amount=money("40"),
            cause=RefundCause.ALREADY_PAID,
            customer=CUSTOMER,
        )
    )


def _claim(status: ClaimStatus) -> dict[str, Any]:
    return {"order_id": ORDER_ID, "claim_id": "claim-1", "status": status, "supplier": SUPPLIER}


def claim_paid() -> ClaimPaid:
    return wire(
        ClaimPaid(**envelope(), **_claim(ClaimStatus.PAID), payment_id="pay-3", amount=money("40"))
    )


def claim_withdrawn() -> ClaimWithdrawn:
    return wire(
        ClaimWithdrawn(
            **envelope(SUPPLIER.party), **_claim(ClaimStatus.WITHDRAWN), reason="Settled in person"
        )
    )


def claim_written_off() -> ClaimWrittenOff:
    return wire(
        ClaimWrittenOff(
            **envelope(OPERATOR),
            **_claim(ClaimStatus.WRITTEN_OFF),
            request_id="req-1",
            amount=money("40"),
            reason="Customer insolvent",
        )
    )


def payout_scheduled() -> PayoutScheduled:
    return wire(
        PayoutScheduled(
            **envelope(),
            order_id=ORDER_ID,
            payout_id="payout-1",
            status=PayoutStatus.SCHEDULED,
            supplier=SUPPLIER,
            gross=money("40"),
            fee=money("3.60"),
            fee_percent=Decimal("9"),
            net=money("36.40"),
            service_at=T0 + timedelta(days=2),
            scheduled_for=T0 + timedelta(days=16),
            expected_by=T0 + timedelta(days=23),
        )
    )


# -- M-18, A-13, P-21 -----------------------------------------------------------------------

AGENT_WITH_ADDRESS = OrderParty(
    id=AGENT.id,
    role=Role.AGENT,
    contact=Contact(email="agent@example.com", name="Ada Agent", timezone="Europe/Paris"),
)
#: An account order whose agent can be emailed (the kit's agent has no address).
AGENT_FACTS = dataclasses.replace(
    learn(account_created()),
    parties=(AGENT_WITH_ADDRESS, *[p for p in learn(account_created()).parties if p != AGENT]),
)


def returned(comment: str = "Which site is the maintenance for?") -> OrderReturned:
    return wire(
        OrderReturned(**envelope(OPERATOR), **order(Flow.MANAGED, S.DRAFT), comment=comment)
    )


def approval_refused(reason: str = "Over this month's budget") -> ApprovalRefused:
    approver = Party(id="approver-1", role=Role.APPROVER)
    return wire(
        ApprovalRefused(**envelope(approver), **order(Flow.ACCOUNT, S.DRAFT), reason=reason)
    )


def closed_unpaid(cause: str = "claim_written_off") -> OrderClosedUnpaid:
    return wire(
        OrderClosedUnpaid(
            **envelope(),
            **order(Flow.POSTPAID, S.CLOSED),
            cause=cause,  # type: ignore[arg-type]
            claim_id="claim-1",
        )
    )


def claim_lapsed(supplier: OrderParty = SUPPLIER) -> ClaimLapsed:
    return wire(
        ClaimLapsed(
            **envelope(),
            order_id=ORDER_ID,
            claim_id="claim-1",
            status=ClaimStatus.LAPSED,
            supplier=supplier,
            request_id="req-1",
            amount=money("40"),
            reopen_until=T0 + timedelta(days=14),
            customer=CUSTOMER,
        )
    )


def withdrawn() -> OrderWithdrawn:
    return wire(OrderWithdrawn(**envelope(MEMBER.party), **order(Flow.MANAGED, S.DRAFT)))


def discarded() -> DraftDiscarded:
    return wire(DraftDiscarded(**envelope(MEMBER.party), **order(Flow.MANAGED, S.DISCARDED)))


def approval_overdue() -> ApprovalOverdue:
    return wire(
        ApprovalOverdue(
            **envelope(),
            **order(Flow.ACCOUNT, S.IN_PROGRESS),
            approval_due_at=T0 + timedelta(days=2),
        )
    )


__all__ = ["MEMBER"]
