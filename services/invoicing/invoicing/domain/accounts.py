"""Bill cycles of accounts (seed 003, rule A-11): completed account orders wait in the
account's ledger; each run of the account's bill cycle invoices them, one invoice per
account, cycle, currency and addressee (the orders' bill-to, A-15), and schedules the
next run.

    AccountOpened / AccountUpdated ─▶ record_account  (contact, cycle day; first run)
    OrderCompleted (account flow)  ─▶ queue_order     (its lines, once per order)
    the cycle's deadline           ─▶ on_cycle_deadline ─┐
    RunBillCycle                   ─▶ run_now ───────────┴▶ run_cycle
"""

from __future__ import annotations

from datetime import datetime

from contracts.accounts import AccountOpened
from contracts.envelope import Contact, Role
from contracts.invoicing import BillCycleRun, InvoiceLine, InvoicingRejectionReason, RunBillCycle
from contracts.orders import AccountTerms, OrderCompleted
from invoicing.domain.context import (
    CancelDeadline,
    DeadlineFired,
    Decision,
    ScheduleDeadline,
    Step,
    refused,
)
from invoicing.domain.evolve import fold
from invoicing.domain.model import (
    AccountFacts,
    DeadlineKind,
    Ledger,
    OrderFacts,
    QueuedOrder,
    cycle_deadline_id,
)
from invoicing.domain.money import line_amount
from invoicing.domain.records import (
    AccountInvoiceIssuing,
    AccountOrderQueued,
    AccountRecorded,
    BillCycleScheduled,
)
from servicekit.decisions import carry

R = InvoicingRejectionReason
#: Who may run a cycle by command: the billing system upstream, or an operator.
MAY_RUN = frozenset({Role.SYSTEM, Role.OPERATOR})


def record_account(ledger: Ledger, event: AccountOpened, step: Step) -> Decision:
    """Keep the account's contact and bill-cycle day; schedule its first run (A-11)."""
    account = ledger.account
    if (
        account is not None
        and account.contact == event.contact
        and account.bill_cycle_day == event.bill_cycle_day
    ):
        return Decision()
    recorded = AccountRecorded(**step.stamp(), **carry(event, "account_id contact bill_cycle_day"))
    decision = Decision(events=[recorded])
    decision.extend(_schedule_if_needed(fold([recorded], ledger), step))
    return decision


def queue_order(ledger: Ledger, facts: OrderFacts, event: OrderCompleted, step: Step) -> Decision:
    """A completed account order waits for the account's next run, once (A-11)."""
    terms = facts.terms
    assert isinstance(terms, AccountTerms)
    account = ledger.account
    if account is not None and (
        facts.order_id in account.billed
        or any(q.order_id == facts.order_id for q in account.queued)
    ):
        return Decision()
    lines = [
        InvoiceLine(
            description=f"{item.product_id} ({item.pricing_option})",
            quantity=item.quantity,
            unit_price=item.unit_price,
            amount=line_amount(item.quantity, item.unit_price, terms.currency),
            order_id=facts.order_id,
        )
        for item in terms.items
    ]
    queued = AccountOrderQueued(
        **step.stamp(order_id=facts.order_id, lines=lines),
        **carry(terms, "account_id currency"),
        **carry(event, "receipt_to bill_to"),
    )
    decision = Decision(events=[queued])
    decision.extend(_schedule_if_needed(fold([queued], ledger), step))
    return decision


def on_cycle_deadline(ledger: Ledger, fired: DeadlineFired, step: Step) -> Decision:
    """The open cycle's scheduled run falls due; an older cycle's deadline is stale."""
    account = ledger.account
    if account is None or fired.deadline_id != cycle_deadline_id(ledger.ledger_id, account.cycle):
        return Decision()
    return run_cycle(ledger, account, step, scheduled=False)


def run_now(ledger: Ledger, command: RunBillCycle, step: Step) -> Decision:
    """Upstream runs the account's open cycle now; its scheduled run is dropped and the
    next one scheduled as after any run (A-11)."""
    if command.actor.role not in MAY_RUN:
        return refused(R.NOT_AUTHORIZED, f"a {command.actor.role.value} cannot run a bill cycle")
    if ledger.account is None:
        return refused(R.UNKNOWN_ACCOUNT, f"invoicing knows no account {command.account_id}")
    return run_cycle(ledger, ledger.account, step, scheduled=ledger.account.next_run_at is not None)


def run_cycle(ledger: Ledger, account: AccountFacts, step: Step, *, scheduled: bool) -> Decision:
    """Bill every order completed since the last run: one invoice per currency and
    addressee, issued at once by the billing system; `InvoiceIssued` follows with each
    number (A-11, A-15)."""
    policy, cycle = step.ctx.policy, account.cycle
    groups: dict[tuple[str, Contact | None], list[QueuedOrder]] = {}
    for queued in account.queued:
        bill_to = None if queued.bill_to == account.contact else queued.bill_to
        groups.setdefault((queued.currency, bill_to), []).append(queued)
    decision = Decision()
    invoice_ids = []
    for currency in sorted({c for c, _ in groups}):
        # The account's own invoice first keeps the id `<cycle>-<currency>`; others are
        # numbered after it in the order their first order completed.
        addressees = sorted((b for c, b in groups if c == currency), key=lambda b: b is not None)
        for n, bill_to in enumerate(addressees, start=1):
            invoice_id = f"{ledger.ledger_id}/{cycle}-{currency}" + (f"-{n}" if n > 1 else "")
            invoice_ids.append(invoice_id)
            decision.events.append(
                AccountInvoiceIssuing(
                    **step.stamp(),
                    invoice_id=invoice_id,
                    account_id=account.account_id,
                    issuer_id=policy.billing_issuer,
                    currency=currency,
                    lines=[line for q in groups[currency, bill_to] for line in q.lines],
                    invoice_date=policy.day_of(step.now),
                    issued_at=step.now,
                    bill_to=bill_to,
                )
            )
    next_run = policy.next_cycle_run(step.now, account.bill_cycle_day)
    decision.events.append(
        BillCycleRun(
            **step.envelope(),
            account_id=account.account_id,
            cycle=cycle,
            invoice_ids=invoice_ids,
            order_ids=[q.order_id for q in account.queued],
            next_run_at=next_run,
        )
    )
    if scheduled:
        decision.deadlines.append(
            CancelDeadline(cycle_deadline_id(ledger.ledger_id, cycle), account.account_id)
        )
    if next_run is not None:
        decision.deadlines.append(_cycle_deadline(ledger, account, cycle + 1, next_run))
    return decision


def _schedule_if_needed(ledger: Ledger, step: Step) -> Decision:
    account = ledger.account
    if account is None or account.next_run_at is not None:
        return Decision()
    run_at = step.ctx.policy.next_cycle_run(step.now, account.bill_cycle_day)
    if run_at is None:
        return Decision()  # no cycle day known yet: RunBillCycle still bills the account
    scheduled = BillCycleScheduled(
        **step.stamp(), account_id=account.account_id, cycle=account.cycle, run_at=run_at
    )
    return Decision(
        events=[scheduled], deadlines=[_cycle_deadline(ledger, account, account.cycle, run_at)]
    )


def _cycle_deadline(
    ledger: Ledger, account: AccountFacts, cycle: int, run_at: datetime
) -> ScheduleDeadline:
    return ScheduleDeadline(
        deadline_id=cycle_deadline_id(ledger.ledger_id, cycle),
        order_id=account.account_id,
        kind=DeadlineKind.BILL_CYCLE,
        due_at=run_at,
        payload={"ledger": ledger.ledger_id},
    )
