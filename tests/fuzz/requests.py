"""Fuzzed HTTP requests to the gateway, generated from its OpenAPI document.

OPENAPI             docs/openapi.json (a unit test keeps it equal to the app's own)
operations()        every (method, path template) of /v1
Call                one request: method, path, query, headers, body, which token
calls()             any request to any operation: parameters and bodies from their
                    schemas (tests/fuzz/schemas.py), or junk in their place; a valid
                    token, another party's, a forged one or none
"""

from __future__ import annotations

import json
import re
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from contracts import topics
from tests.fuzz.schemas import body_of, commands, from_schema

OPENAPI: dict[str, Any] = json.loads(
    (Path(__file__).resolve().parents[2] / "docs" / "openapi.json").read_text()
)
_DEFS: dict[str, Any] = OPENAPI["components"]["schemas"]

#: Parties the run logs in as (POST /v1/demo/login), by name; `forged` and `none` are
#: a token signed with another key and no Authorization header at all.
LOGINS = {
    "operator": ("operator-1", "operator"),
    "member": ("member-1", "member"),
    "client": ("client-1", "client"),
    "approver": ("approver-1", "approver"),
}
TOKENS = (*LOGINS, "forged", "none")
FORGED = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
    "eyJzdWIiOiJvcGVyYXRvci0xIiwicm9sZSI6Im9wZXJhdG9yIiwiZXhwIjo0MTAyNDQ0ODAwfQ."
    "c2lnbmVkLXdpdGgtYW5vdGhlci1rZXk"
)
#: Headers must be latin-1 text; these are the characters a client may put there.
_HEADER_TEXT = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=300)
#: `wait` is capped here: a valid 60 s wait on an answer that never comes proves nothing.
_WAITS = st.sampled_from(["0", "0.5", "2", "-1", "61", "abc", "1e308", "nan"])


@dataclass(frozen=True)
class Call:
    method: str
    template: str
    path: str
    query: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    token: str = "operator"


def operations() -> list[tuple[str, str, dict[str, Any]]]:
    """Every (method, path template, operation) of the API's /v1 routes."""
    return [
        (method.upper(), path, op)
        for path, ops in sorted(OPENAPI["paths"].items())
        if path.startswith("/v1/")
        for method, op in sorted(ops.items())
    ]


def _text_value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _parameter(param: dict[str, Any]) -> st.SearchStrategy[str | None]:
    """A value for one parameter: from its schema, junk, or (if optional) none."""
    if param["name"] == "wait":
        return st.one_of(st.none(), _WAITS)
    if param["in"] == "header":  # what a client library lets through at all
        return st.one_of(st.none(), _HEADER_TEXT) if not param.get("required") else _HEADER_TEXT
    if param["name"] == "service":
        valid: st.SearchStrategy[str] = st.sampled_from(
            ["orders", "payments", "invoicing", "suppliers", "timers"]
        )
    else:
        valid = from_schema(param.get("schema", {}), _DEFS, param["name"]).map(_text_value)
    value = st.one_of(valid, st.text(max_size=100))
    return value if param.get("required") else st.one_of(st.none(), value)


def _body(op: dict[str, Any]) -> st.SearchStrategy[bytes | None]:
    content = op.get("requestBody", {}).get("content", {})
    if "application/json" not in content:
        return st.none()
    schema = content["application/json"]["schema"]
    valid = from_schema(schema, _DEFS).map(lambda v: json.dumps(v, ensure_ascii=False).encode())
    junk = st.one_of(st.binary(max_size=200), st.just(b"{"), st.just(b"[]"), st.just(b"null"))
    return st.one_of(valid, valid, junk)


@st.composite
def call_of(draw: st.DrawFn, method: str, template: str, op: dict[str, Any]) -> Call:
    """One request to one operation."""
    values = {p["name"]: draw(_parameter(p)) for p in op.get("parameters", [])}
    kinds = {p["name"]: p["in"] for p in op.get("parameters", [])}
    path = re.sub(
        r"\{(\w+)\}",
        lambda m: urllib.parse.quote(values.get(m.group(1)) or "x", safe=""),
        template,
    )
    return Call(
        method=method,
        template=template,
        path=path,
        query={k: v for k, v in values.items() if kinds[k] == "query" and v is not None},
        headers={k: v for k, v in values.items() if kinds[k] == "header" and v is not None},
        body=draw(_body(op)),
        token=draw(st.sampled_from(TOKENS)),
    )


#: The gateway's command services and their topics (gateway.api.commands.SERVICES).
COMMAND_SERVICES = {
    "orders": topics.ORDERS_COMMANDS,
    "invoicing": topics.INVOICING_COMMANDS,
    "payments": topics.PAYMENTS_COMMANDS,
    "suppliers": topics.SUPPLIERS_COMMANDS,
}


@st.composite
def command_call(draw: st.DrawFn) -> Call:
    """POST /v1/commands/{service} with a command of that service (adversarial values, as
    on Kafka), its actor left out half the time so that the caller is the actor and the
    command gets through to the service and back (the 2xx path)."""
    service = draw(st.sampled_from(sorted(COMMAND_SERVICES)))
    topic = COMMAND_SERVICES[service]
    cls = draw(st.sampled_from([c for t, c in commands() if t == topic]))
    body = draw(body_of(topic, cls))
    if draw(st.booleans()):
        body = {k: v for k, v in body.items() if k not in ("actor", "message_id")}
    return Call(
        method="POST",
        template="/v1/commands/{service}",
        path=f"/v1/commands/{service}",
        query={"wait": draw(st.sampled_from(["0", "1", "3"]))},
        body=json.dumps(body, ensure_ascii=False).encode(),
        token=draw(st.sampled_from(TOKENS)),
    )


def calls() -> st.SearchStrategy[Call]:
    """Any request to any /v1 operation; commands that can get through as often."""
    anything = st.one_of([call_of(method, path, op) for method, path, op in operations()])
    return st.one_of(anything, command_call())
