"""The steps of the seeds' scenarios, taken as an upstream system takes them: one set, played
by the demo (`orderflow.demo`) and called by the end-to-end tests, which add their checks.

    answer(bus, topic, message)        send; the first event it caused, or its rejection (X-07)
    accepted / refused                 `answer`, which must be that event / that reason
    managed_order, booking, account_order        a CreateOrder of each kind (M, P, A)
    submitted_and_reviewed             M-01, M-03, M-05: created, submitted, operator's answer
    confirmed_by_client                M-08: the client confirms with its link's token
    in_progress                        P-02, P-06: booked, confirmed by the supplier
    price_raised                       P-03: the supplier raises the price (P-19)
    gateway_payment, pay_what_is_asked the gateway's RecordPayment (P-15, seed 004's capture)
    opened_account                     A-01: opened upstream, registered by ordering
    placed_approved_and_completed      A-06, A-07: configured, placed, approved, completed

A step that gets another answer than the one its story needs raises `UnexpectedAnswerError`
(an `AssertionError`, so that a test reads it as a failed check).
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from contracts import topics
from contracts.envelope import Message
from contracts.orders import (
    ApproveOrder,
    CompleteOrder,
    ConfigureItem,
    ConfirmAsClient,
    ConfirmOrder,
    CreateOrder,
    EditOrder,
    ManagedTerms,
    Money,
    OrderItem,
    OrderParty,
    PlaceOrder,
    PostpaidTerms,
    SubmitOrder,
    TermsChange,
)
from contracts.payments import RecordPayment
from orderflow import commands as c
from orderflow.bus import Bus

ORDERS = topics.ORDERS_COMMANDS
PAYMENTS = topics.PAYMENTS_COMMANDS

Answer = dict[str, Any]


class UnexpectedAnswerError(AssertionError):
    """A command was answered otherwise than its scenario needs."""


def eur(amount: str | Decimal) -> Money:
    return Money(amount=Decimal(amount), currency="EUR")


async def answer(bus: Bus, topic: str, message: Message, timeout: float = 30.0) -> Answer:
    """Send `message` and return the first event it caused, or its rejection (X-07)."""
    await bus.send(topic, message)
    return (await bus.answer(message, timeout)).body


async def accepted(bus: Bus, topic: str, message: Message, expected: str) -> Answer:
    """Send `message`; its first event must be `expected`."""
    event = await answer(bus, topic, message)
    if event["type"] != expected:
        raise UnexpectedAnswerError(
            f"{message.type} answered {event['type']}: {event.get('reason')} {event.get('message')}"
        )
    return event


async def refused(bus: Bus, topic: str, message: Message, reason: str) -> Answer:
    """Send `message`; it must be rejected with `reason` (X-07)."""
    event = await answer(bus, topic, message)
    if not event["type"].endswith("CommandRejected"):
        raise UnexpectedAnswerError(f"{message.type} was accepted: {event}")
    if event["reason"] != reason:
        raise UnexpectedAnswerError(f"{message.type}: {event['reason']}: {event['message']}")
    return event


# Managed orders (seed 000): member, operator, client.


def managed_order(
    member: OrderParty,
    client: OrderParty,
    order_id: uuid.UUID,
    terms: ManagedTerms,
    flow: uuid.UUID | None = None,
) -> CreateOrder:
    return c.command(
        CreateOrder, member.party, flow, order_id=order_id, parties=[member, client], terms=terms
    )


async def submitted_and_reviewed(
    bus: Bus,
    member: OrderParty,
    client: OrderParty,
    order_id: uuid.UUID,
    terms: ManagedTerms,
    confirm: bool = True,
    flow: uuid.UUID | None = None,
) -> Answer:
    """M-01, M-03, M-05: created, submitted, confirmed by the operator (unless not
    `confirm`); the last answer (OrderSentToClient, or OrderActivated when M-06 skips the
    client)."""
    create = managed_order(member, client, order_id, terms, flow)
    await accepted(bus, ORDERS, create, "OrderCreated")
    submit = c.command(SubmitOrder, member.party, flow, order_id=order_id)
    submitted = await accepted(bus, ORDERS, submit, "OrderSubmitted")
    if not confirm:
        return submitted
    expected = "OrderActivated" if terms.skip_client_confirmation else "OrderSentToClient"
    review = c.command(ConfirmOrder, c.OPERATOR, flow, order_id=order_id)
    return await accepted(bus, ORDERS, review, expected)


async def confirmed_by_client(
    bus: Bus, client: OrderParty, order_id: uuid.UUID, token: str, flow: uuid.UUID | None = None
) -> Answer:
    """M-08: the client confirms with the token of its link (OrderSentToClient's): active."""
    confirm = c.command(ConfirmAsClient, client.party, flow, order_id=order_id, token=token)
    return await accepted(bus, ORDERS, confirm, "OrderActivated")


# Post-paid orders (seeds 001 and 004): customer, supplier, the payment gateway.


def booking(
    customer: OrderParty,
    supplier: OrderParty,
    order_id: uuid.UUID,
    terms: PostpaidTerms,
    flow: uuid.UUID | None = None,
) -> CreateOrder:
    return c.command(
        CreateOrder,
        customer.party,
        flow,
        order_id=order_id,
        parties=[customer, supplier],
        terms=terms,
    )


async def in_progress(
    bus: Bus,
    customer: OrderParty,
    supplier: OrderParty,
    terms: PostpaidTerms,
    order_id: uuid.UUID | None = None,
    flow: uuid.UUID | None = None,
) -> uuid.UUID:
    """P-02, P-06: booked by the customer and confirmed at once by the supplier."""
    order_id = order_id or uuid.uuid4()
    await accepted(bus, ORDERS, booking(customer, supplier, order_id, terms, flow), "OrderCreated")
    confirm = c.command(ConfirmOrder, supplier.party, flow, order_id=order_id)
    confirmed = await accepted(bus, ORDERS, confirm, "OrderConfirmed")
    if confirmed["status"] != "in_progress":
        raise UnexpectedAnswerError(f"confirmed into {confirmed['status']}, not in_progress")
    return order_id


async def price_raised(
    bus: Bus,
    supplier: OrderParty,
    order_id: uuid.UUID,
    price: str = "55.00",
    comment: str = "Two pianos to tune",
    flow: uuid.UUID | None = None,
) -> Answer:
    """P-03: the supplier raises the price before confirming; the customer's turn (P-19)."""
    raise_price = c.command(
        EditOrder,
        supplier.party,
        flow,
        order_id=order_id,
        changes=TermsChange(price=eur(price)),
        comment=comment,
    )
    return await accepted(bus, ORDERS, raise_price, "OrderEdited")


def gateway_payment(
    order_id: uuid.UUID, amount: Money | str, payment_id: str = ""
) -> RecordPayment:
    """The payment gateway reports money received for the order (once per `payment_id`)."""
    return c.command(
        RecordPayment,
        c.GATEWAY,
        order_id=order_id,
        payment_id=payment_id or f"pay-{order_id}",
        amount=eur(amount) if isinstance(amount, str) else amount,
    )


async def pay_what_is_asked(
    bus: Bus, order_id: uuid.UUID, asked_by: str, payment_id: str = "", timeout: float = 60.0
) -> Money:
    """P-15, P-14: once payments asks (`PaymentRequested`, or seed 004's `ChargeRequested`),
    the gateway pays the amount asked; returns it."""
    asked = await bus.wait_for(order_id, [asked_by], timeout=timeout)
    amount = Money.model_validate(asked.body["amount"])
    await bus.send(PAYMENTS, gateway_payment(order_id, amount, payment_id))
    return amount


# Account orders (seed 003): agent, approver, the billing system upstream.


async def opened_account(bus: Bus, account_id: str, address: str, timeout: float = 30.0) -> Answer:
    """A-01: the billing system opens an account; ordering has it once it answers
    `AccountRegistered` on accounts.answers."""
    opened = c.account_opened(account_id, address)
    await bus.send(topics.ACCOUNTS_EVENTS, opened)
    registered = (await bus.answer(opened, timeout)).body
    if registered["type"] != "AccountRegistered":
        raise UnexpectedAnswerError(f"account {account_id}: {registered}")
    return registered


def account_order(
    agent: OrderParty, order_id: uuid.UUID, account_id: str, **terms: Any
) -> CreateOrder:
    return c.command(
        CreateOrder,
        agent.party,
        order_id=order_id,
        parties=[agent],
        terms=c.account_terms(account_id, **terms),
    )


async def placed_approved_and_completed(
    bus: Bus,
    agent: OrderParty,
    order_id: uuid.UUID,
    account_id: str,
    items: list[OrderItem],
    configure: dict[int, dict[str, str]] | None = None,
    timeout: float = 30.0,
) -> Answer:
    """A-06, A-07: created, its items configured, placed, approved and completed, the
    commands sent at once as an agent's tool would queue them; the `OrderCompleted`."""
    await bus.send(
        ORDERS,
        account_order(agent, order_id, account_id, items=items),
        *(
            c.command(ConfigureItem, agent.party, order_id=order_id, line=line, values=values)
            for line, values in (configure or {}).items()
        ),
        c.command(PlaceOrder, agent.party, order_id=order_id),
        c.command(ApproveOrder, c.APPROVER, order_id=order_id),
        c.command(CompleteOrder, agent.party, order_id=order_id),
    )
    return (await bus.wait_for(order_id, ["OrderCompleted"], timeout=timeout)).body
