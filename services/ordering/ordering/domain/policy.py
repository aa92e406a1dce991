"""The knobs of the order flows, with the seeds' values as defaults.

Every duration of the rules is configuration, never a literal in domain code, so that a
demo or an end-to-end test can run a 72-hour window in seconds. The service's config
builds a `Policy` from its environment.
"""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass
from datetime import UTC, date, timedelta, tzinfo

from servicekit.businessdays import NO_DAYS_OFF


@dataclass(frozen=True)
class Policy:
    #: M-04: operator review target, counted on weekdays only.
    review_target: timedelta = timedelta(hours=24)
    #: M-07: the least time a client must have to answer, from submission to offer end.
    min_client_confirmation: timedelta = timedelta(days=3)
    #: M-13: a "detailed" cancellation reason has at least this many characters.
    min_cancellation_reason: int = 20
    #: P-02: the other party's window to confirm or edit, restarted by every edit.
    confirmation_window: timedelta = timedelta(hours=24)
    #: P-09: a pending proposal lapses after this, or at the appointment start if sooner.
    proposal_lapse: timedelta = timedelta(hours=24)
    #: P-12: the service counts as done this long after the appointment's end.
    auto_done_after: timedelta = timedelta(hours=72)
    #: P-13: the customer's window to confirm the execution.
    auto_confirm_after: timedelta = timedelta(days=5)
    #: A-13: an approval still pending this long after the order was placed is overdue.
    approval_target: timedelta = timedelta(days=1)
    #: Where weekends (M-04) and service-period ends (M-16) are reckoned.
    business_tz: tzinfo = UTC
    #: M-04: days besides weekends that do not count (public holidays, built in config).
    days_off: Container[date] = NO_DAYS_OFF
