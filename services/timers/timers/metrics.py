"""The timer service's Prometheus metrics (served by servicekit from the default registry)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

SCHEDULED = Counter(
    "timers_deadlines_scheduled",
    "Deadlines scheduled or rescheduled (a new generation).",
    ["owner"],
)
CANCELLED = Counter(
    "timers_deadlines_cancelled", "Deadlines cancelled before they fired.", ["owner"]
)
REJECTED = Counter("timers_commands_rejected", "Timer commands refused, by reason.", ["reason"])
FIRED = Counter(
    "timers_deadlines_fired", "Expiries published, by owner and kind.", ["owner", "kind"]
)
FIRED_LATE = Counter(
    "timers_deadlines_fired_late", "Expiries later than the tolerance (after downtime, X-03)."
)
PENDING = Gauge(
    "timers_deadlines_pending",
    "Deadlines waiting to fire (approximate: counted as the cleanup reads the directory).",
)
LATENESS = Histogram(
    "timers_lateness_seconds",
    "How long after its due time a deadline fired.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 15.0, 60.0, 300.0, 3600.0),
)
CLAIM_SECONDS = Histogram(
    "timers_claim_seconds",
    "Time to claim one batch of due deadlines.",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
CLAIM_ERRORS = Counter("timers_claim_errors", "Claims that failed on a store error.")
CLAIM_CONFLICTS = Counter(
    "timers_claim_conflicts", "Claims lost to another replica, or to a cancel or reschedule."
)
PUBLISH_ERRORS = Counter("timers_publish_errors", "Expiries that failed to publish (retried).")
MAINTENANCE_ERRORS = Counter(
    "timers_maintenance_errors", "Failed rounds of reading ahead, cascading or sweeping."
)
CLEANED = Counter("timers_records_cleaned", "Directory records removed after the retention.")
