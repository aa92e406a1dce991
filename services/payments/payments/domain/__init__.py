"""payments' pure domain: the money side of post-paid orders, as three transition tables.

    decide(ledger, command, now, ctx) -> Decision         a command's events or a rejection
    on_order_event(ledger, event, now, ctx) -> Decision   what ordering's event means
    on_deadline(ledger, fired, now, ctx) -> Decision      a fired timer's events, or nothing
    evolve(ledger, event) -> Ledger                       fold one payment event
    track(ledger, order_event) -> Ledger | None           fold what ordering tells

    tables      the payment request (requests), the claim (claims), the payout (payouts)
    fees        the cancellation fee and how it was computed (P-11)
    money       exact amounts, rounding half up, fee and net that add up
    deadlines   which timers each ledger needs; ids `payments:{order_id}:{kind}:{n}`
    diagrams    the generated part of docs/payments.md

No I/O, no clock: time, ids and the policy come in as arguments.
"""

from payments.domain.context import PAYMENTS, Decision, DecisionContext
from payments.domain.decide import decide, may_act_on, on_deadline, on_order_event
from payments.domain.fees import cancellation_fee, policy_for
from payments.domain.model import Deadline, DeadlineKind, Entity, Ledger, Payout
from payments.domain.policy import DEFAULT_CANCELLATION_POLICY, Policy
from payments.domain.tables import PRIMARY, TABLES, status_of
from servicekit.deadlines import CancelDeadline, DeadlineFired, DeadlineRequest, ScheduleDeadline
from servicekit.tables import TableError

__all__ = [
    "DEFAULT_CANCELLATION_POLICY",
    "PAYMENTS",
    "PRIMARY",
    "TABLES",
    "CancelDeadline",
    "Deadline",
    "DeadlineFired",
    "DeadlineKind",
    "DeadlineRequest",
    "Decision",
    "DecisionContext",
    "Entity",
    "Ledger",
    "Payout",
    "Policy",
    "ScheduleDeadline",
    "TableError",
    "cancellation_fee",
    "decide",
    "may_act_on",
    "on_deadline",
    "on_order_event",
    "policy_for",
    "status_of",
]
