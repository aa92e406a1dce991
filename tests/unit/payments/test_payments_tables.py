"""The tables are the single source of truth: every status, command and timer of
payments has its rows, and the tables refuse to contradict themselves."""

from __future__ import annotations

import pytest

from contracts.envelope import Role
from contracts.payments import (
    PAYMENT_COMMANDS,
    ClaimStatus,
    PayoutStatus,
    RecordPayment,
    RequestStatus,
)
from payments.domain import PRIMARY, TABLES, DeadlineKind, Entity, TableError
from payments.domain.requests import record_payment
from servicekit.tables import Table, deadline_trigger, on


def test_X05_every_status_of_the_contracts_is_in_its_table() -> None:
    assert set(TABLES[Entity.REQUEST].statuses) == set(RequestStatus)
    assert set(TABLES[Entity.CLAIM].statuses) == set(ClaimStatus)
    assert set(TABLES[Entity.PAYOUT].statuses) == set(PayoutStatus)


def test_X07_every_command_and_every_timer_has_exactly_one_entity_it_is_about() -> None:
    for name in PAYMENT_COMMANDS.names():
        assert name in PRIMARY, name
    for kind in DeadlineKind:
        assert deadline_trigger(kind) in PRIMARY
    assert PRIMARY["ExecutionConfirmed"] is Entity.REQUEST
    assert PRIMARY["OrderCancelled"] is Entity.REQUEST


def test_X05_paid_claims_and_payouts_are_terminal() -> None:
    assert RequestStatus.PAID in TABLES[Entity.REQUEST].terminal
    assert TABLES[Entity.CLAIM].terminal == {
        ClaimStatus.PAID,
        ClaimStatus.WRITTEN_OFF,
        ClaimStatus.LAPSED,
    }
    assert TABLES[Entity.PAYOUT].terminal == {PayoutStatus.PAID}


def test_P16_claims_are_opened_by_suppliers_and_written_off_by_staff_only() -> None:
    claims = TABLES[Entity.CLAIM]
    opened = claims.row(None, "OpenClaim")
    write_off = claims.row(ClaimStatus.OPENED, "WriteOffClaim")
    assert opened is not None and opened.roles == {Role.SUPPLIER}
    assert write_off is not None and Role.SUPPLIER not in write_off.roles


def test_a_table_with_a_pair_twice_is_refused() -> None:
    rows = on(RequestStatus.OPEN, RecordPayment, record_payment, by=Role.SYSTEM, rules="P-15")
    with pytest.raises(TableError):
        Table(Entity.REQUEST, tuple(RequestStatus), (*rows, *rows))


def test_a_table_leading_to_an_unknown_status_is_refused() -> None:
    rows = on(RequestStatus.OPEN, RecordPayment, record_payment, by=Role.SYSTEM,
              rules="P-15", to=ClaimStatus.WITHDRAWN)  # fmt: skip
    with pytest.raises(TableError):
        Table(Entity.REQUEST, tuple(RequestStatus), rows)
