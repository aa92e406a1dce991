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

import httpx

from contracts import topics
from contracts.orders import (
    ConfirmAsClient,
    ConfirmOrder,
    CreateOrder,
    EditOrder,
    LeaveReview,
    Money,
    SubmitOrder,
    TermsChange,
)
from contracts.payments import RecordPayment
from orderflow import commands as c
from orderflow.bus import Bus
from orderflow.launcher import GATEWAY_API_PORT

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
    await bus.send(
        topics.ORDERS_COMMANDS,
        c.command(
            CreateOrder,
            member.party,
            flow,
            order_id=order_id,
            parties=[member, client],
            terms=c.managed_terms(),
        ),
        c.command(SubmitOrder, member.party, flow, order_id=order_id),
        c.command(ConfirmOrder, c.OPERATOR, flow, order_id=order_id),
    )
    sent = await bus.wait_for(order_id, ["OrderSentToClient"])
    token = str(sent.body["confirmation_token"])
    if not await confirm_on_the_page(order_id, token):
        await bus.send(
            topics.ORDERS_COMMANDS,
            c.command(ConfirmAsClient, client.party, flow, order_id=order_id, token=token),
        )
    done = await bus.wait_for(order_id, ["OrderActivated", "OrderCommandRejected"])
    return (
        f"managed order {str(order_id)[:8]}: {done.body.get('status') or done.body.get('reason')}"
    )


async def postpaid_nobody_confirms(bus: Bus) -> str:
    """P-02: the supplier never answers; the order is cancelled when the window passes."""
    order_id = uuid.uuid4()
    customer, supplier = c.customer(), c.supplier()
    await bus.send(
        topics.ORDERS_COMMANDS,
        c.command(
            CreateOrder,
            customer.party,
            order_id=order_id,
            parties=[customer, supplier],
            terms=c.postpaid_terms(),
        ),
    )
    done = await bus.wait_for(order_id, ["OrderCancelled"], timeout=90)
    return f"post-paid order {str(order_id)[:8]}: {done.body['status']} (nobody confirmed in time)"


async def postpaid_without_payment_stage_runs_by_itself(bus: Bus) -> str:
    """P-06, P-12, P-13, P-14 (seed 004): confirmed, then done and confirmed automatically;
    closed at once, and the price captured as the payment gateway does it."""
    order_id = uuid.uuid4()
    customer, supplier = c.customer("2"), c.supplier("2")
    now = datetime.now(UTC)
    terms = c.postpaid_terms(
        # Far enough ahead to still be in the future when ordering decides (a cold
        # producer's first send can take seconds), near enough to watch it pass.
        appointment_start=now + timedelta(seconds=15),
        appointment_end=now + timedelta(seconds=16),
        payment_stage=False,
    )
    await bus.send(
        topics.ORDERS_COMMANDS,
        c.command(
            CreateOrder,
            customer.party,
            order_id=order_id,
            parties=[customer, supplier],
            terms=terms,
        ),
        c.command(ConfirmOrder, supplier.party, order_id=order_id),
    )
    closed = await bus.wait_for(order_id, ["ExecutionConfirmed"], timeout=90)
    if closed.body.get("status") != "closed":
        return (
            f"post-paid order {str(order_id)[:8]}: {closed.body.get('status')} (no payment stage)"
        )
    await bus.send(
        topics.ORDERS_COMMANDS,
        c.command(
            LeaveReview,
            customer.party,
            order_id=order_id,
            service_rating=5,
            supplier_rating=5,
            text="Great",
        ),
    )
    # Seed 004 takes the payment automatically: payments asks the gateway to capture the
    # price (ChargeRequested) and the gateway reports the money (RecordPayment).
    charge = await bus.wait_for(order_id, ["ChargeRequested"], timeout=60)
    amount = charge.body["amount"]
    await bus.send(
        topics.PAYMENTS_COMMANDS,
        c.command(
            RecordPayment, c.GATEWAY, order_id=order_id, payment_id=f"capture-{order_id}",
            amount=Money(amount=Decimal(amount["amount"]), currency=amount["currency"]),
        ),
    )  # fmt: skip
    await bus.wait_for(order_id, ["PayoutScheduled"], timeout=60)
    return (
        f"post-paid order {str(order_id)[:8]}: closed (no payment stage), "
        f"{amount['amount']} {amount['currency']} captured, payout scheduled"
    )


async def postpaid_paid_closed_and_paid_out(bus: Bus) -> str:
    """P-06, P-12, P-13, P-15, P-18 (seed 001): done, confirmed, paid through the gateway."""
    order_id = uuid.uuid4()
    customer, supplier = c.customer("3"), c.supplier("3")
    start = datetime.now(UTC) + timedelta(seconds=15)
    terms = c.postpaid_terms(appointment_start=start, appointment_end=start + timedelta(seconds=1))
    await bus.send(
        topics.ORDERS_COMMANDS,
        c.command(
            CreateOrder,
            customer.party,
            order_id=order_id,
            parties=[customer, supplier],
            terms=terms,
        ),
        c.command(ConfirmOrder, supplier.party, order_id=order_id),
    )
    requested = await bus.wait_for(order_id, ["PaymentRequested"], timeout=90)
    amount = requested.body["amount"]
    await bus.send(
        topics.PAYMENTS_COMMANDS,
        c.command(
            RecordPayment, c.GATEWAY, order_id=order_id, payment_id=f"demo-{order_id}",
            amount=Money(amount=Decimal(amount["amount"]), currency=amount["currency"]),
        ),
    )  # fmt: skip
    await bus.wait_for(order_id, ["PayoutScheduled"], timeout=60)
    return f"post-paid order {str(order_id)[:8]}: paid {amount['amount']} {amount['currency']}, closed, payout scheduled"


async def postpaid_price_rise_accepted_explicitly(bus: Bus) -> str:
    """P-03, P-05, P-19 (seed 004): the supplier raises the price; the customer's counter-
    edit of the time does not accept it, so the supplier cannot start the work; the
    customer then accepts the price explicitly and the order is in progress."""
    order_id, flow = uuid.uuid4(), uuid.uuid4()
    customer, supplier = c.customer("4"), c.supplier("4")
    terms = c.postpaid_terms()
    await bus.send(
        topics.ORDERS_COMMANDS,
        c.command(
            CreateOrder,
            customer.party,
            flow,
            order_id=order_id,
            parties=[customer, supplier],
            terms=terms,
        ),
        c.command(
            EditOrder,
            supplier.party,
            flow,
            order_id=order_id,
            changes=TermsChange(price=Money(amount=Decimal("55.00"), currency="EUR")),
            comment="Two pianos to tune",
        ),
    )
    raised = await bus.wait_for(order_id, ["OrderEdited"])
    price = Money.model_validate(raised.body["pending_price"])
    later = terms.appointment_start + timedelta(hours=2)
    await bus.send(
        topics.ORDERS_COMMANDS,
        c.command(
            EditOrder,
            customer.party,
            flow,
            order_id=order_id,
            changes=TermsChange(appointment_start=later),
            comment="Can we make it later?",
        ),
        c.command(ConfirmOrder, supplier.party, flow, order_id=order_id),
    )
    refused = await bus.wait_for(order_id, ["OrderCommandRejected"])
    await bus.send(
        topics.ORDERS_COMMANDS,
        c.command(
            EditOrder,
            customer.party,
            flow,
            order_id=order_id,
            changes=TermsChange(appointment_start=later),
            comment="Later, and the new price is fine",
            accept_price=price,
        ),
        c.command(ConfirmOrder, supplier.party, flow, order_id=order_id),
    )
    confirmed = await bus.wait_for(order_id, ["OrderConfirmed"], timeout=60)
    agreed = confirmed.body["terms"]["price"]
    return (
        f"post-paid order {str(order_id)[:8]}: {confirmed.body['status']} at "
        f"{agreed['amount']} {agreed['currency']} (the supplier's confirmation was first "
        f"refused: {refused.body['reason']}; then the customer accepted the price)"
    )


SCENARIOS: list[Scenario] = [
    managed_confirmed_by_operator_and_client,
    postpaid_nobody_confirms,
    postpaid_without_payment_stage_runs_by_itself,
    postpaid_paid_closed_and_paid_out,
    postpaid_price_rise_accepted_explicitly,
]


async def play(bus: Bus, scenarios: list[Scenario] | None = None) -> list[str]:
    """Run the scenarios side by side; return one summary line each."""
    results = await asyncio.gather(
        *(s(bus) for s in scenarios or SCENARIOS), return_exceptions=True
    )
    return [r if isinstance(r, str) else f"scenario failed: {r!r}" for r in results]
