"""The `reason` of a rejection: a stable code, published with the meaning of each value.

Each service keeps its codes as a `StrEnum` and, beside it, a dict of what each code means
(data, so that the published schemas and docs/asyncapi list every code with its meaning).
The dicts are keyed by code (a `StrEnum` member is its string), so a meaning may be
written for a code before the enum has it.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from pydantic import WithJsonSchema


def published_codes(codes: type[StrEnum], meanings: Mapping[str, str]) -> WithJsonSchema:
    """The published schema of a rejection's `reason`: the enum of `codes`, each value with
    its meaning. Use as `Annotated[str, published_codes(...)]`: the field is still read as a
    plain string (events are tolerant: a consumer must not fail on a code added later)."""
    # A code without a meaning is published as such (a unit test fails on it): refusing to
    # import here would stop every service for a missing sentence.
    meanings = {c: meanings.get(c, "(meaning not written yet)") for c in codes}
    listed = "\n".join(f"- `{c.value}`: {meanings[c]}" for c in codes)
    schema = {
        "type": "string",
        "title": codes.__name__,
        "description": f"{(codes.__doc__ or '').strip()}\n\n{listed}",
        "enum": [c.value for c in codes],
        "oneOf": [{"const": c.value, "description": meanings[c]} for c in codes],
    }
    return WithJsonSchema(schema)
