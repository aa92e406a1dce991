"""CloudEvents headers on every message a service publishes (Kafka binding, binary mode).

The value stays the message's own JSON; the headers let generic tooling (routers, bridges,
Knative, Azure Event Grid, ...) read a message's id, kind, origin and time without knowing
orderflow's schemas:

    ce_specversion   1.0
    ce_id            the message's `message_id`
    ce_source        /orderflow/<service>                  e.g. /orderflow/ordering
    ce_type          orderflow.<topic>.<message type>      e.g. orderflow.orders.events.OrderCreated
    ce_time          the message's `occurred_at`, RFC 3339 in UTC
    content-type     application/json (the binding's datacontenttype)
    message-type     the message type (orderflow's own header, kept)

`<topic>` is the contracts name, without a deployment's prefix, so one type names one kind
of message in every deployment.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from contracts.envelope import Message

SPEC_VERSION = "1.0"
CONTENT_TYPE = "application/json"


def rfc3339(moment: datetime) -> str:
    """`2026-12-06T03:16:43.123456Z`: UTC, with the `Z` CloudEvents tooling expects."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def headers(
    service: str, topic: str, message_type: str, message_id: str, occurred_at: datetime
) -> dict[str, str]:
    """The headers of one published message (see the module docstring)."""
    return {
        "content-type": CONTENT_TYPE,
        "message-type": message_type,
        "ce_specversion": SPEC_VERSION,
        "ce_id": message_id,
        "ce_source": f"/orderflow/{service}",
        "ce_type": f"orderflow.{topic}.{message_type}",
        "ce_time": rfc3339(occurred_at),
    }


def for_message(service: str, topic: str, message: Message) -> dict[str, str]:
    """The headers of `message`, published by `service` to `topic` (a contracts name)."""
    return headers(service, topic, message.type, str(message.message_id), message.occurred_at)


def for_outbox(service: str, entry: dict[str, Any]) -> dict[str, str]:
    """The headers of a stored outbox entry (`servicekit.aggregates.outbox_entry`)."""
    body = json.loads(entry["value"])
    return headers(
        service,
        entry["topic"],
        entry["type"],
        str(body["message_id"]),
        datetime.fromisoformat(body["occurred_at"]),
    )
