"""From a ledger and what happened to it, a `Decision`. Pure: `now` and every snapshot
come in as arguments; each entry point builds its `Step` from the message it decides,
as ordering's and payments' do (issue 18).

    on_order_event(ledger, event, now, ctx)   ordering's facts: record, plan, cancel, void
    on_command(ledger, command, now, ctx)     the members', operators' and payments' commands
    on_deadline(ledger, fired, now, ctx)      a draft date, an invoice date, a cycle run
    on_number(ledger, taken, now, ctx)        a number was taken: the issue or void is told
    on_account_event / queue_account_order    A-11, see `accounts`

    command ─▶ invoice known? ─▶ the order's member (for a member)? ─▶ (status, command)
            in the table? ─▶ role allowed there? ─▶ the row's handler: events or a refusal
            ─▶ fold; the status reached must be one of the row's targets
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from contracts.accounts import AccountOpened
from contracts.envelope import Command, Event, Message, Role
from contracts.invoicing import (
    CreditNote,
    InvoiceCommand,
    InvoiceIssued,
    InvoiceStatus,
    InvoiceVoided,
    InvoicingCommandRejected,
    InvoicingRejectionReason,
    RunBillCycle,
)
from contracts.orders import (
    CancellationRefused,
    CancellationRequested,
    DraftEdited,
    Flow,
    MarkInvoicingComplete,
    OrderActivated,
    OrderCancelled,
    OrderCompleted,
    OrderCreated,
    OrderParty,
    OrderRejected,
    OrderStatus,
)
from invoicing.domain import accounts
from invoicing.domain.context import (
    INVOICING,
    DeadlineFired,
    Decision,
    DecisionContext,
    Rejection,
    Step,
    invoicing_ids,
    new_step,
    refused,
)
from invoicing.domain.evolve import fold
from invoicing.domain.invoices import TABLE, plan
from invoicing.domain.model import (
    DeadlineKind,
    Invoice,
    Ledger,
    NumberTaken,
    OrderFacts,
    deadline_id,
    pending_numbers,
)
from invoicing.domain.records import CompletionReported, OrderRecorded, OrderStatusNoted
from servicekit.decisions import carry, rejected
from servicekit.tables import Row, TableError, deadline_trigger

R = InvoicingRejectionReason
S = InvoiceStatus
#: Orders that are over for invoicing: nothing is planned for them, nothing completes.
_CLOSED = frozenset({OrderStatus.REJECTED, OrderStatus.CANCELLED, OrderStatus.COMPLETED})
_NAMESPACE = uuid.UUID("5d1c1f0e-7a39-4c55-9a53-2c1ad0b7f0a1")


class MissingOrderError(Exception):
    """ordering's event about an order invoicing has no record of (its creation unseen)."""


def number_cause(document_id: str) -> uuid.UUID:
    """The id that stands for "document_id got its number": the cause of what follows."""
    return uuid.uuid5(_NAMESPACE, f"number:{document_id}")


@dataclass(frozen=True)
class _Numbered:
    """What a number's decision is caused by: the number taken, in the invoice's story."""

    message_id: uuid.UUID
    correlation_id: uuid.UUID


def on_order_event(ledger: Ledger, event: Event, now: datetime, ctx: DecisionContext) -> Decision:
    """What ordering's event changes for the order's invoices (M-10, M-14, M-15, M-16)."""
    step = new_step(ledger.ledger_id, event, now, ctx)
    facts = ledger.order
    if isinstance(event, OrderCreated | DraftEdited):
        return _record(ledger, event, step)
    if isinstance(event, OrderActivated):
        if facts is None:
            raise MissingOrderError(f"order {event.order_id} was never created")
        if ledger.invoices or facts.status in _CLOSED:
            return Decision()  # planned already, or rejected: never invoiced (M-15)
        noted = OrderStatusNoted(**step.stamp(), order_id=event.order_id, status=event.status)
        decision = Decision(events=[noted])
        decision.extend(plan(fold([noted], ledger), event, step))
        decision.extend(_report_completion(fold(decision.events, ledger), step))
        return decision
    if isinstance(event, OrderRejected | OrderCancelled | OrderCompleted):
        if facts is None or facts.status is event.status:
            return Decision()
        noted = OrderStatusNoted(**step.stamp(), order_id=event.order_id, status=event.status)
        decision = Decision(events=[noted])
        if isinstance(event, OrderCancelled):
            decision.extend(_cancel_all(fold([noted], ledger), event, step))
        return decision
    if isinstance(event, CancellationRequested | CancellationRefused):
        return _cancellation_pending_or_not(ledger, event, step)
    return Decision()


def on_command(ledger: Ledger, command: Command, now: datetime, ctx: DecisionContext) -> Decision:
    """Rule X-07: a command's events, or its rejection with a reason."""
    step = new_step(ledger.ledger_id, command, now, ctx)
    if isinstance(command, RunBillCycle):
        decision = accounts.run_now(ledger, command, step)
    elif isinstance(command, InvoiceCommand):
        decision = _invoice_command(ledger, command, step)
    else:
        decision = refused(R.INVALID, f"invoicing takes no {command.type}")
    if decision.rejection is not None:
        return _refused(command, decision.rejection, now)
    return decision


def on_deadline(
    ledger: Ledger, fired: DeadlineFired, now: datetime, ctx: DecisionContext
) -> Decision:
    """A deadline of this ledger fell due; one that no longer applies changes nothing."""
    step = new_step(ledger.ledger_id, fired, now, ctx)
    if fired.kind == DeadlineKind.BILL_CYCLE:
        return accounts.on_cycle_deadline(ledger, fired, step)
    invoice = ledger.invoice(fired.payload.get("invoice_id", ""))
    if invoice is None or fired.kind not in {DeadlineKind.DRAFT, DeadlineKind.ISSUE}:
        return Decision()
    kind = DeadlineKind(fired.kind)
    if fired.deadline_id != deadline_id(invoice.invoice_id, kind):
        return Decision()
    return _by_table(ledger, invoice, deadline_trigger(kind), fired, step)


def on_number(ledger: Ledger, taken: NumberTaken, now: datetime, ctx: DecisionContext) -> Decision:
    """`taken.document_id` got `taken.number` from its issuer's sequence: tell the issue
    (M-12, A-11) or the void (M-14); the last planned invoice issued tells ordering (M-16).
    Its cause is `number_cause(document_id)`, in the invoice's correlation."""
    document_id, number = taken.document_id, taken.number
    request = next((r for r in pending_numbers(ledger) if r.document_id == document_id), None)
    if request is None:
        return Decision()  # numbered already
    invoice = ledger.invoice(request.invoice_id)
    assert invoice is not None and invoice.issued_at is not None
    cause = _Numbered(number_cause(document_id), invoice.correlation_id)
    step = new_step(ledger.ledger_id, cause, now, ctx)
    client = _client(ledger, invoice)
    if document_id == invoice.invoice_id:
        issued = InvoiceIssued(
            **step.envelope(),
            **carry(invoice, "invoice_id order_id account_id issuer_id issued_at invoice_date"),
            **carry(invoice, "total payment_status"),
            status=S.ISSUED,
            number=number,
            client=client,
            lines=list(invoice.lines),
        )
        decision = Decision(events=[issued])
        decision.extend(_report_completion(fold([issued], ledger), step))
        return decision
    note = invoice.credit_note
    assert note is not None and invoice.number is not None
    credit_note = CreditNote(
        **carry(note, "credit_note_id issued_at"),
        **carry(invoice, "issuer_id invoice_id total"),
        number=number,
        invoice_number=invoice.number,
    )
    voided = InvoiceVoided(
        **step.envelope(),
        **carry(invoice, "invoice_id order_id account_id"),
        status=S.VOIDED,
        credit_note=credit_note,
        client=client,
        reason=note.reason,
    )
    return Decision(events=[voided])


def on_account_event(
    ledger: Ledger, event: AccountOpened, now: datetime, ctx: DecisionContext
) -> Decision:
    """A-11: an account's contact and bill-cycle day."""
    return accounts.record_account(ledger, event, new_step(ledger.ledger_id, event, now, ctx))


def queue_account_order(
    ledger: Ledger, event: OrderCompleted, now: datetime, ctx: DecisionContext, *, facts: OrderFacts
) -> Decision:
    """A-11: a completed account order (`facts`, from its order's ledger) waits for its
    account's next run."""
    step = new_step(ledger.ledger_id, event, now, ctx)
    return accounts.queue_order(ledger, facts, event, step)


def _record(ledger: Ledger, event: OrderCreated | DraftEdited, step: Step) -> Decision:
    terms = event.terms
    if event.flow not in (Flow.MANAGED, Flow.ACCOUNT) or terms.flow == "postpaid":
        return Decision()
    facts = ledger.order
    if ledger.invoices or (
        facts is not None and facts.parties == tuple(event.parties) and facts.terms == terms
    ):
        return Decision()
    recorded = OrderRecorded(
        **step.stamp(terms=terms), **carry(event, "order_id flow status parties")
    )
    return Decision(events=[recorded])


def _invoice_command(ledger: Ledger, command: InvoiceCommand, step: Step) -> Decision:
    invoice = ledger.invoice(command.invoice_id)
    if invoice is None:
        return refused(R.UNKNOWN_INVOICE, f"there is no invoice {command.invoice_id}")
    actor = command.actor
    party = ledger.order.party(actor.role) if ledger.order else None
    if actor.role not in TABLE.staff and (party is None or party.id != actor.id):
        return refused(R.NOT_AUTHORIZED, "the actor is not a party of this order")
    edge = TABLE.row(invoice.status, command.type)
    if edge is None or edge.handle is None:
        message = f"{command.type} is not possible while the invoice is {invoice.status.value}"
        return refused(R.NOT_ALLOWED_IN_STATUS, message)
    if actor.role not in edge.roles:
        return refused(R.NOT_AUTHORIZED, f"a {actor.role.value} cannot {command.type} here")
    return _checked(ledger, invoice, edge, edge.handle(ledger, invoice, command, step))


def _cancel_all(ledger: Ledger, event: OrderCancelled, step: Step) -> Decision:
    """M-14: planned and draft invoices are cancelled, issued ones voided; none deleted
    (cancelled or voided already: the paper trail stays as it is)."""
    return _each_invoice(ledger, event, step)


def _cancellation_pending_or_not(
    ledger: Ledger, event: CancellationRequested | CancellationRefused, step: Step
) -> Decision:
    """M-20: while a cancellation request is pending, no invoice of the order is issued;
    a refusal releases them, issuing at once those whose date has passed."""
    facts = ledger.order
    if facts is None or facts.status is event.status or facts.status in _CLOSED:
        return Decision()  # told already (a redelivery), or the order is over
    noted = OrderStatusNoted(**step.stamp(), order_id=event.order_id, status=event.status)
    decision = Decision(events=[noted])
    if isinstance(event, CancellationRefused):
        # Not those held by a change request (M-11), nor issued, cancelled, voided ones.
        decision.extend(_each_invoice(fold([noted], ledger), event, step))
    return decision


def _report_completion(ledger: Ledger, step: Step) -> Decision:
    """M-16: once every planned invoice is issued, ordering is told, once."""
    facts = ledger.order
    if (
        facts is None
        or facts.flow is not Flow.MANAGED
        or facts.status in _CLOSED
        or ledger.completion_reported
        or not ledger.all_issued
    ):
        return Decision()
    reported = CompletionReported(**step.stamp(), order_id=facts.order_id)
    command = MarkInvoicingComplete(**step.envelope(INVOICING), order_id=facts.order_id)
    return Decision(events=[reported], commands=[command])


def _each_invoice(ledger: Ledger, message: Message, step: Step) -> Decision:
    """What `message` does to every invoice of the ledger whose status has a row for it."""
    decision = Decision()
    for invoice in ledger.invoices:
        decision.extend(_by_table(ledger, invoice, message.type, message, step))
    return decision


def _by_table(
    ledger: Ledger, invoice: Invoice, trigger: str, message: object, step: Step
) -> Decision:
    """What the table's row for `trigger` in the invoice's status decides (none: nothing)."""
    edge = TABLE.row(invoice.status, trigger)
    if edge is None or edge.handle is None:
        return Decision()
    return _checked(ledger, invoice, edge, edge.handle(ledger, invoice, message, step))


def _checked(ledger: Ledger, invoice: Invoice, edge: Row[S], decision: Decision) -> Decision:
    """An accepted decision, held to the row's targets; a refusal, as it is."""
    after = fold(decision.events, ledger).invoice(invoice.invoice_id)
    assert after is not None
    if decision.accepted and after.status not in edge.targets:
        raise TableError(f"{edge.trigger} led {invoice.invoice_id} to {after.status}")
    return decision


def _client(ledger: Ledger, invoice: Invoice) -> OrderParty:
    if invoice.account_id is not None:
        contact = invoice.bill_to or (ledger.account.contact if ledger.account else None)
        return OrderParty(id=invoice.account_id, role=Role.CUSTOMER, contact=contact)
    assert ledger.order is not None
    client = ledger.order.party(Role.CLIENT)
    assert client is not None, "a managed order has a client"
    return client


def _refused(command: Command, rejection: Rejection, now: datetime) -> Decision:
    """X-07: the command's `InvoicingCommandRejected`, its id the first the command causes
    (`invoicing_ids`): every refusal comes before a handler stamps anything, so this is
    the id the rejection always had."""
    return rejected(
        InvoicingCommandRejected,
        command,
        rejection,
        now=now,
        actor=INVOICING,
        new_id=invoicing_ids(command.message_id),
        invoice_id=command.invoice_id if isinstance(command, InvoiceCommand) else None,
        account_id=command.account_id if isinstance(command, RunBillCycle) else None,
    )
