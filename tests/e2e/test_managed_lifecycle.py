"""Managed orders end to end (seed 000): member, operator and client, every service a process.

Invoice dates are days, so the invoicing calendar is compressed (`CALENDAR`, in
`EXTRA_ENV`): a day lasts seconds and a draft comes seconds before its date.
The service period is ordering's own, in real days: an order whose period ended yesterday
completes as soon as its last invoice is issued (M-16).
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from contracts import topics
from contracts.envelope import Role
from contracts.invoicing import (
    DeclineInvoiceChanges,
    InvoiceLine,
    RequestInvoiceChanges,
    ReviseInvoiceDraft,
)
from contracts.orders import (
    ApproveCancellation,
    ConfirmAsClient,
    ConfirmOrder,
    DeclineAsClient,
    DiscardDraft,
    DuplicateOrder,
    EditDraft,
    ManagedTerms,
    Money,
    OrderParty,
    PlannedInvoice,
    RefuseCancellation,
    RejectOrder,
    RequestCancellation,
    ReturnOrder,
    SubmitOrder,
    WithdrawOrder,
)
from invoicing.queries import order_invoices
from orderflow import commands as c
from orderflow import scenarios
from ordering.domain.model import ManagedDetails
from ordering.queries import list_orders, order_view
from servicekit.businessdays import add_weekday_time
from tests.e2e.conftest import System
from tests.e2e.inbox import expect_templates, text_of, token_in, wait_for_mail
from tests.e2e.timeline import (
    InvoiceCalendar,
    accepted,
    email,
    events,
    person,
    ready,
    refused,
    send,
    starting_now,
    types_of,
    wait_for,
)
from tests.support.kafka import read_topic
from timers.queries import deadlines_of

pytestmark = pytest.mark.timeout(180)

#: Days of 8 seconds; a draft 5 seconds ahead of its date (time to ask for changes).
CALENDAR = InvoiceCalendar(origin=starting_now(), day=8.0, lead=5.0)
REVIEW_TARGET = 3.0  # M-04, in weekday seconds

EXTRA_ENV = {
    **CALENDAR.env(),
    "ORDERFLOW_MIN_CLIENT_CONFIRMATION": "2",  # M-07, so that an offer can expire in seconds
    "ORDERFLOW_REVIEW_TARGET": str(REVIEW_TARGET),
}

ORDERS = topics.ORDERS_COMMANDS
INVOICES = topics.INVOICING_COMMANDS


def planned(day: date, amount: str) -> PlannedInvoice:
    return PlannedInvoice(invoice_date=day, amount=Money(amount=Decimal(amount), currency="EUR"))


def ended_terms(**changes: Any) -> ManagedTerms:
    """Terms whose service period ended yesterday (M-16 then waits for invoicing only)."""
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    return c.managed_terms(
        description="Website care",
        service_start=yesterday - timedelta(days=30),
        service_end=yesterday,
        **changes,
    )


def invoice_id(order_id: uuid.UUID, n: int) -> str:
    return f"order/{order_id}/{n}"


def milestones(system: System, order_id: uuid.UUID) -> list[str]:
    """The order's events without rejections and M-04 signals (a slow review may raise one)."""
    noise = {"OrderCommandRejected", "OperatorReviewOverdue"}
    return [t for t in types_of(system, order_id, topics.ORDERS_EVENTS) if t not in noise]


async def submitted_and_reviewed(
    system: System,
    member: OrderParty,
    client: OrderParty,
    order_id: uuid.UUID,
    terms: ManagedTerms,
    confirm: bool = True,
) -> dict[str, Any]:
    """M-01, M-03, M-05: the demo's steps (`orderflow.scenarios`); the last answer."""
    return await scenarios.submitted_and_reviewed(
        system.bus, member, client, order_id, terms, confirm
    )


async def test_M01_M05_M08_M10_M11_M12_M16_confirmed_by_operator_and_client_invoiced_twice_and_completed(
    system: System,
) -> None:
    member, client = person(Role.MEMBER, system), person(Role.CLIENT, system)
    stranger = person(Role.CLIENT, system)
    order_id = uuid.uuid4()
    first = CALENDAR.first_day(15)
    second = first + timedelta(days=1)

    # M-01: a draft is saved, then edited (its terms and its client) before it is submitted.
    draft = ended_terms(planned_invoices=[planned(first, "100.00")])
    create = scenarios.managed_order(member, stranger, order_id, draft)
    await accepted(system, ORDERS, create, "OrderCreated")
    assert await order_view(system.db("ordering"), order_id, c.OPERATOR) is None, (
        "M-02: drafts are hidden"
    )
    terms = ended_terms(planned_invoices=[planned(first, "100.00"), planned(second, "250.50")])
    edit = c.command(EditDraft, member.party, order_id=order_id, terms=terms, client=client)
    assert (await accepted(system, ORDERS, edit, "DraftEdited"))["status"] == "draft"
    submit = c.command(SubmitOrder, member.party, order_id=order_id)
    assert (await accepted(system, ORDERS, submit, "OrderSubmitted"))["status"] == "operator_review"

    # M-05, M-08: the operator confirms, the client gets a link with a signed token.
    review = c.command(ConfirmOrder, c.OPERATOR, order_id=order_id)
    sent = await accepted(system, ORDERS, review, "OrderSentToClient")
    assert sent["status"] == "client_confirmation"
    [mail] = await wait_for_mail(system.maildir, email(client), "client_confirmation_request")
    assert mail["Subject"] == "Please confirm your order: Website care"
    token = token_in(text_of(mail), order_id)
    assert token == sent["confirmation_token"]

    # M-08: nobody but that client (not the one the draft had first) can use the link,
    # and a forged token is refused.
    as_stranger = c.command(ConfirmAsClient, stranger.party, order_id=order_id, token=token)
    await refused(system, ORDERS, as_stranger, "not_authorized")
    forged = c.command(ConfirmAsClient, client.party, order_id=order_id, token=token[:-2] + "xx")
    await refused(system, ORDERS, forged, "invalid_token")
    activated = await scenarios.confirmed_by_client(system.bus, client, order_id, token)
    assert (activated["status"], activated["confirmed_by"]) == ("active", "client")
    assert activated["no_payment_guarantee"] is False

    # M-10: each draft comes ahead of its date and the member is told.
    await wait_for(system, order_id, "InvoiceDrafted", count=2, timeout=60)
    # M-11: the member asks for a change to the second draft; the operator revises it.
    ask = c.command(
        RequestInvoiceChanges,
        member.party,
        invoice_id=invoice_id(order_id, 2),
        message="The second instalment should not include the domain fee (20.00).",
    )
    held = await accepted(system, INVOICES, ask, "InvoiceChangesRequested")
    assert held["status"] == "changes_requested"
    line = InvoiceLine(
        description="Website care, second instalment without the domain fee",
        unit_price=Decimal("230.50"),
        amount=Decimal("230.50"),
    )
    revise = c.command(
        ReviseInvoiceDraft,
        c.OPERATOR,
        invoice_id=invoice_id(order_id, 2),
        lines=[line],
        total=Money(amount=Decimal("230.50"), currency="EUR"),
        comment="Domain fee removed",
    )
    await accepted(system, INVOICES, revise, "InvoiceDraftRevised")

    # M-12: both are issued on their dates, numbered in the member's series; M-16: the
    # period ended yesterday, so the last issue completes the order.
    completed = (await wait_for(system, order_id, "OrderCompleted", timeout=90))[0]
    assert completed["status"] == "completed"
    issued = events(system, order_id, topics.INVOICING_EVENTS, "InvoiceIssued")
    assert [(i["invoice_id"], i["number"], i["total"]["amount"]) for i in issued] == [
        (invoice_id(order_id, 1), 1, "100.00"),
        (invoice_id(order_id, 2), 2, "230.50"),
    ]
    assert {i["issuer_id"] for i in issued} == {member.id}
    assert {i["client"]["id"] for i in issued} == {client.id}
    assert milestones(system, order_id) == [
        "OrderCreated",
        "DraftEdited",
        "OrderSubmitted",
        "OrderSentToClient",
        "OrderActivated",
        "ServicePeriodEnded",
        "InvoicingCompleted",
        "OrderCompleted",
    ]
    assert types_of(system, order_id, topics.INVOICING_EVENTS) == [
        "InvoicePlanned",
        "InvoicePlanned",
        "InvoiceDrafted",
        "InvoiceIssued",
        "InvoiceDrafted",
        "InvoiceChangesRequested",
        "InvoiceDraftRevised",
        "InvoiceIssued",
    ]

    # The read sides: completed, and the invoices stay visible unpaid (M-16, M-17).
    view = await order_view(system.db("ordering"), order_id, client.party)
    assert view is not None and view.order.status == "completed"
    assert [e.type for e in view.order.timeline][-1] == "OrderCompleted"
    listed = await list_orders(system.db("ordering"), member.party, status="completed")
    assert [v.order.order_id for v in listed] == [order_id]
    invoices = await order_invoices(system.db("invoicing"), order_id)
    assert [(i.status, i.number, i.payment_status) for i in invoices] == [
        ("issued", 1, "unpaid"),
        ("issued", 2, "unpaid"),
    ]

    # The emails: the link to the client, drafts and the revision to the member, the
    # invoices to the client.
    issued_mails = await wait_for_mail(system.maildir, email(client), "invoice_issued", count=2)
    assert sorted(m["Subject"] for m in issued_mails) == [
        "Invoice 1: Website care",
        "Invoice 2: Website care",
    ]
    assert any("Total: 230.50 EUR" in text_of(m) for m in issued_mails)
    await wait_for_mail(system.maildir, email(member), "invoice_draft_ready", count=2)
    [revised] = await wait_for_mail(system.maildir, email(member), "invoice_draft_revised")
    assert "Domain fee removed" in text_of(revised)
    await expect_templates(
        system.maildir,
        email(member),
        [
            "invoice_draft_ready",
            "invoice_draft_ready",
            "invoice_draft_revised",
            "order_activated",  # the client confirmed (M-08)
        ],
    )
    await expect_templates(
        system.maildir,
        email(client),
        [
            "client_confirmation_request",
            "invoice_issued",
            "invoice_issued",
        ],
    )
    await expect_templates(system.maildir, email(stranger), [])


async def test_M05_M06_M11_skipped_client_confirmation_without_proof_has_no_payment_guarantee(
    system: System,
) -> None:
    member, client = person(Role.MEMBER, system), person(Role.CLIENT, system)
    order_id, with_proof = uuid.uuid4(), uuid.uuid4()

    # M-06: skipped with a proof document: the guarantee stays.
    far = CALENDAR.first_day(3600)
    proof_terms = ended_terms(
        skip_client_confirmation=True,
        proof_document="uploads/signed-contract-4711.pdf",
        planned_invoices=[planned(far, "80.00")],
    )
    backed = await submitted_and_reviewed(system, member, client, with_proof, proof_terms)
    assert (backed["confirmed_by"], backed["no_payment_guarantee"]) == ("operator", False)
    assert backed["proof_document"] == "uploads/signed-contract-4711.pdf"

    # M-05, M-06: skipped without proof: active at once, with no payment guarantee.
    terms = ended_terms(
        skip_client_confirmation=True, planned_invoices=[planned(CALENDAR.first_day(8), "80.00")]
    )
    activated = await submitted_and_reviewed(system, member, client, order_id, terms)
    assert activated["status"] == "active"
    assert (activated["confirmed_by"], activated["no_payment_guarantee"]) == ("operator", True)
    assert activated["proof_document"] is None
    view = await order_view(system.db("ordering"), order_id, member.party)
    assert view is not None and isinstance(view.order.details, ManagedDetails)
    assert view.order.details.no_payment_guarantee, "M-06: the flag is visible on the order"

    # M-11: the member asks for a change; the operator declines: issued as drafted.
    await wait_for(system, order_id, "InvoiceDrafted", timeout=60)
    ask = c.command(
        RequestInvoiceChanges,
        member.party,
        invoice_id=invoice_id(order_id, 1),
        message="Please split the invoice in two.",
    )
    await accepted(system, INVOICES, ask, "InvoiceChangesRequested")
    decline = c.command(
        DeclineInvoiceChanges,
        c.OPERATOR,
        invoice_id=invoice_id(order_id, 1),
        reason="One invoice per planned date, as agreed.",
    )
    await accepted(system, INVOICES, decline, "InvoiceChangesDeclined")

    completed = (await wait_for(system, order_id, "OrderCompleted", timeout=60))[0]
    assert completed["status"] == "completed"
    [issued] = events(system, order_id, topics.INVOICING_EVENTS, "InvoiceIssued")
    assert (issued["total"]["amount"], issued["number"]) == ("80.00", 1)
    assert milestones(system, order_id) == [
        "OrderCreated",
        "OrderSubmitted",
        "OrderActivated",
        "ServicePeriodEnded",
        "InvoicingCompleted",
        "OrderCompleted",
    ]

    # Emails: no confirmation link (the client was not asked), the invoice to the client.
    await wait_for_mail(system.maildir, email(client), "invoice_issued")
    await wait_for_mail(system.maildir, email(member), "invoice_changes_declined")
    # X-11 (M-05, M-06): skipping client confirmation tells the member and the client.
    await expect_templates(
        system.maildir,
        email(client),
        ["invoice_issued", "order_activated", "order_activated"],
    )
    await expect_templates(
        system.maildir,
        email(member),
        [
            "invoice_changes_declined",
            "invoice_draft_ready",
            "order_activated",
            "order_activated",
        ],
    )


async def test_M04_M07_M08_M09_M15_offer_expired_rejected_duplicated_resubmitted_then_declined(
    system: System,
) -> None:
    member, client = person(Role.MEMBER, system), person(Role.CLIENT, system)
    order_id = uuid.uuid4()
    await ready(system)  # the offer's 10 s count from now: not while a group still joins
    terms = ended_terms(
        offer_valid_until=datetime.now(UTC) + timedelta(seconds=10),
        planned_invoices=[planned(CALENDAR.first_day(20), "60.00")],
    )
    sent = await submitted_and_reviewed(system, member, client, order_id, terms)
    await wait_for_mail(system.maildir, email(client), "client_confirmation_request")
    # M-09 also runs in operator review: an offer that passes before the operator looks.
    other_member, unreviewed = person(Role.MEMBER, system), uuid.uuid4()
    short = ended_terms(
        offer_valid_until=datetime.now(UTC) + timedelta(seconds=6),
        planned_invoices=[planned(CALENDAR.first_day(20), "60.00")],
    )
    await send(
        system,
        ORDERS,
        scenarios.managed_order(other_member, client, unreviewed, short),
        c.command(SubmitOrder, other_member.party, order_id=unreviewed),
    )

    # M-09: nobody answers by "offer valid until": rejected automatically.
    rejected = (await wait_for(system, order_id, "OrderRejected", timeout=45))[0]
    assert (rejected["status"], rejected["cause"]) == ("rejected", "offer_expired")
    assert rejected["actor"]["role"] == "system"
    [mail] = await wait_for_mail(system.maildir, email(member), "order_rejected")
    assert mail["Subject"] == "Order rejected: Website care"
    assert "offer" in text_of(mail)
    late = c.command(
        ConfirmAsClient, client.party, order_id=order_id, token=sent["confirmation_token"]
    )
    await refused(system, ORDERS, late, "not_allowed_in_status")

    # M-15: duplicated into a new draft, linked to the original.
    duplicate = c.command(DuplicateOrder, member.party, order_id=order_id)
    duplicated = await accepted(system, ORDERS, duplicate, "OrderDuplicated")
    assert duplicated["status"] == "rejected"
    copy_id = uuid.UUID(duplicated["new_order_id"])
    [created] = await wait_for(system, copy_id, "OrderCreated")
    assert (created["status"], created["duplicated_from"]) == ("draft", str(order_id))
    assert await order_view(system.db("ordering"), copy_id, c.OPERATOR) is None, (
        "M-02: a draft is hidden"
    )

    # M-07: the copy's offer has passed: refused until the member sets a new date.
    await refused(
        system, ORDERS, c.command(SubmitOrder, member.party, order_id=copy_id), "offer_expired"
    )
    renewed = ManagedTerms(
        **{**created["terms"], "offer_valid_until": datetime.now(UTC) + timedelta(days=7)}
    )
    edit = c.command(EditDraft, member.party, order_id=copy_id, terms=renewed)
    await accepted(system, ORDERS, edit, "DraftEdited")
    resubmit = c.command(SubmitOrder, member.party, order_id=copy_id)
    submitted = await accepted(system, ORDERS, resubmit, "OrderSubmitted")
    assert submitted["status"] == "operator_review"

    # M-04: unreviewed past the target (weekday time): a signal, the status stays.
    submitted_at = datetime.fromisoformat(submitted["occurred_at"])
    due = datetime.fromisoformat(submitted["review_due_at"])
    assert due == add_weekday_time(submitted_at, timedelta(seconds=REVIEW_TARGET))
    if due - datetime.now(UTC) < timedelta(seconds=30):  # on a weekend it is Monday's
        [overdue] = await wait_for(system, copy_id, "OperatorReviewOverdue", timeout=30)
        assert overdue["status"] == "operator_review"
    view = await order_view(system.db("ordering"), copy_id, c.OPERATOR)
    assert view is not None and view.order.status == "operator_review"

    # M-08: the operator confirms, the client declines through the link: rejected.
    resent = await accepted(
        system, ORDERS, c.command(ConfirmOrder, c.OPERATOR, order_id=copy_id), "OrderSentToClient"
    )
    mails = await wait_for_mail(system.maildir, email(client), "client_confirmation_request", 2)
    assert token_in(text_of(mails[-1]), copy_id) == resent["confirmation_token"]
    decline = c.command(
        DeclineAsClient,
        client.party,
        order_id=copy_id,
        token=resent["confirmation_token"],
        reason="We chose another provider",
    )
    declined = await accepted(system, ORDERS, decline, "OrderRejected")
    assert (declined["status"], declined["cause"]) == ("rejected", "client")
    second = await wait_for_mail(system.maildir, email(member), "order_rejected", count=2)
    assert any("We chose another provider" in text_of(m) for m in second)

    [expired] = await wait_for(system, unreviewed, "OrderRejected")
    assert (expired["cause"], milestones(system, unreviewed)) == (
        "offer_expired",
        ["OrderCreated", "OrderSubmitted", "OrderRejected"],
    )
    [in_review] = await wait_for_mail(system.maildir, email(other_member), "order_rejected")
    # M-09, X-11: `previous_status` tells the notifier the client was never asked.
    assert "never sent to the client" in text_of(in_review)
    assert "client's answer" not in text_of(in_review)

    # M-05: the operator may reject, with a reason the member is told.
    turned_down = uuid.uuid4()
    await submitted_and_reviewed(
        system, other_member, client, turned_down, ended_terms(), confirm=False
    )
    no = c.command(
        RejectOrder, c.OPERATOR, order_id=turned_down, reason="The client is not registered"
    )
    by_operator = await accepted(system, ORDERS, no, "OrderRejected")
    assert (by_operator["status"], by_operator["cause"]) == ("rejected", "operator")
    mails = await wait_for_mail(system.maildir, email(other_member), "order_rejected", count=2)
    assert any("The client is not registered" in text_of(m) for m in mails)

    # M-15: a rejected order is never invoiced.
    assert events(system, order_id, topics.INVOICING_EVENTS) == []
    assert events(system, copy_id, topics.INVOICING_EVENTS) == []
    assert milestones(system, order_id) == [
        "OrderCreated",
        "OrderSubmitted",
        "OrderSentToClient",
        "OrderRejected",
        "OrderDuplicated",
    ]
    assert milestones(system, copy_id) == [
        "OrderCreated",
        "DraftEdited",
        "OrderSubmitted",
        "OrderSentToClient",
        "OrderRejected",
    ]
    await expect_templates(system.maildir, email(member), ["order_rejected", "order_rejected"])
    # M-09, X-11: the client, asked once, hears the offer it had expired; never asked for
    # the order that expired in review, it hears nothing of it.
    await expect_templates(
        system.maildir,
        email(client),
        ["client_confirmation_request", "client_confirmation_request", "offer_expired"],
    )


async def test_M13_M14_an_approved_cancellation_cancels_planned_and_voids_issued_invoices(
    system: System,
) -> None:
    member, client = person(Role.MEMBER, system), person(Role.CLIENT, system)
    order_id = uuid.uuid4()
    first = CALENDAR.first_day(6)
    terms = c.managed_terms(
        description="Office cleaning",
        skip_client_confirmation=True,
        proof_document="uploads/framework-agreement.pdf",
        planned_invoices=[planned(first, "120.00"), planned(first + timedelta(days=400), "120.00")],
    )
    await submitted_and_reviewed(system, member, client, order_id, terms)
    await wait_for(system, order_id, "InvoiceIssued", timeout=60)

    # M-13: a detailed reason is required; the operator may refuse (back to active)...
    short = c.command(RequestCancellation, member.party, order_id=order_id, reason="Too pricey")
    await refused(system, ORDERS, short, "invalid")
    reason = "The client closed the office that this order was cleaning."
    ask = c.command(RequestCancellation, member.party, order_id=order_id, reason=reason)
    requested = await accepted(system, ORDERS, ask, "CancellationRequested")
    assert requested["status"] == "cancellation_requested"
    no = c.command(
        RefuseCancellation, c.OPERATOR, order_id=order_id, reason="Notice period not respected"
    )
    assert (await accepted(system, ORDERS, no, "CancellationRefused"))["status"] == "active"
    await wait_for_mail(system.maildir, email(member), "cancellation_refused")

    # ...or approve it (cancelled).
    again = c.command(RequestCancellation, member.party, order_id=order_id, reason=reason)
    await accepted(system, ORDERS, again, "CancellationRequested")
    yes = c.command(ApproveCancellation, c.OPERATOR, order_id=order_id)
    cancelled = await accepted(system, ORDERS, yes, "OrderCancelled")
    assert (cancelled["status"], cancelled["previous_status"]) == (
        "cancelled",
        "cancellation_requested",
    )
    assert cancelled["reason"] == reason

    # M-14: the issued invoice is voided by a credit note, the planned one cancelled.
    await wait_for(system, order_id, "InvoiceVoided", "InvoiceCancelled", count=2, timeout=30)
    [voided] = events(system, order_id, topics.INVOICING_EVENTS, "InvoiceVoided")
    assert voided["invoice_id"] == invoice_id(order_id, 1)
    note = voided["credit_note"]
    assert (note["number"], note["invoice_number"], note["issuer_id"]) == (1, 1, member.id)
    assert note["total"] == {"amount": "120.00", "currency": "EUR"}
    [dropped] = events(system, order_id, topics.INVOICING_EVENTS, "InvoiceCancelled")
    assert (dropped["invoice_id"], dropped["status"]) == (invoice_id(order_id, 2), "cancelled")
    after = c.command(RequestCancellation, member.party, order_id=order_id, reason=reason)
    await refused(system, ORDERS, after, "not_allowed_in_status")
    too_late = c.command(
        RequestInvoiceChanges, member.party, invoice_id=invoice_id(order_id, 1), message="Less"
    )
    await refused(system, INVOICES, too_late, "not_allowed_in_status")

    # Nothing is deleted: the paper trail stays.
    invoices = await order_invoices(system.db("invoicing"), order_id)
    assert [(i.invoice_id, i.status) for i in invoices] == [
        (invoice_id(order_id, 1), "voided"),
        (invoice_id(order_id, 2), "cancelled"),
    ]
    assert invoices[0].number == 1 and invoices[0].credit_note is not None

    await wait_for_mail(system.maildir, email(member), "cancellation_approved")
    [void_mail] = await wait_for_mail(system.maildir, email(client), "invoice_voided")
    assert void_mail["Subject"] == "Invoice 1 voided by credit note 1"
    # activated without the client's confirmation, then cancelled: the client hears.
    await expect_templates(
        system.maildir,
        email(client),
        ["invoice_issued", "invoice_voided", "order_activated", "order_cancelled"],
    )
    await expect_templates(
        system.maildir,
        email(member),
        [
            "cancellation_approved",
            "cancellation_refused",
            "invoice_draft_ready",
            "order_activated",
        ],
    )
    assert milestones(system, order_id) == [
        "OrderCreated",
        "OrderSubmitted",
        "OrderActivated",
        "CancellationRequested",
        "CancellationRefused",
        "CancellationRequested",
        "OrderCancelled",
    ]


async def issue_deadline_fired(system: System, invoice: str) -> None:
    """The timer service fired `invoice`'s issue deadline (its date came)."""
    wanted = f"{invoice}:issue"
    await read_topic(
        system.bus.bootstrap,
        system.prefix + topics.TIMERS_EVENTS,
        lambda records: any(r.json().get("deadline_id") == wanted for r in records),
        timeout=60,
    )


async def test_M13_M16_M20_a_refused_cancellation_releases_the_held_invoice_and_completes_the_order(
    system: System,
) -> None:
    member, client = person(Role.MEMBER, system), person(Role.CLIENT, system)
    order_id = uuid.uuid4()
    terms = ended_terms(
        skip_client_confirmation=True,
        proof_document="uploads/po-77.pdf",
        planned_invoices=[planned(CALENDAR.first_day(8), "35.00")],
    )
    await submitted_and_reviewed(system, member, client, order_id, terms)
    await wait_for(system, order_id, "ServicePeriodEnded")  # it ended yesterday
    reason = "The client asks to stop before the first invoice."
    ask = c.command(RequestCancellation, member.party, order_id=order_id, reason=reason)
    requested = await accepted(system, ORDERS, ask, "CancellationRequested")

    # M-20: the invoice date passes while the request is open; the invoice is held...
    [plan] = await wait_for(system, order_id, "InvoicePlanned")
    issue_at = datetime.fromisoformat(plan["issue_at"])
    assert datetime.fromisoformat(requested["occurred_at"]) < issue_at
    await issue_deadline_fired(system, invoice_id(order_id, 1))
    # ...and a refusal issues it at once; the last M-16 fact then completes the order.
    no = c.command(RefuseCancellation, c.OPERATOR, order_id=order_id, reason="Already delivered")
    refusal = await accepted(system, ORDERS, no, "CancellationRefused")
    assert refusal["status"] == "active"
    await wait_for(system, order_id, "OrderCompleted")
    assert milestones(system, order_id) == [
        "OrderCreated",
        "OrderSubmitted",
        "OrderActivated",
        "ServicePeriodEnded",
        "CancellationRequested",
        "CancellationRefused",
        "InvoicingCompleted",
        "OrderCompleted",
    ]
    [issued] = events(system, order_id, topics.INVOICING_EVENTS, "InvoiceIssued")
    assert datetime.fromisoformat(issued["issued_at"]) >= datetime.fromisoformat(
        refusal["occurred_at"]
    )
    assert issued["invoice_date"] == plan["invoice_date"]
    assert issued["total"] == {"amount": "35.00", "currency": "EUR"}
    await wait_for_mail(system.maildir, email(member), "cancellation_refused")
    await wait_for_mail(system.maildir, email(client), "invoice_issued")
    await expect_templates(system.maildir, email(client), ["invoice_issued", "order_activated"])


async def review_deadlines(system: System, order_id: uuid.UUID, want: dict[str, str]) -> None:
    """Wait until the timer service holds the order's review deadlines in the `want`ed
    statuses, by deadline id (M-04, X-02)."""
    have: dict[str, str] = {}
    async with asyncio.timeout(30):
        while any(have.get(i) != s for i, s in want.items()):
            found = await deadlines_of(system.db("timers"), str(order_id))  # type: ignore[arg-type]
            have = {d.deadline_id: d.status.value for d in found if d.kind == "review_overdue"}
            await asyncio.sleep(0.25)


async def test_M18_M19_returned_with_a_question_resubmitted_confirmed_to_active_and_a_withdrawn_draft_discarded(
    system: System,
) -> None:
    member, client = person(Role.MEMBER, system), person(Role.CLIENT, system)
    order_id, dropped = uuid.uuid4(), uuid.uuid4()
    terms = c.managed_terms(planned_invoices=[planned(CALENDAR.first_day(3600), "90.00")])
    await submitted_and_reviewed(system, member, client, order_id, terms, confirm=False)

    # M-18: the operator returns the order with a question: a draft again, hidden from
    # operators, the question on its timeline; the review's deadline is cancelled.
    question = "Does the client want the mobile site in this phase too?"
    back = c.command(ReturnOrder, c.OPERATOR, order_id=order_id, comment=question)
    returned = await accepted(system, ORDERS, back, "OrderReturned")
    assert (returned["status"], returned["comment"]) == ("draft", question)
    assert returned["actor"] == c.OPERATOR.model_dump(mode="json")
    assert await order_view(system.db("ordering"), order_id, c.OPERATOR) is None, "M-02"
    view = await order_view(system.db("ordering"), order_id, member.party)
    assert view is not None and isinstance(view.order.details, ManagedDetails)
    assert view.order.timeline[-1].type == "OrderReturned"
    assert view.order.details.returned_comment == question
    too_soon = c.command(ConfirmOrder, c.OPERATOR, order_id=order_id)
    await refused(system, ORDERS, too_soon, "not_allowed_in_status")

    # M-03, M-04: edited and submitted again, it is reviewed anew: a new review deadline,
    # the first one cancelled in the timer service.
    answered = c.managed_terms(
        description="Website and mobile site",
        planned_invoices=[planned(CALENDAR.first_day(3600), "140.00")],
    )
    edit = c.command(EditDraft, member.party, order_id=order_id, terms=answered)
    await accepted(system, ORDERS, edit, "DraftEdited")
    resubmit = c.command(SubmitOrder, member.party, order_id=order_id)
    again = await accepted(system, ORDERS, resubmit, "OrderSubmitted")
    assert again["status"] == "operator_review"
    await review_deadlines(
        system,
        order_id,
        {f"{order_id}:review_overdue:0": "cancelled", f"{order_id}:review_overdue:1": "scheduled"},
    )

    # M-05, M-08: confirmed by the operator, then by the client: active.
    confirm = c.command(ConfirmOrder, c.OPERATOR, order_id=order_id)
    sent = await accepted(system, ORDERS, confirm, "OrderSentToClient")
    [mail] = await wait_for_mail(system.maildir, email(client), "client_confirmation_request")
    token = token_in(text_of(mail), order_id)
    assert token == sent["confirmation_token"]
    activated = await scenarios.confirmed_by_client(system.bus, client, order_id, token)
    assert activated["status"] == "active"
    assert [p["amount"]["amount"] for p in activated["planned_invoices"]] == ["140.00"]
    assert milestones(system, order_id) == [
        "OrderCreated",
        "OrderSubmitted",
        "OrderReturned",
        "DraftEdited",
        "OrderSubmitted",
        "OrderSentToClient",
        "OrderActivated",
    ]

    # M-19: another order is withdrawn before the review, then discarded for good: kept,
    # the member's alone to see, every later command refused.
    await submitted_and_reviewed(system, member, client, dropped, terms, confirm=False)
    withdraw = c.command(WithdrawOrder, member.party, order_id=dropped)
    assert (await accepted(system, ORDERS, withdraw, "OrderWithdrawn"))["status"] == "draft"
    await review_deadlines(system, dropped, {f"{dropped}:review_overdue:0": "cancelled"})
    discard = c.command(DiscardDraft, member.party, order_id=dropped)
    assert (await accepted(system, ORDERS, discard, "DraftDiscarded"))["status"] == "discarded"
    submit = c.command(SubmitOrder, member.party, order_id=dropped)
    await refused(system, ORDERS, submit, "not_allowed_in_status")
    kept = await order_view(system.db("ordering"), dropped, member.party)
    assert kept is not None and kept.order.status == "discarded"
    assert await order_view(system.db("ordering"), dropped, c.OPERATOR) is None
    seen = await list_orders(system.db("ordering"), c.OPERATOR)
    assert dropped not in {v.order.order_id for v in seen}
    assert order_id in {v.order.order_id for v in seen}
    await expect_templates(system.maildir, email(client), ["client_confirmation_request"])
    # M-18, X-11: the member is emailed the question and what to do; the withdrawal and
    # the discard are its own acts (M-19): no email.
    [returned_mail] = await wait_for_mail(system.maildir, email(member), "order_returned")
    assert question in text_of(returned_mail)
    assert "submit it again" in text_of(returned_mail)
    await expect_templates(system.maildir, email(member), ["order_activated", "order_returned"])
