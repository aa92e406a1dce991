"""Post-paid service orders end to end (seeds 001 and 004), every service a process.

Each scenario checks the order's statuses and events, what payments did with the money,
and the emails each party received.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from contracts import topics
from contracts.envelope import Role
from contracts.orders import (
    AcceptProposal,
    CancelOrder,
    ConfirmExecution,
    ConfirmOrder,
    EditOrder,
    LeaveReview,
    MarkServiceDone,
    PostpaidTerms,
    RejectProposal,
    TermsChange,
)
from contracts.payments import (
    ConfirmPayoutSent,
    OpenClaim,
    RecordChargeFailure,
    WithdrawClaim,
    WriteOffClaim,
)
from orderflow import commands as c
from orderflow import scenarios
from orderflow.scenarios import booking, eur, gateway_payment, in_progress
from ordering.queries import order_view
from payments.queries import payment_view, payouts_of
from tests.e2e.conftest import System
from tests.e2e.inbox import expect_templates, text_of, wait_for_mail
from tests.e2e.timeline import (
    accepted,
    email,
    handled,
    person,
    refused,
    send,
    types_of,
    wait_for,
)

pytestmark = pytest.mark.timeout(180)

ORDERS = topics.ORDERS_COMMANDS
PAYMENTS = topics.PAYMENTS_COMMANDS


def money(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "EUR"}


def soon(seconds: float, length: float = 1.0, **changes: Any) -> PostpaidTerms:
    """Terms of an appointment `seconds` from now, lasting `length` seconds."""
    start = datetime.now(UTC) + timedelta(seconds=seconds)
    return c.postpaid_terms(
        appointment_start=start, appointment_end=start + timedelta(seconds=length), **changes
    )


async def sleep_until(moment: datetime) -> None:
    await asyncio.sleep(max(0.0, (moment - datetime.now(UTC)).total_seconds()))


async def test_P01_to_P18_edited_back_and_forth_confirmed_done_paid_closed_reviewed_and_paid_out(
    system: System,
) -> None:
    customer, supplier = person(Role.CUSTOMER, system), person(Role.SUPPLIER, system)
    order_id = uuid.uuid4()
    start = datetime.now(UTC) + timedelta(seconds=15)
    moved = start + timedelta(seconds=2)
    terms = soon(15)
    created = await accepted(
        system, ORDERS, booking(customer, supplier, order_id, terms), "OrderCreated"
    )
    assert created["status"] == "confirmation"

    # P-06: only the awaited party confirms; P-03: the supplier raises the price...
    early = c.command(ConfirmOrder, customer.party, order_id=order_id)
    await refused(system, ORDERS, early, "not_your_turn")
    edited = await scenarios.price_raised(system.bus, supplier, order_id)
    assert (edited["awaiting"], edited["status"]) == ("customer", "confirmation")
    # ...P-04/P-05: the customer moves the time, accepting the price explicitly (P-19)...
    move = c.command(
        EditOrder,
        customer.party,
        order_id=order_id,
        changes=TermsChange(appointment_start=moved, appointment_end=moved + timedelta(seconds=5)),
        accept_price=eur("55.00"),
    )
    assert (await accepted(system, ORDERS, move, "OrderEdited"))["awaiting"] == "supplier"
    # ...P-06: and the supplier confirms the counter-proposal: in progress.
    confirm = c.command(ConfirmOrder, supplier.party, order_id=order_id)
    confirmed = await accepted(system, ORDERS, confirm, "OrderConfirmed")
    assert confirmed["status"] == "in_progress"
    assert confirmed["terms"]["price"] == money("55.00")

    # a command about no order is answered too.
    nobody = c.command(ConfirmOrder, supplier.party, order_id=uuid.uuid4())
    await refused(system, ORDERS, nobody, "unknown_order")

    # P-12: done by the supplier, not before the appointment starts.
    done = c.command(MarkServiceDone, supplier.party, order_id=order_id)
    await refused(system, ORDERS, done, "too_early")
    await sleep_until(moved + timedelta(seconds=0.5))
    done = c.command(MarkServiceDone, supplier.party, order_id=order_id)
    marked = await accepted(system, ORDERS, done, "ServiceMarkedDone")
    assert (marked["status"], marked["automatic"]) == ("execution_confirmation", False)

    # P-01: nothing to pay before the service is confirmed; P-17: no review before closing.
    too_soon = gateway_payment(order_id, "55.00", f"early-{order_id}")
    await refused(system, PAYMENTS, too_soon, "no_payment_request")
    early_review = c.command(
        LeaveReview, customer.party, order_id=order_id, service_rating=5, supplier_rating=5
    )
    await refused(system, ORDERS, early_review, "not_allowed_in_status")

    # P-13, P-14, P-15: the customer confirms; payment is requested for the new price.
    execution = c.command(ConfirmExecution, customer.party, order_id=order_id)
    executed = await accepted(system, ORDERS, execution, "ExecutionConfirmed")
    assert (executed["status"], executed["automatic"]) == ("payment", False)
    [requested] = await wait_for(system, order_id, "PaymentRequested", timeout=30)
    assert (requested["amount"], requested["status"]) == (money("55.00"), "open")

    # The gateway says it twice (a redelivery), then reuses its key: counted once.
    payment = gateway_payment(order_id, "55.00")
    await send(system, PAYMENTS, payment, payment)
    [paid] = await wait_for(system, order_id, "OrderPaid", timeout=30)
    assert paid["status"] == "closed"
    await refused(system, PAYMENTS, gateway_payment(order_id, "55.00"), "duplicate_payment")

    # P-17: the customer reviews, once.
    review = c.command(
        LeaveReview,
        customer.party,
        order_id=order_id,
        service_rating=5,
        supplier_rating=4,
        text="Both pianos sound great",
    )
    assert (await accepted(system, ORDERS, review, "ReviewLeft"))["status"] == "closed"
    again = c.command(
        LeaveReview, customer.party, order_id=order_id, service_rating=1, supplier_rating=1
    )
    await refused(system, ORDERS, again, "already_exists")

    # P-18: the payout (price less the platform's 10%) is released, sent and confirmed.
    [scheduled] = await wait_for(system, order_id, "PayoutScheduled", timeout=30)
    assert (scheduled["gross"], scheduled["fee"], scheduled["net"]) == (
        money("55.00"),
        money("5.50"),
        money("49.50"),
    )
    [released] = await wait_for(system, order_id, "PayoutRequested", timeout=30)
    assert released["status"] == "processing"
    sent = c.command(
        ConfirmPayoutSent,
        c.GATEWAY,
        order_id=order_id,
        payout_id=released["payout_id"],
        reference=f"tr-{order_id.hex[:8]}",
    )
    assert (await accepted(system, PAYMENTS, sent, "PayoutPaid"))["status"] == "paid"

    assert types_of(system, order_id, topics.ORDERS_EVENTS) == [
        "OrderCreated",
        "OrderCommandRejected",
        "OrderEdited",
        "OrderEdited",
        "OrderConfirmed",
        "OrderCommandRejected",
        "ServiceMarkedDone",
        "OrderCommandRejected",
        "ExecutionConfirmed",
        "OrderPaid",
        "ReviewLeft",
        "OrderCommandRejected",
    ]
    payment_events = types_of(system, order_id, topics.PAYMENTS_EVENTS)
    assert payment_events.count("PaymentSettled") == 1, "the repeated confirmation counted once"
    ledger = await payment_view(system.db("payments"), order_id, supplier.party)
    assert ledger is not None and ledger.request is not None and ledger.payout is not None
    assert (ledger.request.status, ledger.payout.status) == ("paid", "paid")
    assert [p.payout_id for p in await payouts_of(system.db("payments"), supplier.id)] == [
        f"{order_id}:payout"
    ]
    view = await order_view(system.db("ordering"), order_id, customer.party)
    assert view is not None and view.order.status == "closed"

    # The emails: each party hears when it is its turn, and what it is owed or paid.
    [edit_mail] = await wait_for_mail(
        system.maildir, email(customer), "order_edit_awaiting_confirmation"
    )
    assert "The price changed" in text_of(edit_mail)
    [invitation] = await wait_for_mail(system.maildir, email(customer), "review_invitation")
    assert "thank you for your payment" in text_of(invitation)
    [due] = await wait_for_mail(system.maildir, email(customer), "payment_due")
    assert due["Subject"].startswith("Payment due: 55.00 EUR by ")
    [to_confirm] = await wait_for_mail(system.maildir, email(customer), "execution_to_confirm")
    assert "The supplier confirmed the service" in text_of(to_confirm)
    [payout_mail] = await wait_for_mail(system.maildir, email(supplier), "payout_sent")
    assert payout_mail["Subject"] == "Payout sent: 49.50 EUR"
    await expect_templates(
        system.maildir,
        email(customer),
        [
            "execution_to_confirm",
            "order_confirmed",
            "order_edit_awaiting_confirmation",
            "payment_due",
            "payment_settled",
            "review_invitation",
        ],
    )
    await expect_templates(
        system.maildir,
        email(supplier),
        [
            "order_awaiting_confirmation",
            "order_edit_awaiting_confirmation",
            "payment_settled",
            "payout_scheduled",
            "payout_sent",
        ],
    )


async def test_P02_P07_P12_P13_P15_P16_every_window_left_to_expire_ends_in_claims_paid_or_written_off(
    system: System,
) -> None:
    customer, supplier = person(Role.CUSTOMER, system), person(Role.SUPPLIER, system)
    late_customer, late_supplier = person(Role.CUSTOMER, system), person(Role.SUPPLIER, system)
    debtor, creditor = person(Role.CUSTOMER, system), person(Role.SUPPLIER, system)
    lapsed, repriced = uuid.uuid4(), uuid.uuid4()

    # P-02: nobody answers a new order; P-07: nobody confirms the supplier's new price.
    await accepted(system, ORDERS, booking(customer, supplier, lapsed, soon(3600)), "OrderCreated")
    await accepted(
        system,
        ORDERS,
        booking(late_customer, late_supplier, repriced, soon(3600)),
        "OrderCreated",
    )
    reprice = c.command(
        EditOrder, late_supplier.party, order_id=repriced, changes=TermsChange(price=eur("90.00"))
    )
    await accepted(system, ORDERS, reprice, "OrderEdited")

    # P-12, P-13: confirmed, then done and confirmed by the clock; P-15, P-16: unpaid.
    order_id = await in_progress(system.bus, customer, supplier, soon(10))
    unpaid = await in_progress(system.bus, debtor, creditor, soon(10))
    for cancelled_id in (lapsed, repriced):
        [cancelled] = await wait_for(system, cancelled_id, "OrderCancelled", timeout=30)
        assert (cancelled["status"], cancelled["actor"]["role"]) == ("cancelled", "system")
        assert cancelled["previous_status"] == "confirmation"
    [done] = await wait_for(system, order_id, "ServiceMarkedDone", timeout=60)
    assert (done["automatic"], done["actor"]["role"]) == (True, "system")
    [executed] = await wait_for(system, order_id, "ExecutionConfirmed", timeout=30)
    assert (executed["automatic"], executed["status"]) == (True, "payment")
    await wait_for(system, order_id, "PaymentRequested", timeout=30)
    early = c.command(OpenClaim, supplier.party, order_id=order_id, reason="Not paid yet")
    await refused(system, PAYMENTS, early, "too_early")

    [overdue] = await wait_for(system, order_id, "PaymentOverdue", timeout=30)
    assert (overdue["status"], overdue["outstanding"]) == ("overdue", money("40.00"))
    claim = c.command(
        OpenClaim, supplier.party, order_id=order_id, reason="The customer has not paid"
    )
    opened = await accepted(system, PAYMENTS, claim, "ClaimOpened")
    assert (opened["status"], opened["number"], opened["amount"]) == ("opened", 1, money("40.00"))

    # The claim's lifecycle ends when the money comes: claim paid, order closed.
    await send(system, PAYMENTS, gateway_payment(order_id, "40.00"))
    [claim_paid] = await wait_for(system, order_id, "ClaimPaid", timeout=30)
    assert claim_paid["status"] == "paid"
    [paid] = await wait_for(system, order_id, "OrderPaid", timeout=30)
    assert paid["status"] == "closed"
    assert types_of(system, order_id, topics.ORDERS_EVENTS) == [
        "OrderCreated",
        "OrderConfirmed",
        "ServiceMarkedDone",
        "ExecutionConfirmed",
        "OrderPaid",
    ]
    assert types_of(system, lapsed, topics.PAYMENTS_EVENTS) == []

    # P-16: a claim withdrawn, a new one opened (numbered on), then written off by staff.
    await wait_for(system, unpaid, "PaymentOverdue", timeout=30)
    first = c.command(OpenClaim, creditor.party, order_id=unpaid, reason="Please pay the lesson")
    opened = await accepted(system, PAYMENTS, first, "ClaimOpened")
    withdraw = c.command(
        WithdrawClaim, creditor.party, order_id=unpaid, claim_id=opened["claim_id"]
    )
    assert (await accepted(system, PAYMENTS, withdraw, "ClaimWithdrawn"))["status"] == "withdrawn"
    second = c.command(OpenClaim, creditor.party, order_id=unpaid, reason="Still not paid")
    reopened = await accepted(system, PAYMENTS, second, "ClaimOpened")
    assert reopened["number"] == 2
    by_supplier = c.command(
        WriteOffClaim, creditor.party, order_id=unpaid, claim_id=reopened["claim_id"], reason="x"
    )
    await refused(system, PAYMENTS, by_supplier, "not_authorized")
    write_off = c.command(
        WriteOffClaim,
        c.OPERATOR,
        order_id=unpaid,
        claim_id=reopened["claim_id"],
        reason="The customer cannot be reached",
    )
    written_off = await accepted(system, PAYMENTS, write_off, "ClaimWrittenOff")
    assert (written_off["status"], written_off["amount"]) == ("written_off", money("40.00"))
    ledger = await payment_view(system.db("payments"), unpaid, creditor.party)
    assert ledger is not None and ledger.request is not None
    assert ledger.request.status == "written_off"
    assert [cl.status for cl in ledger.claims] == ["withdrawn", "written_off"]

    [auto_done_mail] = await wait_for_mail(system.maildir, email(customer), "execution_to_confirm")
    assert "confirmed automatically" in text_of(auto_done_mail)
    await wait_for_mail(system.maildir, email(customer), "review_invitation")
    [claim_mail] = await wait_for_mail(system.maildir, email(customer), "claim_opened")
    assert "The customer has not paid" in text_of(claim_mail)
    assert claim_mail["Subject"] == "A claim was opened: 40.00 EUR overdue"
    await wait_for_mail(system.maildir, email(supplier), "payment_overdue_supplier")
    await wait_for_mail(system.maildir, email(supplier), "order_awaiting_confirmation", count=2)
    [price_mail] = await wait_for_mail(
        system.maildir, email(late_customer), "order_edit_awaiting_confirmation"
    )
    assert "The price changed" in text_of(price_mail)
    await expect_templates(
        system.maildir,
        email(customer),
        [
            "claim_closed",
            "claim_opened",
            "execution_to_confirm",
            "order_cancelled",
            "order_confirmed",
            "payment_due",
            "payment_overdue",
            "payment_settled",
            "review_invitation",
        ],
    )
    # Two bookings with this supplier; X-11: a cancellation by the clock tells both parties.
    await expect_templates(
        system.maildir,
        email(supplier),
        [
            "claim_closed",
            "order_awaiting_confirmation",
            "order_awaiting_confirmation",
            "order_cancelled",
            "payment_overdue_supplier",
            "payment_settled",
            "payout_scheduled",
        ],
    )
    await expect_templates(
        system.maildir, email(late_supplier), ["order_awaiting_confirmation", "order_cancelled"]
    )
    await wait_for_mail(system.maildir, email(debtor), "claim_opened", count=2)
    # P-16, P-21: the withdrawn claim tells the debtor; the write-off ends the order unpaid.
    await expect_templates(
        system.maildir,
        email(debtor),
        [
            "claim_closed",
            "claim_closed",
            "claim_opened",
            "claim_opened",
            "execution_to_confirm",
            "order_closed_unpaid",
            "order_confirmed",
            "payment_due",
            "payment_overdue",
        ],
    )
    await expect_templates(
        system.maildir,
        email(creditor),
        [
            "claim_closed",
            "order_awaiting_confirmation",
            "order_closed_unpaid",
            "payment_overdue_supplier",
        ],
    )
    await expect_templates(
        system.maildir,
        email(late_customer),
        ["order_cancelled", "order_edit_awaiting_confirmation"],
    )


async def test_P14_without_a_payment_stage_the_order_closes_and_the_charge_is_captured(
    system: System,
) -> None:
    customer, supplier = person(Role.CUSTOMER, system), person(Role.SUPPLIER, system)
    order_id = await in_progress(system.bus, customer, supplier, soon(10, payment_stage=False))

    # P-12, P-13 by the clock; P-14 (seed 004): closed at once, the price captured.
    [confirmed] = await wait_for(system, order_id, "ExecutionConfirmed", timeout=60)
    assert confirmed["status"] == "closed"
    [charge] = await wait_for(system, order_id, "ChargeRequested", timeout=30)
    assert (charge["amount"], charge["purpose"], charge["payment_method"]) == (
        money("40.00"),
        "order_price",
        "card",
    )
    # The gateway could not capture it at first: the request stays open.
    failure = c.command(
        RecordChargeFailure,
        c.GATEWAY,
        order_id=order_id,
        request_id=charge["request_id"],
        failure_code="card_declined",
    )
    failed = await accepted(system, PAYMENTS, failure, "ChargeFailed")
    assert (failed["status"], failed["outstanding"]) == ("open", money("40.00"))
    await send(system, PAYMENTS, gateway_payment(order_id, "40.00", f"capture-{order_id}"))
    [settled] = await wait_for(system, order_id, "PaymentSettled", timeout=30)
    assert settled["status"] == "paid"
    await wait_for(system, order_id, "PayoutScheduled", timeout=30)
    assert "PaymentRequested" not in types_of(system, order_id, topics.PAYMENTS_EVENTS)
    assert types_of(system, order_id, topics.ORDERS_EVENTS) == [
        "OrderCreated",
        "OrderConfirmed",
        "ServiceMarkedDone",
        "ExecutionConfirmed",
    ], "nothing asks ordering to close an order that is closed already"

    [invitation] = await wait_for_mail(system.maildir, email(customer), "review_invitation")
    assert "thank you for your payment" not in text_of(invitation)
    # the charge, its failure and the payment reach the customer; the supplier
    # hears of the payment and its payout.
    await expect_templates(
        system.maildir,
        email(customer),
        [
            "charge_failed",
            "charge_requested",
            "execution_to_confirm",
            "order_confirmed",
            "payment_settled",
            "review_invitation",
        ],
    )
    await expect_templates(
        system.maildir,
        email(supplier),
        ["order_awaiting_confirmation", "payment_settled", "payout_scheduled"],
    )


async def test_P09_P10_P11_proposals_and_cancellations_in_progress_late_customer_pays_the_fee(
    system: System,
) -> None:
    customer, supplier = person(Role.CUSTOMER, system), person(Role.SUPPLIER, system)
    early_customer = person(Role.CUSTOMER, system)

    # P-09: a proposal rejected, a new one accepted (the price goes up to 60.00).
    late = await in_progress(system.bus, customer, supplier, soon(2 * 3600, 3600))
    first = c.command(
        EditOrder, supplier.party, order_id=late, changes=TermsChange(price=eur("70.00"))
    )
    assert (await accepted(system, ORDERS, first, "ChangeProposed"))["proposal"] == 1
    no = c.command(RejectProposal, customer.party, order_id=late, proposal=1, comment="Too much")
    await accepted(system, ORDERS, no, "ProposalRejected")
    second = c.command(
        EditOrder, supplier.party, order_id=late, changes=TermsChange(price=eur("60.00"))
    )
    assert (await accepted(system, ORDERS, second, "ChangeProposed"))["proposal"] == 2
    stale = c.command(AcceptProposal, customer.party, order_id=late, proposal=1)
    await refused(system, ORDERS, stale, "stale_proposal")
    yes = c.command(AcceptProposal, customer.party, order_id=late, proposal=2)
    await accepted(system, ORDERS, yes, "ProposalAccepted")

    # P-11: the customer cancels two hours ahead: inside the default 24-hour tier, 50 %
    # of the price payments last heard of.
    cancel = c.command(CancelOrder, customer.party, order_id=late, reason="Plans changed")
    cancelled = await accepted(system, ORDERS, cancel, "OrderCancelled")
    assert (cancelled["fee_may_apply"], cancelled["previous_status"]) == (True, "in_progress")
    [assessed] = await wait_for(system, late, "CancellationFeeAssessed", timeout=30)
    computation = assessed["computation"]
    assert (computation["price"], computation["percent"], computation["amount"]) == (
        money("60.00"),
        "50",
        money("30.00"),
    )
    assert computation["policy_source"] == "default"
    assert computation["applied_tier"]["within_hours"] == 24
    [charge] = await wait_for(system, late, "ChargeRequested", timeout=30)
    assert (charge["purpose"], charge["amount"]) == ("cancellation_fee", money("30.00"))
    await send(system, PAYMENTS, gateway_payment(late, "30.00"))
    [settled] = await wait_for(system, late, "PaymentSettled", timeout=30)
    assert settled["purpose"] == "cancellation_fee"
    [scheduled] = await wait_for(system, late, "PayoutScheduled", timeout=30)
    assert scheduled["gross"] == money("30.00")

    # P-09: an unanswered proposal lapses; P-11: cancelled three days ahead: free.
    early = await in_progress(system.bus, early_customer, supplier, soon(3 * 86400, 3600))
    propose = c.command(
        EditOrder,
        supplier.party,
        order_id=early,
        changes=TermsChange(price=eur("45.00")),
        comment="Travel costs",
    )
    await accepted(system, ORDERS, propose, "ChangeProposed")
    [lapsed] = await wait_for(system, early, "ProposalLapsed", timeout=30)
    assert (lapsed["proposal"], lapsed["status"]) == (1, "in_progress")
    cancel = c.command(CancelOrder, early_customer.party, order_id=early, reason="Moving away")
    await accepted(system, ORDERS, cancel, "OrderCancelled")
    [free] = await wait_for(system, early, "CancellationFeeAssessed", timeout=30)
    assert free["request_id"] is None
    assert (free["computation"]["amount"], free["computation"]["price"]) == (
        money("0.00"),
        money("40.00"),
    )

    # P-11: not after the appointment has started; P-10: the supplier still may, for free.
    started = await in_progress(system.bus, customer, supplier, soon(4, 20))
    await sleep_until(datetime.now(UTC) + timedelta(seconds=4.5))
    too_late = c.command(CancelOrder, customer.party, order_id=started, reason="Changed my mind")
    await refused(system, ORDERS, too_late, "window_closed")
    by_supplier = c.command(CancelOrder, supplier.party, order_id=started, reason="Fell ill")
    withdrawn = await accepted(system, ORDERS, by_supplier, "OrderCancelled")
    assert withdrawn["fee_may_apply"] is False
    await handled(system, "payments")  # it read both cancellations: a fee would be out
    assert types_of(system, started, topics.PAYMENTS_EVENTS) == []
    assert "ChargeRequested" not in types_of(system, early, topics.PAYMENTS_EVENTS)
    fee_events = types_of(system, late, topics.PAYMENTS_EVENTS)
    assert fee_events[:5] == [
        "CancellationFeeAssessed",
        "ChargeRequested",
        "PaymentReceived",
        "PaymentSettled",
        "PayoutScheduled",
    ]
    assert set(fee_events[5:]) <= {"PayoutRequested"}, fee_events
    ledger = await payment_view(system.db("payments"), late, customer.party)
    assert ledger is not None and ledger.cancellation_fee is not None
    assert ledger.request is not None and ledger.request.status == "paid"

    # Emails: the proposals reach the customer, their outcomes the supplier; each
    # cancellation reaches the party that did not make it, each fee both parties (P-11).
    await wait_for_mail(system.maildir, email(customer), "change_proposed", count=2)
    await wait_for_mail(system.maildir, email(early_customer), "change_proposed")
    await expect_templates(
        system.maildir,
        email(customer),
        [
            "cancellation_fee",
            "change_proposed",
            "change_proposed",
            "charge_requested",
            "order_cancelled",
            "order_confirmed",
            "order_confirmed",
            "payment_settled",
        ],
    )
    await expect_templates(
        system.maildir,
        email(early_customer),
        ["cancellation_fee", "change_proposed", "order_confirmed", "proposal_outcome"],
    )
    await expect_templates(
        system.maildir,
        email(supplier),
        [
            *["order_awaiting_confirmation"] * 3,
            *["proposal_outcome"] * 3,
            *["order_cancelled", "cancellation_fee"] * 2,
            "payment_settled",
            "payout_scheduled",
        ],
    )


async def test_P09_P12_P18_an_accepted_new_appointment_moves_the_automatic_done_and_the_payout(
    system: System,
) -> None:
    customer, supplier = person(Role.CUSTOMER, system), person(Role.SUPPLIER, system)
    terms = soon(6)
    order_id = await in_progress(system.bus, customer, supplier, terms)

    # P-09: the supplier proposes a later appointment and the customer accepts it.
    new_start = terms.appointment_end + timedelta(seconds=10)
    new_end = new_start + timedelta(seconds=1)
    move = c.command(
        EditOrder,
        supplier.party,
        order_id=order_id,
        changes=TermsChange(appointment_start=new_start, appointment_end=new_end),
    )
    proposed = await accepted(system, ORDERS, move, "ChangeProposed")
    assert datetime.fromisoformat(proposed["lapses_at"]) <= terms.appointment_start
    accept = c.command(AcceptProposal, customer.party, order_id=order_id, proposal=1)
    moved = await accepted(system, ORDERS, accept, "ProposalAccepted")
    auto_done_after = timedelta(seconds=3)  # E2E_DURATIONS' P-12
    assert datetime.fromisoformat(moved["auto_done_at"]) == new_end + auto_done_after

    # P-12: the old appointment's start is not the service's any more...
    await sleep_until(terms.appointment_start + timedelta(seconds=0.5))
    done = c.command(MarkServiceDone, supplier.party, order_id=order_id)
    await refused(system, ORDERS, done, "too_early")
    # ...and the automatic "done" waits for the new appointment's end.
    [marked] = await wait_for(system, order_id, "ServiceMarkedDone", timeout=40)
    assert marked["automatic"] is True
    assert datetime.fromisoformat(marked["occurred_at"]) >= new_end + auto_done_after

    # P-18: the payout counts from the service as it was moved.
    execution = c.command(ConfirmExecution, customer.party, order_id=order_id)
    await accepted(system, ORDERS, execution, "ExecutionConfirmed")
    await wait_for(system, order_id, "PaymentRequested", timeout=30)
    await send(system, PAYMENTS, gateway_payment(order_id, "40.00"))
    [scheduled] = await wait_for(system, order_id, "PayoutScheduled", timeout=30)
    assert datetime.fromisoformat(scheduled["service_at"]) == new_end

    await wait_for_mail(system.maildir, email(customer), "review_invitation")
    await expect_templates(
        system.maildir,
        email(customer),
        [
            "change_proposed",
            "execution_to_confirm",
            "order_confirmed",
            "payment_due",
            "payment_settled",
            "review_invitation",
        ],
    )
