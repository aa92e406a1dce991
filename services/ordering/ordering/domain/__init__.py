"""ordering's pure domain: three order flows as transition tables, `decide` and `evolve`.

    decide(order, command, now, ctx) -> Decision      a command's events, or a rejection
    on_deadline(order, fired, now, ctx) -> Decision   a fired deadline's events, or nothing
    evolve(order, event) -> Order                     fold one event into the state

    tables      managed (M-xx), postpaid (P-xx), account (A-xx); `flows.TABLES`
    deadlines   which windows each state needs; ids `{order_id}:{kind}:{n}`
    authority   who may act, `visible_to` for the read side
    tokens      the client's signed confirmation link (M-08)
    diagrams    docs/flows/*.md rendered from the tables

No I/O, no clock: time, ids, the secret and the snapshots come in as arguments.
"""

from ordering.domain.authority import visible_to
from ordering.domain.catalogue import AccountDirectory, AccountRecord, Catalogue, Product
from ordering.domain.context import Decision, DecisionContext, by_order
from ordering.domain.decide import decide, on_deadline
from ordering.domain.evolve import evolve, fold
from ordering.domain.flows import TABLES
from ordering.domain.model import DeadlineKind, Order, deadline_id
from ordering.domain.policy import Policy
from ordering.domain.tokens import ExpiredTokenError, InvalidTokenError, issue_token, verify_token
from servicekit.deadlines import CancelDeadline, DeadlineFired, DeadlineRequest, ScheduleDeadline
from servicekit.decisions import EventMismatchError

__all__ = [
    "TABLES",
    "AccountDirectory",
    "AccountRecord",
    "CancelDeadline",
    "Catalogue",
    "DeadlineFired",
    "DeadlineKind",
    "DeadlineRequest",
    "Decision",
    "DecisionContext",
    "EventMismatchError",
    "ExpiredTokenError",
    "InvalidTokenError",
    "Order",
    "Policy",
    "Product",
    "ScheduleDeadline",
    "by_order",
    "deadline_id",
    "decide",
    "evolve",
    "fold",
    "issue_token",
    "on_deadline",
    "verify_token",
    "visible_to",
]
