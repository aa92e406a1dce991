"""Structured logs: one JSON object per line on stdout.

Each line carries the service name and, while a message is handled, the message's ids
and position (set by the consumer middleware through context variables). Values under
keys that can hold personal data or secrets are never written.
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from servicekit.tracing import current_ids

_EMPTY: Mapping[str, Any] = MappingProxyType({})
_context: contextvars.ContextVar[Mapping[str, Any]] = contextvars.ContextVar(
    "orderflow_log_context", default=_EMPTY
)

#: Keys whose values are personal data or secrets: dropped from every log line.
REDACTED_KEYS = frozenset(
    {"email", "name", "contact", "contacts", "password", "secret", "token", "mongodb_uri"}
)

_STANDARD_ATTRS = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


@contextmanager
def log_context(**fields: Any) -> Iterator[None]:
    """Add fields to every log line written inside the block."""
    token = _context.set({**_context.get(), **fields})
    try:
        yield
    finally:
        _context.reset(token)


def _scrub(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: "[redacted]" if k in REDACTED_KEYS else _scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(v) for v in value]
    return value


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON object; extra fields become keys."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "service": self.service,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        line.update(_context.get())
        line.update(current_ids())  # trace_id, span_id while a span is active
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                line[key] = value
        if record.exc_info and record.exc_info[0] is not None:
            line["error_type"] = record.exc_info[0].__name__
            line["traceback"] = self.formatException(record.exc_info)
        return json.dumps(_scrub(line), default=str)


def configure_logging(service: str, level: str = "INFO") -> None:
    """Send every logger's records to stdout as JSON lines."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # aiokafka reports every transient coordinator hiccup at WARNING/ERROR; keep real errors.
    logging.getLogger("aiokafka").setLevel(logging.ERROR)
    logging.getLogger("pymongo").setLevel(logging.WARNING)
