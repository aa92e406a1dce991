"""Claims (P-16): once the payment window has passed unpaid, and not before, the
supplier may open a claim; it is paid, withdrawn or written off."""

from __future__ import annotations

from datetime import timedelta

from contracts.envelope import Party, Role
from contracts.orders import MarkOrderPaid
from contracts.payments import (
    ClaimOpened,
    ClaimPaid,
    ClaimStatus,
    ClaimWithdrawn,
    ClaimWrittenOff,
    OpenClaim,
    PaymentRejectionReason,
    RequestStatus,
    WithdrawClaim,
    WriteOffClaim,
)
from payments.domain import DeadlineKind
from tests.unit.payments.payments_kit import (
    CUSTOMER,
    GATEWAY,
    OPERATOR,
    SUPPLIER,
    Scenario,
    awaiting_payment,
    eur,
    in_progress,
    overdue,
)

R = PaymentRejectionReason
S = ClaimStatus
REASON = "The customer has not paid for the lesson"


def open_claim(sc: Scenario, actor: Party = SUPPLIER.party) -> ClaimOpened:
    decision = sc.decide(OpenClaim, actor, reason=REASON)
    assert decision.rejection is None, decision.rejection
    (event,) = decision.events
    assert isinstance(event, ClaimOpened)
    return event


def test_P16_no_claim_while_the_payment_window_is_open() -> None:
    sc = awaiting_payment().later(timedelta(hours=71))
    rejection = sc.decide(OpenClaim, SUPPLIER.party, reason=REASON).rejection
    assert rejection is not None and rejection.reason is R.TOO_EARLY
    assert sc.current.claims == ()


def test_P16_no_claim_when_nothing_is_owed() -> None:
    rejection = in_progress().decide(OpenClaim, SUPPLIER.party, reason=REASON).rejection
    assert rejection is not None and rejection.reason is R.NO_PAYMENT_REQUEST


def test_P16_once_the_window_passed_unpaid_the_supplier_may_open_a_claim() -> None:
    sc = overdue()
    sc.pay("10.00")
    event = open_claim(sc)
    assert (event.status, event.number, event.amount) == (S.OPENED, 1, eur("50.00"))
    assert event.supplier == SUPPLIER and event.customer == CUSTOMER
    assert event.reason == REASON


def test_P16_only_the_orders_own_supplier_may_open_a_claim() -> None:
    sc = overdue()
    for actor in (Party(id="supplier-2", role=Role.SUPPLIER), CUSTOMER.party):
        rejection = sc.decide(OpenClaim, actor, reason=REASON).rejection
        assert rejection is not None and rejection.reason is R.NOT_AUTHORIZED
    rejection = sc.decide(OpenClaim, OPERATOR, reason=REASON).rejection
    assert rejection is not None and rejection.reason is R.NOT_AUTHORIZED


def test_P16_one_claim_at_a_time() -> None:
    sc = overdue()
    open_claim(sc)
    rejection = sc.decide(OpenClaim, SUPPLIER.party, reason=REASON).rejection
    assert rejection is not None and rejection.reason is R.NOT_ALLOWED_IN_STATUS


def test_P16_a_payment_that_settles_the_request_pays_the_claim() -> None:
    sc = overdue()
    claim = open_claim(sc)
    decision = sc.pay("60.00")
    paid = [e for e in decision.events if isinstance(e, ClaimPaid)]
    assert len(paid) == 1 and paid[0].claim_id == claim.claim_id
    assert paid[0].status is S.PAID and paid[0].supplier == SUPPLIER
    assert any(isinstance(c, MarkOrderPaid) for c in decision.commands)
    current = sc.current.claim
    assert current is not None and current.status is S.PAID


def test_P16_a_partial_payment_leaves_the_claim_open() -> None:
    sc = overdue()
    open_claim(sc)
    decision = sc.pay("20.00")
    assert [e.type for e in decision.events] == ["PaymentReceived"]
    current = sc.current.claim
    assert current is not None and current.status is S.OPENED


def test_P16_the_supplier_may_withdraw_the_claim_and_open_a_new_one_later() -> None:
    sc = overdue()
    first = open_claim(sc)
    (withdrawn,) = sc.decide(WithdrawClaim, SUPPLIER.party, claim_id=first.claim_id).events
    assert isinstance(withdrawn, ClaimWithdrawn) and withdrawn.status is S.WITHDRAWN
    second = open_claim(sc)
    assert second.number == 2 and second.claim_id != first.claim_id
    stale = sc.decide(WithdrawClaim, SUPPLIER.party, claim_id=first.claim_id).rejection
    assert stale is not None and stale.reason is R.UNKNOWN_CLAIM


def test_P16_platform_staff_write_a_claim_off_and_the_debt_with_it() -> None:
    sc = overdue()
    claim = open_claim(sc)
    by_supplier = sc.decide(WriteOffClaim, SUPPLIER.party, claim_id=claim.claim_id, reason="x")
    assert by_supplier.rejection is not None
    assert by_supplier.rejection.reason is R.NOT_AUTHORIZED
    (event,) = sc.decide(
        WriteOffClaim, OPERATOR, claim_id=claim.claim_id, reason="Customer unreachable"
    ).events
    assert isinstance(event, ClaimWrittenOff)
    assert (event.status, event.amount) == (S.WRITTEN_OFF, eur("60.00"))
    request = sc.current.request
    assert request is not None and request.status is RequestStatus.WRITTEN_OFF


def test_P16_money_that_arrives_after_a_write_off_is_recovered_not_lost() -> None:
    sc = overdue()
    claim = open_claim(sc)
    sc.decide(WriteOffClaim, GATEWAY, claim_id=claim.claim_id, reason="Given up")
    decision = sc.pay("60.00")
    assert "PaymentSettled" in [e.type for e in decision.events]
    assert "ClaimPaid" not in [e.type for e in decision.events]
    request = sc.current.request
    assert request is not None and request.status is RequestStatus.PAID


def test_P16_claim_commands_without_a_claim_are_refused_as_unknown_claim() -> None:
    sc = overdue()
    rejection = sc.decide(WithdrawClaim, SUPPLIER.party, claim_id="nope").rejection
    assert rejection is not None and rejection.reason is R.UNKNOWN_CLAIM


def test_P16_no_claim_once_the_request_is_paid() -> None:
    sc = overdue()
    sc.pay("60.00")
    rejection = sc.decide(OpenClaim, SUPPLIER.party, reason=REASON).rejection
    assert rejection is not None and rejection.reason is R.NOT_ALLOWED_IN_STATUS
    assert sc.current.open_deadline(DeadlineKind.PAYMENT_WINDOW) is None
