"""CloudEvents binary-mode headers: the same for a message published at once or from an outbox."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

from contracts.envelope import SYSTEM
from contracts.timers import DeadlineExpired
from servicekit import cloudevents
from servicekit.aggregates import outbox_entry


def expired(at: datetime) -> DeadlineExpired:
    return DeadlineExpired(
        message_id=uuid.uuid4(), occurred_at=at, correlation_id=uuid.uuid4(), actor=SYSTEM,
        deadline_id="d-1", order_id="o-1", owner="ordering", kind="k", generation=1,
        due_at=at, fired_at=at, lateness_ms=0, late=False,
    )  # fmt: skip


def test_a_message_published_at_once_carries_every_cloudevents_attribute_and_the_old_headers() -> (
    None
):
    at = datetime(2026, 3, 2, 9, 30, 1, 250000, tzinfo=UTC)
    event = expired(at)
    assert cloudevents.for_message("timers", "timers.events", event) == {
        "content-type": "application/json",
        "message-type": "DeadlineExpired",
        "ce_specversion": "1.0",
        "ce_id": str(event.message_id),
        "ce_source": "/orderflow/timers",
        "ce_type": "orderflow.timers.events.DeadlineExpired",
        "ce_time": "2026-03-02T09:30:01.250000Z",
    }


def test_an_outbox_entry_gets_the_same_headers_as_the_message_it_holds() -> None:
    event = expired(datetime(2026, 3, 2, 11, 0, tzinfo=timezone(timedelta(hours=2))))
    entry = outbox_entry("timers.events", event)
    assert cloudevents.for_outbox("timers", entry) == cloudevents.for_message(
        "timers", "timers.events", event
    )
    assert cloudevents.for_outbox("timers", entry)["ce_time"] == "2026-03-02T09:00:00Z", "UTC"
