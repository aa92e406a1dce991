"""The `reason` of a rejection: a stable code, published with the meaning of each value.

Each service keeps its codes as a `StrEnum` and, beside it, a dict of what each code means
(data, so that the published schemas and docs/asyncapi list every code with its meaning).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import WithJsonSchema


def published_codes(codes: type[StrEnum], meanings: dict[Any, str]) -> WithJsonSchema:
    """The published schema of a rejection's `reason`: the enum of `codes`, each value with
    its meaning. Use as `Annotated[str, published_codes(...)]`: the field is still read as a
    plain string (events are tolerant: a consumer must not fail on a code added later)."""
    missing = [c.value for c in codes if c not in meanings]
    if missing:
        raise TypeError(f"{codes.__name__}: no meaning for {', '.join(missing)}")
    listed = "\n".join(f"- `{c.value}`: {meanings[c]}" for c in codes)
    schema = {
        "type": "string",
        "title": codes.__name__,
        "description": f"{(codes.__doc__ or '').strip()}\n\n{listed}",
        "enum": [c.value for c in codes],
        "oneOf": [{"const": c.value, "description": meanings[c]} for c in codes],
    }
    return WithJsonSchema(schema)
