"""Invoices of managed orders, rule by rule (seed 000, M-10 to M-16, X-04)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from contracts.envelope import Party, Role
from contracts.invoicing import (
    DeclineInvoiceChanges,
    InvoiceDrafted,
    InvoiceIssued,
    InvoiceLine,
    InvoicePlanned,
    InvoiceVoided,
    PaymentStatus,
    RecordInvoicePayment,
    RequestInvoiceChanges,
    ReviseInvoiceDraft,
)
from contracts.orders import MarkInvoicingComplete, Money, PlannedInvoice
from tests.unit.invoicing.invoicing_kit import (
    CLIENT,
    MEMBER,
    OPERATOR,
    ORDER_ID,
    PAYMENTS,
    T0,
    S,
    Scenario,
    active_scenario,
    command,
    draft_deadline,
    eur,
    invoice_id,
    issue_deadline,
    order_activated,
    order_cancelled,
    order_created,
    order_rejected,
)


def _drafted(sc: Scenario, n: int = 1) -> Scenario:
    sc.fire(draft_deadline(n))
    return sc


def _issued(sc: Scenario, n: int = 1) -> Scenario:
    sc.fire(draft_deadline(n))
    sc.fire(issue_deadline(n))
    return sc


def _request(n: int = 1, actor: Party = MEMBER.party) -> RequestInvoiceChanges:
    return command(
        RequestInvoiceChanges, actor, invoice_id=invoice_id(n), message="Add the PO number"
    )


def _revision(n: int = 1, amount: str = "1400.00", total: str | None = None) -> ReviseInvoiceDraft:
    line = InvoiceLine(
        description="Website redesign, revised", unit_price=Decimal(amount), amount=Decimal(amount)
    )
    return command(
        ReviseInvoiceDraft,
        OPERATOR,
        invoice_id=invoice_id(n),
        lines=[line],
        total=eur(total or amount),
    )


# -- M-10 ----------------------------------------------------------------------------------


def test_M10_an_active_orders_planned_invoices_become_planned_invoices_with_two_deadlines() -> None:
    sc = active_scenario()
    planned = [e for e in sc.published if isinstance(e, InvoicePlanned)]
    assert [p.invoice_id for p in planned] == [invoice_id(1), invoice_id(2)]
    assert all(p.status is S.PLANNED and p.issuer_id == MEMBER.id for p in planned)
    assert planned[0].total == eur("1500.00") and planned[0].invoice_date == date(2025, 3, 31)
    assert sorted(sc.deadlines) == sorted(
        [draft_deadline(1), issue_deadline(1), draft_deadline(2), issue_deadline(2)]
    )


def test_M10_the_draft_is_made_seven_days_before_the_invoice_date_and_the_member_is_told() -> None:
    sc = active_scenario()
    assert sc.deadlines[draft_deadline(1)].due_at == T0.replace(month=3, day=24, hour=0), (
        "seven days before 31 March, at midnight"
    )
    sc.fire(draft_deadline(1))
    [drafted] = [e for e in sc.published if isinstance(e, InvoiceDrafted)]
    assert drafted.member == MEMBER and drafted.member.contact is not None
    assert drafted.status is S.DRAFT and drafted.total == eur("1500.00")
    assert drafted.changes_until == sc.deadlines[issue_deadline(1)].due_at
    assert sc.invoice(1).status is S.DRAFT and sc.invoice(2).status is S.PLANNED


def test_M10_an_invoice_whose_draft_date_has_passed_is_drafted_when_it_is_planned() -> None:
    soon = [PlannedInvoice(invoice_date=(T0 + timedelta(days=3)).date(), amount=eur("10.00"))]
    sc = active_scenario(soon)
    assert sc.types()[-2:] == ["InvoicePlanned", "InvoiceDrafted"]
    assert draft_deadline(1) not in sc.deadlines and issue_deadline(1) in sc.deadlines


def test_M10_the_draft_lead_is_configuration() -> None:
    from invoicing.domain import Policy

    sc = active_scenario(policy=Policy(draft_lead=timedelta(days=2)))
    assert sc.deadlines[draft_deadline(1)].due_at.date() == date(2025, 3, 29)


def test_M10_an_amount_finer_than_the_currency_allows_is_rounded_half_up() -> None:
    planned = [PlannedInvoice(invoice_date=date(2025, 3, 31), amount=eur("10.125"))]
    sc = active_scenario(planned)
    assert sc.invoice(1).total == eur("10.13")
    line = sc.invoice(1).lines[0]
    assert line.amount == line.unit_price == Decimal("10.13")


def test_M10_activating_twice_plans_the_invoices_once() -> None:
    sc = active_scenario()
    before = len(sc.published)
    assert not sc.order(order_activated()).events
    assert len(sc.published) == before and len(sc.ledger.invoices) == 2


# -- M-11 ----------------------------------------------------------------------------------


def test_M11_the_member_may_ask_for_changes_to_a_draft_with_a_message() -> None:
    sc = _drafted(active_scenario())
    sc.do(_request())
    assert sc.invoice(1).status is S.CHANGES_REQUESTED
    assert sc.invoice(1).request == "Add the PO number"
    assert sc.types()[-1] == "InvoiceChangesRequested"


def test_M11_asking_for_changes_on_the_invoice_date_is_refused_with_window_closed() -> None:
    sc = _drafted(active_scenario())
    sc.now = sc.deadlines[issue_deadline(1)].due_at
    sc.do(_request())
    assert sc.last_rejection() == "window_closed"
    assert sc.invoice(1).status is S.DRAFT


def test_M11_only_the_orders_own_member_may_ask_for_changes() -> None:
    sc = _drafted(active_scenario())
    for stranger in (Party(id="member-2", role=Role.MEMBER), CLIENT.party, OPERATOR):
        sc.do(_request(actor=stranger))
        assert sc.last_rejection() == "not_authorized"
    assert sc.invoice(1).status is S.DRAFT


def test_M11_a_planned_invoice_has_no_draft_to_change_yet() -> None:
    sc = active_scenario()
    sc.do(_request())
    assert sc.last_rejection() == "not_allowed_in_status"


def test_M11_a_draft_with_an_open_request_is_not_issued_on_its_date() -> None:
    sc = _drafted(active_scenario())
    sc.do(_request())
    decision = sc.fire(issue_deadline(1))
    assert not decision.events
    assert sc.invoice(1).status is S.CHANGES_REQUESTED and sc.invoice(1).number is None


def test_M11_the_operator_revises_the_draft_and_the_member_is_told() -> None:
    sc = _drafted(active_scenario())
    sc.do(_request())
    sc.do(_revision())
    revised = sc.published[-1]
    assert revised.type == "InvoiceDraftRevised"
    assert getattr(revised, "member", None) == MEMBER
    assert sc.invoice(1).status is S.DRAFT and sc.invoice(1).total == eur("1400.00")
    assert sc.invoice(1).request is None


def test_M11_the_operator_declines_the_request_and_the_member_is_told() -> None:
    sc = _drafted(active_scenario())
    sc.do(_request())
    sc.do(command(DeclineInvoiceChanges, OPERATOR, invoice_id=invoice_id(1), reason="As agreed"))
    assert sc.types()[-1] == "InvoiceChangesDeclined"
    assert sc.invoice(1).status is S.DRAFT and sc.invoice(1).total == eur("1500.00")


def test_M11_a_held_draft_is_issued_as_soon_as_its_request_is_declined() -> None:
    sc = _drafted(active_scenario())
    sc.do(_request())
    sc.fire(issue_deadline(1))
    sc.now += timedelta(days=2)
    sc.do(command(DeclineInvoiceChanges, OPERATOR, invoice_id=invoice_id(1), reason="As agreed"))
    assert sc.types()[-2:] == ["InvoiceChangesDeclined", "InvoiceIssued"]
    assert sc.invoice(1).status is S.ISSUED and sc.invoice(1).issued_at == sc.now


def test_M11_a_held_draft_is_issued_with_its_revision_once_revised() -> None:
    sc = _drafted(active_scenario())
    sc.do(_request())
    sc.fire(issue_deadline(1))
    sc.do(_revision(amount="1234.56"))
    issued = sc.published[-1]
    assert isinstance(issued, InvoiceIssued) and issued.total == eur("1234.56")


def test_M11_a_revision_whose_lines_do_not_add_up_is_refused_with_total_mismatch() -> None:
    sc = _drafted(active_scenario())
    sc.do(_request())
    sc.do(_revision(amount="100.00", total="100.01"))
    assert sc.last_rejection() == "total_mismatch"
    line = InvoiceLine(description="x", quantity=3, unit_price=Decimal("10"), amount=Decimal("31"))
    sc.do(
        command(
            ReviseInvoiceDraft, OPERATOR, invoice_id=invoice_id(1), lines=[line], total=eur("31")
        )
    )
    assert sc.last_rejection() == "total_mismatch"
    assert sc.invoice(1).status is S.CHANGES_REQUESTED


def test_M11_a_revision_finer_than_a_cent_or_in_another_currency_is_refused() -> None:
    sc = _drafted(active_scenario())
    sc.do(_request())
    sc.do(_revision(amount="100.001"))
    assert sc.last_rejection() == "inexact_amount"
    line = InvoiceLine(description="x", unit_price=Decimal("5"), amount=Decimal("5"))
    usd = Money(amount=Decimal("5"), currency="USD")
    sc.do(command(ReviseInvoiceDraft, OPERATOR, invoice_id=invoice_id(1), lines=[line], total=usd))
    assert sc.last_rejection() == "currency_mismatch"


def test_M11_only_an_operator_settles_a_request_and_only_an_open_one() -> None:
    sc = _drafted(active_scenario())
    sc.do(_revision())
    assert sc.last_rejection() == "not_allowed_in_status"
    sc.do(_request())
    revise_by_member = _revision()
    sc.do(revise_by_member.model_copy(update={"actor": MEMBER.party}))
    assert sc.last_rejection() == "not_authorized"


# -- M-12 ----------------------------------------------------------------------------------


def test_M12_on_the_invoice_date_the_draft_is_issued_numbered_and_the_client_is_told() -> None:
    sc = _issued(active_scenario())
    issued = sc.published[-1]
    assert isinstance(issued, InvoiceIssued)
    assert issued.number == 1 and issued.issuer_id == MEMBER.id
    assert issued.client == CLIENT and issued.client.contact is not None
    assert issued.issued_at == sc.invoice(1).issue_at == datetime(2025, 3, 31, tzinfo=UTC)
    assert issued.total == eur("1500.00")
    assert sum((line.amount for line in issued.lines), Decimal(0)) == issued.total.amount
    assert issued.payment_status is PaymentStatus.UNPAID


def test_M12_each_issuer_numbers_its_invoices_one_two_three_without_gaps() -> None:
    sc = _issued(active_scenario())
    _issued(sc, 2)
    numbers = [e.number for e in sc.published if isinstance(e, InvoiceIssued)]
    assert numbers == [1, 2]


def test_M12_a_draft_whose_draft_deadline_never_came_is_still_issued_on_its_date() -> None:
    sc = active_scenario()
    sc.fire(issue_deadline(1))
    assert sc.invoice(1).status is S.ISSUED and sc.invoice(1).number == 1


def test_M12_an_issue_deadline_delivered_twice_issues_once() -> None:
    sc = active_scenario()
    request = sc.deadlines[issue_deadline(1)]
    sc.fire(issue_deadline(1))
    assert not sc.fire_again(request).events
    assert [e.type for e in sc.published].count("InvoiceIssued") == 1


def test_M12_deciding_the_same_message_again_makes_the_same_ids() -> None:
    from invoicing.domain import on_order_event

    sc = Scenario()
    sc.order(order_created())
    activated = order_activated()
    first = on_order_event(sc.ledger, activated, sc.now, sc.ctx)
    again = on_order_event(sc.ledger, activated, sc.now, sc.ctx)
    assert [e.message_id for e in first.events] == [e.message_id for e in again.events]


# -- M-14, M-15 ----------------------------------------------------------------------------


def test_M14_cancelling_the_order_voids_issued_invoices_and_cancels_the_others() -> None:
    sc = _issued(active_scenario())
    sc.order(order_cancelled())
    assert sc.invoice(1).status is S.VOIDED and sc.invoice(2).status is S.CANCELLED
    voided = next(e for e in sc.published if isinstance(e, InvoiceVoided))
    note = voided.credit_note
    assert (note.invoice_id, note.invoice_number, note.number) == (invoice_id(1), 1, 1)
    assert note.total == sc.invoice(1).total and voided.client == CLIENT
    assert draft_deadline(2) in sc.cancelled and issue_deadline(2) in sc.cancelled


def test_M14_nothing_is_deleted_and_a_second_cancellation_changes_nothing() -> None:
    sc = _drafted(active_scenario())
    sc.order(order_cancelled())
    assert [i.status for i in sc.ledger.invoices] == [S.CANCELLED, S.CANCELLED]
    assert not sc.order(order_cancelled()).events
    assert len(sc.ledger.invoices) == 2


def test_M14_a_deadline_of_a_cancelled_invoice_changes_nothing() -> None:
    sc = active_scenario()
    request = sc.deadlines[issue_deadline(1)]
    sc.order(order_cancelled())
    assert not sc.fire_again(request).events
    assert sc.invoice(1).status is S.CANCELLED and sc.invoice(1).number is None


def test_M14_a_draft_with_an_open_request_is_cancelled_too() -> None:
    sc = _drafted(active_scenario())
    sc.do(_request())
    sc.order(order_cancelled())
    assert sc.invoice(1).status is S.CANCELLED and sc.invoice(1).request is None


def test_M15_a_rejected_order_is_never_invoiced() -> None:
    sc = Scenario()
    sc.order(order_created())
    sc.order(order_rejected())
    assert not sc.order(order_activated()).events
    assert sc.ledger.invoices == () and sc.published == []


# -- M-16 ----------------------------------------------------------------------------------


def test_M16_once_every_planned_invoice_is_issued_ordering_is_told_once() -> None:
    sc = _issued(active_scenario())
    assert sc.commands == []
    _issued(sc, 2)
    [told] = sc.commands
    assert isinstance(told, MarkInvoicingComplete) and told.order_id == ORDER_ID
    assert told.actor == Party(id="invoicing", role=Role.SYSTEM)
    sc.order(order_cancelled())
    assert len(sc.commands) == 1


def test_M16_payments_are_recorded_and_the_payment_state_stays_visible() -> None:
    sc = _issued(active_scenario())

    def pay(payment_id: str, amount: str) -> None:
        sc.do(
            command(
                RecordInvoicePayment,
                PAYMENTS,
                invoice_id=invoice_id(1),
                payment_id=payment_id,
                amount=eur(amount),
            )
        )

    pay("p-1", "500.00")
    assert sc.invoice(1).payment_status is PaymentStatus.PARTIALLY_PAID
    assert sc.invoice(1).outstanding == eur("1000.00")
    pay("p-1", "500.00")
    assert sc.last_rejection() == "duplicate_payment"
    pay("p-2", "1000.00")
    assert sc.invoice(1).payment_status is PaymentStatus.PAID
    recorded = sc.published[-1]
    assert getattr(recorded, "outstanding", None) == eur("0.00")
    pay("p-3", "0.01")
    assert sc.invoice(1).payment_status is PaymentStatus.OVERPAID


def test_M16_a_payment_in_another_currency_or_against_a_draft_is_refused() -> None:
    sc = _drafted(active_scenario())
    pay = command(
        RecordInvoicePayment, PAYMENTS, invoice_id=invoice_id(1), payment_id="p", amount=eur("1")
    )
    sc.do(pay)
    assert sc.last_rejection() == "not_allowed_in_status"
    sc.fire(issue_deadline(1))
    usd = Money(amount=Decimal("1"), currency="USD")
    sc.do(pay.model_copy(update={"amount": usd}))
    assert sc.last_rejection() == "currency_mismatch"


def test_M16_an_order_with_no_planned_invoice_is_complete_for_invoicing_at_once() -> None:
    sc = active_scenario([])
    assert len(sc.commands) == 1


# -- X-07 ----------------------------------------------------------------------------------


def test_X07_a_command_about_an_unknown_invoice_is_rejected_with_unknown_invoice() -> None:
    sc = active_scenario()
    sc.do(command(RequestInvoiceChanges, MEMBER.party, invoice_id=invoice_id(9), message="x"))
    assert sc.last_rejection() == "unknown_invoice"
    rejected = sc.rejections[-1]
    assert rejected.kafka_key() == str(ORDER_ID).encode()
