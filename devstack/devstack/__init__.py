"""Local real servers for development and tests: Kafka, FerretDB, SMTP.

``ensure_up()`` starts whatever isn't running (building it in ``.cache/devstack`` on the
first run) and returns the endpoints; ``stop("kafka")`` / ``start("kafka")`` take one
server away and bring it back for fault tests. See docs/devstack.md.
"""

from devstack.config import DevstackError, StackConfig
from devstack.stack import (
    NAMES,
    ServerStatus,
    StackEndpoints,
    clean,
    down,
    endpoints,
    ensure_up,
    start,
    status,
    stop,
)

__all__ = [
    "NAMES",
    "DevstackError",
    "ServerStatus",
    "StackConfig",
    "StackEndpoints",
    "clean",
    "down",
    "endpoints",
    "ensure_up",
    "start",
    "status",
    "stop",
]
