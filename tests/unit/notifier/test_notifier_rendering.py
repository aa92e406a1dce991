"""Every email renders from real event payloads: subject, plain text and HTML (X-06)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from contracts.envelope import Event, Role
from contracts.orders import OrderStatus
from notifier.domain import CATALOGUE, Cause, Email, OrderFacts, Recipient, plan
from notifier.domain.reminders import REMINDERS
from notifier.rendering import Renderer, RenderError
from tests.unit.notifier import notifier_kit as k
from tests.unit.notifier import x11_kit as x

assert k.ACCOUNT.contact is not None

#: One real event (and the facts the notifier would have) per row of the table.
SAMPLES: dict[str, Callable[[], tuple[Event, OrderFacts | None]]] = {
    "OrderSentToClient": lambda: (k.sent_to_client(), k.MANAGED_FACTS),
    "OrderRejected": lambda: (k.rejected("client", "Too expensive"), k.MANAGED_FACTS),
    "OrderCancelled": lambda: (k.cancelled(), k.MANAGED_FACTS),
    "CancellationRefused": lambda: (k.cancellation_refused(), k.MANAGED_FACTS),
    "OrderCreated": lambda: (k.postpaid_created(), None),
    "OrderEdited": lambda: (k.edited(Role.CUSTOMER), k.POSTPAID_FACTS),
    "ChangeProposed": lambda: (k.change_proposed(), k.POSTPAID_FACTS),
    "ServiceMarkedDone": lambda: (k.service_done(), k.POSTPAID_FACTS),
    "ExecutionConfirmed": lambda: (k.execution_confirmed(OrderStatus.CLOSED), k.POSTPAID_FACTS),
    "OrderPaid": lambda: (k.order_paid(), k.POSTPAID_FACTS),
    "OrderCompleted": lambda: (k.completed(receipt_to=k.ACCOUNT.contact), None),
    "ReceiptResent": lambda: (k.receipt_resent(), k.ACCOUNT_FACTS),
    "InvoiceDrafted": lambda: (k.invoice_drafted(), k.MANAGED_FACTS),
    "InvoiceDraftRevised": lambda: (k.invoice_revised(), k.MANAGED_FACTS),
    "InvoiceChangesDeclined": lambda: (k.invoice_declined(), k.MANAGED_FACTS),
    "InvoiceIssued": lambda: (k.invoice_issued(), k.MANAGED_FACTS),
    "InvoiceVoided": lambda: (k.invoice_voided(), k.MANAGED_FACTS),
    "PaymentRequested": lambda: (k.payment_requested(), k.POSTPAID_FACTS),
    "PaymentOverdue": lambda: (k.payment_overdue(), k.POSTPAID_FACTS),
    "ClaimOpened": lambda: (k.claim_opened(), k.POSTPAID_FACTS),
    "PayoutPaid": lambda: (k.payout_paid(), k.POSTPAID_FACTS),
    #
    "OrderActivated": lambda: (x.activated(Role.OPERATOR), k.MANAGED_FACTS),
    "OrderConfirmed": lambda: (x.confirmed(), k.POSTPAID_FACTS),
    "OrderCancelled:postpaid": lambda: (x.postpaid_cancelled(), k.POSTPAID_FACTS),
    "ProposalAccepted": lambda: (x.proposal_accepted(), k.POSTPAID_FACTS),
    "ProposalRejected": lambda: (x.proposal_rejected(), k.POSTPAID_FACTS),
    "ProposalLapsed": lambda: (x.proposal_lapsed(), k.POSTPAID_FACTS),
    "ChargeRequested": lambda: (x.charge_requested(), k.POSTPAID_FACTS),
    "ChargeFailed": lambda: (x.charge_failed(), k.POSTPAID_FACTS),
    "CancellationFeeAssessed": lambda: (x.fee_assessed(), k.POSTPAID_FACTS),
    "PaymentSettled": lambda: (x.settled(), k.POSTPAID_FACTS),
    "PaymentReceived": lambda: (x.received(), k.POSTPAID_FACTS),
    "RefundRequested": lambda: (x.refund(), k.POSTPAID_FACTS),
    "ClaimPaid": lambda: (x.claim_paid(), k.POSTPAID_FACTS),
    "ClaimWithdrawn": lambda: (x.claim_withdrawn(), k.POSTPAID_FACTS),
    "ClaimWrittenOff": lambda: (x.claim_written_off(), k.POSTPAID_FACTS),
    "PayoutScheduled": lambda: (x.payout_scheduled(), k.POSTPAID_FACTS),
    "OrderRejected:expired": lambda: (
        x.expired(OrderStatus.CLIENT_CONFIRMATION),
        k.MANAGED_FACTS,
    ),
    # M-18, A-13, P-21
    "OrderReturned": lambda: (x.returned(), k.MANAGED_FACTS),
    "ApprovalRefused": lambda: (x.approval_refused(), x.AGENT_FACTS),
    "OrderClosedUnpaid": lambda: (x.closed_unpaid(), k.POSTPAID_FACTS),
    "ClaimLapsed": lambda: (x.claim_lapsed(), k.POSTPAID_FACTS),
}

RENDERER = Renderer()


def emails_of(event_type: str) -> list[Email]:
    event, facts = SAMPLES[event_type]()
    return plan(event, facts, k.POLICY)


def email(template: str) -> Email:
    for event_type in SAMPLES:
        for candidate in emails_of(event_type):
            if candidate.template == template:
                return candidate
    raise LookupError(template)


def test_X06_every_row_of_the_table_has_a_sample_event_that_plans_its_email() -> None:
    planned = {(e.cause.type, e.template) for t in SAMPLES for e in emails_of(t)}
    rows = {(r.event_type, r.template) for r in CATALOGUE.notices}
    assert rows <= planned


@pytest.mark.parametrize("template", CATALOGUE.templates)
def test_X06_every_email_renders_a_subject_a_text_and_an_html_part(template: str) -> None:
    rendered = RENDERER.render(email(template))
    assert rendered.subject and "\n" not in rendered.subject
    assert rendered.text.startswith("Hello ")
    assert rendered.html.startswith("<!DOCTYPE html>")
    assert f"order {k.ORDER_ID}" in rendered.text
    assert "{{" not in rendered.text + rendered.html
    assert "\n\n\n" not in rendered.text


def test_M05_M08_the_client_email_carries_the_signed_link_and_its_expiry() -> None:
    event, facts = SAMPLES["OrderSentToClient"]()
    [planned] = plan(event, facts, k.POLICY)
    rendered = RENDERER.render(planned)
    assert rendered.subject == "Please confirm your order: Quarterly maintenance"
    token = event.confirmation_token  # type: ignore[attr-defined]
    link = f"https://example.test/confirm?order={k.ORDER_ID}&token={token}"
    assert link in rendered.text
    assert f'href="{link.replace("&", "&amp;")}"' in rendered.html
    assert "Mona Member asks you to confirm" in rendered.text
    assert "until Mon 10 Mar 2025, 09:00 UTC" in rendered.text


def test_M09_M15_the_rejection_says_why_and_that_the_order_can_be_duplicated() -> None:
    rendered = RENDERER.render(email("order_rejected"))
    assert rendered.subject == "Order rejected: Quarterly maintenance"
    assert "the client declined it" in rendered.text
    assert "Too expensive" in rendered.text
    assert "duplicate it into a new draft" in rendered.text


def test_P02_the_supplier_sees_the_booking_and_the_deadline_to_answer() -> None:
    rendered = RENDERER.render(email("order_awaiting_confirmation"))
    assert rendered.subject == "New order to confirm: Piano lesson"
    assert "Wed 5 Mar 2025, 09:00 UTC to Wed 5 Mar 2025, 10:00 UTC" in rendered.text
    assert "Price: 40.00 EUR" in rendered.text
    assert "by Tue 4 Mar 2025, 09:00 UTC" in rendered.text


def test_P05_P07_an_edit_lists_the_changes_and_warns_of_a_new_price() -> None:
    rendered = RENDERER.render(email("order_edit_awaiting_confirmation"))
    assert "- Price: 45.50 EUR" in rendered.text
    assert "Their comment: Can we move it a day?" in rendered.text
    assert "confirm the new price" in rendered.text


def test_A10_the_receipt_and_its_copy_show_the_total_exactly() -> None:
    original = RENDERER.render(email("receipt"))
    assert original.subject == f"Your receipt for order {k.ORDER_ID}"
    assert "Total: 60.02 EUR" in original.text
    [copy] = emails_of("ReceiptResent")
    rendered = RENDERER.render(copy)
    assert rendered.subject.endswith("(copy)")
    assert "Total: 60.02 EUR" in rendered.text


def test_M10_the_draft_invoice_lists_its_lines_and_the_deadline_for_changes() -> None:
    rendered = RENDERER.render(email("invoice_draft_ready"))
    assert "- Maintenance, April: 2 x 50.00 EUR = 100.00 EUR" in rendered.text
    assert "Total: 100.00 EUR" in rendered.text
    assert "<td>Maintenance, April</td>" in rendered.html


def test_P16_the_overdue_emails_tell_the_customer_to_pay_and_the_supplier_about_claims() -> None:
    customer, supplier = sorted(emails_of("PaymentOverdue"), key=lambda e: e.template)
    assert "supplier may now open a claim" in RENDERER.render(customer).text
    assert "You may now open a claim" in RENDERER.render(supplier).text


def test_X06_event_text_is_escaped_in_html_and_kept_as_is_in_plain_text() -> None:
    evil = k.edited(Role.CUSTOMER, comment='<script>alert("x")</script> & <b>bold</b>')
    [planned] = plan(evil, k.POSTPAID_FACTS, k.POLICY)
    rendered = RENDERER.render(planned)
    assert "<script>" not in rendered.html
    assert (
        "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;"
        in rendered.html
    )
    assert '<script>alert("x")</script> & <b>bold</b>' in rendered.text


def test_X06_a_template_missing_a_value_fails_loudly_instead_of_rendering_a_blank() -> None:
    cause = Cause(uuid.uuid4(), "OrderPaid", uuid.uuid4(), datetime.now(UTC), k.ORDER_ID)
    recipient = Recipient(Role.CUSTOMER, "customer-1", "customer@example.com")
    with pytest.raises(RenderError, match="review_invitation"):
        RENDERER.render(Email(cause, "review_invitation", recipient, ("P-17",), {"order_id": "x"}))


def test_X06_X12_every_template_in_the_folder_is_used_by_the_table_or_a_reminder() -> None:
    reminding = {r.template for r in REMINDERS}
    assert RENDERER.templates() == sorted(set(CATALOGUE.templates) | reminding)
