"""An invoice's life (rules M-10 to M-16, M-20, A-11). The TABLE at the bottom is the flow; the
functions above it are its handlers: each returns a `Decision`, accepted or `refused`."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from contracts.envelope import Role
from contracts.invoicing import (
    DeclineInvoiceChanges,
    InvoiceCancelled,
    InvoiceChangesDeclined,
    InvoiceChangesRequested,
    InvoiceDrafted,
    InvoiceDraftRevised,
    InvoiceLine,
    InvoicePaymentRecorded,
    InvoicePlanned,
    InvoiceStatus,
    InvoicingRejectionReason,
    RecordInvoicePayment,
    ReviseInvoiceDraft,
)
from contracts.invoicing import RequestInvoiceChanges as RequestChanges
from contracts.orders import (
    CancellationRefused,
    ManagedTerms,
    Money,
    OrderActivated,
    OrderCancelled,
    OrderParty,
    OrderStatus,
)
from invoicing.domain.context import (
    CancelDeadline,
    DeadlineFired,
    Decision,
    ScheduleDeadline,
    Step,
    refused,
)
from invoicing.domain.evolve import evolve
from invoicing.domain.model import (
    DeadlineKind,
    Invoice,
    Ledger,
    OrderFacts,
    Payment,
    credit_note_id,
    deadline_id,
)
from invoicing.domain.money import is_exact, line_amount, to_minor_unit, total_of
from invoicing.domain.records import InvoiceIssuing, InvoiceVoiding
from servicekit.decisions import carry
from servicekit.tables import Table, Via, after, follows, on, when

S = InvoiceStatus
R = InvoicingRejectionReason
K = DeadlineKind


def member_of(facts: OrderFacts) -> OrderParty:
    member = facts.party(Role.MEMBER)
    if member is None:
        raise ValueError(f"order {facts.order_id} has no member")
    return member


def plan(ledger: Ledger, event: OrderActivated, step: Step) -> Decision:
    """An active order's planned invoices become invoices in `planned`, each with a
    deadline for its draft (seven days before) and one for its date (Rule M-10)."""
    facts = ledger.order
    assert facts is not None and isinstance(facts.terms, ManagedTerms)
    member, policy = member_of(facts), step.ctx.policy
    decision = Decision()
    count = len(event.planned_invoices)
    for position, planned in enumerate(event.planned_invoices, start=1):
        currency = planned.amount.currency
        # Ordering takes any Decimal: an amount finer than the currency's minor unit is
        # rounded half up here, so every invoice is exact (see docs/invoicing.md).
        amount = to_minor_unit(planned.amount.amount, currency)
        line = InvoiceLine(
            description=_describe(facts.terms, position, count),
            unit_price=amount,
            amount=amount,
        )
        invoice_id = f"{ledger.ledger_id}/{position}"
        issue_at = policy.start_of(planned.invoice_date)
        draft_at = policy.draft_at(planned.invoice_date)
        planned_event = InvoicePlanned(
            **step.envelope(),
            invoice_id=invoice_id,
            order_id=facts.order_id,
            status=S.PLANNED,
            issuer_id=member.id,
            position=position,
            invoice_date=planned.invoice_date,
            lines=[line],
            total=total_of([line], currency),
            draft_at=draft_at,
            issue_at=issue_at,
        )
        decision.events.append(planned_event)
        if draft_at <= step.now:
            invoice = evolve(ledger, planned_event).invoice(invoice_id)
            assert invoice is not None
            decision.events.append(drafted(facts, invoice, step))
        else:
            decision.deadlines.append(_deadline(ledger, invoice_id, K.DRAFT, draft_at))
        decision.deadlines.append(_deadline(ledger, invoice_id, K.ISSUE, issue_at))
    return decision


def drafted(facts: OrderFacts, invoice: Invoice, step: Step) -> InvoiceDrafted:
    return InvoiceDrafted(
        **step.envelope(),
        **carry(invoice, "invoice_id order_id invoice_date total"),
        status=S.DRAFT,
        member=member_of(facts),
        lines=list(invoice.lines),
        changes_until=invoice.issue_at,
    )


def draft(ledger: Ledger, invoice: Invoice, fired: DeadlineFired, step: Step) -> Decision:
    """Seven days before the invoice date the draft is made; the member is told (M-10)."""
    assert ledger.order is not None
    return Decision(events=[drafted(ledger.order, invoice, step)])


def request_changes(ledger: Ledger, invoice: Invoice, cmd: RequestChanges, step: Step) -> Decision:
    """Until the invoice date the member may ask for changes, with a message (M-11)."""
    if step.now >= invoice.issue_at:
        return refused(R.WINDOW_CLOSED, "changes can be asked for until the invoice date only")
    event = InvoiceChangesRequested(
        **step.envelope(cmd.actor),
        **carry(invoice, "invoice_id order_id"),
        status=S.CHANGES_REQUESTED,
        message=cmd.message,
    )
    return Decision(events=[event])


def revise(ledger: Ledger, invoice: Invoice, cmd: ReviseInvoiceDraft, step: Step) -> Decision:
    """The operator revises the draft, the member is told; past its date, the settled
    draft is issued at once (M-11, M-12)."""
    if problem := _lines_rejection(invoice.currency, cmd.lines, cmd.total):
        return problem
    assert ledger.order is not None
    event = InvoiceDraftRevised(
        **step.envelope(cmd.actor),
        **carry(invoice, "invoice_id order_id"),
        **carry(cmd, "lines total comment"),
        status=S.DRAFT,
        member=member_of(ledger.order),
    )
    return Decision(events=[event, *_issue_if_due(ledger, invoice, step)])


def decline(ledger: Ledger, invoice: Invoice, cmd: DeclineInvoiceChanges, step: Step) -> Decision:
    """The operator declines the request, the member is told; past its date, the draft
    is issued at once (M-11, M-12)."""
    assert ledger.order is not None
    event = InvoiceChangesDeclined(
        **step.envelope(cmd.actor),
        **carry(invoice, "invoice_id order_id"),
        status=S.DRAFT,
        member=member_of(ledger.order),
        reason=cmd.reason,
    )
    return Decision(events=[event, *_issue_if_due(ledger, invoice, step)])


def issue(ledger: Ledger, invoice: Invoice, fired: DeadlineFired, step: Step) -> Decision:
    """On the invoice date, with no open request, the invoice is issued with no action
    from anyone (M-12); `InvoiceIssued` follows once its number is taken. While the
    order's cancellation request is pending it is held instead (M-20)."""
    if cancellation_pending(ledger):
        return Decision()
    return Decision(events=[_issuing(invoice, step)])


def release(ledger: Ledger, invoice: Invoice, event: CancellationRefused, step: Step) -> Decision:
    """The cancellation was refused: a held invoice whose date has passed is issued at
    once; the others wait for their date as before (M-20)."""
    return Decision(events=[*_issue_if_due(ledger, invoice, step)])


def cancellation_pending(ledger: Ledger) -> bool:
    """M-20: the order waits for the operator's answer to a cancellation request."""
    return ledger.order is not None and ledger.order.status is OrderStatus.CANCELLATION_REQUESTED


def hold(ledger: Ledger, invoice: Invoice, fired: DeadlineFired, step: Step) -> Decision:
    """A draft with an open change request is not issued until it is settled (M-11)."""
    return Decision()


def cancel(ledger: Ledger, invoice: Invoice, event: OrderCancelled, step: Step) -> Decision:
    """The order is cancelled: a planned or draft invoice is cancelled, kept (M-14)."""
    cancelled = InvoiceCancelled(
        **step.envelope(),
        **carry(invoice, "invoice_id order_id"),
        status=S.CANCELLED,
        reason=event.reason,
    )
    key = str(invoice.order_id)
    deadlines = [
        CancelDeadline(deadline_id(invoice.invoice_id, k), key) for k in (K.DRAFT, K.ISSUE)
    ]
    return Decision(events=[cancelled], deadlines=list(deadlines))


def void(ledger: Ledger, invoice: Invoice, event: OrderCancelled, step: Step) -> Decision:
    """The order is cancelled: an issued invoice is voided with a credit note that
    references it (M-14); `InvoiceVoided` follows once the credit note is numbered."""
    voiding = InvoiceVoiding(
        **step.stamp(),
        invoice_id=invoice.invoice_id,
        credit_note_id=credit_note_id(invoice.invoice_id),
        reason=event.reason,
    )
    return Decision(events=[voiding])


def record_payment(
    ledger: Ledger, invoice: Invoice, cmd: RecordInvoicePayment, step: Step
) -> Decision:
    """A payment against an issued invoice; what is paid stays visible (M-16)."""
    amount = cmd.amount
    if amount.currency != invoice.currency:
        return refused(R.CURRENCY_MISMATCH, f"the invoice is in {invoice.currency}")
    if not is_exact(amount.amount, amount.currency):
        return refused(R.INEXACT_AMOUNT, f"{amount.amount} is finer than {amount.currency} allows")
    if amount.amount <= 0:
        return refused(R.INVALID, "a payment must be more than zero")
    if any(p.payment_id == cmd.payment_id for p in invoice.payments):
        return refused(R.DUPLICATE_PAYMENT, f"payment {cmd.payment_id} is recorded already")
    # What is paid, outstanding and the payment status, as the invoice will say after it.
    after = replace(
        invoice, payments=(*invoice.payments, Payment(cmd.payment_id, amount.amount, step.now))
    )
    event = InvoicePaymentRecorded(
        **step.envelope(cmd.actor),
        **carry(invoice, "invoice_id order_id account_id status"),
        **carry(after, "paid outstanding payment_status"),
        payment_id=cmd.payment_id,
        amount=amount,
    )
    return Decision(events=[event])


def _deadline(
    ledger: Ledger, invoice_id: str, kind: DeadlineKind, due_at: datetime
) -> ScheduleDeadline:
    key = str(ledger.order.order_id) if ledger.order else ledger.ledger_id
    payload = {"ledger": ledger.ledger_id, "invoice_id": invoice_id}
    return ScheduleDeadline(deadline_id(invoice_id, kind), key, kind, due_at, payload)


def _issuing(invoice: Invoice, step: Step) -> InvoiceIssuing:
    return InvoiceIssuing(**step.stamp(), invoice_id=invoice.invoice_id, issued_at=step.now)


def _issue_if_due(ledger: Ledger, invoice: Invoice, step: Step) -> list[InvoiceIssuing]:
    # A draft held past its date by a request is issued as soon as the request is settled,
    # unless the order's cancellation is pending (M-20): its refusal issues it then.
    if step.now < invoice.issue_at or cancellation_pending(ledger):
        return []
    return [_issuing(invoice, step)]


def _lines_rejection(currency: str, lines: list[InvoiceLine], total: Money) -> Decision | None:
    if total.currency != currency:
        return refused(R.CURRENCY_MISMATCH, f"the invoice is in {currency}, not {total.currency}")
    amounts = [line.amount for line in lines] + [total.amount]
    if not all(is_exact(a, currency) for a in amounts):
        return refused(R.INEXACT_AMOUNT, f"amounts must be exact to the {currency} minor unit")
    for n, line in enumerate(lines, start=1):
        if line.amount != line_amount(line.quantity, line.unit_price, currency):
            return refused(
                R.TOTAL_MISMATCH,
                f"line {n}: {line.amount} is not {line.quantity} x {line.unit_price}",
            )
    if total_of(lines, currency).amount != total.amount:
        return refused(R.TOTAL_MISMATCH, f"the lines add up to {total_of(lines, currency).amount}")
    return None


def _describe(terms: ManagedTerms, position: int, count: int) -> str:
    what = (terms.description.strip() or "Services")[:400]
    period = f"{terms.service_start.isoformat()} to {terms.service_end.isoformat()}"
    return f"{what} ({period}), invoice {position} of {count}"


# fmt: off
TABLE: Table[InvoiceStatus] = Table(
    "invoice",
    statuses=(S.PLANNED, S.DRAFT, S.CHANGES_REQUESTED, S.ISSUED, S.CANCELLED, S.VOIDED),
    rows=(
        *follows(None, OrderActivated, via=Via.EVENT, to=S.PLANNED, rules="M-10",
                 guard="one per planned invoice; never for a rejected order (M-15)",
                 origin="ordering"),
        *follows(None, "bill cycle run", via=Via.DEADLINE, to=S.ISSUED, rules="A-11",
                 guard="one per account, cycle and currency",
                 origin="deadline, operator, system"),
        *after(S.PLANNED, K.DRAFT, draft, to=S.DRAFT, rules="M-10"),
        *after(S.PLANNED, K.ISSUE, issue, to=(S.PLANNED, S.ISSUED), rules="M-12 M-20",
               guard="the draft's deadline never came; held while a cancellation is pending"),
        *on(S.DRAFT, RequestChanges, request_changes, to=S.CHANGES_REQUESTED, by=Role.MEMBER,
            rules="M-11", guard="before the invoice date"),
        *after(S.DRAFT, K.ISSUE, issue, to=(S.DRAFT, S.ISSUED), rules="M-12 M-20",
               guard="held while a cancellation is pending"),
        *on(S.CHANGES_REQUESTED, ReviseInvoiceDraft, revise, to=(S.DRAFT, S.ISSUED),
            by=Role.OPERATOR, rules="M-11 M-12 M-20",
            guard="issued at once past its date, unless a cancellation is pending"),
        *on(S.CHANGES_REQUESTED, DeclineInvoiceChanges, decline, to=(S.DRAFT, S.ISSUED),
            by=Role.OPERATOR, rules="M-11 M-12 M-20",
            guard="issued at once past its date, unless a cancellation is pending"),
        *after(S.CHANGES_REQUESTED, K.ISSUE, hold, rules="M-11",
               guard="held until the request is settled"),
        *when((S.PLANNED, S.DRAFT, S.CHANGES_REQUESTED), OrderCancelled, cancel,
              to=S.CANCELLED, rules="M-14"),
        *when(S.ISSUED, OrderCancelled, void, to=S.VOIDED, rules="M-14",
              guard="with a credit note"),
        *on(S.ISSUED, RecordInvoicePayment, record_payment, by=(Role.SYSTEM, Role.OPERATOR),
            rules="M-16"),
        *when(S.PLANNED, CancellationRefused, release, to=(S.PLANNED, S.ISSUED), rules="M-20",
              guard="held past its date: issued at once"),
        *when(S.DRAFT, CancellationRefused, release, to=(S.DRAFT, S.ISSUED), rules="M-20",
              guard="held past its date: issued at once"),
    ),
    #: X-10: an invoice may rest here for ever; issued stays issued (paid or not, M-16)
    #: unless its order is cancelled and it is voided (M-14).
    ends=frozenset({S.ISSUED, S.CANCELLED, S.VOIDED}),
    #: Operators and the platform's services act on any order's invoices; a member only
    #: on its own order's (M-11).
    staff=frozenset({Role.OPERATOR, Role.SYSTEM}),
)
#: The lifecycles invoicing decides, by name (servicekit.authority reads them).
TABLES = {TABLE.name: TABLE}
# fmt: on
