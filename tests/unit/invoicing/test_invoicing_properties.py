"""Properties over random histories of one managed order's invoices: deadlines firing in
any order and twice, requests, revisions, declines, payments, a cancellation, time
passing. Whatever happens, the table is obeyed and the money and numbers stay right."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.invoicing import (
    DeclineInvoiceChanges,
    InvoiceIssued,
    InvoiceLine,
    InvoiceVoided,
    RecordInvoicePayment,
    RequestInvoiceChanges,
    ReviseInvoiceDraft,
)
from contracts.orders import PlannedInvoice
from invoicing.domain import LEDGER_EVENTS, Ledger, fold
from invoicing.store import LEDGER_STATE as LEDGERS
from tests.unit.invoicing.invoicing_kit import (
    LEDGER,
    MEMBER,
    OPERATOR,
    PAYMENTS,
    S,
    Scenario,
    active_scenario,
    command,
    eur,
    invoice_id,
    order_cancelled,
)

PLANNED = [
    PlannedInvoice(invoice_date=date(2025, 3, 20), amount=eur("100.00")),
    PlannedInvoice(invoice_date=date(2025, 3, 21), amount=eur("200.10")),
    PlannedInvoice(invoice_date=date(2025, 4, 2), amount=eur("0.99")),
]
MOVES = ["fire", "fire_twice", "request", "revise", "decline", "pay", "cancel", "wait"]


def move(sc: Scenario, name: str, n: int, data: st.DataObject) -> None:
    target = invoice_id(n)
    if name in ("fire", "fire_twice") and sc.deadlines:
        deadline_id = data.draw(st.sampled_from(sorted(sc.deadlines)))
        request = sc.deadlines[deadline_id]
        sc.fire(deadline_id)
        if name == "fire_twice":
            sc.fire_again(request)
    elif name == "request":
        sc.do(command(RequestInvoiceChanges, MEMBER.party, invoice_id=target, message="m"))
    elif name == "revise":
        cents = data.draw(st.integers(min_value=0, max_value=10**7))
        amount = Decimal(cents).scaleb(-2)
        line = InvoiceLine(description="revised", unit_price=amount, amount=amount)
        sc.do(
            command(
                ReviseInvoiceDraft,
                OPERATOR,
                invoice_id=target,
                lines=[line],
                total=eur(str(amount)),
            )
        )
    elif name == "decline":
        sc.do(command(DeclineInvoiceChanges, OPERATOR, invoice_id=target, reason="no"))
    elif name == "pay":
        sc.do(
            command(
                RecordInvoicePayment,
                PAYMENTS,
                invoice_id=target,
                payment_id=data.draw(st.sampled_from(["p1", "p2", "p3"])),
                amount=eur("50.00"),
            )
        )
    elif name == "cancel":
        sc.order(order_cancelled())
    else:
        sc.now += timedelta(hours=data.draw(st.sampled_from([1, 12, 48, 24 * 5])))


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_random_histories_keep_numbers_gap_free_money_exact_and_the_table_obeyed(
    data: st.DataObject,
) -> None:
    sc = active_scenario(PLANNED)
    for _ in range(data.draw(st.integers(min_value=1, max_value=25))):
        name = data.draw(st.sampled_from(MOVES))
        move(sc, name, data.draw(st.integers(min_value=1, max_value=3)), data)

    issued = [e for e in sc.published if isinstance(e, InvoiceIssued)]
    numbers = [e.number for e in issued]
    assert sorted(numbers) == list(range(1, len(numbers) + 1)), "gap-free, no duplicate"
    assert len({e.invoice_id for e in issued}) == len(issued), "an invoice is issued once"
    credit = [e.credit_note.number for e in sc.published if isinstance(e, InvoiceVoided)]
    assert sorted(credit) == list(range(1, len(credit) + 1))
    for invoice in sc.ledger.invoices:
        assert invoice.total.amount == sum((line.amount for line in invoice.lines), Decimal(0))
        assert (invoice.number is not None) == (invoice.status in (S.ISSUED, S.VOIDED))
        if invoice.status is S.VOIDED:
            assert invoice.credit_note is not None and invoice.credit_note.number is not None
        if invoice.status is S.CHANGES_REQUESTED:
            assert invoice.request is not None
    assert len(sc.commands) <= 1, "ordering is told once at most"
    if sc.commands:
        assert (
            any(isinstance(e, InvoiceIssued) for e in sc.published)
            and sc.ledger.completion_reported
        )
    # What is stored is the truth: its JSON, read back and folded, is the same ledger.
    stored = [LEDGER_EVENTS.validate(e.model_dump(mode="json")) for e in sc.stored]
    assert fold(stored, Ledger(LEDGER)) == sc.ledger
    # The snapshot holds the state itself (issue 18): its JSON reads back as the same ledger.
    assert LEDGERS.load(json.loads(json.dumps(LEDGERS.dump(sc.ledger)))) == sc.ledger
