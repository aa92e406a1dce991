"""The demo: a handful of the seeds' scenarios, played as an upstream system plays them.

Each scenario publishes commands on the command topics and waits for the events that
answer them; every event of every order is printed as it arrives (the timeline, M-17).
The durations are the compressed ones of `launcher.DEMO_DURATIONS`.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx

from contracts.orders import (
    ConfirmOrder,
    EditOrder,
    LeaveReview,
    Money,
    OrderItem,
    PostpaidTerms,
    TermsChange,
)
from orderflow import commands as c
from orderflow import scenarios as s
from orderflow.bus import Bus
from orderflow.launcher import GATEWAY_API_PORT
from orderflow.scenarios import ORDERS

Scenario = Callable[[Bus], Awaitable[str]]

#: The gateway whose confirmation page the demo's client uses (`orderflow run`'s).
GATEWAY_URL = f"http://127.0.0.1:{GATEWAY_API_PORT}"


async def confirm_on_the_page(order_id: uuid.UUID, token: str) -> bool:
    """M-08 as a client does it: post the Confirm form of the gateway's confirmation page,
    whose link the notifier emails (the page sends ConfirmAsClient as the client).
    False when no gateway answers (the demo then publishes the command itself)."""
    form = {"order": str(order_id), "token": token, "decision": "confirm"}
    async with httpx.AsyncClient(base_url=GATEWAY_URL, timeout=30) as http:
        try:
            response = await http.post("/confirm", data=form)
        except httpx.TransportError:
            return False
    return response.status_code == 303  # sent; the page it redirects to shows the outcome


async def managed_confirmed_by_operator_and_client(bus: Bus) -> str:
    """M-03, M-05, M-08: submitted, confirmed by the operator, then by the client's link."""
    order_id, flow = uuid.uuid4(), uuid.uuid4()
    member, client = c.member(), c.client()
    terms = c.managed_terms()
    sent = await s.submitted_and_reviewed(bus, member, client, order_id, terms, flow=flow)
    token = str(sent["confirmation_token"])
    if await confirm_on_the_page(order_id, token):  # as the emailed link does
        done = (await bus.wait_for(order_id, ["OrderActivated", "OrderCommandRejected"])).body
    else:  # no gateway answering: the client's command, as upstream would send it
        done = await s.confirmed_by_client(bus, client, order_id, token, flow)
    return f"managed order {str(order_id)[:8]}: {done.get('status') or done.get('reason')}"


async def postpaid_nobody_confirms(bus: Bus) -> str:
    """P-02: the supplier never answers; the order is cancelled when the window passes."""
    order_id = uuid.uuid4()
    customer, supplier = c.customer(), c.supplier()
    booked = s.booking(customer, supplier, order_id, c.postpaid_terms())
    await s.accepted(bus, ORDERS, booked, "OrderCreated")
    done = await bus.wait_for(order_id, ["OrderCancelled"], timeout=90)
    return f"post-paid order {str(order_id)[:8]}: {done.body['status']} (nobody confirmed in time)"


def appointment_soon(**changes: Any) -> PostpaidTerms:
    """Far enough ahead to still be in the future when ordering decides (a cold producer's
    first send can take seconds), near enough to watch it pass."""
    start = datetime.now(UTC) + timedelta(seconds=15)
    return c.postpaid_terms(
        appointment_start=start, appointment_end=start + timedelta(seconds=1), **changes
    )


async def postpaid_without_payment_stage_runs_by_itself(bus: Bus) -> str:
    """P-06, P-12, P-13, P-14 (seed 004): confirmed, then done and confirmed automatically;
    closed at once, and the price captured as the payment gateway does it."""
    customer, supplier = c.customer("2"), c.supplier("2")
    terms = appointment_soon(payment_stage=False)
    order_id = await s.in_progress(bus, customer, supplier, terms)
    closed = await bus.wait_for(order_id, ["ExecutionConfirmed"], timeout=90)
    if closed.body.get("status") != "closed":
        return (
            f"post-paid order {str(order_id)[:8]}: {closed.body.get('status')} (no payment stage)"
        )
    review = c.command(
        LeaveReview,
        customer.party,
        order_id=order_id,
        service_rating=5,
        supplier_rating=5,
        text="Great",
    )
    await bus.send(ORDERS, review)
    # Seed 004 takes the payment automatically: payments asks the gateway to capture the
    # price (ChargeRequested) and the gateway reports the money (RecordPayment).
    amount = await s.pay_what_is_asked(bus, order_id, "ChargeRequested", f"capture-{order_id}")
    await bus.wait_for(order_id, ["PayoutScheduled"], timeout=60)
    return (
        f"post-paid order {str(order_id)[:8]}: closed (no payment stage), "
        f"{amount.amount} {amount.currency} captured, payout scheduled"
    )


async def postpaid_paid_closed_and_paid_out(bus: Bus) -> str:
    """P-06, P-12, P-13, P-15, P-18 (seed 001): done, confirmed, paid through the gateway."""
    customer, supplier = c.customer("3"), c.supplier("3")
    order_id = await s.in_progress(bus, customer, supplier, appointment_soon())
    amount = await s.pay_what_is_asked(
        bus, order_id, "PaymentRequested", f"demo-{order_id}", timeout=90
    )
    await bus.wait_for(order_id, ["PayoutScheduled"], timeout=60)
    return f"post-paid order {str(order_id)[:8]}: paid {amount.amount} {amount.currency}, closed, payout scheduled"


async def postpaid_price_rise_accepted_explicitly(bus: Bus) -> str:
    """P-03, P-05, P-19 (seed 004): the supplier raises the price; the customer's counter-
    edit of the time does not accept it, so the supplier cannot start the work; the
    customer then accepts the price explicitly and the order is in progress."""
    order_id, flow = uuid.uuid4(), uuid.uuid4()
    customer, supplier = c.customer("4"), c.supplier("4")
    terms = c.postpaid_terms()
    await s.accepted(
        bus, ORDERS, s.booking(customer, supplier, order_id, terms, flow), "OrderCreated"
    )
    raised = await s.price_raised(bus, supplier, order_id, flow=flow)
    price = Money.model_validate(raised["pending_price"])
    later = terms.appointment_start + timedelta(hours=2)
    move = c.command(
        EditOrder,
        customer.party,
        flow,
        order_id=order_id,
        changes=TermsChange(appointment_start=later),
        comment="Can we make it later?",
    )
    await s.accepted(bus, ORDERS, move, "OrderEdited")
    early = c.command(ConfirmOrder, supplier.party, flow, order_id=order_id)
    refused = await s.refused(bus, ORDERS, early, "price_not_accepted")
    accept = c.command(
        EditOrder,
        customer.party,
        flow,
        order_id=order_id,
        changes=TermsChange(appointment_start=later),
        comment="Later, and the new price is fine",
        accept_price=price,
    )
    await s.accepted(bus, ORDERS, accept, "OrderEdited")
    confirm = c.command(ConfirmOrder, supplier.party, flow, order_id=order_id)
    confirmed = await s.accepted(bus, ORDERS, confirm, "OrderConfirmed")
    agreed = confirmed["terms"]["price"]
    return (
        f"post-paid order {str(order_id)[:8]}: {confirmed['status']} at "
        f"{agreed['amount']} {agreed['currency']} (the supplier's confirmation was first "
        f"refused: {refused['reason']}; then the customer accepted the price)"
    )


async def account_order_approved_and_completed(bus: Bus) -> str:
    """A-01, A-06, A-07, A-10: the billing system opens an account; an agent's order of a
    plan that needs approval is configured, placed, approved and completed (a receipt)."""
    account_id, order_id = f"acc-{uuid.uuid4().hex[:8]}", uuid.uuid4()
    await s.opened_account(bus, account_id, f"billing-{account_id}@example.com")
    plan = OrderItem(
        product_id="support-plan", pricing_option="yearly", unit_price=Decimal("300.00")
    )
    done = await s.placed_approved_and_completed(
        bus, c.agent(), order_id, account_id, [plan], configure={0: {"tier": "gold"}}
    )
    total = done["total"]
    return (
        f"account order {str(order_id)[:8]}: {done['status']} after approval, "
        f"{total['amount']} {total['currency']}, receipt to the account's email"
    )


SCENARIOS: list[Scenario] = [
    managed_confirmed_by_operator_and_client,
    postpaid_nobody_confirms,
    postpaid_without_payment_stage_runs_by_itself,
    postpaid_paid_closed_and_paid_out,
    postpaid_price_rise_accepted_explicitly,
    account_order_approved_and_completed,
]


async def play(bus: Bus, scenarios: list[Scenario] | None = None) -> list[str]:
    """Run the scenarios side by side; return one summary line each."""
    results = await asyncio.gather(
        *(s(bus) for s in scenarios or SCENARIOS), return_exceptions=True
    )
    return [r if isinstance(r, str) else f"scenario failed: {r!r}" for r in results]
