"""Bill cycles of account orders (seed 003, A-11)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from contracts.envelope import Contact, Role
from contracts.invoicing import BillCycleRun, InvoiceIssued, RunBillCycle
from invoicing.domain import Policy, account_ledger_id
from tests.unit.invoicing.invoicing_kit import (
    ACCOUNT_CONTACT,
    MEMBER,
    OPERATOR,
    T0,
    S,
    Scenario,
    account_opened,
    account_scenario,
    account_terms,
    command,
    item,
    new_order_id,
    order_completed,
    order_created,
)

LEDGER = account_ledger_id("acc-1")


def _complete(sc: Scenario, currency: str = "EUR", **terms: Any) -> object:
    order_id = new_order_id()
    created = order_created(account_terms(currency=currency, **terms), order_id=order_id)
    sc.queue(created, order_completed(order_id))
    return order_id


def _cycle(n: int) -> str:
    return f"{LEDGER}:cycle:{n}"


def _runs(sc: Scenario) -> list[BillCycleRun]:
    return [e for e in sc.published if isinstance(e, BillCycleRun)]


def test_A11_an_opened_account_has_its_first_run_scheduled_on_its_bill_cycle_day() -> None:
    sc = account_scenario()
    sc.account(account_opened(bill_cycle_day=5))
    assert sc.deadlines[_cycle(1)].due_at == datetime(2025, 3, 5, tzinfo=UTC)
    assert sc.deadlines[_cycle(1)].order_id == "acc-1"


def test_A11_a_cycle_day_already_passed_this_month_runs_next_month() -> None:
    sc = account_scenario()
    sc.account(account_opened(bill_cycle_day=1))
    assert sc.deadlines[_cycle(1)].due_at == datetime(2025, 4, 1, tzinfo=UTC)


def test_A11_a_run_bills_every_order_completed_since_the_last_run_on_one_invoice() -> None:
    sc = account_scenario()
    sc.account(account_opened())
    first, second = _complete(sc), _complete(sc, items=[item("hosting", "9.99", 3)])
    sc.fire(_cycle(1))
    [issued] = [e for e in sc.published if isinstance(e, InvoiceIssued)]
    assert issued.invoice_id == f"{LEDGER}/1-EUR" and issued.account_id == "acc-1"
    assert issued.issuer_id == "billing" and issued.number == 1
    assert {line.order_id for line in issued.lines} == {first, second}
    assert issued.total.amount == Decimal("39.80") + Decimal("100") + Decimal("29.97")
    assert issued.client.id == "acc-1" and issued.client.role is Role.CUSTOMER
    assert issued.client.contact == ACCOUNT_CONTACT
    [run] = _runs(sc)
    assert run.cycle == 1 and run.invoice_ids == [issued.invoice_id]
    assert run.next_run_at == datetime(2025, 4, 5, tzinfo=UTC)
    assert _cycle(2) in sc.deadlines


def test_A11_the_next_run_bills_only_what_completed_after_the_last_one() -> None:
    sc = account_scenario()
    sc.account(account_opened())
    _complete(sc)
    sc.fire(_cycle(1))
    later = _complete(sc)
    sc.fire(_cycle(2))
    issued = [e for e in sc.published if isinstance(e, InvoiceIssued)]
    assert [i.invoice_id for i in issued] == [f"{LEDGER}/1-EUR", f"{LEDGER}/2-EUR"]
    assert {line.order_id for line in issued[1].lines} == {later}
    assert [i.number for i in issued] == [1, 2]


def test_A11_an_order_completed_twice_is_billed_once() -> None:
    sc = account_scenario()
    sc.account(account_opened())
    order_id = new_order_id()
    created = order_created(account_terms(), order_id=order_id)
    sc.queue(created, order_completed(order_id))
    assert not sc.queue(created, order_completed(order_id)).events
    sc.fire(_cycle(1))
    assert not sc.queue(created, order_completed(order_id)).events
    assert len(sc.ledger.account.queued if sc.ledger.account else ()) == 0


def test_A11_orders_in_two_currencies_get_one_invoice_per_currency() -> None:
    sc = account_scenario()
    sc.account(account_opened())
    _complete(sc, "EUR")
    _complete(sc, "USD")
    sc.fire(_cycle(1))
    [run] = _runs(sc)
    assert run.invoice_ids == [f"{LEDGER}/1-EUR", f"{LEDGER}/1-USD"]


def test_A11_a_run_with_nothing_to_bill_issues_nothing_and_schedules_the_next() -> None:
    sc = account_scenario()
    sc.account(account_opened())
    sc.fire(_cycle(1))
    [run] = _runs(sc)
    assert run.invoice_ids == [] and sc.ledger.invoices == ()
    assert _cycle(2) in sc.deadlines


def test_A11_a_cycle_deadline_delivered_twice_runs_the_cycle_once() -> None:
    sc = account_scenario()
    sc.account(account_opened())
    _complete(sc)
    request = sc.deadlines[_cycle(1)]
    sc.fire(_cycle(1))
    assert not sc.fire_again(request).events
    assert len(_runs(sc)) == 1


def test_A11_run_bill_cycle_runs_the_open_cycle_now_and_drops_its_scheduled_run() -> None:
    sc = account_scenario()
    sc.account(account_opened())
    _complete(sc)
    sc.do(command(RunBillCycle, OPERATOR, account_id="acc-1"))
    assert _cycle(1) in sc.cancelled and _cycle(2) in sc.deadlines
    assert len(sc.ledger.invoices) == 1 and sc.ledger.invoices[0].status is S.ISSUED


def test_A11_run_bill_cycle_for_an_unknown_account_or_by_a_member_is_refused() -> None:
    sc = account_scenario("nobody")
    sc.do(command(RunBillCycle, OPERATOR, account_id="nobody"))
    assert sc.last_rejection() == "unknown_account"
    assert sc.rejections[-1].kafka_key() == b"nobody"
    sc = account_scenario()
    sc.account(account_opened())
    sc.do(command(RunBillCycle, MEMBER.party, account_id="acc-1"))
    assert sc.last_rejection() == "not_authorized"


def test_A11_bill_cycle_every_replaces_the_monthly_run() -> None:
    sc = account_scenario(policy=Policy(bill_cycle_every=timedelta(seconds=30)))
    sc.account(account_opened())
    assert sc.deadlines[_cycle(1)].due_at == T0 + timedelta(seconds=30)


def test_A11_an_account_updated_with_the_same_details_changes_nothing() -> None:
    sc = account_scenario()
    sc.account(account_opened())
    assert not sc.account(account_opened()).events


def test_A11_orders_of_an_account_invoicing_never_heard_of_wait_for_a_run_bill_cycle() -> None:
    sc = account_scenario()
    _complete(sc)
    assert sc.deadlines == {}
    sc.do(command(RunBillCycle, OPERATOR, account_id="acc-1"))
    [issued] = [e for e in sc.published if isinstance(e, InvoiceIssued)]
    assert issued.client.contact == ACCOUNT_CONTACT, "the receipt address stands in"


def test_A15_a_bill_cycle_invoice_goes_to_the_bill_to_its_orders_name() -> None:
    sc = account_scenario()
    sc.account(account_opened())
    finance = Contact(email="finance@acme.example", name="Acme finance")
    own, elsewhere, also_own = new_order_id(), new_order_id(), new_order_id()
    for order_id, bill_to in ((own, None), (elsewhere, finance), (also_own, ACCOUNT_CONTACT)):
        completed = order_completed(order_id).model_copy(update={"bill_to": bill_to})
        sc.queue(order_created(account_terms(), order_id=order_id), completed)
    sc.fire(_cycle(1))
    issued = {e.invoice_id: e for e in sc.published if isinstance(e, InvoiceIssued)}
    assert set(issued) == {f"{LEDGER}/1-EUR", f"{LEDGER}/1-EUR-2"}
    account_invoice, finance_invoice = issued[f"{LEDGER}/1-EUR"], issued[f"{LEDGER}/1-EUR-2"]
    assert account_invoice.client.contact == ACCOUNT_CONTACT
    assert {line.order_id for line in account_invoice.lines} == {own, also_own}
    assert finance_invoice.client.contact == finance
    assert finance_invoice.client.id == "acc-1"
    assert {line.order_id for line in finance_invoice.lines} == {elsewhere}
    [run] = _runs(sc)
    assert run.invoice_ids == [f"{LEDGER}/1-EUR", f"{LEDGER}/1-EUR-2"]
