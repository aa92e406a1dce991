"""Which timers a ledger needs, derived from its state alone.

    state                          deadline        due at                          rule
    payment request `open`         payment_window  entering `payment` + 72 h       P-15
    payout `scheduled`             payout_release  service + 14 days (or paid)     P-18
    payout `processing`            payout_overdue  release + 5 business days       P-18
    claim `withdrawn`, request     claim_reopen_   withdrawal + reopen window      P-21
      `overdue`                    window

`evolve` keeps `Ledger.deadlines` equal to what `required` says, giving a timer a new
number whenever it opens again or its due time moves, so the id
`payments:{order_id}:{kind}:{n}` of a timer that no longer applies never matches again
(X-02). `requests` turns the change between two ledgers into schedule and cancel requests.
"""

from __future__ import annotations

from datetime import datetime

from contracts.payments import ClaimStatus, PayoutStatus, RequestStatus
from payments.domain.context import DeadlineRequest
from payments.domain.model import DeadlineKind, Ledger
from servicekit.deadlines import requests as windows

Kind = DeadlineKind


def required(ledger: Ledger) -> dict[DeadlineKind, datetime]:
    """The timers `ledger` waits for now, with their due times."""
    wanted: dict[DeadlineKind, datetime] = {}
    request, payout, claim = ledger.request, ledger.payout, ledger.claim
    if request is not None and request.status is RequestStatus.OPEN:
        wanted[Kind.PAYMENT_WINDOW] = request.due_at
    if (
        request is not None
        and request.status is RequestStatus.OVERDUE
        and claim is not None
        and claim.status is ClaimStatus.WITHDRAWN
        and claim.reopen_until is not None
    ):
        wanted[Kind.CLAIM_REOPEN] = claim.reopen_until
    if payout is not None and payout.status is PayoutStatus.SCHEDULED:
        wanted[Kind.PAYOUT_RELEASE] = payout.scheduled_for
    if payout is not None and payout.status is PayoutStatus.PROCESSING and not payout.overdue:
        wanted[Kind.PAYOUT_OVERDUE] = payout.expected_by
    return wanted


def requests(before: Ledger | None, after: Ledger) -> list[DeadlineRequest]:
    """What the timer service must be told for the ledger to go from `before` to `after`."""
    return windows(after.order_id, before.deadlines if before else (), after.deadlines)
