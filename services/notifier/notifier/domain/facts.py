"""What the notifier keeps of an order: its parties and a summary, from ordering's events.

Only OrderCreated and DraftEdited name an order's parties with their contacts; later
events name a role (or nothing), and the email goes to the party these two named.
"""

from __future__ import annotations

from decimal import Decimal

from contracts.orders import (
    AccountTerms,
    DraftEdited,
    ManagedTerms,
    Money,
    OrderCreated,
    PostpaidTerms,
)
from notifier.domain.formatting import one_line
from notifier.domain.model import OrderFacts


def learn(event: OrderCreated | DraftEdited) -> OrderFacts:
    """The order's facts as of `event`: it restates every party, so it replaces them."""
    terms = event.terms
    title, total = "", None
    if isinstance(terms, ManagedTerms):
        title = terms.description
    elif isinstance(terms, PostpaidTerms):
        title = terms.service
    elif isinstance(terms, AccountTerms):
        amount = sum((i.unit_price * i.quantity for i in terms.items), Decimal(0))
        total = Money(amount=amount, currency=terms.currency)
    return OrderFacts(
        order_id=event.order_id,
        flow=event.flow,
        parties=tuple(event.parties),
        title=one_line(title),
        total=total,
    )
