"""Account orders end to end (seed 003): agent, approver and the billing system upstream.

The billing system publishes accounts on accounts.events; ordering judges orders by them.
Bill cycles run every `CYCLE` seconds instead of monthly (`EXTRA_ENV`), and can be run at
once with `RunBillCycle` (A-11). The demo catalogue (ordering.config.DEMO_CATALOGUE) has
`hosting`, `support-plan` (needs approval and a `tier` configuration) and `legacy-fax`
(not available).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from contracts import topics
from contracts.envelope import Role
from contracts.invoicing import RunBillCycle
from contracts.orders import (
    ApproveOrder,
    CancelOrder,
    CompleteOrder,
    ConfigureItem,
    EditDraft,
    EditNotes,
    OrderItem,
    PlaceOrder,
    RefuseApproval,
    ResendReceipt,
)
from invoicing.queries import account_invoices
from orderflow import commands as c
from orderflow import scenarios
from ordering.queries import search_accounts
from tests.e2e.conftest import System
from tests.e2e.inbox import expect_templates, text_of, wait_for_mail
from tests.e2e.timeline import (
    accepted,
    email,
    events,
    person,
    refused,
    send,
    types_of,
    until,
    wait_for,
)
from timers.queries import deadlines_of

pytestmark = pytest.mark.timeout(180)

CYCLE = 6.0  # seconds between two bill-cycle runs of an account
APPROVAL_TARGET = 8.0  # seconds an approval may stay pending before it is overdue

EXTRA_ENV = {
    "ORDERFLOW_BILL_CYCLE_EVERY": str(CYCLE),
    "ORDERFLOW_APPROVAL_TARGET": str(APPROVAL_TARGET),
}
#: Signals that come or not depending on how fast the machine is (A-13).
NOISE = {"OrderCommandRejected", "ApprovalOverdue"}

ORDERS = topics.ORDERS_COMMANDS


def item(product: str, price: str, quantity: int = 1, option: str = "monthly") -> OrderItem:
    return OrderItem(
        product_id=product, pricing_option=option, unit_price=Decimal(price), quantity=quantity
    )


async def opened_account(system: System) -> tuple[str, str]:
    """A-01: the billing system opens an account; ordering knows it once it answers
    `AccountRegistered` (the demo's step)."""
    account_id = f"acc-{uuid.uuid4().hex[:8]}"
    address = f"billing-{uuid.uuid4().hex[:8]}@{system.run_id}.e2e.example.com"
    await scenarios.opened_account(system.bus, account_id, address)
    return account_id, address


create = scenarios.account_order


async def billed(system: System, account_id: str, order_id: uuid.UUID) -> list[dict[str, Any]]:
    """A-11: the bill-cycle runs of the account that billed the order (wait for one)."""

    def runs(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [e for e in found if e["type"] == "BillCycleRun" and str(order_id) in e["order_ids"]]

    await until(
        system, account_id, lambda found: bool(runs(found)), 45, f"a run billing {order_id}"
    )
    return runs(events(system, account_id))


async def billed_invoice(system: System, account_id: str, order_id: uuid.UUID) -> dict[str, Any]:
    """A-11: the one run that billed the order made one invoice; its `InvoiceIssued`, the
    account's only one."""
    [run] = await billed(system, account_id, order_id)
    [invoice_id] = run["invoice_ids"]
    issued = await until(
        system,
        account_id,
        lambda found: any(
            e.get("invoice_id") == invoice_id and e["type"] == "InvoiceIssued" for e in found
        ),
        30,
    )
    [invoice] = [e for e in issued if e["type"] == "InvoiceIssued"]
    return invoice


async def test_A01_A04_to_A08_A10_A11_approval_and_a_missing_configuration_then_completed_receipt_and_billed(
    system: System,
) -> None:
    agent = person(Role.AGENT, system)
    order_id, account_id = uuid.uuid4(), f"acc-{uuid.uuid4().hex[:8]}"
    items = [item("support-plan", "300.00", option="yearly"), item("hosting", "20.00", 2)]

    # no order for an account the billing system has not opened.
    await refused(
        system, ORDERS, create(agent, order_id, account_id, items=items), "unknown_account"
    )
    account_id, address = await opened_account(system)
    [found] = await search_accounts(system.db("ordering"), address)
    assert found.account_id == account_id

    # an unavailable product is refused; A-05: so is a date before the account.
    fax = create(agent, uuid.uuid4(), account_id, items=[item("legacy-fax", "5.00")])
    assert "legacy-fax" in (await refused(system, ORDERS, fax, "missing_prerequisite"))["message"]
    old = datetime.now(UTC).date() - timedelta(days=45)
    early = create(agent, uuid.uuid4(), account_id, items=items, order_date=old)
    await refused(system, ORDERS, early, "backdated_too_far")

    # a draft for the account, edited freely.
    created = await accepted(
        system, ORDERS, create(agent, order_id, account_id, items=items), "OrderCreated"
    )
    assert created["status"] == "draft"
    [customer] = [p for p in created["parties"] if p["role"] == "customer"]
    assert (customer["id"], customer["contact"]["email"]) == (account_id, address)
    items = [item("support-plan", "300.00", option="yearly"), item("hosting", "20.00", 3)]
    terms = c.account_terms(account_id, items=items, notes="Three sites")
    edit = c.command(EditDraft, agent.party, order_id=order_id, terms=terms)
    await accepted(system, ORDERS, edit, "DraftEdited")

    # placing is refused while the support plan lacks its tier.
    place = c.command(PlaceOrder, agent.party, order_id=order_id)
    missing = await refused(system, ORDERS, place, "configuration_missing")
    assert "item 1 (support-plan): tier" in missing["message"]
    configure = c.command(
        ConfigureItem, agent.party, order_id=order_id, line=0, values={"tier": "gold"}
    )
    await accepted(system, ORDERS, configure, "ItemConfigured")

    # approval is needed and separate from completion.
    place = c.command(PlaceOrder, agent.party, order_id=order_id)
    placed = await accepted(system, ORDERS, place, "OrderPlaced")
    assert (placed["status"], placed["needs_approval"]) == ("in_progress", True)
    complete = c.command(CompleteOrder, agent.party, order_id=order_id)
    await refused(system, ORDERS, complete, "not_allowed_in_status")
    notes = c.command(EditNotes, agent.party, order_id=order_id, notes="Call before migrating")
    assert (await accepted(system, ORDERS, notes, "NotesEdited"))["status"] == "in_progress"
    cancel = c.command(CancelOrder, agent.party, order_id=order_id, reason="Not needed")
    await refused(system, ORDERS, cancel, "not_allowed_in_status")  # drafts only
    approve = c.command(ApproveOrder, c.APPROVER, order_id=order_id)
    assert (await accepted(system, ORDERS, approve, "OrderApproved"))["status"] == "approved"
    complete = c.command(CompleteOrder, agent.party, order_id=order_id)
    completed = await accepted(system, ORDERS, complete, "OrderCompleted")
    assert completed["status"] == "completed"
    assert completed["receipt_to"]["email"] == address
    assert completed["total"] == {"amount": "360.00", "currency": "EUR"}

    # the receipt goes to the account's email, and again on request.
    [receipt] = await wait_for_mail(system.maildir, address, "receipt")
    assert receipt["Subject"] == f"Your receipt for order {order_id}"
    assert "Total: 360.00 EUR" in text_of(receipt)
    resend = c.command(ResendReceipt, agent.party, order_id=order_id)
    await accepted(system, ORDERS, resend, "ReceiptResent")
    receipts = await wait_for_mail(system.maildir, address, "receipt", count=2)
    assert receipts[-1]["Subject"] == f"Your receipt for order {order_id} (copy)"
    assert "Total: 360.00 EUR" in text_of(receipts[-1])

    # the next bill-cycle run invoices the account for the order, line by item.
    invoice = await billed_invoice(system, account_id, order_id)
    assert (invoice["issuer_id"], invoice["account_id"]) == ("billing", account_id)
    assert invoice["client"]["contact"]["email"] == address
    assert [
        (line["description"], line["quantity"], line["amount"]) for line in invoice["lines"]
    ] == [
        ("support-plan (yearly)", 1, "300.00"),
        ("hosting (monthly)", 3, "60.00"),
    ]
    assert invoice["total"] == {"amount": "360.00", "currency": "EUR"}
    [stored] = await account_invoices(system.db("invoicing"), account_id)
    assert (stored.invoice_id, stored.status, stored.number) == (
        invoice["invoice_id"],
        "issued",
        invoice["number"],
    )

    [invoice_mail] = await wait_for_mail(system.maildir, address, "invoice_issued")
    assert invoice_mail["Subject"] == f"Invoice {invoice['number']}"
    assert "Total: 360.00 EUR" in text_of(invoice_mail)
    assert [t for t in types_of(system, order_id, topics.ORDERS_EVENTS) if t not in NOISE] == [
        "OrderCreated",
        "DraftEdited",
        "ItemConfigured",
        "OrderPlaced",
        "NotesEdited",
        "OrderApproved",
        "OrderCompleted",
        "ReceiptResent",
    ]
    await expect_templates(system.maildir, address, ["invoice_issued", "receipt", "receipt"])
    await expect_templates(system.maildir, email(agent), [])


async def test_A07_A09_A11_without_approval_placing_completes_and_a_cancelled_draft_is_never_billed(
    system: System,
) -> None:
    agent = person(Role.AGENT, system)
    account_id, address = await opened_account(system)
    order_id, dropped = uuid.uuid4(), uuid.uuid4()

    # a draft cancelled by the agent who entered it can be seen, never changed.
    await accepted(system, ORDERS, create(agent, dropped, account_id), "OrderCreated")
    cancel = c.command(CancelOrder, agent.party, order_id=dropped, reason="Entered twice")
    cancelled = await accepted(system, ORDERS, cancel, "OrderCancelled")
    assert (cancelled["status"], cancelled["previous_status"]) == ("cancelled", "draft")
    edit = c.command(
        EditDraft, agent.party, order_id=dropped, terms=c.account_terms(account_id, notes="x")
    )
    await refused(system, ORDERS, edit, "not_allowed_in_status")

    # nothing needs approval: placed and completed at once.
    await accepted(system, ORDERS, create(agent, order_id, account_id), "OrderCreated")
    place = c.command(PlaceOrder, agent.party, order_id=order_id)
    placed = await accepted(system, ORDERS, place, "OrderPlaced")
    assert placed["needs_approval"] is False
    [completed] = await wait_for(system, order_id, "OrderCompleted")
    assert completed["total"] == {"amount": "40.00", "currency": "EUR"}

    # the billing system may also run the cycle at once; either way it is billed once.
    run_now = c.command(RunBillCycle, c.GATEWAY, account_id=account_id)
    await send(system, topics.INVOICING_COMMANDS, run_now)
    runs = await billed(system, account_id, order_id)
    assert len(runs) == 1, runs
    assert not any(str(dropped) in e.get("order_ids", []) for e in events(system, account_id))
    await wait_for_mail(system.maildir, address, "invoice_issued")
    await wait_for_mail(system.maildir, address, "receipt")
    await expect_templates(system.maildir, address, ["invoice_issued", "receipt"])
    assert [inv.status for inv in await account_invoices(system.db("invoicing"), account_id)] == [
        "issued"
    ]


async def test_A13_A15_refused_edited_placed_again_overdue_approved_completed_receipt_and_invoice_to_the_order_s_addressees(
    system: System,
) -> None:
    agent = person(Role.AGENT, system)
    account_id, address = await opened_account(system)
    buyer, finance = person(Role.CUSTOMER, system), person(Role.CUSTOMER, system)
    order_id = uuid.uuid4()
    plan = item("support-plan", "300.00", option="yearly").model_copy(
        update={"configurations": {"tier": "gold"}}
    )
    # the order names whom to contact and whom to invoice, not the account's email.
    addressees: dict[str, Any] = {"contact": buyer.contact, "bill_to": finance.contact}
    create_it = create(agent, order_id, account_id, items=[plan], **addressees)
    await accepted(system, ORDERS, create_it, "OrderCreated")
    first = await accepted(
        system, ORDERS, c.command(PlaceOrder, agent.party, order_id=order_id), "OrderPlaced"
    )
    assert (first["status"], first["needs_approval"]) == ("in_progress", True)

    # the approver refuses with a reason: a draft again for the agent to change.
    reason = "A yearly plan needs the hosting it supports on the same order"
    no = c.command(RefuseApproval, c.APPROVER, order_id=order_id, reason=reason)
    refusal = await accepted(system, ORDERS, no, "ApprovalRefused")
    assert (refusal["status"], refusal["reason"]) == ("draft", reason)
    terms = c.account_terms(account_id, items=[plan, item("hosting", "20.00", 2)], **addressees)
    edit = c.command(EditDraft, agent.party, order_id=order_id, terms=terms)
    await accepted(system, ORDERS, edit, "DraftEdited")
    again = await accepted(
        system, ORDERS, c.command(PlaceOrder, agent.party, order_id=order_id), "OrderPlaced"
    )

    # left pending past the target, the approval is overdue: a signal, the order
    # stays in progress; the first placing's deadline was cancelled and never fires.
    [overdue] = await wait_for(system, order_id, "ApprovalOverdue", timeout=30)
    assert overdue["status"] == "in_progress"
    assert overdue["approval_due_at"] == again["approval_due_at"]
    found = await deadlines_of(system.db("timers"), str(order_id))  # type: ignore[arg-type]
    statuses = {d.deadline_id: d.status.value for d in found}
    assert statuses.keys() == {f"{order_id}:approval_overdue:{n}" for n in (0, 1)}
    assert statuses[f"{order_id}:approval_overdue:0"] == "cancelled"
    approve = c.command(ApproveOrder, c.APPROVER, order_id=order_id)
    assert (await accepted(system, ORDERS, approve, "OrderApproved"))["status"] == "approved"
    complete = c.command(CompleteOrder, agent.party, order_id=order_id)
    completed = await accepted(system, ORDERS, complete, "OrderCompleted")
    assert completed["total"] == {"amount": "340.00", "currency": "EUR"}

    # the receipt goes to the order's contact, the invoice to its bill-to.
    assert completed["receipt_to"]["email"] == email(buyer)
    assert completed["bill_to"]["email"] == email(finance)
    [receipt] = await wait_for_mail(system.maildir, email(buyer), "receipt")
    assert "Total: 340.00 EUR" in text_of(receipt)
    invoice = await billed_invoice(system, account_id, order_id)
    assert (invoice["client"]["id"], invoice["client"]["contact"]["email"]) == (
        account_id,
        email(finance),
    )
    [invoice_mail] = await wait_for_mail(system.maildir, email(finance), "invoice_issued")
    assert "Total: 340.00 EUR" in text_of(invoice_mail)
    assert [
        t for t in types_of(system, order_id, topics.ORDERS_EVENTS) if t != "OrderCommandRejected"
    ] == [
        "OrderCreated",
        "OrderPlaced",
        "ApprovalRefused",
        "DraftEdited",
        "OrderPlaced",
        "ApprovalOverdue",
        "OrderApproved",
        "OrderCompleted",
    ]
    await expect_templates(system.maildir, email(buyer), ["receipt"])
    await expect_templates(system.maildir, email(finance), ["invoice_issued"])
    await expect_templates(system.maildir, address, [])
