"""Suppliers' settings (P-11 cancellation policy, P-14 payment stage): every version kept,
the one in force at the booking stamped on the order, never changed by a later version."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from decimal import Decimal

from contracts.envelope import SYSTEM, Party, Role
from contracts.orders import (
    CancellationPolicy,
    ConfirmOrder,
    CreateOrder,
    FeeTier,
    OrderConfirmed,
    OrderCreated,
    PostpaidTerms,
    RejectionReason,
)
from contracts.suppliers import SetSupplierSettings, SupplierCommandRejected, SupplierSettingsSet
from ordering.domain.suppliers import SupplierSettings, in_force, settings_set
from tests.unit.ordering.ordering_kit import (
    CUSTOMER,
    SUPPLIER,
    T0,
    Scenario,
    context,
    postpaid_terms,
)

STRICT = CancellationPolicy(tiers=[FeeTier(within_hours=48, percent=Decimal(100))])
LENIENT = CancellationPolicy(tiers=[FeeTier(within_hours=2, percent=Decimal(10))])


def version(
    effective_from: datetime,
    *,
    payment_stage: bool = False,
    policy: CancellationPolicy | None = STRICT,
    supplier: str = SUPPLIER.id,
    recorded_at: datetime | None = None,
) -> SupplierSettings:
    return SupplierSettings(
        supplier_id=supplier,
        settings_id=str(uuid.uuid4()),
        effective_from=effective_from,
        payment_stage=payment_stage,
        cancellation_policy=policy,
        recorded_at=recorded_at or effective_from,
    )


def booked(*history: SupplierSettings, terms: PostpaidTerms | None = None) -> PostpaidTerms:
    sc = Scenario(context(supplier_settings=history))
    (event,) = sc.decide(
        CreateOrder,
        CUSTOMER.party,
        parties=[SUPPLIER, CUSTOMER],
        terms=terms or postpaid_terms(),
    ).events
    assert isinstance(event, OrderCreated) and isinstance(event.terms, PostpaidTerms)
    return event.terms


def set_command(actor: Party, supplier: str = SUPPLIER.id) -> SetSupplierSettings:
    return SetSupplierSettings(
        message_id=uuid.uuid4(),
        occurred_at=T0,
        correlation_id=uuid.uuid4(),
        actor=actor,
        supplier_id=supplier,
        effective_from=T0 + timedelta(days=1),
        payment_stage=False,
        cancellation_policy=STRICT,
    )


def test_P14_an_order_takes_the_payment_stage_of_the_supplier_s_settings_in_force() -> None:
    terms = booked(version(T0 - timedelta(days=1), payment_stage=False))
    assert terms.payment_stage is False


def test_P14_an_order_that_states_its_payment_stage_keeps_it() -> None:
    stated = postpaid_terms(payment_stage=True)
    terms = booked(version(T0 - timedelta(days=1), payment_stage=False), terms=stated)
    assert terms.payment_stage is True
    assert terms.cancellation_policy == STRICT


def test_P14_without_supplier_settings_an_order_has_a_payment_stage_and_no_policy() -> None:
    terms = booked(version(T0 - timedelta(days=1), supplier="supplier-other"))
    assert (terms.payment_stage, terms.cancellation_policy) == (True, None)


def test_P11_the_order_carries_the_supplier_s_cancellation_policy_in_force() -> None:
    terms = booked(
        version(T0 - timedelta(days=10), policy=LENIENT),
        version(T0 - timedelta(days=1), policy=STRICT),
    )
    assert terms.cancellation_policy == STRICT


def test_P11_a_version_effective_after_the_booking_does_not_apply_to_it() -> None:
    terms = booked(
        version(T0 - timedelta(days=10), policy=LENIENT),
        version(T0 + timedelta(seconds=1), policy=STRICT),
    )
    assert terms.cancellation_policy == LENIENT


def test_P11_a_later_change_does_not_alter_an_order_booked_before_it() -> None:
    sc = Scenario(context(supplier_settings=(version(T0 - timedelta(days=1), policy=LENIENT),)))
    sc.do(CreateOrder, CUSTOMER.party, parties=[SUPPLIER, CUSTOMER], terms=postpaid_terms())
    sc.ctx = context(
        supplier_settings=(
            version(T0 - timedelta(days=1), policy=LENIENT),
            version(T0 + timedelta(minutes=5), policy=STRICT),
        )
    )
    (event,) = sc.later(timedelta(hours=1)).decide(ConfirmOrder, SUPPLIER.party).events
    assert isinstance(event, OrderConfirmed)
    assert event.terms.cancellation_policy == LENIENT


def test_P11_of_two_versions_from_one_moment_the_later_recorded_wins() -> None:
    moment = T0 - timedelta(days=1)
    history = (
        version(moment, policy=STRICT, recorded_at=T0 - timedelta(hours=1)),
        version(moment, policy=LENIENT, recorded_at=T0 - timedelta(hours=2)),
    )
    found = in_force(history, SUPPLIER.id, T0)
    assert found is not None and found.cancellation_policy == STRICT


def test_P11_a_booking_may_not_state_the_cancellation_policy_itself() -> None:
    sc = Scenario()
    rejection = sc.decide(
        CreateOrder,
        CUSTOMER.party,
        parties=[SUPPLIER, CUSTOMER],
        terms=postpaid_terms(cancellation_policy=LENIENT),
    ).rejection
    assert rejection is not None and rejection.reason is RejectionReason.INVALID


def test_P11_the_platform_or_the_supplier_itself_sets_the_settings() -> None:
    for actor in (SYSTEM, SUPPLIER.party):
        answer = settings_set(set_command(actor), T0)
        assert isinstance(answer, SupplierSettingsSet)
        assert (answer.supplier_id, answer.payment_stage) == (SUPPLIER.id, False)
        assert answer.cancellation_policy == STRICT


def test_P11_another_supplier_cannot_set_a_supplier_s_settings() -> None:
    answer = settings_set(set_command(Party(id="supplier-2", role=Role.SUPPLIER)), T0)
    assert isinstance(answer, SupplierCommandRejected)
    assert answer.reason == "not_authorized" and answer.supplier_id == SUPPLIER.id


def test_P11_a_redelivered_command_gets_the_same_answer_id() -> None:
    command = set_command(SYSTEM)
    first, again = settings_set(command, T0), settings_set(command, T0 + timedelta(minutes=1))
    assert first.message_id == again.message_id
    assert isinstance(first, SupplierSettingsSet) and first.settings_id == str(command.message_id)


def test_P11_supplier_messages_are_keyed_by_the_supplier() -> None:
    assert set_command(SYSTEM).kafka_key() == SUPPLIER.id.encode()
