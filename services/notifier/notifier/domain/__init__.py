"""The notifier's pure domain: which event sends which email to whom, and a delivery's life.

    plan(event, facts, policy) -> [Email]     the emails an event asks for (CATALOGUE)
    learn(OrderCreated | DraftEdited)         the order's parties and summary (OrderFacts)
    next_try(policy, attempts, ...)           retry with backoff and jitter, or give up
    sent / failed                             the EmailSent / EmailFailed events

    notices     the table's shape; orders, invoicing, payments: its rows
    delivery    the delivery statuses as a table, the retry policy
    formatting  money exact to the cent, moments in the business's zone
    docs        docs/notifier.md's generated parts

No I/O, no clock, no randomness: time, the jitter's random number and the settings come
in as arguments.
"""

from notifier.domain.catalogue import CATALOGUE, cause_of, needs_facts, plan
from notifier.domain.delivery import (
    NOTIFIER,
    TABLE,
    Failure,
    GiveUp,
    Retry,
    RetryPolicy,
    backoff,
    failed,
    next_try,
    sent,
)
from notifier.domain.facts import learn
from notifier.domain.model import (
    Cause,
    Email,
    EmailPolicy,
    OrderFacts,
    Recipient,
)

__all__ = [
    "CATALOGUE",
    "NOTIFIER",
    "TABLE",
    "Cause",
    "Email",
    "EmailPolicy",
    "Failure",
    "GiveUp",
    "OrderFacts",
    "Recipient",
    "Retry",
    "RetryPolicy",
    "backoff",
    "cause_of",
    "failed",
    "learn",
    "needs_facts",
    "next_try",
    "plan",
    "sent",
]
