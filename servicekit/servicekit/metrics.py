"""Prometheus metrics every service exposes, and the tiny HTTP server for /metrics and probes.

Metric names are the same in every service; the `service` label tells them apart when
several services share one Prometheus.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest

log = logging.getLogger(__name__)

#: The labels of the per-topic metrics below.
TOPIC = ("service", "topic")

CONSUMED = Counter("orderflow_messages_consumed", "Messages taken off a topic.", TOPIC)
PROCESSED = Counter(
    "orderflow_messages_processed",
    "Messages handled, by outcome (ok, dead_lettered, ...).",
    (*TOPIC, "outcome"),
)
PUBLISHED = Counter("orderflow_messages_published", "Messages produced.", TOPIC)
FAILED = Counter(
    "orderflow_handler_failures", "Handler attempts that raised (before retries).", TOPIC
)
DEAD_LETTERED = Counter(
    "orderflow_messages_dead_lettered",
    "Messages sent to a dead-letter topic, by reason.",
    (*TOPIC, "reason"),
)
HANDLER_SECONDS = Histogram(
    "orderflow_handler_seconds",
    "Time from taking a message to committing its outcome.",
    TOPIC,
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
CONSUMER_LAG = Gauge(
    "orderflow_consumer_lag",
    "Messages behind the partition's high watermark, as of the last message taken.",
    (*TOPIC, "partition"),
)
REJECTED = Counter(
    "orderflow_commands_rejected",
    "Commands answered with a rejection event (`*CommandRejected`), by reason (X-07).",
    ["service", "reason"],
)


def count_rejection(service: str, message_type: str, reason: object) -> None:
    """Count a published event if it is a rejection (its type ends in CommandRejected)."""
    if message_type.endswith("CommandRejected"):
        REJECTED.labels(service, str(reason or "unknown")).inc()


HealthCheck = Callable[[], Awaitable[bool]]


class OpsServer:
    """Serves GET /metrics (Prometheus text) and the probes (JSON; docs/operations.md):

    - /livez: 200 while the process and its event loop answer (restart it when this fails);
    - /readyz: 200 when every check passes (Kafka and the store reachable, partitions
      assigned), else 503 with the failing checks (take it out of rotation, don't restart);
    - /health: /readyz under its old name, for tools that still ask for it.

    The bodies carry check names and booleans only, never a setting or a secret.
    """

    def __init__(self, host: str, port: int, checks: dict[str, HealthCheck]) -> None:
        self.host, self.port, self.checks = host, port, checks
        self._server: asyncio.Server | None = None

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def health(self) -> dict[str, bool]:
        results: dict[str, bool] = {}
        for name, check in self.checks.items():
            try:
                results[name] = await asyncio.wait_for(check(), timeout=3)
            except Exception:
                results[name] = False
        return results

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request_line = (await reader.readline()).decode("latin-1").split()
            while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                pass  # headers are not needed
            path = request_line[1] if len(request_line) > 1 else "/"
            if path == "/metrics":
                status, ctype, body = "200 OK", CONTENT_TYPE_LATEST, generate_latest()
            elif path == "/livez":
                status, ctype, body = "200 OK", "application/json", b'{"alive": true}'
            elif path in ("/readyz", "/health"):
                results = await self.health()
                ready = all(results.values())
                status = "200 OK" if ready else "503 Service Unavailable"
                ctype = "application/json"
                # "healthy" stays for readers of the old /health body.
                body = json.dumps({"ready": ready, "healthy": ready, "checks": results}).encode()
            else:
                status, ctype, body = "404 Not Found", "text/plain", b"not found\n"
            head = f"HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
            writer.write(head.encode() + body)
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
