"""Deadlines as an order's domain sees them: pure values, shared by ordering and payments.

    DeadlineFired      a deadline of this order fell due (the timer service's event)
    ScheduleDeadline   ask the timer service for a deadline  } what a decision returns;
    CancelDeadline     withdraw one                          } the handler sends commands

Pure (no I/O, no clock): the domains may import it (tests/unit/test_domain_purity.py).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class DeadlineFired:
    """The domain's view of the timer service's deadline-expired event (X-02, X-03)."""

    deadline_id: str
    kind: str
    order_id: uuid.UUID
    due_at: datetime
    message_id: uuid.UUID
    correlation_id: uuid.UUID | None = None


@dataclass(frozen=True)
class ScheduleDeadline:
    deadline_id: str
    order_id: uuid.UUID
    kind: str
    due_at: datetime


@dataclass(frozen=True)
class CancelDeadline:
    deadline_id: str
    order_id: uuid.UUID


DeadlineRequest = ScheduleDeadline | CancelDeadline
