"""Hypothesis strategies drawn from the published JSON Schemas, so a new command is fuzzed
as soon as it is in contracts/ (no strategy is written by hand).

    COMMAND_TOPICS           the topics the services consume from outside: every command
                             channel, and accounts.events (upstream writes it too)
    commands()               [(topic, message class)] for each of those topics' types
    schema_of(topic, cls)    the schema as docs/schemas publishes it (servicekit.schemas)
    from_schema(schema)      JSON values the schema allows, chosen to hurt: year 1 and
                             9999 with odd offsets, amounts far past any currency, any
                             unicode, strings up to their limit, ids of other orders
    body_of(topic, cls)      one message body of `cls` (a JSON object), envelope included

Ids are drawn from small pools (`KNOWN_ORDERS`, `KNOWN_PARTIES`) as often as fresh, so
commands meet orders that exist and parties that are in them, not only strangers.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

from contracts.channels import BY_TOPIC, CHANNELS
from contracts.envelope import Message
from servicekit.schemas import message_file

#: What the services take from outside orderflow's own producers, plus timers.commands
#: (written by the services, but a command topic all the same).
COMMAND_TOPICS: tuple[str, ...] = tuple(
    c.topic for c in CHANNELS if c.topic.endswith(".commands") or c.upstream
)

#: Orders the fuzz run creates first (see conftest), so fuzzed commands can hit them.
KNOWN_ORDERS: tuple[uuid.UUID, ...] = tuple(uuid.UUID(int=(0xF022 << 112) + n) for n in range(1, 5))
#: Parties of those orders, and a few that are in none.
KNOWN_PARTIES: tuple[str, ...] = ("member-1", "client-1", "operator-1", "system", "nobody")

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

_ANY_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)


def commands() -> list[tuple[str, type[Message]]]:
    """Every (topic, message class) fuzzed: all types of all `COMMAND_TOPICS`."""
    return [(t, cls) for t in COMMAND_TOPICS for cls in BY_TOPIC[t].messages.classes.values()]


def schema_of(topic: str, cls: type[Message]) -> dict[str, Any]:
    """The JSON Schema of `cls` on `topic`, exactly as docs/schemas publishes it."""
    return message_file(BY_TOPIC[topic], cls)


def body_of(topic: str, cls: type[Message]) -> st.SearchStrategy[dict[str, Any]]:
    """Message bodies of `cls`: every required field, optional ones sometimes."""
    schema = schema_of(topic, cls)
    return from_schema(schema, schema.get("$defs", {}))


def _offsets() -> st.SearchStrategy[timezone]:
    minutes = st.integers(min_value=-(23 * 60 + 59), max_value=23 * 60 + 59)
    return st.one_of(st.just(UTC), minutes.map(lambda m: timezone(timedelta(minutes=m))))


def _instants() -> st.SearchStrategy[str]:
    extreme = st.sampled_from(
        [datetime.min.replace(tzinfo=UTC), datetime.max.replace(tzinfo=UTC), EPOCH]
    )
    soon = st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31))  # noqa: DTZ001
    any_time = st.one_of(extreme, st.datetimes(timezones=st.just(UTC)), soon.map(_in_utc))
    return st.builds(lambda d, tz: d.replace(tzinfo=tz).isoformat(), any_time, _offsets())


def _in_utc(naive: datetime) -> datetime:
    return naive.replace(tzinfo=UTC)


def _dates() -> st.SearchStrategy[str]:
    extreme = st.sampled_from([date.min, date.max, date(2024, 2, 29)])
    return st.one_of(extreme, st.dates()).map(date.isoformat)


def _uuids(name: str) -> st.SearchStrategy[str]:
    fresh = st.uuids().map(str)
    if name in ("order_id", "causation_id", "correlation_id"):
        return st.one_of(fresh, st.sampled_from(KNOWN_ORDERS).map(str))
    return fresh


def _strings(node: dict[str, Any], name: str) -> st.SearchStrategy[Any]:
    fmt, pattern = node.get("format"), node.get("pattern")
    low, high = node.get("minLength", 0), node.get("maxLength")
    if fmt == "uuid":
        return _uuids(name)
    if fmt == "date-time":
        return _instants()
    if fmt == "date":
        return _dates()
    if pattern:
        found = st.from_regex(re.compile(pattern), fullmatch=True)
        return found.filter(lambda s: low <= len(s) <= (high or len(s)))
    if fmt == "email":
        return st.emails().filter(lambda s: len(s) <= (high or 254))
    text = st.text(min_size=low, max_size=min(high or 3000, 3000))
    if name in ("id", "supplier_id", "account_id"):
        return st.one_of(st.sampled_from(KNOWN_PARTIES), text.filter(bool) if low else text)
    return text


def _numbers(node: dict[str, Any]) -> st.SearchStrategy[Any]:
    low = node.get("minimum", node.get("exclusiveMinimum"))
    high = node.get("maximum", node.get("exclusiveMaximum"))
    if node["type"] == "integer":
        return st.integers(min_value=low, max_value=high)
    return st.decimals(min_value=low, max_value=high, allow_nan=False, allow_infinity=False).map(
        lambda d: float(d) if abs(d) < Decimal("1e300") else 0.0
    )


def from_schema(
    node: dict[str, Any], defs: dict[str, Any], name: str = ""
) -> st.SearchStrategy[Any]:
    """JSON values `node` allows (pydantic's dialect: $ref, anyOf/oneOf, const, enum)."""
    if "$ref" in node:
        return st.deferred(lambda: from_schema(defs[node["$ref"].rsplit("/", 1)[-1]], defs, name))
    if "const" in node:
        return st.just(node["const"])
    if "enum" in node:
        return st.sampled_from(node["enum"])
    for key in ("anyOf", "oneOf"):
        if key in node:
            return st.one_of([from_schema(n, defs, name) for n in node[key]])
    kind = node.get("type")
    if kind is None:  # any JSON value (a timer's payload, say)
        return _ANY_JSON
    if kind == "object":
        return _objects(node, defs)
    if kind == "array":
        items = from_schema(node.get("items", {}), defs, name)
        low = node.get("minItems", 0)
        return st.lists(items, min_size=low, max_size=min(node.get("maxItems", 4), low + 3))
    if kind == "string":
        return _strings(node, name)
    if kind in ("integer", "number"):
        return _numbers(node)
    if kind == "boolean":
        return st.booleans()
    if kind == "null":
        return st.none()
    raise ValueError(f"no strategy for schema type {kind!r}")


def _objects(node: dict[str, Any], defs: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    properties: dict[str, Any] = node.get("properties", {})
    if not properties:  # a free-form object (payload)
        return st.dictionaries(st.text(max_size=20), _ANY_JSON, max_size=4)
    required = set(node.get("required", ()))
    fields = {
        k: from_schema(v, defs, k)
        for k, v in properties.items()
        if k in required or "const" in v  # discriminators are always sent
    }
    optional = {k: from_schema(v, defs, k) for k, v in properties.items() if k not in fields}
    return st.fixed_dictionaries(fields, optional=optional)


__all__ = [
    "COMMAND_TOPICS",
    "KNOWN_ORDERS",
    "KNOWN_PARTIES",
    "body_of",
    "commands",
    "from_schema",
    "schema_of",
]
