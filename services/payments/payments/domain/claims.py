"""Claims: the supplier's demand for an overdue payment (Rules P-16, P-21). The TABLE
at the bottom is a claim's lifecycle.

    OpenClaim      only once the payment window has passed unpaid (`too_early` before);
                   after a withdrawal, a new claim within the reopen window
    WithdrawClaim  the supplier drops it; a new claim may be opened within the window
    WriteOffClaim  platform staff give the debt up: the request is written off too,
                   and ordering is told the money is finally not collected (P-21)
    after the reopen window  a withdrawn claim not opened again lapses: the same (P-21)
    RecordPayment  a payment that settles the request pays the open claim
"""

from __future__ import annotations

from typing import Any

from contracts.envelope import Role
from contracts.payments import (
    ClaimLapsed,
    ClaimOpened,
    ClaimPaid,
    ClaimStatus,
    ClaimWithdrawn,
    ClaimWrittenOff,
    OpenClaim,
    PaymentRejectionReason,
    RecordPayment,
    RequestStatus,
    WithdrawClaim,
    WriteOffClaim,
)
from payments.domain.context import (
    STAFF,
    DeadlineFired,
    Effect,
    Outcome,
    Rejection,
    Step,
    mark_order_unpaid,
    refuse,
)
from payments.domain.model import Claim, DeadlineKind, Entity, Ledger
from servicekit.decisions import carry
from servicekit.tables import Table, Via, after, follows, on

S = ClaimStatus
R = PaymentRejectionReason


def claim_id(ledger: Ledger, number: int) -> str:
    return f"{ledger.order_id}:claim:{number}"


def open_claim(ledger: Ledger, cmd: OpenClaim, step: Step) -> Outcome:
    """The supplier opens a claim, once the payment window has passed unpaid and not
    before (Rule P-16)."""
    request = ledger.request
    if request is None:
        return refuse(R.NO_PAYMENT_REQUEST, "nothing is owed for this order")
    if request.status is RequestStatus.OPEN:
        due = request.due_at.isoformat()
        return refuse(R.TOO_EARLY, f"the customer may pay until {due}: no claim before then")
    if request.status is not RequestStatus.OVERDUE:
        return refuse(R.NOT_ALLOWED_IN_STATUS, f"the payment request is {request.status.value}")
    withdrawn = ledger.claim
    if withdrawn is not None and withdrawn.reopen_until and step.now >= withdrawn.reopen_until:
        until = withdrawn.reopen_until.isoformat()
        return refuse(R.NOT_ALLOWED_IN_STATUS, f"a claim could be opened again until {until}")
    number = len(ledger.claims) + 1
    return [
        ClaimOpened(
            **step.stamp(claim_id=claim_id(ledger, number), status=S.OPENED, number=number),
            **carry(ledger.facts, "supplier customer"),
            request_id=request.request_id,
            amount=request.outstanding,
            reason=cmd.reason,
        )
    ]


def withdraw_claim(ledger: Ledger, cmd: WithdrawClaim, step: Step) -> Outcome:
    """The supplier withdraws the open claim; it may open one again until the reopen
    window passes (Rules P-16, P-21)."""
    claim = _current(ledger, cmd.claim_id)
    if isinstance(claim, Rejection):
        return claim
    return [
        ClaimWithdrawn(
            **_about(ledger, claim, S.WITHDRAWN, step),
            reason=cmd.reason,
            reopen_until=step.now + step.ctx.claim_reopen_window,
        )
    ]


def write_off_claim(ledger: Ledger, cmd: WriteOffClaim, step: Step) -> Outcome:
    """Platform staff write the claim off, and with it what is outstanding; the order
    waiting in `payment` ends unpaid (Rules P-16, P-21)."""
    claim = _current(ledger, cmd.claim_id)
    if isinstance(claim, Rejection):
        return claim
    request = ledger.request
    assert request is not None, "a claim is about a payment request"
    effects: list[Effect] = [
        ClaimWrittenOff(
            **_about(ledger, claim, S.WRITTEN_OFF, step),
            request_id=request.request_id,
            amount=request.outstanding,
            reason=cmd.reason,
        )
    ]
    if not request.automatic:
        effects.append(mark_order_unpaid(step, claim.claim_id, "claim_written_off"))
    return effects


def lapse(ledger: Ledger, fired: DeadlineFired, step: Step) -> Outcome:
    """The withdrawn claim was not opened again within the reopen window: the debt is
    given up and the order waiting in `payment` ends unpaid (Rule P-21)."""
    claim, request = ledger.claim, ledger.request
    assert claim is not None and request is not None, "the deadline is a withdrawn claim's"
    assert claim.reopen_until is not None, "only a claim withdrawn with a window lapses"
    effects: list[Effect] = [
        ClaimLapsed(
            **_about(ledger, claim, S.LAPSED, step),
            request_id=request.request_id,
            amount=request.outstanding,
            reopen_until=claim.reopen_until,
            customer=ledger.facts.customer,
        )
    ]
    if not request.automatic:
        effects.append(mark_order_unpaid(step, claim.claim_id, "claim_withdrawn"))
    return effects


def paid_by(ledger: Ledger, payment_id: str, step: Step) -> list[Effect]:
    """The open claim is paid by the payment that settled the request (Rule P-16)."""
    claim = ledger.claim
    if claim is None or claim.status is not S.OPENED:
        return []
    return [
        ClaimPaid(**_about(ledger, claim, S.PAID, step), payment_id=payment_id, amount=claim.amount)
    ]


def _about(ledger: Ledger, claim: Claim, status: S, step: Step) -> dict[str, Any]:
    """What every event of a claim's says first: the claim, its new status, the supplier."""
    return step.stamp(claim_id=claim.claim_id, status=status, supplier=ledger.facts.supplier)


def _current(ledger: Ledger, wanted: str) -> Claim | Rejection:
    claim = ledger.claim
    if claim is None or claim.claim_id != wanted:
        return refuse(R.UNKNOWN_CLAIM, f"{wanted} is not the order's current claim")
    return claim


# fmt: off
TABLE: Table[S] = Table(
    name=Entity.CLAIM,
    statuses=(S.OPENED, S.PAID, S.WITHDRAWN, S.WRITTEN_OFF, S.LAPSED),
    ends=frozenset({S.PAID, S.WRITTEN_OFF, S.LAPSED}),
    staff=STAFF,
    missing=R.UNKNOWN_CLAIM,
    rows=(
        *on((None, S.WITHDRAWN), OpenClaim, open_claim, by=Role.SUPPLIER, to=S.OPENED,
            rules="P-16 P-21", guard="the payment request is overdue; after a withdrawal, a "
            "new claim within the reopen window"),
        *on(S.OPENED, WithdrawClaim, withdraw_claim, by=Role.SUPPLIER, to=S.WITHDRAWN,
            rules="P-16"),
        *on(S.OPENED, WriteOffClaim, write_off_claim, by=(Role.OPERATOR, Role.SYSTEM),
            to=S.WRITTEN_OFF, rules="P-16", guard="platform staff"),
        *follows(S.OPENED, RecordPayment, via=Via.COMMAND, by=Role.SYSTEM,
                 to=(S.OPENED, S.PAID), rules="P-16",
                 guard="paid when the payment settles the request"),
        *after(S.WITHDRAWN, DeadlineKind.CLAIM_REOPEN, lapse, to=S.LAPSED,
               rules="P-21", guard="not opened again: the order ends unpaid"),
    ),
)
# fmt: on
