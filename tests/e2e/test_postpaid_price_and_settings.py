"""Post-paid orders end to end: a new price only by the customer's explicit acceptance
(P-19), and suppliers' settings stamped on the orders booked under them (P-11, P-14)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from contracts import topics
from contracts.envelope import SYSTEM, Role
from contracts.orders import (
    CancellationPolicy,
    CancelOrder,
    ConfirmOrder,
    CreateOrder,
    EditOrder,
    FeeTier,
    OrderParty,
    PostpaidTerms,
    TermsChange,
)
from contracts.suppliers import SetSupplierSettings
from orderflow import commands as c
from orderflow import scenarios
from orderflow.scenarios import eur
from tests.e2e.conftest import System
from tests.e2e.timeline import accepted, events, person, refused, send, wait_for

pytestmark = pytest.mark.timeout(180)

#: Long enough that the back-and-forth of P-19 never races the P-02 window.
EXTRA_ENV = {"ORDERFLOW_CONFIRMATION_WINDOW": "30"}

ORDERS = topics.ORDERS_COMMANDS
SUPPLIERS = topics.SUPPLIERS_COMMANDS
#: Cancelling inside 48 hours costs the whole price; the booked policy of the test.
STRICT = CancellationPolicy(tiers=[FeeTier(within_hours=48, percent=Decimal(100))])
#: Only the last hour costs anything; the policy set after the booking.
LENIENT = CancellationPolicy(tiers=[FeeTier(within_hours=1, percent=Decimal(10))])


def money(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "EUR"}


def hours_ahead(hours: float) -> PostpaidTerms:
    start = datetime.now(UTC) + timedelta(hours=hours)
    return c.postpaid_terms(appointment_start=start, appointment_end=start + timedelta(hours=1))


def booking(customer: OrderParty, supplier: OrderParty, order_id: uuid.UUID) -> CreateOrder:
    return scenarios.booking(customer, supplier, order_id, hours_ahead(2))


def settings(
    supplier: OrderParty, policy: CancellationPolicy, *, payment_stage: bool
) -> SetSupplierSettings:
    return c.command(
        SetSupplierSettings,
        SYSTEM,
        supplier_id=supplier.id,
        effective_from=datetime.now(UTC) - timedelta(seconds=1),
        payment_stage=payment_stage,
        cancellation_policy=policy,
    )


def policy_of(event: dict[str, Any]) -> CancellationPolicy | None:
    found = event["terms"]["cancellation_policy"]
    return None if found is None else CancellationPolicy.model_validate(found)


async def test_P19_a_new_price_is_refused_implicitly_then_accepted_explicitly_into_progress(
    system: System,
) -> None:
    customer, supplier = person(Role.CUSTOMER, system), person(Role.SUPPLIER, system)
    order_id = uuid.uuid4()
    await accepted(system, ORDERS, booking(customer, supplier, order_id), "OrderCreated")

    # The supplier raises the price: the event shows it pending, for the customer.
    raised = await scenarios.price_raised(system.bus, supplier, order_id)
    assert (raised["pending_price"], raised["awaiting"]) == (money("55.00"), "customer")

    # A counter-edit of the time implies nothing: the supplier still cannot start.
    later = datetime.now(UTC) + timedelta(hours=3)
    move = c.command(
        EditOrder,
        customer.party,
        order_id=order_id,
        changes=TermsChange(appointment_start=later, appointment_end=later + timedelta(hours=1)),
    )
    moved = await accepted(system, ORDERS, move, "OrderEdited")
    assert (moved["pending_price"], moved["awaiting"]) == (money("55.00"), "supplier")
    early = c.command(ConfirmOrder, supplier.party, order_id=order_id)
    await refused(system, ORDERS, early, "price_not_accepted")

    # Another price than the order's cannot be accepted; the order's one can.
    stale = c.command(
        EditOrder,
        customer.party,
        order_id=order_id,
        changes=TermsChange(payment_method="invoice"),
        accept_price=eur("50.00"),
    )
    await refused(system, ORDERS, stale, "stale_price")
    accept = c.command(
        EditOrder,
        customer.party,
        order_id=order_id,
        changes=TermsChange(payment_method="invoice"),
        accept_price=eur("55.00"),
    )
    agreed = await accepted(system, ORDERS, accept, "OrderEdited")
    assert (agreed["accepted_price"], agreed["pending_price"]) == (money("55.00"), None)

    confirm = c.command(ConfirmOrder, supplier.party, order_id=order_id)
    confirmed = await accepted(system, ORDERS, confirm, "OrderConfirmed")
    assert confirmed["status"] == "in_progress"
    assert (confirmed["terms"]["price"], confirmed["terms"]["payment_method"]) == (
        money("55.00"),
        "invoice",
    )


async def test_P11_P14_settings_are_kept_by_version_and_the_fee_follows_the_booked_policy(
    system: System,
) -> None:
    customer, supplier = person(Role.CUSTOMER, system), person(Role.SUPPLIER, system)
    other_customer = person(Role.CUSTOMER, system)
    booked_first, booked_later = uuid.uuid4(), uuid.uuid4()

    first = settings(supplier, STRICT, payment_stage=True)
    recorded = await accepted(system, SUPPLIERS, first, "SupplierSettingsSet")
    assert recorded["settings_id"] == str(first.message_id)
    created = await accepted(
        system, ORDERS, booking(customer, supplier, booked_first), "OrderCreated"
    )
    assert (policy_of(created), created["terms"]["payment_stage"]) == (STRICT, True)
    confirm = c.command(ConfirmOrder, supplier.party, order_id=booked_first)
    await accepted(system, ORDERS, confirm, "OrderConfirmed")

    # The supplier's settings change; the first command delivered again changes nothing.
    await send(system, SUPPLIERS, first)
    changed = settings(supplier, LENIENT, payment_stage=False)
    await accepted(system, SUPPLIERS, changed, "SupplierSettingsSet")
    versions = events(system, supplier.id, topics.SUPPLIERS_EVENTS, "SupplierSettingsSet")
    assert [v["settings_id"] for v in versions] == [str(first.message_id), str(changed.message_id)]
    stored = system.db("ordering")["supplier_settings"].find({"supplier_id": supplier.id})
    assert sorted([d["_id"] async for d in stored]) == sorted(
        [str(first.message_id), str(changed.message_id)]
    )

    # An order booked now takes the new version...
    created = await accepted(
        system, ORDERS, booking(other_customer, supplier, booked_later), "OrderCreated"
    )
    assert (policy_of(created), created["terms"]["payment_stage"]) == (LENIENT, False)

    # ...while the first keeps the one it was booked under: two hours ahead costs the whole
    # price under it (the new one would charge nothing, the default half).
    cancel = c.command(CancelOrder, customer.party, order_id=booked_first, reason="Plans changed")
    await accepted(system, ORDERS, cancel, "OrderCancelled")
    [assessed] = await wait_for(system, booked_first, "CancellationFeeAssessed", timeout=30)
    computation = assessed["computation"]
    assert CancellationPolicy.model_validate(computation["policy"]) == STRICT
    assert (computation["amount"], computation["policy_source"]) == (money("40.00"), "supplier")
    [charge] = await wait_for(system, booked_first, "ChargeRequested", timeout=30)
    assert (charge["purpose"], charge["amount"]) == ("cancellation_fee", money("40.00"))
