"""What a post-paid edit may change, the change made whole (P-03, P-04, P-09), and what
it leaves of the supplier's new price (P-19)."""

from __future__ import annotations

from datetime import datetime

from contracts.envelope import Role
from contracts.orders import Money, PostpaidTerms, RejectionReason, TermsChange
from ordering.domain.context import Rejection, refuse
from ordering.domain.model import PostpaidDetails, apply_change

R = RejectionReason

#: P-03, P-04: what each party may change.
EDITABLE = {
    Role.SUPPLIER: frozenset({"appointment_start", "appointment_end", "price"}),
    Role.CUSTOMER: frozenset({"appointment_start", "appointment_end", "payment_method"}),
}


def normalized_change(
    terms: PostpaidTerms, change: TermsChange, role: Role, now: datetime
) -> TermsChange | Rejection:
    """The change with both appointment ends set if either moves, or why it is refused
    (Rules P-03, P-04, P-09)."""
    given = set(change.model_dump(exclude_none=True))
    if not given:
        return refuse(R.INVALID, "the edit changes nothing")
    if forbidden := given - EDITABLE.get(role, frozenset()):
        fields = ", ".join(sorted(forbidden))
        return refuse(R.NOT_AUTHORIZED, f"a {role.value} cannot change {fields}")
    if change.price is not None and change.price.currency != terms.price.currency:
        return refuse(R.INVALID, f"the price must stay in {terms.price.currency}")
    if change.appointment_start is None and change.appointment_end is None:
        return change
    start = change.appointment_start or terms.appointment_start
    # Moving only the start keeps the appointment's length.
    end = change.appointment_end or terms.appointment_end + (start - terms.appointment_start)
    if problem := appointment_problem(start, end, now):
        return refuse(R.INVALID, problem)
    return change.model_copy(update={"appointment_start": start, "appointment_end": end})


def appointment_problem(start: datetime, end: datetime, now: datetime) -> str | None:
    if start <= now:
        return "the appointment must be in the future"
    if end <= start:
        return "the appointment must end after it starts"
    return None


def edited_prices(
    details: PostpaidDetails, change: TermsChange, accept_price: Money | None
) -> tuple[Money | None, Money | None] | Rejection:
    """Rule P-19: (the price still waiting for the customer after an edit in confirmation,
    the price the edit accepts). Only the customer's `accept_price`, equal to the price on
    the order, accepts a new price; the supplier withdraws one by editing the price back."""
    price = apply_change(details.terms, change).price
    agreed = details.agreed_price or details.terms.price
    accepted = None
    if accept_price is not None:
        if accept_price != price:
            return refuse(
                R.STALE_PRICE, f"the price on the order is {price.amount} {price.currency}"
            )
        accepted, agreed = (price if price != agreed else None), price
    return (None if price == agreed else price), accepted
