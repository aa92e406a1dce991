"""The authority matrix (docs/authority.md) holds for payments: every command, sent as
every role in every relation to the order, is refused `not_authorized` exactly where the
matrix says so. The matrix is read from the tables; these answers come from `decide`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from contracts.envelope import Party, Role
from contracts.payments import PAYMENT_COMMANDS, PaymentRejectionReason
from payments.domain import TABLES, DeadlineKind
from payments.domain.tables import PRIMARY
from tests.support.authority import check_matrix
from tests.unit.payments.payments_kit import (
    CUSTOMER,
    GATEWAY,
    SUPPLIER,
    Scenario,
    awaiting_payment,
    overdue,
    payment,
)

REASON = "the customer did not pay"


def _claimed() -> Scenario:
    sc = overdue()
    return sc.do(PAYMENT_COMMANDS.classes["OpenClaim"], SUPPLIER.party, reason=REASON)


def _withdrawn() -> Scenario:
    sc = _claimed()
    claim = sc.current.claim
    assert claim is not None
    return sc.do(PAYMENT_COMMANDS.classes["WithdrawClaim"], SUPPLIER.party, claim_id=claim.claim_id)


def _processing() -> Scenario:
    sc = awaiting_payment()
    sc.pay("60.00")
    sc.fire(DeadlineKind.PAYOUT_RELEASE)
    return sc


def _request_id(sc: Scenario) -> str:
    assert sc.current.request is not None
    return sc.current.request.request_id


def _claim_id(sc: Scenario) -> str:
    assert sc.current.claim is not None
    return sc.current.claim.claim_id


def _payout_id(sc: Scenario) -> str:
    assert sc.current.payout is not None
    return sc.current.payout.payout_id


#: For each command: a ledger in a status where the command has a row, and its fields.
CASES: dict[str, Callable[[], tuple[Scenario, dict[str, Any]]]] = {
    "RecordPayment": lambda: (awaiting_payment(), payment("60.00")),
    "RecordChargeFailure": lambda: (
        sc := awaiting_payment(),
        {"request_id": _request_id(sc), "failure_code": "card_declined"},
    ),
    "OpenClaim": lambda: (overdue(), {"reason": REASON}),
    "WithdrawClaim": lambda: (sc := _claimed(), {"claim_id": _claim_id(sc)}),
    "WriteOffClaim": lambda: (sc := _claimed(), {"claim_id": _claim_id(sc), "reason": REASON}),
    "ConfirmPayoutSent": lambda: (
        sc := _processing(),
        {"payout_id": _payout_id(sc), "reference": "tr-1"},
    ),
}
OWN: dict[Role, Party] = {Role.SUPPLIER: SUPPLIER.party, Role.CUSTOMER: CUSTOMER.party}


def test_every_payment_command_has_a_case() -> None:
    assert set(CASES) == set(PAYMENT_COMMANDS.names())


@pytest.mark.parametrize("name", sorted(CASES))
def test_X07_each_role_and_relation_gets_the_answer_the_matrix_gives(name: str) -> None:
    def send(who: Party) -> PaymentRejectionReason | None:
        sc, fields = CASES[name]()
        rejection = sc.decide(PAYMENT_COMMANDS.classes[name], who, **fields).rejection
        return None if rejection is None else PaymentRejectionReason(rejection.reason)

    check_matrix(
        TABLES[PRIMARY[name]],
        name,
        send,
        own=OWN,
        system=GATEWAY,
        not_authorized=PaymentRejectionReason.NOT_AUTHORIZED,
    )
