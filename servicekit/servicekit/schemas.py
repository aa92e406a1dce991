"""Write the JSON Schema of every message, for producers and consumers in other languages.

    python -m servicekit.schemas            # writes docs/schemas/<topic>/<Type>.json + index.json
    python -m servicekit.schemas --check    # exits 1 when a committed file is stale

One self-contained file (JSON Schema 2020-12) per message of every topic of
`contracts.channels`. A topic written by upstream systems is published as the services
*validate* it (pydantic's validation mode: what they accept); a topic the services write is
published as they *serialize* it (what is on the wire). Each upstream message carries an
example built from the models (`contracts.examples`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic.json_schema import models_json_schema

from contracts.channels import CHANNELS, Channel, key_of
from contracts.envelope import Message
from contracts.examples import example
from servicekit.generated import regenerate

DOCS = Path(__file__).resolve().parents[2] / "docs" / "schemas"
DIALECT = "https://json-schema.org/draft/2020-12/schema"

Mode = Literal["validation", "serialization"]

#: Said once for every document: the units and formats every message uses.
CONVENTIONS = {
    "encoding": "Each Kafka value is one JSON object (UTF-8); its `type` names the message.",
    "money": (
        '`{amount, currency}`: `amount` a decimal string such as "19.90", exact to the '
        "currency's minor unit (the services write strings; they also accept JSON numbers); "
        "`currency` an ISO 4217 code."
    ),
    "instants": (
        "ISO 8601 date-time with an offset (`2026-03-02T09:30:00Z`); the services write UTC. "
        "A time without an offset is refused."
    ),
    "dates": "ISO 8601 calendar dates (`2026-03-02`).",
    "ids": (
        "`message_id`, `correlation_id`, `causation_id`, `order_id` and `command_id` are "
        "UUIDs (RFC 4122, hyphenated); account, party and payment ids are free strings."
    ),
    "envelope": (
        "Every message has `message_id` (unique: the services drop a repeat), `type`, "
        "`schema_version`, `occurred_at`, `correlation_id` (copied onto every answer), "
        "`causation_id` (the message it answers) and `actor` {id, role}."
    ),
    "answers": (
        "Every command gets an answer on its service's event topic: the resulting events, or "
        "a `...Rejected` event with `command_id` = the command's `message_id` and a `reason` "
        "code listed, with its meaning, in the schema (X-07). An account event of "
        "`accounts.events` is answered on `accounts.answers` (`AccountRegistered` or "
        "`AccountRejected`, `event_id` = the account event's `message_id`)."
    ),
}

_DECIMAL = "^(?!^[-+.]*$)[+-]?0*\\d*\\.?\\d*$"
_FORMAT_NOTES = {
    "date-time": "ISO 8601 date-time with an offset; the services write UTC.",
    "date": "ISO 8601 calendar date.",
    "uuid": "A UUID (RFC 4122).",
}


def mode_of(channel: Channel) -> Mode:
    """Upstream topics as the services accept them; the others as the services write them."""
    return "validation" if channel.upstream else "serialization"


def annotate(node: Any) -> Any:
    """Add the unit or format to every bare decimal, instant, date and UUID in a schema."""
    if isinstance(node, dict):
        out = {k: annotate(v) for k, v in node.items()}
        note = _FORMAT_NOTES.get(str(out.get("format")))
        if out.get("pattern") == _DECIMAL:
            note = 'A decimal number written as a string, e.g. "19.90".'
        if note and "description" not in out:
            out["description"] = note
        return out
    if isinstance(node, list):
        return [annotate(v) for v in node]
    return node


def message_schemas(
    messages: list[tuple[type[Message], Mode]], ref_template: str
) -> tuple[dict[tuple[type[Message], Mode], Any], dict[str, Any]]:
    """The schemas of `messages` (refs into shared definitions) and the definitions."""
    refs, defs = models_json_schema(messages, ref_template=ref_template)
    return {(cls, mode): refs[(cls, mode)] for cls, mode in messages}, annotate(
        defs.get("$defs", {})
    )


def example_of(cls: type[Message]) -> dict[str, Any] | None:
    found = example(cls)
    return None if found is None else found.model_dump(mode="json", exclude_none=True)


def message_file(channel: Channel, cls: type[Message]) -> dict[str, Any]:
    """One message's self-contained JSON Schema document."""
    mode = mode_of(channel)
    refs, defs = message_schemas([(cls, mode)], "#/$defs/{model}")
    name = refs[(cls, mode)]["$ref"].rsplit("/", 1)[-1]
    schema = {"$schema": DIALECT, **defs.pop(name)}
    key = key_of(cls)
    schema["description"] = (
        f"{schema.get('description', name)}\n\nTopic `{channel.topic}`; Kafka key: "
        f"{key.description}"
    ).strip()
    if (found := example_of(cls)) is not None:
        schema["examples"] = [found]
    if defs:
        schema["$defs"] = defs
    return schema


def files() -> dict[str, str]:
    """Every file of docs/schemas, by path relative to it, as stable JSON text."""
    out: dict[str, str] = {}
    index: dict[str, Any] = {"conventions": CONVENTIONS, "topics": {}}
    for channel in CHANNELS:
        entries: dict[str, Any] = {}
        for name in channel.messages.names():
            cls = channel.messages.classes[name]
            path = f"{channel.topic}/{name}.json"
            out[path] = _dump(message_file(channel, cls))
            key = key_of(cls)
            entries[name] = {
                "schema": path,
                "kind": "command" if "commands" in channel.topic else "event",
                "key": {"fields": list(key.fields), "description": key.description},
            }
        index["topics"][channel.topic] = {
            "summary": channel.summary,
            "written_by": "upstream" if channel.upstream else "orderflow",
            "schema_mode": mode_of(channel),
            "messages": entries,
        }
    out["index.json"] = _dump(index)
    return out


def _dump(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    fresh = {DOCS / path: text for path, text in files().items()}
    gone = set(DOCS.rglob("*.json")) - fresh.keys() if DOCS.exists() else set()
    return regenerate(fresh, argv, gone)


if __name__ == "__main__":
    raise SystemExit(main())
