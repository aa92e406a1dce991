"""Which deadlines an order needs, derived from its state alone.

    status (flow)                       deadline        due at                  rule
    operator_review (managed)           review_overdue  submitted + 24 weekday h  M-04
    operator_review, client_confirm.    offer_expiry    offer valid until         M-09
    active, cancellation_requested      service_end     end of service period     M-16
    confirmation (postpaid)             confirmation_window  last edit + 24 h     P-02
    in_progress with a pending proposal proposal_lapse  min(+24 h, appointment)   P-09
    in_progress                         auto_done       appointment end + 72 h    P-12
    execution_confirmation              auto_confirm    service done + 5 days     P-13
    in_progress awaiting approval       approval_overdue  placed + approval target  A-13

The 72-hour payment window (P-15) and claims (P-16) belong to payments (X-05): ordering
only reacts to its results (`MarkOrderPaid`). Adding a row to `required` is all it takes
should ordering ever have to watch it.

`evolve` keeps `Order.deadlines` equal to what `required` says, giving a window a new
number whenever it opens again or its due time moves (an edit restarts P-02), so the id
`{order_id}:{kind}:{n}` of a window that no longer applies never matches again (X-02).
`requests` turns the change between two states into schedule and cancel requests.
"""

from __future__ import annotations

from datetime import datetime

from contracts.orders import OrderStatus
from ordering.domain.context import DeadlineRequest
from ordering.domain.model import (
    AccountDetails,
    DeadlineKind,
    ManagedDetails,
    Order,
    PostpaidDetails,
)
from servicekit.deadlines import requests as windows

Kind = DeadlineKind
S = OrderStatus


def required(order: Order) -> dict[DeadlineKind, datetime]:
    """The deadlines `order` waits for now, with their due times."""
    details = order.details
    wanted: dict[DeadlineKind, datetime | None] = {}
    status = order.status
    if isinstance(details, ManagedDetails):
        if status is S.OPERATOR_REVIEW and not details.review_overdue:
            wanted[Kind.REVIEW_OVERDUE] = details.review_due_at
        if status in (S.OPERATOR_REVIEW, S.CLIENT_CONFIRMATION):
            wanted[Kind.OFFER_EXPIRY] = details.terms.offer_valid_until
        if status in (S.ACTIVE, S.CANCELLATION_REQUESTED) and not details.service_ended:
            wanted[Kind.SERVICE_END] = details.service_ends_at
    elif isinstance(details, PostpaidDetails):
        if status is S.CONFIRMATION:
            wanted[Kind.CONFIRMATION_WINDOW] = details.respond_by
        if status is S.IN_PROGRESS:
            wanted[Kind.AUTO_DONE] = details.auto_done_at
            if details.proposal is not None:
                wanted[Kind.PROPOSAL_LAPSE] = details.proposal.lapses_at
        if status is S.EXECUTION_CONFIRMATION:
            wanted[Kind.AUTO_CONFIRM] = details.confirm_by
    else:
        assert isinstance(details, AccountDetails)
        if status is S.IN_PROGRESS and details.needs_approval and not details.approval_overdue:
            wanted[Kind.APPROVAL_OVERDUE] = details.approval_due_at
    return {kind: due for kind, due in wanted.items() if due is not None}


def requests(before: Order | None, after: Order) -> list[DeadlineRequest]:
    """What the timer service must be told for the order to go from `before` to `after`."""
    return windows(after.order_id, before.deadlines if before else (), after.deadlines)
