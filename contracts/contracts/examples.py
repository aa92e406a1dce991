"""One valid example of every message an upstream system writes (every command, every
account event), built from the models so that it validates by construction.

`make docs` publishes them in docs/asyncapi and docs/schemas; the tests check that each
one is accepted by its topic's schema and by the models the services parse it with.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from contracts.accounts import AccountOpened, AccountUpdated
from contracts.envelope import Contact, Message, Party, Role
from contracts.invoicing import (
    DeclineInvoiceChanges,
    InvoiceLine,
    RecordInvoicePayment,
    RequestInvoiceChanges,
    ReviseInvoiceDraft,
    RunBillCycle,
)
from contracts.orders import (
    AcceptProposal,
    AccountTerms,
    ApproveCancellation,
    ApproveOrder,
    CancellationPolicy,
    CancelOrder,
    CompleteOrder,
    ConfigureItem,
    ConfirmAsClient,
    ConfirmExecution,
    ConfirmOrder,
    CreateOrder,
    DeclineAsClient,
    DiscardDraft,
    DuplicateOrder,
    EditDraft,
    EditNotes,
    EditOrder,
    FeeTier,
    LeaveReview,
    ManagedTerms,
    MarkInvoicingComplete,
    MarkOrderPaid,
    MarkOrderUnpaid,
    MarkServiceDone,
    Money,
    OrderItem,
    OrderParty,
    PlaceOrder,
    PlannedInvoice,
    RefuseApproval,
    RefuseCancellation,
    RejectOrder,
    RejectProposal,
    RequestCancellation,
    ResendReceipt,
    ReturnOrder,
    SubmitOrder,
    TermsChange,
    WithdrawOrder,
)
from contracts.payments import (
    ConfirmPayoutSent,
    OpenClaim,
    RecordChargeFailure,
    RecordPayment,
    WithdrawClaim,
    WriteOffClaim,
)
from contracts.suppliers import SetSupplierSettings
from contracts.timers import CancelDeadline, RescheduleDeadline, ScheduleDeadline

ORDER_ID = uuid.UUID("5f0c6a52-2d7e-4c1b-9a57-0b6f3c1d2e4a")
ACCOUNT_ID = "acc-1042"
NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
EUR = "EUR"


def _envelope(name: str, role: Role) -> dict[str, Any]:
    """Fixed ids (derived from the type's name) so the published documents are stable."""
    return {
        "message_id": uuid.uuid5(ORDER_ID, name),
        "occurred_at": NOW,
        "correlation_id": uuid.uuid5(ORDER_ID, "correlation"),
        "actor": Party(id=f"{role.value}-1", role=role),
    }


def _money(amount: str) -> Money:
    return Money(amount=Decimal(amount), currency=EUR)


MEMBER = OrderParty(id="member-1", role=Role.MEMBER, contact=Contact(email="member@shop.example"))
CLIENT = OrderParty(
    id="client-1", role=Role.CLIENT, contact=Contact(email="client@buyer.example", name="Ada")
)
MANAGED_TERMS = ManagedTerms(
    description="Website maintenance, March to May",
    offer_valid_until=datetime(2026, 3, 20, 17, 0, tzinfo=UTC),
    service_start=date(2026, 4, 1),
    service_end=date(2026, 5, 31),
    planned_invoices=[PlannedInvoice(invoice_date=date(2026, 4, 1), amount=_money("1200.00"))],
)
ACCOUNT_TERMS = AccountTerms(
    account_id=ACCOUNT_ID,
    order_date=date(2026, 3, 2),
    currency=EUR,
    payment_method="card",
    items=[OrderItem(product_id="hosting", pricing_option="monthly", unit_price=Decimal("19.90"))],
)
TOKEN = "eyJvIjoiNWYwYzZhNTIiLCJjIjoiY2xpZW50LTEiLCJlIjoxNzc0MDI2MDAwfQ.c2lnbmF0dXJl"
INVOICE_ID = f"order/{ORDER_ID}/1"

M, C, OP, S, U, A, P, Y = (
    Role.MEMBER,
    Role.CLIENT,
    Role.OPERATOR,
    Role.SUPPLIER,
    Role.CUSTOMER,
    Role.AGENT,
    Role.APPROVER,
    Role.SYSTEM,
)
ORDER = {"order_id": ORDER_ID}

#: message class -> (the role that usually sends it, its own fields)
_EXAMPLES: dict[type[Message], tuple[Role, dict[str, Any]]] = {
    CreateOrder: (M, ORDER | {"parties": [MEMBER, CLIENT], "terms": MANAGED_TERMS}),
    EditDraft: (M, ORDER | {"terms": MANAGED_TERMS, "client": CLIENT}),
    CancelOrder: (U, ORDER | {"reason": "The appointment is no longer needed."}),
    ConfirmOrder: (OP, ORDER),
    SubmitOrder: (M, ORDER),
    RejectOrder: (OP, ORDER | {"reason": "The planned invoices exceed the agreed budget."}),
    ConfirmAsClient: (C, ORDER | {"token": TOKEN}),
    DeclineAsClient: (C, ORDER | {"token": TOKEN, "reason": "We chose another offer."}),
    RequestCancellation: (
        M,
        ORDER | {"reason": "The client closed the site this maintenance was for."},
    ),
    ApproveCancellation: (OP, ORDER),
    RefuseCancellation: (OP, ORDER | {"reason": "Two invoices are issued already."}),
    MarkInvoicingComplete: (Y, ORDER),
    DuplicateOrder: (M, ORDER),
    EditOrder: (
        S,
        ORDER
        | {
            "changes": TermsChange(price=_money("45.00")),
            "comment": "The lesson takes longer.",
        },
    ),
    AcceptProposal: (U, ORDER | {"proposal": 1}),
    RejectProposal: (U, ORDER | {"proposal": 1, "comment": "Keep the old time, please."}),
    MarkServiceDone: (S, ORDER),
    ConfirmExecution: (U, ORDER),
    MarkOrderPaid: (Y, ORDER | {"payment_id": "pay-77"}),
    MarkOrderUnpaid: (
        Y,
        ORDER | {"claim_id": f"{ORDER_ID}:claim-1", "cause": "claim_written_off"},
    ),
    LeaveReview: (U, ORDER | {"service_rating": 5, "supplier_rating": 4, "text": "On time."}),
    EditNotes: (A, ORDER | {"notes": "Call before delivery."}),
    ConfigureItem: (A, ORDER | {"line": 0, "values": {"domain": "acme.example"}}),
    PlaceOrder: (A, ORDER),
    ApproveOrder: (P, ORDER),
    CompleteOrder: (A, ORDER),
    ResendReceipt: (A, ORDER),
    ReturnOrder: (OP, ORDER | {"comment": "Which sites does the maintenance cover?"}),
    WithdrawOrder: (M, ORDER),
    DiscardDraft: (M, ORDER),
    RefuseApproval: (P, ORDER | {"reason": "The dedicated server needs a region."}),
    AccountOpened: (
        Y,
        {
            "account_id": ACCOUNT_ID,
            "name": "Acme Corp",
            "contact": Contact(email="billing@acme.example", name="Acme billing"),
            "created_on": date(2026, 1, 15),
            "bill_cycle_day": 5,
        },
    ),
    AccountUpdated: (
        Y,
        {
            "account_id": ACCOUNT_ID,
            "name": "Acme Corporation",
            "contact": Contact(email="billing@acme.example", name="Acme billing"),
            "created_on": date(2026, 1, 15),
            "bill_cycle_day": 5,
            "oldest_open_cycle_start": date(2026, 2, 5),
        },
    ),
    ScheduleDeadline: (
        Y,
        {
            "deadline_id": f"{ORDER_ID}:confirmation_window",
            "order_id": str(ORDER_ID),
            "owner": "ordering",
            "kind": "confirmation_window",
            "due_at": datetime(2026, 3, 3, 9, 30, tzinfo=UTC),
        },
    ),
    RescheduleDeadline: (
        Y,
        {
            "deadline_id": f"{ORDER_ID}:confirmation_window",
            "order_id": str(ORDER_ID),
            "due_at": datetime(2026, 3, 4, 9, 30, tzinfo=UTC),
        },
    ),
    CancelDeadline: (
        Y,
        {"deadline_id": f"{ORDER_ID}:confirmation_window", "order_id": str(ORDER_ID)},
    ),
    RequestInvoiceChanges: (
        M,
        {"invoice_id": INVOICE_ID, "message": "Split the invoice per site, please."},
    ),
    ReviseInvoiceDraft: (
        OP,
        {
            "invoice_id": INVOICE_ID,
            "lines": [
                InvoiceLine(
                    description="Maintenance, site A",
                    quantity=2,
                    unit_price=Decimal("300.00"),
                    amount=Decimal("600.00"),
                ),
                InvoiceLine(
                    description="Maintenance, site B",
                    unit_price=Decimal("600.00"),
                    amount=Decimal("600.00"),
                ),
            ],
            "total": _money("1200.00"),
            "comment": "Split per site.",
        },
    ),
    DeclineInvoiceChanges: (
        OP,
        {"invoice_id": INVOICE_ID, "reason": "The contract names one invoice a month."},
    ),
    RecordInvoicePayment: (
        Y,
        {"invoice_id": INVOICE_ID, "payment_id": "pay-78", "amount": _money("1200.00")},
    ),
    RunBillCycle: (OP, {"account_id": ACCOUNT_ID}),
    RecordPayment: (Y, ORDER | {"payment_id": "pay-79", "amount": _money("40.00")}),
    RecordChargeFailure: (
        Y,
        ORDER | {"request_id": f"{ORDER_ID}:payment", "failure_code": "card_declined"},
    ),
    OpenClaim: (S, ORDER | {"reason": "Unpaid three days after the appointment."}),
    WithdrawClaim: (S, ORDER | {"claim_id": f"{ORDER_ID}:claim-1"}),
    WriteOffClaim: (
        OP,
        ORDER | {"claim_id": f"{ORDER_ID}:claim-1", "reason": "The customer is insolvent."},
    ),
    SetSupplierSettings: (
        Y,
        {
            "supplier_id": "supplier-1",
            "effective_from": datetime(2026, 3, 1, tzinfo=UTC),
            "payment_stage": True,
            "cancellation_policy": CancellationPolicy(
                tiers=[FeeTier(within_hours=24, percent=Decimal("50"))]
            ),
        },
    ),
    ConfirmPayoutSent: (
        Y,
        ORDER | {"payout_id": f"{ORDER_ID}:payout", "reference": "SEPA-2026-03-000042"},
    ),
}


def example(cls: type[Message]) -> Message | None:
    """A valid message of `cls`, or None when upstream never writes one."""
    found = _EXAMPLES.get(cls)
    if found is None:
        return None
    role, fields = found
    name = cls.model_fields["type"].default
    return cls(**_envelope(name, role), **fields)
