"""What ops watch of the notifier (X-08), on /metrics beside the runtime's own."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

EMAILS_SENT = Counter(
    "orderflow_emails_sent_total", "Emails the SMTP server accepted.", ["template"]
)
EMAILS_FAILED = Counter(
    "orderflow_emails_failed_total", "Emails given up on (EmailFailed).", ["template", "reason"]
)
SEND_ATTEMPTS = Counter(
    "orderflow_email_attempts_total",
    "SMTP attempts by outcome: accepted, temporary or permanent failure.",
    ["outcome"],
)
DUPLICATES = Counter(
    "orderflow_email_duplicates_total",
    "Emails of a redelivered event, already claimed: nothing sent again.",
)
TAKEOVERS = Counter(
    "orderflow_email_takeovers_total",
    "Deliveries taken over after their sender's lease expired (crash or restart).",
)
SEND_SECONDS = Histogram(
    "orderflow_email_send_seconds",
    "Time of one SMTP attempt.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
IN_FLIGHT = Gauge("orderflow_emails_in_flight", "Deliveries this replica holds right now.")
UNFINISHED = Gauge(
    "orderflow_emails_unfinished", "Unfinished deliveries in the store, at the last recovery."
)
REMINDERS = Counter(
    "orderflow_reminders_total",
    "X-12 reminders by window and step: scheduled, cancelled, due (sent once), stale.",
    ["window", "step"],
)
