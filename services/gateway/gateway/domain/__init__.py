"""The gateway's pure core: the order view and its fold, access rules, answers, queues.

    view      OrderView, apply (the fold), Position
    rules     what each event does to flags and deadlines, as data
    access    Caller, may_see, may_send (the trust model, docs/gateway.md)
    answers   a command's answer from the events it caused (X-09)
    queues    the operator's and approver's queues, A-12's reports

Nothing here imports I/O, a clock or a framework (tests/unit/test_domain_purity.py).
"""

from gateway.domain.access import UPSTREAM, Caller, may_see, may_send, statuses_for
from gateway.domain.answers import ANSWERED_ON, Answer, Outcome, cause_of, idempotency_id, record
from gateway.domain.queues import approval_queue, report, review_queue
from gateway.domain.view import Entry, OrderView, Position, apply, order_of, seen

__all__ = [
    "ANSWERED_ON",
    "UPSTREAM",
    "Answer",
    "Caller",
    "Entry",
    "OrderView",
    "Outcome",
    "Position",
    "apply",
    "approval_queue",
    "cause_of",
    "idempotency_id",
    "may_see",
    "may_send",
    "order_of",
    "record",
    "report",
    "review_queue",
    "seen",
    "statuses_for",
]
